"""Training examples from the project's labels, a patient-level split, and datasets that stream pictures.

How labels become examples (one ``Example`` each). Which readings count (``_readings_to_learn``): an image's
consensus where a reviewer adjudicated one (``labeling.labels.review``); else its readings when they agree on
whether there is a finding; else as the reading plan's ``disagreeing`` rule says (every reading, the majority's,
or none until a reviewer decides).

- **Regions** give patches: a square around the region with a quarter of its size as context on each
  side (at least an eighth of the image's short side), labelled 1 when the region's class is a finding
  and 0 when the class is normal (SNOMED 17621005 "Normal", e.g. the default *Healthy*).
- **Image-level labels** give one whole-image example (*cancerous* → 1, *healthy* / *no finding* → 0)
  only while no region is drawn anywhere in the project: the model is then a whole-image classifier.
  Once regions exist it is a patch model, and whole images (another scale) are left out: a *healthy*
  image still gives its background and hard-negative patches.
- **Background**: an annotated image whose findings are all outlined (or that has none) also gives one
  patch away from every region, labelled 0, and ``HARD_NEGATIVES`` **hard negatives**: the patches of
  highest local contrast away from every finding region (blob-like structures such as the spine, vessels or
  dense tissue — normal anatomy present in every image, which the model must not take for a finding),
  found in the picture when the inputs are written. A *cancerous* image without regions gives neither:
  we do not know where the finding is.
- Images without an annotation are the unlabeled pool; skipped images are left out of both.

Pictures are the default 8-bit renderings the clinician sees (the preview cache), in grey, standardised
with the whole picture's mean and spread, so a patch and the image it comes from share one scale. The
datasets load one picture per item from the cache, so memory is bounded by the batch, not the data.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage
from scipy import ndimage
from skimage import feature
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from torch import nn
from torch.utils.data import Dataset

from labeling.access import CONSENSUS

# NORMAL_CODE: regions of a "Normal" class are negatives
from labeling.labels import NORMAL_CODE, current_plan, get_image, render_frame
from storage import (
    Annotation,
    Image,
    ImageNotFound,
    ImageStatus,
    LabelClass,
    Patient,
    Project,
    Region,
    User,
    up_to_patient,
)

POSITIVE_IMAGE_LABELS = frozenset({"cancerous"})
NEGATIVE_IMAGE_LABELS = frozenset({"healthy", "no finding"})
CONTEXT = 0.25  # context around a region, as a fraction of its size, on each side
MIN_PATCH_FRACTION = 1 / 8  # smallest patch side, as a fraction of the image's short side
MAX_PATCH_FRACTION = 0.6  # largest: a lesion wider than this is learnt from the part of it the patch holds
BACKGROUND_TRIES = 20
HARD_NEGATIVES = 2  # per fully judged image: the most blob-like structures outside every finding


@dataclass(frozen=True)
class Example:
    """One training example: an image, or a square patch ``(x, y, side)`` of it, and its class."""

    image_id: int
    patient: str
    label: int
    box: tuple[int, int, int] | None = None  # None = the whole image
    source: str = "image"  # image | region | background | hard
    avoid: tuple[tuple[float, float, float, float], ...] = ()  # hard: the finding regions its patch must not touch


@dataclass(frozen=True)
class Split:
    train: list[Example]
    val: list[Example]
    train_patients: frozenset[str]
    val_patients: frozenset[str]


def patient_of(image_id: int, patient_key: str | None) -> str:
    """The split's grouping key: the pseudonymous patient key, or the image itself when it has none."""
    return patient_key or f"image:{image_id}"


def square_around(x: float, y: float, w: float, h: float, rows: int, cols: int) -> tuple[int, int, int]:
    """The patch for a region's bounding box: a square with context, kept inside the image, at most
    ``MAX_PATCH_FRACTION`` of its short side — a lesion filling most of the picture is learnt from the part of it
    such a patch holds, so the dense pass has windows smaller than the picture to tell where it is."""
    short = min(rows, cols)
    side = int(round(min(short * MAX_PATCH_FRACTION, max(max(w, h) * (1 + 2 * CONTEXT), short * MIN_PATCH_FRACTION))))
    side = max(side, 1)
    left = int(round(min(max(x + w / 2 - side / 2, 0), cols - side)))
    top = int(round(min(max(y + h / 2 - side / 2, 0), rows - side)))
    return left, top, side


