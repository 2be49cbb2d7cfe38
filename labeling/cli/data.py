"""The image and label data commands of ``medal``: import, images, problems, render, demo,
annotations, export and ``labels import`` (a thin edge over labeling.intake, labeling.labels and
labeling.export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from labeling.cli.output import fraction_bar, iso_date, print_json, progress_bar

if TYPE_CHECKING:
    from storage import Project


def cmd_import(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.intake import import_paths

    if args.dicomweb:
        return _import_dicomweb(args, project=project)
    if not args.paths:
        raise SystemExit("medal import: give files, folders or zip archives, or --dicomweb URL")
    report = import_paths(args.paths, previews=not args.no_previews, workers=args.workers,
                          progress=progress_bar("Importing"), project=project)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(f"Imported {report.imported} file(s): {report.images} new image(s), "
          f"{report.duplicates} already indexed, {len(report.rejected)} refused.")
    for item in report.rejected:
        print(f"  refused {item['path']}: {item['reason']}")
    return 0


def _import_dicomweb(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.intake import DicomwebQuery, import_dicomweb

    query = DicomwebQuery(study_uid=args.study or "", series_uid=args.series or "", modality=args.modality or "",
                          accession_number=args.accession or "", date_from=args.date_from, date_to=args.date_to)
    report = import_dicomweb(args.dicomweb, query, project=project, progress=fraction_bar("Retrieving"))
    found = report.as_dict()
    if args.json:
        print_json(found)
        return 0
    print(f"Found {found['found']} instance(s) at the PACS: {found['retrieved']} retrieved, {found['already_held']} "
          f"already in the project; {found['images']} new image(s), {len(found['refused'])} refused.")
    for item in found["refused"]:
        print(f"  refused {item['path']}: {item['reason']}")
    return 0


def cmd_images(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import list_images
    from learner import active_version

    model = active_version(engine=project.engine)  # its probability and uncertainty of each image, once it scored them
    images = list_images(modality=args.modality, status=args.status, limit=args.limit,
                         model_version_id=model.id if model else None, engine=project.engine)
    if args.json:
        print_json([image.as_json() for image in images])
        return 0
    print(f"{'id':>6}  {'modality':8} {'size':>11}  {'patient':13} {'date':10}  {'status':9} path")
    for image in images:
        size = f"{image.rows}×{image.cols}"
        frame = f" [frame {image.frame}]" if image.frame else ""
        print(f"{image.id:>6}  {image.modality or '-':8} {size:>11}  {image.patient_key or '-':13} "
              f"{str(image.study_date or '-'):10}  {image.status:9} {image.path}{frame}")
    return 0


def cmd_problems(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.intake import import_problems

    problems = import_problems(limit=args.limit, engine=project.engine)
    if args.json:
        print_json([{"path": p.path, "reason": p.reason, "detected_at": p.detected_at} for p in problems])
        return 0
    for problem in problems:
        print(f"{problem.path}: {problem.reason}")
    return 0


def cmd_render(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.dicom import Window
    from labeling.labels import write_png

    window: Window | int | None = None
    if args.window:
        window = Window.parse(args.window)
    elif args.preset is not None:
        window = args.preset
    for image_id in args.ids:
        print(write_png(image_id, Path(args.out), window, project=project))
    return 0


def cmd_demo(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.intake import create_demo

    result = create_demo(labeled=args.labeled, project=project)
    if args.json:
        print_json(result)
    else:
        print(f"Demo project in {result['folder']}: {result['images']} new image(s), "
              f"{result['labeled']} labeled by demo-oracle.")
        print(f"Log in as {result['login']['username']!r} with password {result['login']['password']!r}.")
    return 0


def cmd_annotations(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import list_annotations

    annotations = list_annotations(annotator=args.annotator, image_id=args.image, include_history=args.history,
                                   engine=project.engine)
    if args.json:
        print_json([annotation.as_json() for annotation in annotations])
        return 0
    for a in annotations:
        current = "" if a.is_current else " (replaced)"
        print(f"{a.id:>6}  image {a.image_id:<6} {a.annotator:16} v{a.version}{current}  "
              f"{a.image_label or '-':11} {len(a.regions)} region(s)  {a.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_listen(args: argparse.Namespace, *, project: Project) -> int:
    import threading

    from labeling.intake import listen

    allowed = [title for title in (args.allow or "").split(",") if title.strip()]

    def report(found) -> None:  # noqa: ANN001 (an ImportReport)
        print(f"Imported {found.images} image(s) from {found.imported} received file(s); "
              f"{len(found.rejected)} refused, {found.duplicates} already here.", flush=True)

    listener = listen(project=project, ae_title=args.ae, port=args.port, bind=args.bind, allowed=allowed,
                      on_import=report)
    print(f"Listening as {args.ae} on {args.bind}:{args.port}; calling AE titles allowed: "
          f"{', '.join(allowed) if allowed else 'any (give --allow to restrict)'}. Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        listener.stop()
    return 0


def cmd_export(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.export import ExportOptions, export_dataset
    from learner import active_summary

    if args.stow:
        return _stow(args, project=project)
    if not args.out:
        raise SystemExit("medal export: give --out FOLDER, or --stow URL to send the SEGs to a PACS")
    options = ExportOptions(formats=args.format.split(","), deidentify=args.deidentify, split=args.split,
                            readings=args.readings,
                            pseudonymise_annotators=args.pseudonymise_annotators,
                            annotator=args.annotator, since=args.since, include_burned_in=args.include_burned_in)
    report = export_dataset(args.out, options, progress=progress_bar("Exporting", "image"),
                            model=active_summary(engine=project.engine), project=project)
    card = report.card
    if args.json:
        print_json({"out": str(report.out), "images": report.images, "files": card["files"],
                    "left_out": card["left_out"], "deidentified": card["deidentified"]})
        return 0
    print(f"Exported {report.images} image(s) to {report.out} ({', '.join(card['formats'])}"
          f"{', de-identified' if card['deidentified'] else ''}); see dataset_card.json.")
    for split, count in card["counts"]["images"].items():
        print(f"  {split:5} {count:>6} image(s), {card['counts']['patients'][split]} patient(s)")
    for item in card["left_out"]:
        print(f"  left out {item['image']}: {item['reason']} (--include-burned-in keeps it)")
    for item in (card["files"].get("seg") or {}).get("skipped", []):
        print(f"  no SEG for {item['image']}: {item['reason']}")
    return 0


def _stow(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.export import stow_segs

    report = stow_segs(args.stow, readings=args.readings, project=project, progress=fraction_bar("Sending"))
    if args.json:
        print_json(report.as_dict())
        return 0
    print(f"The PACS stored {len(report.stored)} SEG(s); {len(report.refused)} refused, "
          f"{len(report.not_sent)} image(s) had no SEG to send.")
    for item in report.refused:
        print(f"  refused {item['sop_instance_uid']}: {item['reason']}")
    for item in report.not_sent:
        print(f"  no SEG for {item['image']}: {item['reason']}")
    return 0 if not report.refused else 1


def cmd_labels(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.export import import_labels

    report = import_labels(args.file, annotator=args.annotator, skip_unknown=args.skip_unknown, engine=project.engine)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(f"Imported {report.annotations} annotation(s) with {report.regions} region(s) on {report.images} image(s).")
    for what, items in (("unknown image", report.unknown_images), ("unknown class", report.unknown_classes),
                        ("unknown image label", report.unknown_labels)):
        for item in items:
            print(f"  skipped {what}: {item}")
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                json_parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("import", parents=[json_parent],
                                  help="import DICOM/PNG/JPEG/TIFF files, folders and zip archives")
    command.add_argument("paths", nargs="*", help="files, folders or zip archives (or --dicomweb)")
    command.add_argument("--no-previews", action="store_true", help="index only; render previews on first view")
    command.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    pacs = command.add_argument_group("from a PACS over DICOMweb (credentials: MEDAL_DICOMWEB_* settings)")
    pacs.add_argument("--dicomweb", metavar="URL", help="the service's root, e.g. https://pacs.example.org/dicom-web")
    pacs.add_argument("--study", metavar="UID", help="one study (StudyInstanceUID)")
    pacs.add_argument("--series", metavar="UID", help="one series (SeriesInstanceUID; with --study)")
    pacs.add_argument("--modality", help="e.g. CT, MR")
    pacs.add_argument("--accession", help="the study's accession number")
    pacs.add_argument("--date-from", type=iso_date, metavar="YYYY-MM-DD", help="studies on or after this day")
    pacs.add_argument("--date-to", type=iso_date, metavar="YYYY-MM-DD", help="studies on or before this day")
    command.set_defaults(run=cmd_import)

    command = commands.add_parser("images", parents=[json_parent], help="list indexed images")
    command.add_argument("--modality")
    command.add_argument("--status", choices=["unlabeled", "labeled", "skipped"])
    command.add_argument("--limit", type=int)
    command.set_defaults(run=cmd_images)

    command = commands.add_parser("problems", parents=[json_parent],
                                  help="list files that imports refused, with reasons")
    command.add_argument("--limit", type=int, default=1000)
    command.set_defaults(run=cmd_problems)

    command = commands.add_parser("render", help="write DIR/<id>.png as the UI shows it")
    command.add_argument("ids", nargs="+", type=int)
    command.add_argument("--out", required=True)
    group = command.add_mutually_exclusive_group()
    group.add_argument("--window", help="CENTER,WIDTH in the modality's units, e.g. 40,400")
    group.add_argument("--preset", type=int, help="index of a window stored in the file")
    command.set_defaults(run=cmd_render)

    command = commands.add_parser("demo", parents=[json_parent], help="create and import the demo project")
    command.add_argument("--labeled", type=int, default=0, help="label N images from the truth")
    command.set_defaults(run=cmd_demo)

    command = commands.add_parser("annotations", parents=[json_parent],
                                  help="list annotations, coordinates in image pixels")
    command.add_argument("--annotator")
    command.add_argument("--image", type=int)
    command.add_argument("--history", action="store_true", help="include replaced versions")
    command.set_defaults(run=cmd_annotations)

    command = commands.add_parser("listen", help="a DICOM Storage SCP: modalities and PACS push studies (C-STORE)")
    command.add_argument("--ae", default="MEDAL", help="this listener's AE title")
    command.add_argument("--port", type=int, default=11112)
    command.add_argument("--bind", default="0.0.0.0", help="the address to listen on")
    command.add_argument("--allow", help="calling AE titles allowed to push (comma-separated); default: any")
    command.set_defaults(run=cmd_listen)

    command = commands.add_parser("export", parents=[json_parent],
                                  help="export labels as COCO, PNG masks, DICOM SEG and CSV")
    command.add_argument("--format", default="all", help="coco, masks, seg, csv or all (comma-separated)")
    command.add_argument("--out", help="a new or empty folder")
    command.add_argument("--stow", metavar="URL", help="instead of a folder: send each labeled image's DICOM SEG "
                         "(original UIDs, identities kept) to this DICOMweb service with STOW-RS")
    command.add_argument("--deidentify", action="store_true", help="DICOM PS3.15 Annex E basic profile")
    command.add_argument("--split", help="train,val,test shares by patient, e.g. 70,15,15")
    command.add_argument("--pseudonymise-annotators", action="store_true",
                         help="annotator names become stable pseudonyms in every file of the export")
    command.add_argument("--annotator", help="only this annotator's labels")
    command.add_argument("--readings", default="each", choices=("each", "consensus", "all"),
                         help="each: an image's consensus where a reviewer made one, else every reading (default); "
                              "consensus: adjudicated images only; all: every reading, the consensus as its own")
    command.add_argument("--since", type=iso_date, help="only labels saved on or after this date (YYYY-MM-DD)")
    command.add_argument("--include-burned-in", action="store_true",
                         help="keep images that may show burned-in text in a de-identified export")
    command.set_defaults(run=cmd_export)

    command = commands.add_parser("labels", parents=[json_parent],
                                  help="`labels import FILE`: bring in COCO JSON or CSV labels")
    command.add_argument("action", choices=["import"])
    command.add_argument("file")
    command.add_argument("--annotator", help="record every imported label under this name")
    command.add_argument("--skip-unknown", action="store_true", help="import the rest when some images or "
                         "classes are unknown (default: import nothing and list them)")
    command.set_defaults(run=cmd_labels)
