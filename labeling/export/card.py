"""The dataset card (``dataset_card.json``): what an export holds and how it was made.

Patients appear only by their pseudonymous key; images by the export's file stems.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

from labeling.export.context import ExportContext
from labeling.export.deid import SHIFT_DAYS
from labeling.export.selection import SPLITS, ExportImage, Selection


def counts(items: list[ExportImage]) -> dict[str, Any]:
    """Images, patients, regions per class and image labels of the export, per split."""
    images, patients = Counter(), defaultdict(set)
    regions: dict[str, Counter] = defaultdict(Counter)
    image_labels: dict[str, Counter] = defaultdict(Counter)
    for item in items:
        images[item.split] += 1
        patients[item.split].add(item.patient_key)
        for annotation in item.annotations:
            for region in annotation.regions:
                regions[region.label][item.split] += 1
            image_labels[annotation.image_label or "none"][item.split] += 1
    return {"images": {s: images[s] for s in SPLITS}, "patients": {s: len(patients[s]) for s in SPLITS},
            "regions_per_class": {name: {s: c[s] for s in SPLITS} for name, c in sorted(regions.items())},
            "image_labels": {name: {s: c[s] for s in SPLITS} for name, c in sorted(image_labels.items())}}


def dataset_card(context: ExportContext, selection: Selection, *, formats: list[str], files: dict[str, Any],
                 filters: dict[str, Any], shares: tuple[float, float, float],
                 model: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's content; ``model`` is the model version active at export time (None: none yet)."""
    annotators = Counter(a.annotator for item in selection.items for a in item.annotations)
    deid = context.deidentifier
    return {
        "name": "Medal labeled dataset",
        "medal_version": version("medal-labeling"),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "formats": formats,
        "files": files,
        "filters": filters,
        "split": {"by": "patient", "shares": dict(zip(SPLITS, shares))},
        "counts": counts(selection.items),
        "annotators": [{"name": name, "annotations": n} for name, n in sorted(annotators.items())],
        "model_version_at_export": model,
        "taxonomy": [{"index": number, "name": c.name, "color": c.color, "coding_scheme": c.coding_scheme,
                      "category": {"code": c.category_code, "meaning": c.category_meaning},
                      "type": {"code": c.type_code, "meaning": c.type_meaning}}
                     for number, c in enumerate(context.classes, 1)],
        "mask_values": {"0": "background", **{str(n): c.name for n, c in enumerate(context.classes, 1)}},
        "deidentified": deid is not None,
        "deidentification": {
            "method": deid.method,
            "uids": "every non-registered UID replaced by 2.25.<keyed hash>, the same in every file of the export",
            "dates": f"shifted back by {SHIFT_DAYS[0]} to {SHIFT_DAYS[1]} days, one offset per patient",
            "private_tags": "removed",
        } if deid else None,
        "left_out": selection.left_out,
    }
