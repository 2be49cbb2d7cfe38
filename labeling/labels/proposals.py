"""Pre-annotation: regions proposed from the active model's heatmap, for the annotator to accept, edit
or reject. A proposal is the bounding box, in image pixels, of a connected area of the heatmap at or
above the version's proposal threshold (never below its decision threshold, nor below 0.85, where the
model is sure; set so that few validation images without a finding get one), tagged with the first
finding class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from labeling.labels.annotations import RegionInput
from labeling.labels.taxonomy import finding_class
from storage.models import Image, LabelClass, Prediction

SURE = 0.85  # P(finding) from which the model is "sure" (the Label page's words, ``panels.how_sure``) …
MIN_THRESHOLD = SURE  # … the least heat a region needs to be proposed: none where the model is unsure


@dataclass(frozen=True)
class Proposals:
    regions: list[RegionInput]
    threshold: float


def propose_regions(heat: np.ndarray, rows: int, cols: int, threshold: float, label: str) -> list[RegionInput]:
    """One rectangle per connected area of ``heat`` ≥ ``threshold``, scaled from heatmap cells to image pixels."""
    areas, count = ndimage.label(heat >= threshold)
    scale_y, scale_x = rows / heat.shape[0], cols / heat.shape[1]
    regions = []
    for found in ndimage.find_objects(areas)[:count]:
        top, bottom = found[0].start * scale_y, min(rows, found[0].stop * scale_y)
        left, right = found[1].start * scale_x, min(cols, found[1].stop * scale_x)
        regions.append(RegionInput(label, "rect", [[left, top], [right, top], [right, bottom], [left, bottom]]))
    return regions


def proposals_for(image: Image, prediction: Prediction, classes: list[LabelClass],
                  metrics: dict[str, float]) -> Proposals | None:
    """Proposals from the active model's ``prediction`` for ``image`` (``metrics``: that model's validation
    metrics, for its decision threshold); None without a heatmap or a finding class."""
    label = finding_class(classes)
    if not prediction.heatmap_path or label is None:
        return None
    threshold = max(MIN_THRESHOLD, float(metrics.get("proposal_threshold", metrics.get("threshold", MIN_THRESHOLD))))
    heat = np.load(prediction.heatmap_path).astype(np.float32)
    return Proposals(propose_regions(heat, image.rows, image.cols, threshold, label), threshold)
