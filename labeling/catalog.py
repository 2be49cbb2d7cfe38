"""Looking images up: the list ``medal images`` prints and the Images page shows, and rendering one."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.errors import ImageNotFound
from labeling.frames import FrameCache, encode_png, render_source_frame
from labeling.render import Window
from labeling.sources import Source
from storage.db import get_engine
from storage.models import Image, Patient, Series, Study
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
                patient_key: str | None = None, limit: int | None = None, offset: int = 0) -> list[ImageSummary]:
    """Images in id order with their patient key and study date, optionally filtered."""
    statement = (
        select(Image, Patient.key, Study.study_date)
        .outerjoin(Series, Image.series_id == Series.id)
        .outerjoin(Study, Series.study_id == Study.id)
        .outerjoin(Patient, Study.patient_id == Patient.id)
        .order_by(Image.id)
    )
    if modality:
        statement = statement.where(Image.modality == modality)
    if status:
        statement = statement.where(Image.status == status)
    if patient_key:
        statement = statement.where(Patient.key == patient_key)
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
