"""The dataset card (``dataset_card.json``): what an export holds and how it was made.

Patients appear only by their pseudonymous key; images by the export's file stems.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

from labeling.export.context import ExportContext
from labeling.export.deid import SHIFT_DAYS
from labeling.export.selection import SPLITS, ExportImage, Selection
from labeling.labels import AgreementReport, Estimate


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


def agreement_summary(report: AgreementReport, name: Callable[[str], str]) -> dict[str, Any] | None:
    """How the readers of the exported project agree (``medal agreement``), their names as ``name`` gives
    them (pseudonyms when the export pseudonymises annotators); None with fewer than two readers of one image."""
    if not report.pairs and not report.against_consensus:
        return None

    def estimate(value: Estimate) -> dict[str, Any]:
        return {"value": value.value, "ci95": [value.low, value.high], "n": value.n}

    return {
        "readers": [name(reader) for reader in report.readers], "images_read_twice": report.images_read_twice,
        "krippendorff_alpha_image_labels": estimate(report.alpha),
        "pairs": [{"readers": [name(p.first), name(p.second)], "images": p.images,
                   "cohen_kappa_image_labels": estimate(p.label_kappa), "same_image_label": p.label_agreement,
                   "findings": {"both": p.findings["both"], "only_first": p.findings["only_first"],
                                "only_second": p.findings["only_second"], "neither": p.findings["neither"]},
                   "regions_matched": p.regions.matched, "regions_unmatched": [p.regions.only_first,
                                                                               p.regions.only_second],
                   "region_dice": estimate(p.regions.dice)} for p in report.pairs],
        "against_consensus": [{"reader": name(entry.reader), "sensitivity": estimate(entry.sensitivity),
                               "precision": estimate(entry.precision), "region_dice": estimate(entry.pair.regions.dice)}
                              for entry in report.against_consensus],
    }