def _overlaps(box: tuple[int, int, int], regions: list[tuple[float, float, float, float]]) -> bool:
    x, y, side = box
    return any(x < rx + rw and rx < x + side and y < ry + rh and ry < y + side for rx, ry, rw, rh in regions)


def _background(image: Image, regions: list[tuple[float, float, float, float]], side: int) -> tuple[int, int,
                                                                                                    int] | None:
    """A patch of ``side`` that touches no region, at a position fixed by the image id (reproducible)."""
    rng = np.random.default_rng(image.id)
    if side >= min(image.rows, image.cols):
        return None if regions else (0, 0, side)
    for _ in range(BACKGROUND_TRIES):
        box = (int(rng.integers(0, image.cols - side + 1)), int(rng.integers(0, image.rows - side + 1)), side)
        if not _overlaps(box, regions):
            return box
    return None


def usable_region(region: Region, image: Image) -> bool:
    """Whether a stored region can be trained on: a finite box that overlaps its image. Medal refuses any other
    when it is saved; an older database, or one written by hand, may still hold one."""
    box = (region.x, region.y, region.w, region.h)
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in box) and region.w >= 0 and region.h >= 0 \
        and region.x < image.cols and region.y < image.rows and region.x + region.w > 0 and region.y + region.h > 0


def build_examples(skipped: list[int] | None = None, *, engine: Engine,
                   readings: dict[str, int] | None = None) -> list[Example]:
    """Every training example the current labels give, in a stable order (see the module docstring). A region
    that cannot be trained on (``usable_region``) is left out, its id added to ``skipped``: one bad region
    never fails every training run. ``readings`` hears how many images gave which readings (``_kind``:
    consensus, one_reading, every_reading, majority, left_out), to be recorded with the model version."""
    with Session(engine) as session:
        classes = {c.id: c.type_code != NORMAL_CODE for c in session.exec(select(LabelClass)).all()}
        found = session.exec(
            up_to_patient(select(Annotation, Image, Patient.key, User.name)
                          .join(Image, Annotation.image_id == Image.id).join(User, Annotation.user_id == User.id))
            .where(Annotation.is_current, Image.status == ImageStatus.LABELED)
            .order_by(Annotation.image_id, Annotation.id)).all()
        regions: dict[int, list[Region]] = defaultdict(list)
        for region in session.exec(select(Region).where(
                Region.annotation_id.in_([annotation.id for annotation, _, _, _ in found]))).all():
            regions[region.annotation_id].append(region)
    kept, kinds = _readings_to_learn(found, regions, classes, current_plan(engine=engine).disagreeing)
    rows = [(annotation, image, key) for annotation, image, key, _ in kept]
    if readings is not None:
        readings.update(kinds)
    examples: list[Example] = []
    for annotation, image, key in rows:
        patient = patient_of(image.id, key)
        drawn = [r for r in regions[annotation.id] if usable_region(r, image)]
        if skipped is not None:
            skipped.extend(r.id for r in regions[annotation.id] if not usable_region(r, image))
        boxes = [(r.x, r.y, r.w, r.h) for r in drawn]
        finding_drawn = any(classes.get(r.label_class_id, True) for r in drawn)
        label = (annotation.image_label or "").lower()
        if drawn:
            pass  # its regions (and the background around them) say more, at the patch model's scale
        elif label in POSITIVE_IMAGE_LABELS:
            examples.append(Example(image.id, patient, 1))
        elif label in NEGATIVE_IMAGE_LABELS:
            examples.append(Example(image.id, patient, 0))
        patches = [square_around(r.x, r.y, r.w, r.h, image.rows, image.cols) for r in drawn]
        examples.extend(Example(image.id, patient, int(classes.get(r.label_class_id, True)), box, "region")
                        for r, box in zip(drawn, patches))
        if label in POSITIVE_IMAGE_LABELS and not finding_drawn:
            continue  # a finding somewhere, not outlined: no patch of this image is known to be normal
        side = int(np.median([box[2] for box in patches])) if patches else \
            max(1, int(min(image.rows, image.cols) * MIN_PATCH_FRACTION * 2))
        background = _background(image, boxes, side)
        if background is not None:
            examples.append(Example(image.id, patient, 0, background, "background"))
            # Where the picture is read: the box is the background's until the salient one is found.
            # What the picture's hard negatives (and the mined ones, and the proposal threshold's normal parts)
            # must not touch: its findings. A region of a normal class (a *Healthy* nodule) is normal, and the
            # likeliest place for the model's mistakes.
            findings = tuple(box for box, r in zip(boxes, drawn) if classes.get(r.label_class_id, True))
            examples.extend(Example(image.id, patient, 0, background, "hard", findings)
                            for _ in range(HARD_NEGATIVES))
    if any(example.source == "region" for example in examples):  # a patch model: whole images are another scale
        examples = [example for example in examples if example.source != "image"]
    return examples


