"""The dataset commands of ``medal``: export, and labels import (a thin edge over labeling.export
and labeling.label_import)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from labeling.cli_common import print_json, progress_bar


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-31") from error


def cmd_export(args: argparse.Namespace) -> int:
    from labeling.export.run import ExportOptions, export_dataset

    options = ExportOptions(formats=args.format.split(","), deidentify=args.deidentify, split=args.split,
                            annotator=args.annotator, since=args.since, include_burned_in=args.include_burned_in)
    report = export_dataset(args.out, options, progress=progress_bar("Exporting", "image"))
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


def cmd_labels(args: argparse.Namespace) -> int:
    from labeling.label_import import import_labels

    report = import_labels(args.file, annotator=args.annotator, skip_unknown=args.skip_unknown)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(f"Imported {report.annotations} annotation(s) with {report.regions} region(s) on {report.images} image(s).")
    for what, items in (("unknown image", report.unknown_images), ("unknown class", report.unknown_classes),
                        ("unknown image label", report.unknown_labels)):
        for item in items:
            print(f"  skipped {what}: {item}")
    return 0


def add_parsers(commands: Any) -> None:
    command = commands.add_parser("export", help="export labels as COCO, PNG masks, DICOM SEG and CSV")
    command.add_argument("--format", default="all", help="coco, masks, seg, csv or all (comma-separated)")
    command.add_argument("--out", required=True, help="a new or empty folder")
    command.add_argument("--deidentify", action="store_true", help="DICOM PS3.15 Annex E basic profile")
    command.add_argument("--split", help="train,val,test shares by patient, e.g. 70,15,15")
    command.add_argument("--annotator", help="only this annotator's labels")
    command.add_argument("--since", type=_date, help="only labels saved on or after this date (YYYY-MM-DD)")
    command.add_argument("--include-burned-in", action="store_true",
                         help="keep images that may show burned-in text in a de-identified export")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_export)

    command = commands.add_parser("labels", help="`labels import FILE`: bring in COCO JSON or CSV labels")
    command.add_argument("action", choices=["import"])
    command.add_argument("file")
    command.add_argument("--annotator", help="record every imported label under this name")
    command.add_argument("--skip-unknown", action="store_true", help="import the rest when some images or "
                         "classes are unknown (default: import nothing and list them)")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_labels)


