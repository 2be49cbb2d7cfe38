"""The quick outline learned from the project's own outlines: what a lesion looks like in a box, per project.

The classic quick outline (``labeling.labels.outline``) knows one rule for every picture: a sharp edge, else the
box's shape. Real lesions break it — a glioblastoma's enhancing rim around a dark core, a sarcoma as grey as the
muscle it sits in — while the project's readers have already outlined dozens of them. This module learns from
those outlines, per project, which pixels of a box are lesion (a pixel classifier, the way ilastik does it):

- **Each pixel's features** are read on the box with a margin, resized so its longer side is ``SIDE`` pixels
  (so the scales are the box's, whatever the lesion's size) and put on the box's own grey scale (its median and
  the crop's 5–95 percentile spread: ultrasound and X-ray have no fixed units): grey level, gradient and
  texture at four scales (``skimage.feature.multiscale_basic_features``), and where the pixel lies in the box —
  so the model also learns how much of a reader's box a lesion fills.
- **Training boxes** are drawn around every outline as readers draw them (``READER_BOXES``): a snug one (each side
  pushed out by 5–20% of the lesion's size, shifted by up to 5%) and a rough one (10–40%, up to 10%).
- **A gradient-boosted classifier** (scikit-learn) gives each pixel of a new box a lesion probability; the part
  holding most of it, holes filled, is the outline.
- **It must earn its place**: fitted on three quarters of the outlines, both it and the classic outline are
  scored (Dice) on the last quarter's boxes (below ``CROSS_CHECK_BELOW`` outlines, on each quarter in turn); the
  project uses it only where it did better (``preferred``). Then it is fitted on every outline.

One model per modality (a lesion on CT does not look like one on MR), fitted by the training job
(``fit_project_outline``) and kept beside the model version's checkpoint (``outline_file``), so it belongs to that
version: activating an older version brings back its outline, and a training that fails changes nothing. The Label
page, proposals and ``medal bench real`` read the active version's with ``project_outline_model``. A modality with
fewer than ``MIN_OUTLINES`` outlines, or a version trained before outlines were learnt: the classic outline.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.feature import multiscale_basic_features
from skimage.measure import find_contours
from skimage.transform import resize
from sklearn.ensemble import HistGradientBoostingClassifier
from sqlmodel import Session, col, select

from labeling.labels.outline import Box, OutlineError, outline_in_box
from labeling.labels.pictures import render_frame
from labeling.labels.region_masks import mask_dice, region_mask
from labeling.labels.taxonomy import NORMAL_CODE
from storage import Annotation, Image, ImageStatus, LabelClass, ModelVersion, Project, Region

SIDE = 64  # the box and its margin are resized so their longer side is this many pixels
MARGIN = 0.25  # of the box's side, read around it
SIGMA_MIN, SIGMA_MAX, SIGMAS = 1.0, 8.0, 4  # feature scales, in pixels of the resized crop
MIN_OUTLINES = 12  # fewer outlines than this: no model
# The most recent outlines at most, and the most pixels one fit learns from: with 400 outlines and 1,500 pixels a box
# the training job spent 23 s on 2 cores fitting the outline (a 1,000-label project), a third of its time; 200 outlines
# and 240,000 pixels took ~6 s. A project with 80 labels (~64 outlines, 96,000 pixels) is not touched by either.
MAX_OUTLINES = 200
PIXELS_PER_FIT = 240_000
HELD_OUT = 0.25  # of the outlines, kept back to compare the learned outline with the classic one
# With fewer outlines than this, the comparison is made FOLDS times, each quarter held out once (every outline
# scored: 12 outlines are 12 held-out ones, not 3); it costs FOLDS fits on few outlines
CROSS_CHECK_BELOW, FOLDS = 48, 4
# Training pixels drawn from each box (fewer where PIXELS_PER_FIT would be passed) and the boosting's rounds: 750 and 75
# learn as well as 1,500 and 150 did (held-out Dice within 0.01 on 40 real CT, glioblastoma and sarcoma MR outlines and
# on 12 and 40 ultrasound-like ones, seeds 0-2) in half the time (6.4 -> 3.1 s for 40 CT outlines on 2 cores): the
# mixed real set's three modalities, each with fewer than CROSS_CHECK_BELOW outlines, spent 14 s of a 35-s training
PIXELS_PER_BOX = 750
BOOSTING_ROUNDS = 75
# Training boxes around each outline, one of each kind: (least, most) each side is pushed out by, as a fraction of
# the lesion's size, and the most the box is shifted by — a snug box and a rough one.
READER_BOXES = ((0.05, 0.2, 0.05), (0.1, 0.4, 0.1))
# Of the lesion's size, kept on each side of an outline for fitting: a rough box reaches 0.4 + 0.1 beyond the lesion,
# the features' margin 0.25 of a box at most 1.8 times the lesion (0.95 in all), the classic outline's 0.4 (1.22)
CONTEXT = 1.5
OUTLINE_SUFFIX = ".outline.skops"  # beside a version's checkpoint: <checkpoint name>.outline.skops
# What a kept model may hold beyond what skops trusts by default: the boosted trees' predictors. Nothing else in
# the file is loaded (no pickle: a file in the models folder never runs code).
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
OUTLINE_SHAPES = ("polygon", "path")


@dataclass
class OutlineModel:
    """A project's learned quick outline and how it compared with the classic one on held-out outlines."""

    classifier: HistGradientBoostingClassifier
    outlines: int  # the outlines it was fitted on
    learned_dice: float  # mean Dice on the held-out outlines' boxes, fitted on the rest
    classic_dice: float  # the classic quick outline on the same boxes
    held_out: int

    @property
    def preferred(self) -> bool:
        """Whether the project's quick outline should use it: it did better than the classic one."""
        return self.learned_dice > self.classic_dice

    def outline_points(self, grey: np.ndarray, box: Box) -> np.ndarray | None:
        """The lesion in ``box`` = (x, y, w, h) on the 2-D ``grey`` picture as (x, y) image points along its edge,
        or None where no pixel of the box looks like lesion."""
        features, window, shape = _box_features(grey, box)
        probability = self.classifier.predict_proba(features.reshape(-1, features.shape[-1]))[:, 1]
        probability = ndimage.gaussian_filter(probability.reshape(shape), 1.0)
        labels, count = ndimage.label(probability > 0.5)
        if count == 0:
            return None
        mass = ndimage.sum(probability, labels, index=np.arange(1, count + 1))
        lesion = ndimage.binary_fill_holes(labels == int(np.argmax(mass)) + 1)
        contours = find_contours(np.pad(lesion, 1).astype(np.float32), 0.5)
        if not contours:
            return None
        contour = max(contours, key=len) - 1  # (row, column) in the resized crop
        left, top, right, bottom = window
        scale_x, scale_y = (right - left) / shape[1], (bottom - top) / shape[0]
        return np.column_stack([left + (contour[:, 1] + 0.5) * scale_x - 0.5,
                                top + (contour[:, 0] + 0.5) * scale_y - 0.5])


