"""How readers agree: every pair of readers over the images both read, and all readers together.

A *reading* is a reader's current annotation of an image. For each pair of readers, over the images both
read:

- **image labels**: Cohen's κ (scikit-learn's ``cohen_kappa_score``; an image without a label counts as
  "none") and the share of images with the same label;
- **findings**: whether each reading marks a finding (a region of a class that is not SNOMED "Normal", or
  the image label *cancerous*): both, only one of them, neither — a finding one reader saw and the other
  did not is the disagreement a review looks at first;
- **regions**: per class, each reader's regions matched one to one by overlap (the pairing with the largest
  total IoU, scipy's ``linear_sum_assignment``; only overlapping regions match), the Dice and IoU of every
  matched pair, and the regions left unmatched on each side.

Each reader against the consensus (``review``), where there is one: sensitivity and precision for findings
(Wilson intervals) and the pair's comparison. For all readers together: Krippendorff's α (nominal) on image
labels, which allows any number of readers per image and missing readings (the ``krippendorff`` package).
Every other estimate comes with a 95% interval from a bootstrap over images (seeded: the same data gives the
same interval).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import krippendorff
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import cohen_kappa_score
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import CONSENSUS, rights
from labeling.labels.annotations import SavedAnnotation, SavedRegion, list_annotations
from labeling.labels.region_masks import region_mask
from labeling.labels.taxonomy import NORMAL_CODE
from storage import Image, LabelClass

NO_LABEL = "none"
FINDING_IMAGE_LABELS = frozenset({"cancerous"})
BOOTSTRAP = 1000  # resamples of the images for each 95% interval
SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A value with its 95% bootstrap interval (None where the data cannot say: too few images, or every
    image given one label by both, which leaves κ undefined)."""

    value: float | None
    low: float | None
    high: float | None
    n: int  # the images (or matched region pairs) it rests on

    def as_text(self) -> str:
        if self.value is None:
            return f"— (n={self.n})"
        interval = "" if self.low is None else f" [{self.low:.2f}, {self.high:.2f}]"
        return f"{self.value:.2f}{interval} (n={self.n})"


@dataclass(frozen=True)
class RegionCounts:
    """One pair of readers' regions of one class (or of every class): matched pairs and the rest."""

    matched: int
    only_first: int
    only_second: int
    dice: Estimate
    iou: Estimate


@dataclass(frozen=True)
class PairAgreement:
    """Two readers over the images both read."""

    first: str
    second: str
    images: int
    label_kappa: Estimate
    label_agreement: float | None  # share of images with the same image label
    findings: dict[str, int]  # "both", "only_first", "only_second", "neither": images
    regions: RegionCounts
    regions_by_class: dict[str, RegionCounts]
    dice_values: list[float] = field(repr=False)  # every matched pair's Dice, for a distribution plot


@dataclass(frozen=True)
class AgainstConsensus:
    """One reader against the consensus, over the images with both: the consensus's findings the reader marked
    (sensitivity), the reader's findings the consensus kept (precision), with Wilson 95% intervals, and the
    pair's full comparison (``pair.second`` is "consensus")."""

    reader: str
    sensitivity: Estimate
    precision: Estimate
    pair: PairAgreement


@dataclass(frozen=True)
class AgreementReport:
    readers: list[str]
    images_read_twice: int  # images with readings of two readers or more
    readings: int
    alpha: Estimate  # Krippendorff's α (nominal) on image labels, every reader
    pairs: list[PairAgreement]
    against_consensus: list[AgainstConsensus]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def agreement_report(*, engine: Engine, actor: str | None = None, readers: list[str] | None = None,
                     bootstrap: int = BOOTSTRAP) -> AgreementReport:
    """How the project's readers agree (see the module docstring); ``readers`` limits it to some of them.
    ``actor`` must be a reviewer, scientist or admin (None: the shell, with the server's trust)."""
    with Session(engine) as session:
        rights.check(session, actor, rights.SEE_AGREEMENT)
        normal = {c.name for c in session.exec(select(LabelClass)).all() if c.type_code == NORMAL_CODE}
    readings = _readings(engine, readers)
    by_image: dict[int, dict[str, SavedAnnotation]] = defaultdict(dict)
    for reading in readings:
        by_image[reading.image_id][reading.annotator] = reading
    consensus = {i: found for i, found in by_image.items() if CONSENSUS in found}
    shared = {image_id: {name: r for name, r in found.items() if name != CONSENSUS}
              for image_id, found in by_image.items() if len(set(found) - {CONSENSUS}) >= 2}
    shapes = image_shapes(sorted(set(shared) | set(consensus)), engine=engine)
    names = sorted({name for found in shared.values() for name in found})
    rng = np.random.default_rng(SEED)
    pairs = [_pair(first, second, shared, shapes, normal, rng, bootstrap)
             for first, second in itertools.combinations(names, 2)
             if any(first in found and second in found for found in shared.values())]
    judged = sorted({name for found in consensus.values() for name in found} - {CONSENSUS})
    return AgreementReport(names, len(shared), sum(len(found) for found in shared.values()),
                           _alpha(names, shared, rng, bootstrap), pairs,
                           [_against_consensus(reader, consensus, shapes, normal, rng, bootstrap) for reader in judged])


