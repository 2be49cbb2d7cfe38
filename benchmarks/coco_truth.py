"""A COCO file as the truth of ``medal bench real``: the labeled folders most tools export (Medal's own COCO
export, CVAT, Label Studio, MONAI Label) read the way ``truth.json`` is.

Every annotation of a category that is not a normal one (named *Healthy*, *Normal* or *No finding*, or coded
SNOMED 17621005 "Normal") is a lesion: its ``segmentation`` (polygons, or run-length encoded, compressed or
not) is its mask, its ``bbox`` where it has none. An image with no lesion annotation is lesion-free. The
patient is the image's ``patient_key`` (Medal's export) or ``patient`` where the file gives one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

NORMAL_NAMES = {"healthy", "normal", "no finding"}
NORMAL_CODE = "17621005"


def is_coco(document: Any) -> bool:
    """Whether a parsed JSON document is a COCO annotation file."""
    return isinstance(document, dict) and isinstance(document.get("images"), list) and \
        isinstance(document.get("annotations"), list)


def _lesion_categories(document: dict[str, Any]) -> set[Any] | None:
    """The ids of the categories that are findings; None where the file lists no categories (all are)."""
    categories = document.get("categories")
    if not categories:
        return None
    return {category["id"] for category in categories
            if str(category.get("name", "")).strip().lower() not in NORMAL_NAMES
            and str((category.get("snomed") or {}).get("type_code")) != NORMAL_CODE}


def coco_truth(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``truth.json``'s entries from a COCO document: one per image, named by its ``file_name``, its lesion
    annotations' segmentations and boxes under ``segmentations``."""
    lesions = _lesion_categories(document)
    by_image: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for annotation in document["annotations"]:
        if lesions is None or annotation.get("category_id") in lesions:
            by_image[annotation.get("image_id")].append({"segmentation": annotation.get("segmentation"),
                                                         "bbox": annotation.get("bbox")})
    truth = {}
    for image in document["images"]:
        name = str(image["file_name"])
        found = by_image.get(image.get("id"), [])
        truth[name] = {"image": name, "segmentations": found, "has_finding": bool(found),
                       "patient": image.get("patient_key") or image.get("patient"), "modality": image.get("modality")}
    return truth


def segmentation_mask(segmentations: list[dict[str, Any]], shape: tuple[int, int]) -> np.ndarray:
    """The union of the lesions' masks at the picture's ``shape`` (rows, cols): each segmentation rasterised by
    pycocotools, the bbox filled where there is none."""
    rows, cols = shape
    mask = np.zeros(shape, bool)
    for item in segmentations:
        segmentation = item.get("segmentation")
        polygons = [p for p in segmentation if len(p) >= 6] if isinstance(segmentation, list) else []
        if polygons:
            mask |= coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, rows, cols))).astype(bool)
        elif isinstance(segmentation, dict) and "counts" in segmentation:
            encoded = segmentation if isinstance(segmentation["counts"], (str, bytes)) else \
                coco_mask.frPyObjects(segmentation, rows, cols)
            decoded = coco_mask.decode(encoded).astype(bool)
            if decoded.shape == mask.shape:
                mask |= decoded
        elif item.get("bbox"):
            x, y, w, h = (float(v) for v in item["bbox"])
            mask[max(0, int(y)):int(np.ceil(y + h)), max(0, int(x)):int(np.ceil(x + w))] = True
    return mask