def _box_features(grey: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int]]:
    """Each pixel's features on the box and its margin, resized (see the module docstring): ``(features, window,
    shape)`` with ``window`` = (left, top, right, bottom) the crop in image pixels and ``shape`` its resized size."""
    x, y, w, h = (float(value) for value in box)
    left, top = int(np.floor(x - MARGIN * w)), int(np.floor(y - MARGIN * h))
    right, bottom = int(np.ceil(x + w + MARGIN * w)), int(np.ceil(y + h + MARGIN * h))
    crop = np.asarray(_window(grey, (left, top, right, bottom), edge=True), dtype=np.float32)
    if not np.isfinite(crop).all():
        crop = np.nan_to_num(crop, nan=0.0, posinf=0.0, neginf=0.0)
    scale = SIDE / max(crop.shape)
    shape = (max(8, round(crop.shape[0] * scale)), max(8, round(crop.shape[1] * scale)))
    small = resize(crop, shape, order=1, anti_aliasing=scale < 1, preserve_range=True).astype(np.float32)
    inner = 1 + 2 * MARGIN
    box_rows = slice(round(MARGIN / inner * shape[0]), max(round((1 + MARGIN) / inner * shape[0]), 1))
    box_cols = slice(round(MARGIN / inner * shape[1]), max(round((1 + MARGIN) / inner * shape[1]), 1))
    low, high = np.percentile(small, [5, 95])
    normalised = (small - float(np.median(small[box_rows, box_cols]))) / (float(high - low) + 1e-3)
    appearance = multiscale_basic_features(normalised, intensity=True, edges=True, texture=True,
                                           sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX, num_sigma=SIGMAS)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    across_y = (yy - (shape[0] - 1) / 2) / (shape[0] / inner / 2)
    across_x = (xx - (shape[1] - 1) / 2) / (shape[1] / inner / 2)
    place = np.stack([across_y, across_x, np.hypot(across_y, across_x)], axis=-1)
    return np.concatenate([appearance, normalised[..., None], place], axis=-1), (left, top, right, bottom), shape


