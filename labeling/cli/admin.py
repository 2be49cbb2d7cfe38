"""The admin commands of ``medal``: the database schema (``db``), past exports (``exports list|delete``), the
patient-key secret (``secret move-out``), the audit trail (``audit``) and the benchmarks (``bench``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeling.cli.output import iso_date, print_json

if TYPE_CHECKING:
    from storage import Project


def cmd_db(args: argparse.Namespace) -> int:
    from storage import configured_database_url, current_revision, get_engine, head_revision, upgrade_to_head

    engine = get_engine(configured_database_url(), upgrade=False)  # not migrated by opening it
    if args.action == "upgrade":
        print(f"Database at revision {upgrade_to_head(engine)}.")
    else:
        print(f"Database at revision {current_revision(engine)} (newest: {head_revision()}).")
    return 0


def cmd_exports(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.export import delete_export, list_exports

    if args.action == "delete":
        deleted = delete_export(args.name, actor=None, project=project)
        print(f"Deleted {deleted.name} ({deleted.size / 1e6:.1f} MB).")
        return 0
    entries = list_exports(actor=None, project=project)
    if args.json:
        print_json([entry.as_json() for entry in entries])
        return 0
    if not entries:
        print("No past exports.")
    for entry in entries:
        images = "?" if entry.images is None else entry.images
        kept = {True: "de-identified", False: "keeps identity", None: "no card"}[entry.deidentified]
        print(f"{entry.name}  {entry.created:%Y-%m-%d %H:%M} UTC  {images:>6} image(s)  "
              f"{entry.size / 1e6:>9.1f} MB  {kept}")
    return 0


def cmd_audit(args: argparse.Namespace, *, project: Project) -> int:
    from datetime import datetime, timezone

    from labeling.access import audit_trail

    since = datetime.combine(args.since, datetime.min.time(), timezone.utc) if args.since else None
    entries = audit_trail(engine=project.engine, user=args.user, image_id=args.image, action=args.action, since=since,
                          limit=args.limit)
    if args.json:
        print_json([entry.as_json() for entry in entries])
        return 0
    for entry in entries:
        image = f" image {entry.image_id}" if entry.image_id is not None else ""
        print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.user or '-':16} {entry.action:24}{image}  {entry.detail}")
    return 0


def cmd_secret(args: argparse.Namespace, *, project: Project) -> int:
    from storage import move_patient_key_out

    path = move_patient_key_out(args.file, engine=project.engine)
    print(f"The patient-key secret is now in {path} (owner-only) and no longer in the database. Set "
          f"MEDAL_PATIENT_KEY_FILE={path} for every Medal process of this project (app, worker, medal), and keep"
          " a copy of the file in a safe place: without it, new imports cannot match their patients.")
    return 0


def _print_figures(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def cmd_bench_ingest(args: argparse.Namespace) -> int:
    from benchmarks import bench_ingest

    return _print_figures(args, bench_ingest(files=args.files, workers=args.workers, out=args.out))


def cmd_bench_next(args: argparse.Namespace) -> int:
    from benchmarks import bench_next

    return _print_figures(args, bench_next(images=args.images, saves=args.saves, out=args.out, readers=args.readers,
                                              database_url=args.database_url))


def cmd_bench_loop(args: argparse.Namespace) -> int:
    from benchmarks import bench_loop

    return _print_figures(args, bench_loop(labels=args.labels, pool=args.pool, out=args.out))


def cmd_bench_calibration(args: argparse.Namespace) -> int:
    from benchmarks import bench_calibration

    return _print_figures(args, bench_calibration(args.data, labels=args.labels, seeds=args.seeds, out=args.out))


def cmd_bench_localise(args: argparse.Namespace) -> int:
    from benchmarks import bench_localise

    return _print_figures(args, bench_localise(labeled=args.labels, out=args.out))


def cmd_bench_real(args: argparse.Namespace) -> int:
    from benchmarks import bench_real, format_report

    report = bench_real(args.folder, labels=args.labels, seeds=args.seeds, images=args.images, out=args.out,
                        pretrain_steps=args.pretrain_steps, modality=args.modality,
                        progress=lambda message: print(message, file=sys.stderr))
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def cmd_bench_ultrasound_set(args: argparse.Namespace) -> int:
    from benchmarks import write_ultrasound_set

    counts = write_ultrasound_set(args.folder, images=args.images, seed=args.seed)
    if not args.json:
        print(f"wrote {counts['images']} ultrasound-like frames ({counts['with_lesion']} with a lesion) and "
              f"truth.json to {args.folder}; next: medal bench real {args.folder}")
        return 0
    return _print_figures(args, counts)


def cmd_bench_ct_as_dicom(args: argparse.Namespace) -> int:
    from benchmarks import write_ct_as_dicom

    counts = write_ct_as_dicom(args.source, args.out, hu_offset=args.hu_offset, modality=args.modality,
                               keep_others=args.keep_others)
    if not args.json:
        print(f"wrote {counts['images']} CT slices as DICOM (HU, no window) and truth.json to {args.out}"
              + (f"; kept {counts['kept']} image(s) of other modalities as they are" if counts["kept"] else "")
              + (f"; left out {len(counts['left_out'])}: {counts['left_out'][0]}" if counts["left_out"] else "")
              + f"; next: medal bench real {args.out}")
        return 0
    return _print_figures(args, counts)


def cmd_bench_outline(args: argparse.Namespace) -> int:
    from benchmarks import bench_outline

    return _print_figures(args, bench_outline(out=args.out))


def cmd_bench_dicomweb(args: argparse.Namespace) -> int:
    from benchmarks import bench_dicomweb

    return _print_figures(args, bench_dicomweb(instances=args.instances, size=args.size, traced=args.tracemalloc,
                                               out=args.out))


def cmd_bench_stow(args: argparse.Namespace) -> int:
    from benchmarks import bench_stow

    return _print_figures(args, bench_stow(segs=args.segs, size=args.size, out=args.out))


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                json_parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("db", help="database schema")
    command.add_argument("action", choices=["upgrade", "current"])
    command.set_defaults(run=cmd_db, own_project=True)

    command = commands.add_parser("exports", parents=[json_parent],
                                  help="`exports list`, `exports delete NAME`: past exports in the project")
    exports = command.add_subparsers(dest="action", required=True)
    exports.add_parser("list", parents=[json_parent], help="past exports, newest first")
    delete = exports.add_parser("delete", help="delete an export's folder and its zips for good")
    delete.add_argument("name", help="as `medal exports list` names it")
    command.set_defaults(run=cmd_exports)

    command = commands.add_parser("audit", parents=[json_parent],
                                  help="who did what and when, newest first (saves, reviews, log-ins, exports …)")
    command.add_argument("--user", help="only this account's actions")
    command.add_argument("--image", type=int, metavar="ID", help="only events on this image")
    command.add_argument("--action", help="an action or its family, e.g. annotation.save or annotation")
    command.add_argument("--since", type=iso_date, metavar="DATE", help="on or after this date, e.g. 2026-12-01")
    command.add_argument("--limit", type=int, default=500)
    command.set_defaults(run=cmd_audit)

    command = commands.add_parser("secret", help="`secret move-out FILE`: keep the patient-key secret outside "
                                                 "the database (then set MEDAL_PATIENT_KEY_FILE=FILE)")
    command.add_argument("action", choices=["move-out"])
    command.add_argument("file", type=Path, help="a new file; created owner-only")
    command.set_defaults(run=cmd_secret)

    figures = argparse.ArgumentParser(add_help=False, parents=[json_parent])
    figures.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    command = commands.add_parser("bench", help="benchmarks that print numbers")
    command.set_defaults(own_project=True)  # each makes projects of its own
    benchmarks = command.add_subparsers(dest="what", required=True)

    bench = benchmarks.add_parser("ingest", parents=[figures],
                                  help="indexing and full import with previews on generated files")
    bench.add_argument("--files", type=int, default=2000)
    bench.add_argument("--workers", type=int, default=None)
    bench.set_defaults(run=cmd_bench_ingest)

    bench = benchmarks.add_parser("next", parents=[figures],
                                  help="save an annotation and get the next image ready, on a large database")
    bench.add_argument("--images", type=int, default=100_000)
    bench.add_argument("--saves", type=int, default=300, help="steps timed")
    bench.add_argument("--readers", type=int, default=1, choices=(1, 2, 3),
                       help="readers per image (the reading plan); as many readers take turns")
    bench.add_argument("--database-url", help="an empty PostgreSQL database to run on instead of SQLite")
    bench.set_defaults(run=cmd_bench_next)

    bench = benchmarks.add_parser("loop", parents=[figures], help="retrain and rescore on a generated project")
    bench.add_argument("--labels", type=int, default=1000, help="labeled images")
    bench.add_argument("--pool", type=int, default=10_000, help="unlabeled images")
    bench.set_defaults(run=cmd_bench_loop)

    bench = benchmarks.add_parser("calibration", parents=[figures],
                                  help="expected calibration error before and after calibration, on real data")
    bench.add_argument("--data", type=Path, required=True, help="a MedMNIST-style .npz (or what simulate reads)")
    bench.add_argument("--labels", type=int, default=300, help="labeled images per run")
    bench.add_argument("--seeds", type=int, default=5)
    bench.set_defaults(run=cmd_bench_calibration)

    bench = benchmarks.add_parser("localise", parents=[figures],
                                  help="do heatmaps and proposals point at findings? the demo with N labels")
    bench.add_argument("--labels", type=int, default=100, help="demo images labelled from the truth")
    bench.set_defaults(run=cmd_bench_localise)

    bench = benchmarks.add_parser("real", parents=[figures],
                                  help="the model's help on your own labeled folder (images + truth.json, a COCO "
                                       "file, or images with their masks): AUC, "
                                       "heatmap peak on lesions, proposals, quick-outline Dice, times")
    bench.add_argument("folder", type=Path, help="images and a truth.json (the layout of shared/data/real-lesions) "
                                                 "or a COCO file; or the COCO file itself; or images with their "
                                                 "lesion masks beside them (name_mask.png next to name.png, "
                                                 "name_mask_1.png for a second lesion, or masks/ next to images/; "
                                                 "an empty mask, or an image in a normal/ folder: no lesion)")
    bench.add_argument("--labels", type=int, default=80, help="images labeled from the truth (80%% with a lesion)")
    bench.add_argument("--seeds", type=int, default=1, help="runs with different labeled images, for a spread")
    bench.add_argument("--images", type=int, default=None, help="use this many of the folder's images (by seed)")
    bench.add_argument("--pretrain-steps", type=int, default=0,
                       help="pre-train the features contrastively on windows of the pool first (0: from scratch)")
    bench.add_argument("--modality", default=None,
                       help="only the images whose truth names this modality (a project of one kind of picture)")
    bench.set_defaults(run=cmd_bench_real)

    bench = benchmarks.add_parser("ultrasound-set", parents=[json_parent],
                                  help="write a folder of synthetic ultrasound-like frames with lesion masks (fan, "
                                       "speckle, fat lobules, text, calipers) for `medal bench real`")
    bench.add_argument("folder", type=Path, help="where to write images/, masks/ and truth.json")
    bench.add_argument("--images", type=int, default=300)
    bench.add_argument("--seed", type=int, default=0, help="the same seed writes the same frames")
    bench.set_defaults(run=cmd_bench_ultrasound_set)

    bench = benchmarks.add_parser("ct-as-dicom", parents=[json_parent],
                                  help="write a labeled folder's CT slices kept as 16-bit PNGs (HU + an offset) as "
                                       "CT DICOM in HU without a window, as Medal opens a hospital's CT, with their "
                                       "truth, for `medal bench real`")
    bench.add_argument("source", type=Path, help="a folder `medal bench real` reads")
    bench.add_argument("out", type=Path, help="a new or empty folder for images/*.dcm and truth.json")
    bench.add_argument("--hu-offset", type=float, default=1024.0,
                       help="what the PNGs add to HU (real-lesions: 1024; DeepLesion: 32768)")
    bench.add_argument("--modality", default="CT", help="the truth's modality of the slices to write (default CT)")
    bench.add_argument("--keep-others", action="store_true",
                       help="the truth's images of other modalities too, as they are (read where they lie): the whole "
                            "set with its CT as Medal opens a hospital's")
    bench.set_defaults(run=cmd_bench_ct_as_dicom)

    bench = benchmarks.add_parser("outline", parents=[figures],
                                  help="quick outline from a rough box: Dice on the demo lesions, latency at 512×512")
    bench.set_defaults(run=cmd_bench_outline)

    bench = benchmarks.add_parser("dicomweb", parents=[figures],
                                  help="import by DICOMweb from a throw-away Orthanc (orthanc orthanc-dicomweb): "
                                       "instances per second, peak memory, a second run that fetches nothing")
    bench.add_argument("--instances", type=int, default=1000, help="CT slices in the PACS (100 to a series)")
    bench.add_argument("--size", type=int, default=256, choices=(256, 512), help="rows and columns of each slice")
    bench.add_argument("--tracemalloc", action="store_true",
                       help="also import once more under tracemalloc (untimed) for Python's peak allocations")
    bench.set_defaults(run=cmd_bench_dicomweb)

    bench = benchmarks.add_parser("stow", parents=[figures],
                                  help="send labeled images' SEGs back to a throw-away Orthanc with STOW-RS: SEGs "
                                       "per second, what the PACS stored, a second send")
    bench.add_argument("--segs", type=int, default=100, help="CT slices imported and labeled, one SEG each")
    bench.add_argument("--size", type=int, default=256, choices=(256, 512), help="rows and columns of each slice")
    bench.set_defaults(run=cmd_bench_stow)
