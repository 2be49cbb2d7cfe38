"""The masks export: a PNG label map per image and annotator (0 background, the class index inside
each region) and ``manifest.csv`` with one row per mask.

Load it with a few lines::

    rows = list(csv.DictReader(open("manifest.csv")))
    image = np.asarray(PIL.Image.open(rows[0]["image_file"]))
    mask = np.asarray(PIL.Image.open(rows[0]["mask_file"]))   # values: dataset_card.json "mask_values"
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
from PIL import Image as PILImage

from labeling.export.context import ExportContext
from labeling.export.selection import ExportImage
from labeling.labels import SavedAnnotation, region_mask

MANIFEST_FIELDS = ("image_file", "mask_file", "image_label", "patient_key", "study_date", "split", "annotator",
                   "sop_instance_uid", "frame", "width", "height")


def label_map(annotation: SavedAnnotation, rows: int, cols: int, context: ExportContext) -> np.ndarray:
    """One annotation's regions painted with their class indices; a later class in the taxonomy
    (and then a later region) wins where regions overlap."""
    values = np.zeros((rows, cols), np.uint8)
    regions = sorted(annotation.regions, key=lambda region: context.class_index(region.label))
    for region in regions:
        values[region_mask(region.points, rows, cols)] = context.class_index(region.label)
    return values


def write_masks(context: ExportContext, items: list[ExportImage]) -> str:
    """Write ``masks/*.png`` and ``manifest.csv``; returns the manifest's name within the export."""
    (context.out / "masks").mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    for item in items:
        for annotation in item.annotations:
            mask_file = context.mask_file(item, annotation.annotator)
            values = label_map(annotation, item.image.rows, item.image.cols, context)
            PILImage.fromarray(values, mode="L").save(context.out / mask_file)
            study_date = context.study_date(item)
            rows.append({"image_file": context.image_file(item), "mask_file": mask_file,
                         "image_label": annotation.image_label or "", "patient_key": item.patient_key,
                         "study_date": study_date.isoformat() if study_date else "", "split": item.split,
                         "annotator": annotation.annotator, "sop_instance_uid": context.sop_instance_uid(item) or "",
                         "frame": item.image.frame, "width": item.image.cols, "height": item.image.rows})
    with open(context.out / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return "manifest.csv"
