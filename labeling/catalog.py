"""Looking images up: the list ``medal images`` prints and the Images page shows, and rendering one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from labeling.errors import ImageNotFound
from labeling.frames import FrameCache, encode_png, modality_frame, render_source_frame
from labeling.render import Window
from labeling.sources import Source
from storage.db import get_engine
from storage.hierarchy import up_to_patient
from storage.models import Annotation, Image, ModelVersion, Patient, Prediction, Series, Study, User
from storage.settings import cache_dir


@dataclass
class ImageSummary:
    id: int
    path: str
    frame: int
    sop_instance_uid: str | None
    modality: str | None
    rows: int
    cols: int
    patient_key: str | None
    study_date: date | None
    status: str

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["study_date"] = self.study_date.isoformat() if self.study_date else None
        return data


def list_images(engine: Engine | None = None, *, modality: str | None = None, status: str | None = None,
                patient_key: str | None = None, annotator: str | None = None, since: date | None = None,
                until: date | None = None, limit: int | None = None, offset: int = 0) -> list[ImageSummary]:
    """Images in id order with their patient key and study date, optionally filtered (the annotator
    filter keeps images with a current annotation by that user)."""
    statement = up_to_patient(select(Image, Patient.key, Study.study_date)).order_by(Image.id)
    if modality:
        statement = statement.where(Image.modality == modality)
    if status:
        statement = statement.where(Image.status == status)
    if patient_key:
        statement = statement.where(Patient.key == patient_key)
    if annotator:
        statement = statement.where(col(Image.id).in_(
            select(Annotation.image_id).join(User, Annotation.user_id == User.id)
            .where(User.name == annotator, Annotation.is_current)))
    if since:
        statement = statement.where(Study.study_date >= since)
    if until:
        statement = statement.where(Study.study_date <= until)
    if limit is not None:
        statement = statement.limit(limit)
    statement = statement.offset(offset)
    with Session(engine or get_engine()) as session:
        rows = session.exec(statement).all()
    return [
        ImageSummary(image.id, image.path, image.frame, image.sop_instance_uid, image.modality, image.rows,
                     image.cols, key, study_date, image.status.value)
        for image, key, study_date in rows
    ]


def get_image(image_id: int, engine: Engine | None = None) -> Image:
    with Session(engine or get_engine()) as session:
        image = session.get(Image, image_id)
    if image is None:
        raise ImageNotFound(f"There is no image {image_id} in this project; `medal images` lists them.")
    return image


def render_image(image_id: int, window: Window | int | None = None, engine: Engine | None = None) -> np.ndarray:
    """The full-resolution 8-bit image exactly as the UI shows it (default: the file's own window)."""
    image = get_image(image_id, engine)
    return render_frame(image, window)


def render_frame(image: Image, window: Window | int | None = None) -> np.ndarray:
    cache = FrameCache(cache_dir())
    if window is None:
        preview = cache.preview_path(image.cache_key)
        if preview.exists():
            with PILImage.open(preview) as stored:
                return np.asarray(stored)
    return render_source_frame(Source.parse(image.path), image.frame, window, cache, image.cache_key)


def write_png(image_id: int, out_dir: Path, window: Window | int | None = None,
              engine: Engine | None = None) -> Path:
    """``DIR/<id>.png`` for ``medal render``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{image_id}.png"
    target.write_bytes(encode_png(render_image(image_id, window, engine)))
    return target


def prediction_for(image_id: int, engine: Engine | None = None) -> Prediction | None:
    """The active model's prediction for an image (None before a model exists or scores it)."""
    with Session(engine or get_engine()) as session:
        return session.exec(select(Prediction).join(ModelVersion, Prediction.model_version_id == ModelVersion.id)
                            .where(Prediction.image_id == image_id, ModelVersion.active)).first()


def active_model_metrics(engine: Engine | None = None) -> dict[str, float]:
    """The active model version's validation metrics (empty before there is one)."""
    with Session(engine or get_engine()) as session:
        metrics = session.exec(select(ModelVersion.metrics).where(ModelVersion.active)).first()
    return dict(metrics or {})


def overlay_heatmap(picture: np.ndarray, heatmap_path: str, alpha: float = 0.45) -> np.ndarray:
    """The picture in grey with the model's heatmap (a .npy of 0..1 values, any size) in red over it."""
    heat = np.load(heatmap_path).astype(np.float32)
    grey = picture if picture.ndim == 2 else picture[..., :3].mean(axis=2)
    heat_image = PILImage.fromarray(np.clip(heat * 255, 0, 255).astype(np.uint8)).resize(
        (grey.shape[1], grey.shape[0]), PILImage.Resampling.BILINEAR)
    weight = np.asarray(heat_image, dtype=np.float32)[..., None] / 255 * alpha
    rgb = np.repeat(grey[..., None].astype(np.float32), 3, axis=2)
    red = np.zeros_like(rgb)
    red[..., 0] = 255
    return np.clip(rgb * (1 - weight) + red * weight, 0, 255).astype(np.uint8)


def thumbnail_png(image: Image, size: int = 192) -> bytes:
    """A small PNG of the default rendering, kept next to the preview in the cache."""
    cache = FrameCache(cache_dir())
    target = cache.preview_path(image.cache_key).with_suffix(f".thumb{size}.png")
    if not target.exists():
        picture = PILImage.fromarray(render_frame(image))
        picture.thumbnail((size, size))
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, format="PNG")
    return target.read_bytes()