def _window(picture: np.ndarray, window: tuple[int, int, int, int], *, edge: bool) -> np.ndarray:
    """``picture``[top:bottom, left:right] for ``window`` = (left, top, right, bottom), where it lies beyond the
    picture the border repeated (``edge``) or zeros — only the window is copied, not the picture (a mammogram is
    12 megapixels)."""
    left, top, right, bottom = window
    at_rows, at_cols = np.arange(top, bottom), np.arange(left, right)
    rows, cols = picture.shape[:2]
    crop = picture[np.ix_(np.clip(at_rows, 0, rows - 1), np.clip(at_cols, 0, cols - 1))]
    if edge:
        return crop
    inside = ((at_rows >= 0) & (at_rows < rows))[:, None] & ((at_cols >= 0) & (at_cols < cols))[None, :]
    return np.where(inside, crop, np.zeros((), dtype=crop.dtype))


def _reader_box(lesion: np.ndarray, rng: np.random.Generator, kind: tuple[float, float, float]) -> Box:
    """A box such as a reader draws around ``lesion`` (a boolean mask), of one of the ``READER_BOXES`` kinds."""
    least, most, most_shift = kind
    rows, cols = np.nonzero(lesion)
    x, y = float(cols.min()), float(rows.min())
    w, h = float(cols.max() - cols.min() + 1), float(rows.max() - rows.min() + 1)
    out = rng.uniform(least, most, size=4) * np.array([w, h, w, h])
    shift = rng.uniform(-most_shift, most_shift, size=2) * np.array([w, h])
    return (x - out[0] + shift[0], y - out[1] + shift[1], w + out[0] + out[2], h + out[1] + out[3])