ReadingRow = tuple[Annotation, Image, str | None, str]  # an annotation, its image, its patient key, its reader


def _readings_to_learn(found: list[ReadingRow], regions: dict[int, list[Region]], classes: dict[int, bool],
                       disagreeing: str) -> tuple[list[ReadingRow], Counter[str]]:
    """The readings training learns from, and how many images gave which (consensus, one_reading, every_reading,
    majority, left_out): an image's consensus where a reviewer made one; else its readings when they agree on
    whether there is a finding; else, by the reading plan's ``disagreeing`` rule, every reading ("each"), those
    of a strict majority ("majority"; none without one), or none ("leave-out")."""
    by_image: dict[int, list[ReadingRow]] = defaultdict(list)
    for row in found:
        by_image[row[0].image_id].append(row)
    kept: list[ReadingRow] = []
    kinds: Counter[str] = Counter()
    for group in by_image.values():
        taken = _taken(group, regions, classes, disagreeing)
        kept += taken
        kinds[_kind(group, taken)] += 1
    return sorted(kept, key=lambda row: (row[0].image_id, row[0].id)), kinds


def _taken(group: list[ReadingRow], regions: dict[int, list[Region]], classes: dict[int, bool],
           disagreeing: str) -> list[ReadingRow]:
    """The readings of one image that training learns from (see ``_readings_to_learn``)."""
    consensus = [row for row in group if row[3] == CONSENSUS]
    if consensus:
        return consensus
    says = [_finds(row[0], regions[row[0].id], classes) for row in group]
    if len(set(says)) <= 1 or disagreeing == "each":
        return group
    if disagreeing == "majority" and (votes := Counter(says).most_common(1)[0])[1] * 2 > len(says):
        return [row for row, said in zip(group, says) if said == votes[0]]
    return []


def _finds(annotation: Annotation, drawn: list[Region], classes: dict[int, bool]) -> bool:
    """Whether a reading marks a finding: the image label *cancerous*, or a region of a finding class."""
    return (annotation.image_label or "").lower() in POSITIVE_IMAGE_LABELS or any(
        classes.get(region.label_class_id, True) for region in drawn)


def _kind(group: list[ReadingRow], taken: list[ReadingRow]) -> str:
    """How an image's readings were taken, for the model version's record."""
    if any(row[3] == CONSENSUS for row in group):
        return "consensus"
    if len(group) == 1:
        return "one_reading"
    if not taken:
        return "left_out"
    return "every_reading" if len(taken) == len(group) else "majority"


