"""The COCO export: one JSON next to the 8-bit images as shown by default.

Images carry their SOPInstanceUID and frame (so labels can come back in), the pseudonymous patient
key, the study date, the split and the image-level labels; each region is an annotation with its
bbox, polygon ``segmentation`` and area, and its annotator and drawn shape under ``attributes``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from labeling.export.context import ExportContext
from labeling.export.selection import ExportImage


def polygon_area(points: list[list[float]]) -> float:
    """The shoelace area of a closed polygon, in square pixels."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def categories(context: ExportContext) -> list[dict[str, Any]]:
    return [{"id": number, "name": c.name, "supercategory": c.category_meaning, "color": c.color,
             "snomed": {"scheme": c.coding_scheme, "category_code": c.category_code,
                        "category_meaning": c.category_meaning, "type_code": c.type_code,
                        "type_meaning": c.type_meaning}}
            for number, c in enumerate(context.classes, 1)]


def write_coco(context: ExportContext, items: list[ExportImage], info: dict[str, Any]) -> str:
    """Write ``coco.json``; returns its name within the export."""
    images, annotations = [], []
    for item in items:
        study_date = context.study_date(item)
        images.append({
            "id": item.image.id, "file_name": context.image_file(item),
            "width": item.image.cols, "height": item.image.rows,
            "sop_instance_uid": context.sop_instance_uid(item), "frame": item.image.frame,
            "patient_key": item.patient_key, "study_date": study_date.isoformat() if study_date else None,
            "split": item.split, "modality": item.image.modality,
            "image_labels": [{"annotator": a.annotator, "label": a.image_label}
                             for a in item.annotations if a.image_label],
        })
        for annotation in item.annotations:
            for region in annotation.regions:
                points = [[float(x), float(y)] for x, y in region.points]
                annotations.append({
                    "id": len(annotations) + 1, "image_id": item.image.id,
                    "category_id": context.class_index(region.label),
                    "bbox": [float(v) for v in region.bbox],
                    "segmentation": [[v for point in points for v in point]],
                    "area": polygon_area(points), "iscrowd": 0,
                    "attributes": {"annotator": annotation.annotator, "shape": region.shape},
                })
    document = {
        "info": {**info, "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        "licenses": [], "images": images, "annotations": annotations, "categories": categories(context),
    }
    (context.out / "coco.json").write_text(json.dumps(document, indent=1, allow_nan=False))
    return "coco.json"
