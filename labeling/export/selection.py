"""What an export holds: labeled images with their current annotations, their patient split, and the
images left out (burned-in text in a de-identified export)."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import CONSENSUS
from labeling.export.burned_in import burned_in_reason
from labeling.labels import SavedAnnotation, list_annotations
from storage import Image, MedalError, Patient, SourceKind, Study, as_utc, up_to_patient

SPLITS = ("train", "val", "test")


class ExportError(MedalError):
    """An export asked for something that cannot be done (bad split, a folder that is not empty…)."""


@dataclass
class ExportImage:
    """One labeled image of the export with everything the writers need."""

    image: Image
    patient_key: str
    study_date: date | None
    annotations: list[SavedAnnotation]
    split: str = "train"

    @property
    def stem(self) -> str:
        """The file name stem of this image's files: pseudonymous patient key and Medal image id."""
        return f"{self.patient_key}_{self.image.id}"

    @property
    def is_dicom(self) -> bool:
        return self.image.kind == SourceKind.DICOM


@dataclass
class Selection:
    items: list[ExportImage]
    left_out: list[dict[str, object]] = field(default_factory=list)


def parse_split(text: str | None) -> tuple[float, float, float]:
    """``"70,15,15"`` → (0.7, 0.15, 0.15): train, validation and test shares of the patients' images."""
    if not text:
        return (1.0, 0.0, 0.0)
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as error:
        raise ExportError(f"--split {text!r} must be three numbers such as 70,15,15.") from error
    if len(parts) == 2:
        parts.append(0.0)
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise ExportError(f"--split {text!r} must be three non-negative numbers such as 70,15,15.")
    total = sum(parts)
    return (parts[0] / total, parts[1] / total, parts[2] / total)


def export_key(patient_key: str | None, image_id: int) -> str:
    """How an export names an image's patient: the pseudonymous key, or ``I<id>`` for a PNG/JPEG."""
    return patient_key or f"I{image_id}"


READINGS = ("each", "consensus", "all")  # which readings an export holds (ExportOptions.readings)
READING_NAMES = {"each": "Consensus where adjudicated, else every reading", "consensus": "Consensus only",
                 "all": "Every reading (the consensus as its own)"}


def select_labeled(*, engine: Engine, annotator: str | None = None, since: date | None = None,
                   split: tuple[float, float, float], exclude_burned_in: bool, readings: str = "each") -> Selection:
    """Every image with a current annotation (by ``annotator``, saved on or after ``since``), with the readings
    ``readings`` asks for (``READINGS``; see ``ExportOptions``)."""
    start = datetime(since.year, since.month, since.day, tzinfo=timezone.utc) if since else None
    by_image: dict[int, list[SavedAnnotation]] = defaultdict(list)
    for annotation in list_annotations(engine=engine, annotator=annotator):
        if start is None or as_utc(annotation.created_at) >= start:
            by_image[annotation.image_id].append(annotation)
    by_image = _readings(by_image, readings)
    rows = []
    with Session(engine) as session:
        ids = sorted(by_image)
        for first in range(0, len(ids), 500):  # in id order: chunks of sorted ids, each ordered
            rows += session.exec(up_to_patient(select(Image, Patient.key, Study.study_date))
                                 .where(col(Image.id).in_(ids[first:first + 500])).order_by(Image.id)).all()
    selection = Selection([])
    for image, key, study_date in rows:
        reason = burned_in_reason(image) if exclude_burned_in else None
        item = ExportImage(image, export_key(key, image.id), study_date, by_image[image.id])
        if dropped := _drop_unwritable_regions(item.annotations):  # strict JSON readers refuse NaN and Infinity
            selection.left_out.append({"image": item.stem, "modality": image.modality,
                                       "reason": f"{dropped} region(s) without finite coordinates left out"})
        if reason:
            selection.left_out.append({"image": item.stem, "modality": image.modality, "reason": reason})
        else:
            selection.items.append(item)
    assign_splits(selection.items, split)
    return selection


def _readings(by_image: dict[int, list[SavedAnnotation]], readings: str) -> dict[int, list[SavedAnnotation]]:
    """Each image's readings as ``readings`` asks: all of them; only adjudicated images' consensus; or each
    image's consensus where it has one, else every reading."""
    if readings == "all":
        return by_image
    chosen = {}
    for image_id, found in by_image.items():
        consensus = [a for a in found if a.annotator == CONSENSUS]
        if consensus or readings == "each":
            chosen[image_id] = consensus or found
    return chosen


def _drop_unwritable_regions(annotations: list[SavedAnnotation]) -> int:
    """Remove regions whose box or points are not finite numbers (Medal refuses them on save; an older
    database may hold one); returns how many went."""
    dropped = 0
    for annotation in annotations:
        kept = [r for r in annotation.regions
                if all(math.isfinite(v) for v in (*r.bbox, *(c for point in r.points for c in point)))]
        dropped += len(annotation.regions) - len(kept)
        annotation.regions = kept
    return dropped


def assign_splits(items: list[ExportImage], shares: tuple[float, float, float]) -> None:
    """Whole patients go to train, val or test: each patient, in an order fixed by a hash of their key,
    joins the split furthest below its share of the images. Never one patient in two splits."""
    by_patient: dict[str, list[ExportImage]] = defaultdict(list)
    for item in items:
        by_patient[item.patient_key].append(item)
    counts = dict.fromkeys(SPLITS, 0)
    order = sorted(by_patient, key=lambda key: hashlib.sha256(key.encode()).hexdigest())
    for key in order:
        total = sum(counts.values()) + len(by_patient[key])
        deficit = {s: share * total - counts[s] for s, share in zip(SPLITS, shares) if share > 0}
        chosen = max(deficit, key=lambda s: (deficit[s], -SPLITS.index(s)))
        for item in by_patient[key]:
            item.split = chosen
        counts[chosen] += len(by_patient[key])
