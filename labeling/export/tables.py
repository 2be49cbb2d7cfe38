"""The CSV export: image-level labels, one row per image and annotator (``labels.csv``).

Its ``sop_instance_uid`` and ``label`` columns are what ``medal labels import`` reads back.
"""

from __future__ import annotations

import csv

from labeling.export.context import ExportContext
from labeling.export.selection import ExportImage

LABEL_FIELDS = ("sop_instance_uid", "frame", "label", "annotator", "regions", "region_classes", "image_file",
                "patient_key", "study_date", "split", "modality")


def write_labels_csv(context: ExportContext, items: list[ExportImage]) -> str:
    with open(context.out / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LABEL_FIELDS)
        writer.writeheader()
        for item in items:
            study_date = context.study_date(item)
            for annotation in item.annotations:
                classes = sorted({region.label for region in annotation.regions})
                writer.writerow({"sop_instance_uid": context.sop_instance_uid(item) or "", "frame": item.image.frame,
                                 "label": annotation.image_label or "", "annotator": annotation.annotator,
                                 "regions": len(annotation.regions), "region_classes": ";".join(classes),
                                 "image_file": context.image_file(item), "patient_key": item.patient_key,
                                 "study_date": study_date.isoformat() if study_date else "",
                                 "split": item.split, "modality": item.image.modality or ""})
    return "labels.csv"