def _against_consensus(reader: str, consensus: dict[int, dict[str, SavedAnnotation]],
                       shapes: dict[int, tuple[int, int]], normal: set[str], rng: np.random.Generator,
                       bootstrap: int) -> AgainstConsensus:
    pair = _pair(reader, CONSENSUS, consensus, shapes, normal, rng, bootstrap)
    both, missed, extra = (pair.findings[k] for k in ("both", "only_second", "only_first"))
    return AgainstConsensus(reader, wilson(both, both + missed), wilson(both, both + extra), pair)


def wilson(hits: int, n: int) -> Estimate:
    """A proportion with its Wilson score 95% interval."""
    if n == 0:
        return Estimate(None, None, None, 0)
    p, z = hits / n, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def _readings(engine: Engine, readers: list[str] | None) -> list[SavedAnnotation]:
    found = list_annotations(engine=engine)
    return [a for a in found if readers is None or a.annotator in readers]


def image_shapes(image_ids: list[int], *, engine: Engine) -> dict[int, tuple[int, int]]:
    """Each image's (rows, columns), 500 ids a query."""
    shapes: dict[int, tuple[int, int]] = {}
    with Session(engine) as session:
        for start in range(0, len(image_ids), 500):
            chunk = image_ids[start:start + 500]
            shapes.update({i: (rows, cols) for i, rows, cols in session.exec(
                select(Image.id, Image.rows, Image.cols).where(col(Image.id).in_(chunk))).all()})
    return shapes


def image_label(reading: SavedAnnotation) -> str:
    return reading.image_label or NO_LABEL


def has_finding(reading: SavedAnnotation, normal: set[str]) -> bool:
    """A region of a finding class, or the image label *cancerous*."""
    return (reading.image_label in FINDING_IMAGE_LABELS) or any(r.label not in normal for r in reading.regions)


def _pair(first: str, second: str, shared: dict[int, dict[str, SavedAnnotation]],
          shapes: dict[int, tuple[int, int]], normal: set[str], rng: np.random.Generator,
          bootstrap: int) -> PairAgreement:
    images = sorted(i for i, found in shared.items() if first in found and second in found)
    a = [image_label(shared[i][first]) for i in images]
    b = [image_label(shared[i][second]) for i in images]
    findings = {"both": 0, "only_first": 0, "only_second": 0, "neither": 0}
    for i in images:
        seen = (has_finding(shared[i][first], normal), has_finding(shared[i][second], normal))
        findings[{(True, True): "both", (True, False): "only_first", (False, True): "only_second",
                  (False, False): "neither"}[seen]] += 1
    matches: dict[str, list[tuple[float, float]]] = defaultdict(list)
    unmatched: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in images:
        for label, (pairs, left, right) in match_regions(shared[i][first].regions, shared[i][second].regions,
                                                          shapes[i]).items():
            matches[label] += pairs
            unmatched[label][0] += left
            unmatched[label][1] += right
    by_class = {label: _counts(matches[label], *unmatched[label], rng, bootstrap)
                for label in sorted(set(matches) | set(unmatched))}
    every = [pair for label in sorted(matches) for pair in matches[label]]
    total = _counts(every, sum(u[0] for u in unmatched.values()), sum(u[1] for u in unmatched.values()),
                    rng, bootstrap)
    agreement = float(np.mean([x == y for x, y in zip(a, b)])) if images else None
    return PairAgreement(first, second, len(images), _kappa(a, b, rng, bootstrap), agreement, findings, total,
                         by_class, [round(dice, 4) for dice, _ in every])


def match_regions(first: list[SavedRegion], second: list[SavedRegion],
                  shape: tuple[int, int]) -> dict[str, tuple[list[tuple[float, float]], int, int]]:
    """Per class: the (Dice, IoU) of each matched pair of regions, and how many of each reader's regions
    matched none. Regions match one to one, by overlap, the pairing with the largest total IoU."""
    found: dict[str, tuple[list[tuple[float, float]], int, int]] = {}
    for label in sorted({r.label for r in first} | {r.label for r in second}):
        window = _window([r for r in first + second if r.label == label], shape)
        left = [_mask_in(r, window) for r in first if r.label == label]
        right = [_mask_in(r, window) for r in second if r.label == label]
        iou = np.zeros((len(left), len(right)))
        dice = np.zeros_like(iou)
        for p, q in itertools.product(range(len(left)), range(len(right))):
            overlap = np.count_nonzero(left[p] & right[q])
            sizes = np.count_nonzero(left[p]) + np.count_nonzero(right[q])
            if overlap:
                iou[p, q] = overlap / (sizes - overlap)
                dice[p, q] = 2 * overlap / sizes
        rows, cols = linear_sum_assignment(iou, maximize=True) if iou.size else ([], [])
        pairs = [(float(dice[p, q]), float(iou[p, q])) for p, q in zip(rows, cols) if iou[p, q] > 0]
        found[label] = (pairs, len(left) - len(pairs), len(right) - len(pairs))
    return found


