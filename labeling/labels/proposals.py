"""Pre-annotation: regions proposed from the active model's heatmap, for the annotator to accept, edit
or reject. A proposal is a box, in image pixels, for each connected area of the heatmap at or above the
version's proposal threshold (never below its decision threshold, nor below ``MIN_THRESHOLD``; set so that few
validation images without a finding get one), tagged with the first finding class.

Where the version says which windows its dense pass looked through (``proposal_window_min`` and
``proposal_window_mid``, fractions of the picture's short side), the box is centred on the area's hottest
part and as large as the area, but no smaller than the smallest window and no larger than the middle one,
less the context a window holds around a lesion: the lesion the model points at. On clinical pictures the
heat is often high over much of the picture (the whole 5-cm crop around a sarcoma), and the area's bounding
box was the whole picture — an outline in it meant nothing. Versions without those figures propose the
area's bounding box.

A heatmap at or above the threshold over more than ``MAX_HOT_SHARE`` of the picture singles nothing out: it
proposes no region (the image's probability still says how likely a finding is). On real-lesions most
proposals on lesion-free pictures were of that kind (the whole heatmap saturated), and so were many on
pictures with a lesion, where the box then sat on the picture's middle whatever the model saw."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.labels.annotations import RegionInput
from labeling.labels.taxonomy import finding_class
from storage import Image, LabelClass, Prediction, Project

SURE = 0.85  # P(finding) from which the model is "sure" (the Label page's words, ``panels.how_sure``)
MIN_THRESHOLD = 0.95  # the least heat a region needs to be proposed, whatever the validation split says (see
# ``learner.loop.threshold_from_normals``): with 10–16 images without a finding the split's normal parts can all lie
# below what most lesion-free pictures reach
PROPOSAL_MARGIN = 0.25  # a model's window holds this much context around a lesion (learner.dataset.CONTEXT) on each
# side: a proposal's box is the window less it, the lesion's extent as the model's windows see it
OUTLINE_MARGIN = 0.4  # an accepted proposal's box grows by this much of its size on each side before it is outlined …
MIN_OUTLINE_BOX = 16.0  # … and to at least this many pixels (heatmap cells are coarser than small lesions) …
REFIT_PASSES = 3  # … and outlined again this many times in a box snug around what the outline found
MAX_HOT_SHARE = 0.5  # of the heatmap's cells: hotter than the threshold over more singles nothing out
HOTTEST_SHARE = 0.02  # cells within this share of the heat's range below an area's hottest are its hottest part


@dataclass(frozen=True)
class Proposals:
    regions: list[RegionInput]
    threshold: float


def propose_regions(heat: np.ndarray, rows: int, cols: int, threshold: float, label: str,
                    windows: tuple[float, float] | None = None) -> list[RegionInput]:
    """One rectangle per connected area of ``heat`` ≥ ``threshold``, in image pixels: the area's bounding box,
    or with ``windows`` (the smallest and the middle window side, as fractions of the short side) a square on
    its hottest part sized between them (see the module docstring)."""
    if not singles_out(heat, threshold):
        return []
    areas, count = ndimage.label(heat >= threshold)
    scale_y, scale_x = rows / heat.shape[0], cols / heat.shape[1]
    regions = []
    for index, found in enumerate(ndimage.find_objects(areas)[:count], start=1):
        top, bottom = found[0].start * scale_y, min(rows, found[0].stop * scale_y)
        left, right = found[1].start * scale_x, min(cols, found[1].stop * scale_x)
        if windows is not None:
            short = min(rows, cols)
            side = float(np.clip(max(right - left, bottom - top), windows[0] * short, windows[1] * short))
            side /= 1 + 2 * PROPOSAL_MARGIN  # the window less its context: the lesion's extent
            centre_row, centre_col = hottest_part(heat, areas == index)
            middle_y, middle_x = (centre_row + 0.5) * scale_y, (centre_col + 0.5) * scale_x
            top, bottom = max(0.0, middle_y - side / 2), min(float(rows), middle_y + side / 2)
            left, right = max(0.0, middle_x - side / 2), min(float(cols), middle_x + side / 2)
        regions.append(RegionInput(label, "rect", [[left, top], [right, top], [right, bottom], [left, bottom]]))
    return regions


def singles_out(heat: np.ndarray, threshold: float) -> bool:
    """Whether ``heat`` reaches ``threshold`` somewhere but not over more than MAX_HOT_SHARE of the picture."""
    hot = heat >= threshold
    return bool(hot.any()) and float(hot.mean()) <= MAX_HOT_SHARE


def hottest_part(heat: np.ndarray, area: np.ndarray | None = None, *, least_tie: float = 0.0) -> tuple[float, float]:
    """The (row, column) centre of the cells (of ``area``, else of the whole heatmap) about as hot as the hottest
    — within HOTTEST_SHARE of the heat's range, and at least ``least_tie`` — connected to it."""
    inside = heat if area is None else np.where(area, heat, -np.inf)
    hottest = np.unravel_index(int(np.argmax(inside)), heat.shape)
    top = float(heat[hottest])
    tie = max(HOTTEST_SHARE * max(top - float(heat.min()), 1e-6), least_tie)
    part, _ = ndimage.label((heat >= top - tie) if area is None else area & (heat >= top - tie))
    row, column = ndimage.center_of_mass(part == part[hottest])
    return float(row), float(column)


