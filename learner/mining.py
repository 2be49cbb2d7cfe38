"""Hard negatives the model itself points at: the second round of training.

The first model learns lesions against a few normal patches per image (one at random, the most blob-like
structures). On clinical pictures that leaves most of the picture unseen — the edge, padding, burned-in
text, calipers, a scan fan's border — and the dense pass then finds its hottest window there. So after the
first round, one dense pass (as scoring runs it) over the training images finds where the model is most
sure of a finding *away from every drawn finding* (a region of a normal class, a *Healthy* nodule, is
normal and may be mined): on an image whose findings are all outlined (or that has
none) those windows are known to be normal. They join the training set as negatives (``source="mined"``)
and the model is trained again. Validation images are never mined, so the version's figures stay honest.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from skimage import feature

from learner import scoring
from learner.dataset import Example, images_by_id
from learner.registry import LoadedModel
from learner.train import TrainResult
from storage import Project

MINED_PER_SCALE = 6  # windows the model is most sure of, per window scale of a fully judged training image …
MINED_PER_IMAGE = 12  # … and per image over all its scales, the hottest kept
MINED_MIN_PROBABILITY = 0.2  # … where it gives them at least this P(finding): its mistakes, not every window
MINED_IMAGES = 400  # training images looked at, at most (a sample, fixed by the image ids, of a large label set)


def judged_images(examples: list[Example]) -> dict[int, tuple[tuple[float, float, float, float], ...]]:
    """The training images known to be normal outside their drawn regions, each with those regions (the hard
    negatives' ``avoid``: ``build_examples`` gives them only to fully judged images)."""
    return {e.image_id: e.avoid for e in examples if e.source == "hard"}


def _touches(box: tuple[int, int, int], regions: tuple[tuple[float, float, float, float], ...]) -> bool:
    x, y, side = box
    return any(x < rx + rw and rx < x + side and y < ry + rh and ry < y + side for rx, ry, rw, rh in regions)


def windows_to_mine(heat: np.ndarray, shape: tuple[int, int], side: int,
                    avoid: tuple[tuple[float, float, float, float], ...],
                    per_image: int = MINED_PER_SCALE,
                    min_probability: float = MINED_MIN_PROBABILITY) -> list[tuple[float, tuple[int, int, int]]]:
    """The hottest windows of one heatmap (``heat``: the stored grid of P(finding) of a window centred on each
    cell) that touch no ``avoid`` region, as patches of ``side`` image pixels kept inside the picture (so a peak
    on the edge gives the patch against the edge), hottest first, at most ``per_image``, each with its heat."""
    rows, cols = shape
    side = max(1, min(side, rows, cols))
    cell_y, cell_x = rows / heat.shape[0], cols / heat.shape[1]
    spacing = max(1, int(side / 2 / max(cell_x, cell_y)))
    peaks = feature.peak_local_max(heat, min_distance=spacing, threshold_abs=min_probability,
                                   num_peaks=4 * per_image, exclude_border=False)
    mined: list[tuple[float, tuple[int, int, int]]] = []
    for row, column in peaks:
        x, y = (column + 0.5) * cell_x, (row + 0.5) * cell_y
        box = (int(round(min(max(x - side / 2, 0), cols - side))), int(round(min(max(y - side / 2, 0), rows - side))),
               side)
        if not _touches(box, avoid) and not any(_touches(box, ((bx, by, bs, bs),)) for _, (bx, by, bs) in mined):
            mined.append((float(heat[row, column]), box))
        if len(mined) == per_image:
            break
    return mined


def mine_hard_negatives(result: TrainResult, data: dict[str, Any], train: list[Example], scratch: Path, *,
                        project: Project) -> list[Example]:
    """The windows of the training images (``train``'s fully judged ones) where ``result``'s model is most sure
    of a finding away from every drawn finding, at any of its window scales, as negative examples (at most
    MINED_PER_SCALE per scale and MINED_PER_IMAGE per image); ``scratch`` holds the heatmaps meanwhile."""
    judged = judged_images(train)
    if not judged:
        return []
    patient_of = {e.image_id: e.patient for e in train}
    ids = sorted(judged)
    if len(ids) > MINED_IMAGES:
        ids = sorted(np.random.default_rng(len(ids)).choice(ids, MINED_IMAGES, replace=False).tolist())
    rows = images_by_id(ids, project.engine)
    candidates: dict[int, list[tuple[float, tuple[int, int, int]]]] = {image_id: [] for image_id in ids}
    for scale, fraction in enumerate(scoring.window_fractions(data)):
        folder = scratch / f"mining-{scale}"
        folder.mkdir(parents=True, exist_ok=True)
        one_scale = LoadedModel(0, result.model, result.config, data | {"patch_fractions": [fraction]})
        try:
            found = scoring.dense_pass(one_scale, ids, project=project, folder=folder)
            for image_id, path in zip(ids, found.heatmaps):
                image = rows[image_id]
                side = int(round(min(image.rows, image.cols) * fraction))
                candidates[image_id] += windows_to_mine(np.load(path).astype(np.float32), (image.rows, image.cols),
                                                        side, judged[image_id])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return [Example(image_id, patient_of[image_id], 0, box, "mined")
            for image_id, found in candidates.items() for box in hottest_of_all_scales(found)]


def hottest_of_all_scales(found: list[tuple[float, tuple[int, int, int]]]) -> list[tuple[int, int, int]]:
    """The MINED_PER_IMAGE hottest of one image's windows found at its scales (``windows_to_mine``'s answers
    together): with one scale's share capped there, the largest windows — hot wherever they hold anything
    odd — cannot take every place, and the small windows' mistakes (text, calipers, speckle) are mined too."""
    return [box for _, box in sorted(found, key=lambda item: -item[0])[:MINED_PER_IMAGE]]