def salient_boxes(grey: np.ndarray, side: int, avoid: tuple[tuple[float, float, float, float], ...],
                  count: int) -> list[tuple[int, int, int]]:
    """Up to ``count`` square patches of ``side`` centred on the strongest blob-like structures of ``grey`` (peaks
    of the difference of Gaussians at the patch's scale, either sign) that touch no ``avoid`` box, strongest
    first: the hard negatives of a fully judged image."""
    rows, cols = grey.shape
    if side >= min(rows, cols):
        return []
    step = max(1, side // 16)  # the search runs on a reduced copy: a patch is ~16 of its pixels
    small = grey[::step, ::step].astype(np.float32)
    blobs = np.abs(ndimage.gaussian_filter(small, side / step / 8) - ndimage.gaussian_filter(small, side / step / 3))
    peaks = feature.peak_local_max(blobs, min_distance=max(1, side // step // 2), num_peaks=8 * count,
                                   exclude_border=False)
    found: list[tuple[int, int, int]] = []
    for y, x in peaks * step:
        box = (int(min(max(x - side // 2, 0), cols - side)), int(min(max(y - side // 2, 0), rows - side)), side)
        if not _overlaps(box, list(avoid)) and not _overlaps(box, [(bx, by, bs, bs) for bx, by, bs in found]):
            found.append(box)
        if len(found) == count:
            break
    return found


def patch_fraction(examples: list[Example], shapes: dict[int, tuple[int, int]]) -> float:
    """The typical region patch side as a fraction of its image's short side: the window of the dense pass
    (1, the whole image, when no region was drawn: the model is then a whole-image classifier)."""
    fractions = [e.box[2] / min(shapes[e.image_id]) for e in examples
                 if e.source == "region" and e.box and e.image_id in shapes]
    return float(np.median(fractions)) if fractions else 1.0


SCALE_STEP = 1.6  # the dense pass's window scales are at least this factor apart …
SCALE_QUANTILES = (0.15, 0.85)  # … and, beside the median, the region patches' small and large ends


def patch_fractions(examples: list[Example], shapes: dict[int, tuple[int, int]]) -> list[float]:
    """The windows of the dense pass, as fractions of the image's short side: the median region patch
    (``patch_fraction``), and the patches at SCALE_QUANTILES where they are at least SCALE_STEP from it. Each
    region is trained at its own scale (its patch is resized to the model's input), so lesions of very different
    sizes — a 20-px nodule and a mass filling half the picture — are each found at the scale that fits them."""
    fractions = [e.box[2] / min(shapes[e.image_id]) for e in examples
                 if e.source == "region" and e.box and e.image_id in shapes]
    if not fractions:
        return [1.0]
    median = float(np.median(fractions))
    low, high = (float(q) for q in np.quantile(fractions, SCALE_QUANTILES))
    return [f for f in (low,) if f * SCALE_STEP <= median] + [median] + \
        [f for f in (high,) if f >= median * SCALE_STEP]


MIN_TRAIN_FINDINGS = 0.6  # of each stratum's examples with a finding, training keeps at least this share


def split_by_patient(examples: list[Example], val_fraction: float = 0.2, seed: int = 0,
                     strata: dict[int, str] | None = None) -> Split:
    """Whole patients go to validation (never one patient on both sides) until it holds about
    ``val_fraction`` of the examples and both classes, leaving both classes to training when the
    labels allow it. The order of patients is a hash of ``seed`` and their key: reproducible.

    ``strata`` (image id → e.g. its modality): a patient stays in training where validation would otherwise
    take more than 1 − MIN_TRAIN_FINDINGS of a stratum's findings (unless validation then gets no finding at
    all). Without it, a split of the demo left training 5 of its 20 mammography findings, and the model then
    found none of them."""
    by_patient: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_patient[example.patient].append(example)
    classes = {p: {e.label for e in items} for p, items in by_patient.items()}
    order = sorted(by_patient, key=lambda p: hashlib.sha1(f"{seed}/{p}".encode()).hexdigest())
    findings_of = {p: Counter(strata.get(e.image_id, "") for e in items if e.label == 1)
                   for p, items in by_patient.items()} if strata else {}
    val = _validation_patients(order, by_patient, classes, val_fraction * len(examples), findings_of)
    if findings_of and not any(1 in classes[p] for p in val):
        val = _validation_patients(order, by_patient, classes, val_fraction * len(examples), {})
    for label in (0, 1):  # training must keep every class the labels have
        train_classes = set().union(*(classes[p] for p in order if p not in val)) if len(val) < len(order) else set()
        if label not in train_classes:
            giver = next((p for p in reversed(val) if label in classes[p]), None)
            if giver is not None and len(val) > 1:
                val.remove(giver)
    train = [p for p in order if p not in val]
    return Split([e for p in train for e in by_patient[p]], [e for p in val for e in by_patient[p]],
                 frozenset(train), frozenset(val))


def _validation_patients(order: list[str], by_patient: dict[str, list[Example]], classes: dict[str, set[int]],
                         target: float, findings_of: dict[str, Counter[str]]) -> list[str]:
    """Patients in ``order`` for validation, up to ``target`` examples and both classes; with ``findings_of``
    (each patient's findings per stratum), none that would leave training too few of a stratum's findings."""
    findings: Counter[str] = sum(findings_of.values(), Counter())
    taken: Counter[str] = Counter()
    val: list[str] = []
    count, seen = 0, set()
    for patient in order:
        if count >= target and seen >= {0, 1}:
            break
        if len(val) >= len(order) - 1:
            break
        if count >= target and not classes[patient] - seen:
            continue  # enough examples already: only a patient bringing the missing class helps
        if any(taken[stratum] + n > (1 - MIN_TRAIN_FINDINGS) * findings[stratum]
               for stratum, n in findings_of.get(patient, Counter()).items()):
            continue  # training would keep too few of that stratum's findings
        val.append(patient)
        count += len(by_patient[patient])
        seen |= classes[patient]
        taken.update(findings_of.get(patient, Counter()))
    return val


def read_picture(image_id: int, *, project: Project) -> tuple[np.ndarray, float, float]:
    """The image as shown by default (``project``'s row and preview cache), in grey float32, with its
    mean and spread."""
    return picture_of(get_image(image_id, engine=project.engine), project)


def picture_of(image: Image, project: Project) -> tuple[np.ndarray, float, float]:
    """``read_picture`` of a row already at hand (the dense pass reads a batch's rows in one query)."""
    picture = render_frame(image, project=project)
    grey = picture.astype(np.float32) if picture.ndim == 2 else picture[..., :3].astype(np.float32).mean(axis=2)
    return grey, float(grey.mean()), float(grey.std()) + 1e-3


def images_by_id(image_ids: list[int], engine: Engine) -> dict[int, Image]:
    """The rows of ``image_ids``, in one query; :class:`ImageNotFound` names any that no longer exist."""
    with Session(engine) as session:
        found = {image.id: image for image in session.exec(select(Image).where(col(Image.id).in_(image_ids))).all()}
    missing = sorted(set(image_ids) - set(found))
    if missing:
        raise ImageNotFound(f"Images {missing} are no longer in this project (deleted while the job ran); "
                            "run the job again.")
    return found


def to_input(region: np.ndarray, mean: float, std: float, size: int) -> torch.Tensor:
    """A grey picture (or part) resized to size×size and standardised: a 1×size×size float tensor."""
    resized = PILImage.fromarray(region).resize((size, size), PILImage.Resampling.BILINEAR)
    return torch.from_numpy((np.asarray(resized, dtype=np.float32) - mean) / std)[None]


class ExampleDataset(Dataset):
    """``(1×size×size tensor, label)`` per example, from a float16 memory-mapped file on disk.

    ``materialise`` fills the file in one pass that reads each picture once (crops of one image are
    taken together); training then reads batches from the file, so memory stays bounded by the batch
    whatever the number of labels.
    """

    def __init__(self, inputs: np.ndarray, labels: list[int]) -> None:
        self.inputs, self.labels = inputs, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(np.asarray(self.inputs[index], dtype=np.float32)), self.labels[index]


def _with_context(grey: np.ndarray, box: tuple[int, int, int] | None, mean: float, std: float, size: int,
                  context: int) -> torch.Tensor:
    """The network input of a patch (or the whole picture, ``box`` None) with ``context`` pixels of its
    surroundings on each side at the patch's scale (the picture's edge repeated where it ends)."""
    if box is None:
        whole = to_input(grey, mean, std, size)
        return nn.functional.pad(whole[None], (context,) * 4, mode="replicate")[0] if context else whole
    x, y, side = box
    margin = int(round(side * context / size))
    if margin:
        grey = np.pad(grey, margin, mode="edge")
    return to_input(grey[y:y + side + 2 * margin, x:x + side + 2 * margin], mean, std, size + 2 * context)


MATERIALISE_CHUNK = 64  # images whose rows come in one query and whose inputs one thread builds
MATERIALISE_THREADS = min(4, os.cpu_count() or 1)  # picture decoding, resizing and peak finding release the GIL


def materialise(examples: list[Example], size: int, path: Path, context: int = 0, *,
                project: Project) -> ExampleDataset:
    """Write every example's network input (pictures from ``project``; ``context`` pixels around each patch)
    to ``path`` (a .npy memory map) and return a dataset over it. Each picture is read once, for all its
    examples; chunks of images are read on MATERIALISE_THREADS threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    full = size + 2 * context
    inputs = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(len(examples), 1, full, full))
    by_image: dict[int, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_image[example.image_id].append(index)
    images = list(by_image.items())
    chunks = [images[start:start + MATERIALISE_CHUNK] for start in range(0, len(images), MATERIALISE_CHUNK)]

    def fill(chunk: list[tuple[int, list[int]]]) -> None:
        rows = images_by_id([image_id for image_id, _ in chunk], project.engine)
        for image_id, indices in chunk:
            for index, tensor in _inputs_of(rows[image_id], indices, examples, size, context, project):
                inputs[index] = tensor.numpy()  # rows of one example each: no two threads write the same

    with ThreadPoolExecutor(MATERIALISE_THREADS, thread_name_prefix="medal-materialise") as pool:
        for _ in pool.map(fill, chunks):
            pass  # a chunk's error is raised here
    inputs.flush()
    return ExampleDataset(inputs, [e.label for e in examples])


def _inputs_of(image: Image, indices: list[int], examples: list[Example], size: int, context: int,
               project: Project) -> list[tuple[int, torch.Tensor]]:
    """The network inputs of ``examples[indices]``, all of ``image``: its picture read once; hard negatives
    placed on its most salient spots away from findings."""
    grey, mean, std = picture_of(image, project)
    hard = [index for index in indices if examples[index].source == "hard"]
    salient = salient_boxes(grey, examples[hard[0]].box[2], examples[hard[0]].avoid, len(hard)) if hard else []
    built = []
    for index in indices:
        box = examples[index].box
        if examples[index].source == "hard" and salient:
            box = salient.pop(0)
        built.append((index, _with_context(grey, box, mean, std, size, context)))
    return built


class PoolDataset(Dataset):
    """Whole images of ``project`` as ``(tensor, image id)``, for scoring."""

    def __init__(self, image_ids: list[int], size: int, *, project: Project) -> None:
        self.image_ids, self.size, self.project = image_ids, size, project

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        grey, mean, std = read_picture(self.image_ids[index], project=self.project)
        return to_input(grey, mean, std, self.size), self.image_ids[index]


def scaled_picture(picture: tuple[np.ndarray, float, float], fraction: float, size: int
                   ) -> tuple[torch.Tensor, float, float]:
    """The whole picture (``read_picture``'s) at the patch model's scale: resized so that a window of side
    ``fraction`` × the image's short side becomes size×size pixels (as training patches are), standardised like
    them, and at least size×size. Returns the (1, H, W) tensor and the image pixels per scaled pixel along x
    and y."""
    grey, mean, std = picture
    rows, cols = grey.shape
    scale = size / max(1, int(round(min(rows, cols) * fraction)))
    width, height = max(size, int(round(cols * scale))), max(size, int(round(rows * scale)))
    scaled = np.asarray(PILImage.fromarray(grey).resize((width, height), PILImage.Resampling.BILINEAR),
                        dtype=np.float32)
    return torch.from_numpy((scaled - mean) / std)[None], cols / width, rows / height