def proposal_windows(metrics: dict[str, float]) -> tuple[float, float] | None:
    """The smallest and the middle window side of a version's dense pass, as fractions of the short side (its
    validation ``metrics`` keep them); None for a version trained before they were kept."""
    low, middle = metrics.get("proposal_window_min"), metrics.get("proposal_window_mid")
    return None if low is None or middle is None else (float(low), float(middle))


def proposals_for(image: Image, prediction: Prediction, classes: list[LabelClass],
                  metrics: dict[str, float]) -> Proposals | None:
    """Proposals from the active model's ``prediction`` for ``image`` (``metrics``: that model's validation
    metrics, for its decision threshold); None without a heatmap or a finding class."""
    label = finding_class(classes)
    if not prediction.heatmap_path or label is None:
        return None
    threshold = proposal_threshold(metrics)
    heat = np.load(prediction.heatmap_path).astype(np.float32)
    return Proposals(propose_regions(heat, image.rows, image.cols, threshold, label, proposal_windows(metrics)),
                     threshold)


def images_with_proposals(image_ids: list[int], model_version_id: int, threshold: float, *, engine: Engine) -> set[int]:
    """Which of the images the model version proposes a region on: its heatmap reaches ``threshold`` somewhere
    and singles it out (``propose_regions`` then gives at least one); an image without a heatmap has none."""
    wanted, found = set(image_ids), set()
    with Session(engine) as session:
        rows = session.exec(select(Prediction.image_id, Prediction.heatmap_path).where(
            Prediction.model_version_id == model_version_id, col(Prediction.heatmap_path).is_not(None))).all()
    for image_id, path in rows:
        if image_id in wanted and Path(path).exists() and singles_out(np.load(path).astype(np.float32), threshold):
            found.add(image_id)
    return found


def outline_box(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The box Accept outlines for a proposal's ``bbox`` (x, y, w, h): grown about its centre by OUTLINE_MARGIN of
    its size on each side, to at least MIN_OUTLINE_BOX. The proposal's box is the model's guess at the lesion's
    extent and falls short on real pictures (glioblastoma MR: 0.67 of it, median); the quick outline needs the
    lesion whole inside its box with some room (a box 1.1–1.4 times the lesion is its best case). Grown by
    PROPOSAL_MARGIN (0.25) the box was the lesion's own size and cut it: accepted proposals' Dice 0.65 → 0.70 on
    ultrasound-like frames, 0.47 → 0.53 on glioblastoma MR with 0.4."""
    x, y, w, h = bbox
    side_w, side_h = max(w * (1 + 2 * OUTLINE_MARGIN), MIN_OUTLINE_BOX), max(h * (1 + 2 * OUTLINE_MARGIN),
                                                                              MIN_OUTLINE_BOX)
    return x + w / 2 - side_w / 2, y + h / 2 - side_h / 2, side_w, side_h


def proposal_threshold(metrics: dict[str, float]) -> float:
    """The heat a region needs to be proposed, for a model version with these validation ``metrics``."""
    return max(MIN_THRESHOLD, float(metrics.get("proposal_threshold", metrics.get("threshold", MIN_THRESHOLD))))


def as_outlines(image: Image, regions: list[RegionInput], *, project: Project, actor: str | None,
                window: tuple[float, float] | None = None) -> list[RegionInput]:
    """Accepted proposals as the reader would draw them: each box from the heatmap, grown (``outline_box``),
    outlined with the quick outline on the picture under ``window`` and then REFIT_PASSES times again in a box
    snug around what it found (``labeling.labels.outline.outline_refitted``); a box the outline cannot follow
    stays a box. The model's box is often off the lesion's centre and smaller than it (ultrasound-like frames:
    0.53–0.63 of its width, its centre 0.15–0.19 of the lesion's extent away): refitted, accepted proposals'
    Dice 0.65–0.71 → 0.78–0.82 there, 0.51–0.54 → 0.55–0.57 on glioblastoma MR (``medal bench real``)."""
    from labeling.labels.outline import OutlineError
    from labeling.labels.reading import outline_region  # reading reads pixels; only accepting needs it

    outlined = []
    for region in regions:
        try:
            points = outline_region(image.id, outline_box(region.bbox()), actor=actor, window=window, project=project,
                                    refit_passes=REFIT_PASSES, min_side=MIN_OUTLINE_BOX)
        except OutlineError:
            outlined.append(region)
            continue
        outlined.append(RegionInput(region.label, "polygon", points))
    return outlined