def _window(regions: list[SavedRegion], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The part of the image (x0, y0, width, height) that holds every one of ``regions``: masks are drawn there,
    not over the whole picture (the same pixels: a shift by whole pixels rasterises alike)."""
    xs = [x for region in regions for x, _ in region.points]
    ys = [y for region in regions for _, y in region.points]
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(shape[1], math.ceil(max(xs)) + 1), min(shape[0], math.ceil(max(ys)) + 1)
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _mask_in(region: SavedRegion, window: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, width, height = window
    return region_mask([[x - x0, y - y0] for x, y in region.points], height, width)


def _counts(pairs: list[tuple[float, float]], only_first: int, only_second: int, rng: np.random.Generator,
            bootstrap: int) -> RegionCounts:
    dice = np.asarray([d for d, _ in pairs])
    iou = np.asarray([j for _, j in pairs])
    return RegionCounts(len(pairs), only_first, only_second, _mean(dice, rng, bootstrap), _mean(iou, rng, bootstrap))


def _mean(values: np.ndarray, rng: np.random.Generator, bootstrap: int) -> Estimate:
    if not len(values):
        return Estimate(None, None, None, 0)
    if len(values) < 2:
        return Estimate(float(values.mean()), None, None, len(values))
    means = values[rng.integers(0, len(values), (bootstrap, len(values)))].mean(1)
    low, high = np.quantile(means, [0.025, 0.975])
    return Estimate(float(values.mean()), float(low), float(high), len(values))


def _kappa(a: list[str], b: list[str], rng: np.random.Generator, bootstrap: int) -> Estimate:
    """Cohen's κ with a bootstrap interval (resamples where κ is undefined — one label only — are left out)."""
    if len(a) < 2 or len(set(a) | set(b)) < 2:
        return Estimate(None, None, None, len(a))
    value = float(cohen_kappa_score(a, b))
    codes = {label: n for n, label in enumerate(sorted(set(a) | set(b)))}
    x, y = np.asarray([codes[v] for v in a]), np.asarray([codes[v] for v in b])
    draws = rng.integers(0, len(a), (bootstrap, len(a)))
    values = [k for k in (kappa_from_codes(x[d], y[d], len(codes)) for d in draws) if not math.isnan(k)]
    low, high = (float(v) for v in np.quantile(values, [0.025, 0.975])) if values else (None, None)
    return Estimate(value, low, high, len(a))


def kappa_from_codes(x: np.ndarray, y: np.ndarray, categories: int) -> float:
    """Cohen's κ of two integer-coded raters (as scikit-learn computes it, without its checks: fast enough
    for a bootstrap); NaN when chance agreement is 1."""
    table = np.bincount(x * categories + y, minlength=categories * categories).reshape(categories, categories)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(0) * table.sum(1)).sum()) / n / n
    return float("nan") if expected >= 1 else float((observed - expected) / (1 - expected))


def _alpha(names: list[str], shared: dict[int, dict[str, SavedAnnotation]], rng: np.random.Generator,
           bootstrap: int) -> Estimate:
    """Krippendorff's α (nominal) on image labels over images read at least twice, with a bootstrap interval."""
    images = sorted(shared)
    labels = sorted({image_label(r) for found in shared.values() for r in found.values()})
    if len(images) < 2 or len(labels) < 2:
        return Estimate(None, None, None, len(images))
    codes = {label: float(n) for n, label in enumerate(labels)}
    data = np.full((len(names), len(images)), np.nan)
    for column, image_id in enumerate(images):
        for row, name in enumerate(names):
            if name in shared[image_id]:
                data[row, column] = codes[image_label(shared[image_id][name])]
    value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    values = []
    for draw in rng.integers(0, len(images), (min(bootstrap, 200), len(images))):
        sample = data[:, draw]
        if len(np.unique(sample[~np.isnan(sample)])) >= 2:
            values.append(float(krippendorff.alpha(reliability_data=sample, level_of_measurement="nominal")))
    low, high = (float(v) for v in np.quantile(values, [0.025, 0.975])) if values else (None, None)
    return Estimate(value, low, high, len(images))