def _samples(examples: Sequence[tuple[np.ndarray, np.ndarray]],
             rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each of ``examples`` = (grey picture, lesion mask) pairs, the training pixels' features and answers of a
    box of each ``READER_BOXES`` kind around it: ``PIXELS_PER_BOX`` a box, fewer where the boxes together would pass
    ``PIXELS_PER_FIT``. Read once per fitting (``fit_outline_model``): the trial fits take subsets of them."""
    per_box = max(1, min(PIXELS_PER_BOX, PIXELS_PER_FIT // max(1, len(examples) * len(READER_BOXES))))
    samples = []
    for grey, lesion in examples:
        inputs, targets = [], []
        for kind in READER_BOXES:
            features, (left, top, right, bottom), shape = _box_features(grey, _reader_box(lesion, rng, kind))
            truth = _window(lesion, (left, top, right, bottom), edge=False).astype(np.float32)
            truth = resize(truth, shape, order=1, anti_aliasing=False) > 0.5
            flat, answers = features.reshape(-1, features.shape[-1]), truth.ravel()
            pick = rng.choice(len(answers), min(per_box, len(answers)), replace=False)
            inputs.append(flat[pick])
            targets.append(answers[pick])
        samples.append((np.concatenate(inputs), np.concatenate(targets)))
    return samples


def _fit(samples: Sequence[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator) -> HistGradientBoostingClassifier:
    """A pixel classifier from ``samples`` (``_samples``: features and answers, one pair per outline)."""
    classifier = HistGradientBoostingClassifier(max_iter=BOOSTING_ROUNDS, learning_rate=0.1, max_leaf_nodes=31,
                                                random_state=int(rng.integers(2**31)))
    return classifier.fit(np.concatenate([inputs for inputs, _ in samples]),
                          np.concatenate([targets for _, targets in samples]))


def _dice(points: np.ndarray | list[list[float]] | None, lesion: np.ndarray) -> float:
    if points is None or len(points) < 3:
        return 0.0
    return mask_dice(region_mask([[float(x), float(y)] for x, y in np.asarray(points)], *lesion.shape), lesion)


def fit_outline_model(examples: Sequence[tuple[np.ndarray, np.ndarray]], *, seed: int = 0) -> OutlineModel | None:
    """The learned quick outline from ``examples`` = (2-D grey picture, lesion mask) pairs, one per outline,
    compared with the classic outline on held-out outlines first (a quarter; each quarter in turn below
    ``CROSS_CHECK_BELOW`` outlines; see the module docstring); None with fewer than ``MIN_OUTLINES``."""
    usable = [(np.asarray(grey), np.asarray(lesion, dtype=bool)) for grey, lesion in examples
              if np.asarray(grey).ndim == 2 and np.asarray(lesion).sum() >= 4]
    if len(usable) < MIN_OUTLINES:
        return None
    rng = np.random.default_rng(seed)
    order = [int(index) for index in rng.permutation(len(usable))]
    if len(usable) < CROSS_CHECK_BELOW:  # every outline held out once, by quarters: a gate on 3 outlines is a toss
        folds = [order[k::FOLDS] for k in range(FOLDS)]
    else:
        folds = [order[:round(HELD_OUT * len(usable))]]
    samples = _samples(usable, rng)
    learned, classic = [], []
    for fold in folds:
        kept_back = set(fold)
        trial = OutlineModel(_fit([samples[i] for i in order if i not in kept_back], rng), 0, 0.0, 0.0, 0)
        for number, index in enumerate(fold):
            grey, lesion = usable[index]
            box = _reader_box(lesion, rng, READER_BOXES[number % len(READER_BOXES)])
            learned.append(_dice(trial.outline_points(grey, box), lesion))
            try:
                classic.append(_dice(outline_in_box(grey, box), lesion))
            except OutlineError:
                classic.append(0.0)
    return OutlineModel(_fit(samples, rng), len(usable), round(float(np.mean(learned)), 4),
                        round(float(np.mean(classic)), 4), len(learned))


def project_outlines(project: Project) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """By modality ("" where the image names none): (the part around the outline of the picture as the reader sees it
    by default, in grey; the outline's pixels there) for the project's current outlines of findings on labeled
    images, the ``MAX_OUTLINES`` most recent."""
    with Session(project.engine) as session:
        findings = [c.id for c in session.exec(select(LabelClass)).all() if c.type_code != NORMAL_CODE]
        found = session.exec(
            select(Region, Image).join(Annotation, Region.annotation_id == Annotation.id)
            .join(Image, Annotation.image_id == Image.id)
            .where(Annotation.is_current, Image.status == ImageStatus.LABELED,
                   col(Region.shape).in_(OUTLINE_SHAPES), col(Region.label_class_id).in_(findings))
            .order_by(col(Annotation.created_at).desc(), col(Region.id).desc()).limit(MAX_OUTLINES)).all()
    outlines: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    shown_id, grey = None, np.zeros((0, 0), dtype=np.float32)
    for region, image in sorted(found, key=lambda pair: pair[1].id):  # each picture rendered once, one at a time
        if len(region.points or []) < 3:
            continue
        if shown_id != image.id:
            picture = np.asarray(render_frame(image, project=project))
            shown_id, grey = image.id, picture if picture.ndim == 2 else picture[..., :3].mean(axis=2)
        lesion = region_mask(region.points, image.rows, image.cols)
        if lesion.shape == grey.shape and lesion.any():
            outlines.setdefault(image.modality or "", []).append(_around(grey, lesion))
    return outlines


def _around(picture: np.ndarray, lesion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``picture`` (grey, float32) and of the ``lesion`` mask that fitting can look at: the lesion and
    ``CONTEXT`` times its size on each side, as far as the picture goes. Every training box with its margin lies
    within it, so fitting sees the same pixels as on the whole picture, while 400 outlines on mammograms keep a few
    megabytes, not the pictures' gigabytes."""
    rows, cols = np.nonzero(lesion)
    around_y = int(np.ceil(CONTEXT * (rows.max() - rows.min() + 1))) + 4  # + the classic outline's 3 px at least
    around_x = int(np.ceil(CONTEXT * (cols.max() - cols.min() + 1))) + 4
    top, left = max(0, int(rows.min()) - around_y), max(0, int(cols.min()) - around_x)
    bottom = min(lesion.shape[0], int(rows.max()) + 1 + around_y)
    right = min(lesion.shape[1], int(cols.max()) + 1 + around_x)
    return (np.asarray(picture[top:bottom, left:right], dtype=np.float32),
            np.ascontiguousarray(lesion[top:bottom, left:right]))


def fit_project_outline(project: Project, *, seed: int = 0) -> dict[str, OutlineModel]:
    """The project's learned quick outline fitted on its current outlines, by modality with ``MIN_OUTLINES`` of
    them (a lesion on CT does not look like one on MR); nothing is kept here: the training job keeps them with the
    version it registers (``learner.registry.register``)."""
    return {modality: model for modality, examples in sorted(project_outlines(project).items())
            if (model := fit_outline_model(examples, seed=seed)) is not None}


def outline_record(models: dict[str, OutlineModel]) -> dict[str, Any]:
    """What was found, by modality, for the version's record (``outline_model``: None when no modality had
    enough outlines)."""
    if not models:
        return {"outline_model": None}
    return {"outline_model": {modality: {"outlines": model.outlines, "held_out": model.held_out,
                                         "learned_dice": model.learned_dice, "classic_dice": model.classic_dice,
                                         "used": model.preferred} for modality, model in models.items()}}


def outline_file(checkpoint: str | Path) -> Path:
    """Where the learned quick outline of the version whose checkpoint is ``checkpoint`` is kept."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + OUTLINE_SUFFIX)


def save_outline_models(models: dict[str, OutlineModel], path: Path) -> None:
    """Keep ``models`` (by modality) in ``path`` (skops, written whole or not at all)."""
    import skops.io  # imported when used: skops imports torch where it is installed, and pages must not

    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        skops.io.dump({modality: {"classifier": model.classifier, "outlines": model.outlines,
                                  "learned_dice": model.learned_dice, "classic_dice": model.classic_dice,
                                  "held_out": model.held_out} for modality, model in models.items()}, temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def load_outline_models(path: Path) -> dict[str, OutlineModel]:
    """The models kept in ``path``, by modality; ``skops.io.exceptions.UntrustedTypesFoundException`` for a file
    that holds anything but what ``save_outline_models`` writes."""
    import skops.io  # imported when used: skops imports torch where it is installed, and pages must not

    kept = skops.io.load(path, trusted=TRUSTED_TYPES)
    return {str(modality): OutlineModel(one["classifier"], int(one["outlines"]), float(one["learned_dice"]),
                                        float(one["classic_dice"]), int(one["held_out"]))
            for modality, one in kept.items()}


_loaded: dict[Path, tuple[tuple[int, int], dict[str, OutlineModel]]] = {}  # the least recently used first
KEPT_READ = 4  # versions' models kept read in a process, the most recently used (a server sees many trainings)
_loaded_lock = threading.Lock()  # the Label page's sessions outline at once


def project_outline_model(project: Project, modality: str | None) -> OutlineModel | None:
    """The active model version's learned quick outline for pictures of ``modality`` where it did better than the
    classic one, else None (each version's file read once per change)."""
    with Session(project.engine) as session:
        checkpoint = session.exec(select(ModelVersion.checkpoint_path).where(ModelVersion.active)).first()
    if checkpoint is None:
        return None
    path = outline_file(checkpoint)
    try:
        status = path.stat()
    except FileNotFoundError:
        return None  # a version without enough outlines of any modality, or from before outlines were learnt
    stamp = (status.st_mtime_ns, status.st_ino)
    kept = _loaded.get(path)
    if kept is None or kept[0] != stamp:
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            kept = (stamp, load_outline_models(path))
        except UntrustedTypesFoundException:
            return None  # not a file the training job wrote: the classic outline, and nothing in it runs
    with _loaded_lock:
        _loaded.pop(path, None)
        _loaded[path] = kept  # now the most recently used
        while len(_loaded) > KEPT_READ:
            del _loaded[next(iter(_loaded))]  # the one used longest ago
    model = kept[1].get(modality or "")
    return model if model is not None and model.preferred else None


def quick_outline_note(project: Project, modality: str | None) -> str | None:
    """For the reader, where the active version's quick outline on pictures of ``modality`` is the learnt one: what
    it learnt from and how it did against the classic outline on held-out outlines; else None (the classic one)."""
    model = project_outline_model(project, modality)
    if model is None:
        return None
    return (f"Quick outline (o) learnt from {model.outlines} outlines of {modality or 'these pictures'} in this "
            f"project: Dice {model.learned_dice:.2f} on held-out outlines, the classic outline "
            f"{model.classic_dice:.2f}.")