@dataclass(frozen=True)
class WindowLimits:
    """Slider bounds for window/level, in the image's modality units (e.g. HU), and a start value."""

    low: float
    high: float
    start: Window
    units: str


def window_limits(image: Image) -> WindowLimits:
    low, high = _value_range(image.path, image.frame, image.cache_key)
    preset = image.windows[0] if image.windows and "center" in image.windows[0] else None
    start = Window(float(preset["center"]), float(preset["width"])) if preset else Window((low + high) / 2, high - low)
    units = "HU" if image.modality == "CT" else "stored value units"
    return WindowLimits(low, high, start, units)


@lru_cache(maxsize=256)
def _value_range(path: str, frame: int, key: str) -> tuple[float, float]:
    """Lowest and highest modality value of a frame, read once per image (every slider move asks)."""
    modality, _ = modality_frame(Source.parse(path), frame, FrameCache(cache_dir()), key)
    values = modality if modality.ndim == 2 else modality[..., 0]
    low, high = float(values.min()), float(values.max())
    return low, max(high, low + 1)


def patient_keys(engine: Engine | None = None) -> list[str]:
    """Every patient's pseudonymous key, sorted."""
    with Session(engine or get_engine()) as session:
        return list(session.exec(select(Patient.key).order_by(Patient.key)).all())


def patient_timeline(patient_key: str, engine: Engine | None = None) -> list[dict[str, object]]:
    """One patient's studies by date with how they were labeled and, once a model exists, what it
    predicts: the view for following a patient's condition over time."""
    with Session(engine or get_engine()) as session:
        studies = session.exec(select(Study).join(Patient, Study.patient_id == Patient.id)
                               .where(Patient.key == patient_key).order_by(Study.study_date, Study.id)).all()
        timeline = []
        for study in studies:
            in_study = (select(Image.id).join(Series, Image.series_id == Series.id)
                        .where(Series.study_id == study.id))
            images = session.exec(select(Image.modality, Image.status).where(col(Image.id).in_(in_study))).all()
            labels = session.exec(select(Annotation.image_label, func.count()).where(
                col(Annotation.image_id).in_(in_study), Annotation.is_current).group_by(Annotation.image_label)).all()
            top = session.exec(select(func.max(Prediction.probability))
                               .join(ModelVersion, Prediction.model_version_id == ModelVersion.id)
                               .where(col(Prediction.image_id).in_(in_study), ModelVersion.active)).one()
            timeline.append({
                "study date": study.study_date, "description": study.description or "",
                "modalities": ", ".join(sorted({m for m, _ in images if m})), "images": len(images),
                "labeled": sum(1 for _, status in images if status.value == "labeled"),
                "labels": ", ".join(f"{label or 'regions only'} ×{n}" for label, n in labels),
                "max model probability": None if top is None else round(float(top), 3)})
    return timeline
