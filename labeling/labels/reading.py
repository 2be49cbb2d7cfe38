"""What a reading station needs beyond one picture: the image's series in anatomical order, each slice's
modality values for the browser to window itself, the text of the viewer's corners, and the quick outline
of a lesion in a box drawn on the picture as the clinician sees it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.access import rights
from labeling.dicom import FrameCache, Source, Window, default_voi_lut, dicom_header, frame_view, modality_frame, sniff
from labeling.labels.catalog import get_image
from labeling.labels.identity import months_between, series_name
from labeling.labels.learned_outline import project_outline_model
from labeling.labels.outline import Box, outline_in_box, outline_refitted
from labeling.labels.pictures import render_frame
from storage import Image, MedalError, Patient, Project, Series, SourceKind, Study, up_to_patient

MAX_SLICES = 1_000  # a series longer than this is shown around the image, not whole


def series_slices(image_id: int, *, engine: Engine) -> list[Image]:
    """The image and the other images of its series, in anatomical order: by position along the plane's
    normal when every slice has one (head to feet, as a radiologist scrolls: decreasing position), else by
    instance number, then frame. An image without a series is alone."""
    image = get_image(image_id, engine=engine)
    if image.series_id is None:
        return [image]
    slices = _in_anatomical_order(_series_members(image.series_id, engine))
    if len(slices) > MAX_SLICES:
        at = next(i for i, s in enumerate(slices) if s.id == image.id)
        start = min(max(at - MAX_SLICES // 2, 0), len(slices) - MAX_SLICES)
        slices = slices[start:start + MAX_SLICES]
    return slices


def _series_members(series_id: int, engine: Engine) -> list[Image]:
    with Session(engine) as session:
        return list(session.exec(select(Image).where(Image.series_id == series_id)))


def _in_anatomical_order(slices: list[Image]) -> list[Image]:
    if all(s.slice_position is not None for s in slices):
        return sorted(slices, key=lambda s: (-float(s.slice_position), s.instance_number or 0, s.frame, s.id))
    return sorted(slices, key=lambda s: (s.instance_number is None, s.instance_number or 0, s.frame, s.id))


def modality_values(image_id: int, *, project: Project, actor: str | None) -> np.ndarray:
    """The frame's modality values (HU for CT; 8-bit RGB for colour), decoded once into the cache. Only an
    account that may label may fetch pixels (the browser asks with its session cookie)."""
    engine = project.engine
    with Session(engine) as session:
        rights.check(session, actor, rights.LABEL)
    image = get_image(image_id, engine=engine)
    values, _ = modality_frame(Source.parse(image.path), image.frame, FrameCache(project.cache_dir), image.cache_key)
    return values


def outline_region(image_id: int, box: Box, *, project: Project, actor: str | None, window: tuple[float,
                                                                                                  float] | None = None,
                   max_vertices: int = 48, refit_passes: int = 0, min_side: float = 0.0) -> list[list[float]]:
    """The quick outline (``labeling.labels.outline.outline_in_box``) of the lesion in ``box`` = (x, y, w, h)
    on the image, as polygon points in image pixels, found on the picture the clinician sees: the frame under
    ``window`` = (centre, width) in modality units when they chose one, else its default rendering (a colour
    image as it is); with ``refit_passes``, outlined again that many times in a box snug around what was found
    (``outline_refitted``, for a model's box: at least ``min_side`` pixels). Only an account that may label may
    ask; ``OutlineError`` for a box it cannot outline, ``InvalidWindow`` for a window that is no window."""
    engine = project.engine
    with Session(engine) as session:
        rights.check(session, actor, rights.LABEL)
    image = get_image(image_id, engine=engine)
    grey = window is not None and (image.samples_per_pixel or 1) == 1
    picture = render_frame(image, Window(float(window[0]), float(window[1])) if grey else None, project=project)
    model = project_outline_model(project, image.modality)
    if refit_passes:
        return outline_refitted(picture, box, passes=refit_passes, min_side=min_side, max_vertices=max_vertices,
                                model=model)
    return outline_in_box(picture, box, max_vertices=max_vertices, model=model)


BROWSER_DTYPES = ("uint8", "int16", "uint16", "int32", "float32")


def for_browser(values: np.ndarray) -> tuple[bytes, str, tuple[int, ...]]:
    """Modality values as the viewer reads them: little-endian bytes of one of ``BROWSER_DTYPES`` (wider
    or odd types are narrowed without changing a value where that is possible), the dtype and the shape."""
    if values.dtype.name not in BROWSER_DTYPES:
        if values.dtype.kind in "iub" and values.size and values.min() >= -(2**31) and values.max() < 2**31:
            values = values.astype(np.int16 if values.min() >= -(2**15) and values.max() < 2**15 else np.int32)
        else:
            values = values.astype(np.float32)
    little = values.astype(values.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(little).tobytes(), values.dtype.name, tuple(values.shape)


def voi_lut(image: Image) -> dict | None:
    """The image's default VOI LUT for the browser (``labeling.dicom.display.default_voi_lut``), read only for
    images whose first stored window is a LUT; None otherwise."""
    if not image.windows or image.windows[0].get("kind") != "lut":
        return None
    source = Source.parse(image.path)
    try:
        dataset, _ = dicom_header(source, sniff(source.head()))
    except (OSError, MedalError):
        return None
    return default_voi_lut(frame_view(dataset, image.frame))


@dataclass(frozen=True)
class Corners:
    """The viewer's corner text: who and what is on screen (no names; the date only for identity roles)."""

    patient: str
    study_date: str
    series: str
    view: str


def corners(image: Image, *, engine: Engine, sees_identity: bool) -> Corners:
    """Patient key, the series by number and modality, MG view and laterality; the study date and the series
    description for roles that see identity (``labeling.labels.identity``)."""
    with Session(engine) as session:
        row = session.exec(up_to_patient(select(Patient.key, Study.study_date, Series.description, Series.series_number)
                                         .select_from(Image)).where(Image.id == image.id)).first()
    key, study_date, description, number = row if row else (None, None, None, None)
    return Corners(patient=key or "", study_date=str(study_date) if sees_identity and study_date else "",
                   series=series_name(number, image.modality, description, sees_identity=sees_identity),
                   view=_view(image))


def _view(image: Image) -> str:
    """"L CC", "R MLO"… for projection images, from the (cached) header; "" when the file says nothing."""
    if image.kind != SourceKind.DICOM or image.modality not in ("MG", "DX", "CR"):
        return ""
    source = Source.parse(image.path)
    try:
        dataset, _ = dicom_header(source, sniff(source.head()))
    except (OSError, MedalError):  # a file gone or changed since the import: no view to show
        return ""
    side = str(dataset.get("ImageLaterality") or dataset.get("Laterality") or "").strip()
    view = str(dataset.get("ViewPosition") or "").strip()
    return " ".join(part for part in (side, view) if part)


@dataclass(frozen=True)
class Prior:
    """The matching series of the patient's previous study, for comparison beside the current image."""

    slices: list[Image]
    slice_index: int  # the slice nearest the current image's position
    label: str


def prior_for(image: Image, *, engine: Engine, sees_identity: bool, current: list[Image] | None = None) -> Prior | None:
    """The same patient's most recent earlier study's series that matches the image's (same modality, then the
    same series description or body part), with the slice nearest the image's position; None when there is
    no earlier study with such a series. The label gives the date and the series description to roles that see
    identity, else the interval ("14 months earlier") and the series' number and modality. ``current``: the
    image's own series in order, when the caller has it."""
    with Session(engine) as session:
        here = session.exec(select(Series, Study).join(Study, Series.study_id == Study.id)
                            .where(Series.id == image.series_id)).first() if image.series_id else None
        if here is None or here[1].study_date is None:
            return None
        series, study = here
        candidates = session.exec(
            select(Series, Study).join(Study, Series.study_id == Study.id)
            .where(Study.patient_id == study.patient_id, Study.study_date < study.study_date,
                   Series.modality == series.modality)
            .order_by(Study.study_date.desc())).all()
        if not candidates:
            return None
        latest = candidates[0][1].study_date
        same_day = [c for c in candidates if c[1].study_date == latest]
        match = next((c for c in same_day if (c[0].description or "") == (series.description or "")), None) \
            or next((c for c in same_day if c[0].body_part and c[0].body_part == series.body_part), same_day[0])
    prior_series, prior_study = match
    slices = _in_anatomical_order(_series_members(prior_series.id, engine))[:MAX_SLICES]
    if not slices:
        return None
    index = _nearest(slices, image, current if current is not None else series_slices(image.id, engine=engine))
    when = str(prior_study.study_date) if sees_identity else \
        f"{months_between(prior_study.study_date, study.study_date)} month(s) earlier"
    name = series_name(prior_series.series_number, prior_series.modality, prior_series.description,
                       sees_identity=sees_identity)
    return Prior(slices, index, f"Prior · {when} · {name}")


def _nearest(slices: list[Image], image: Image, current: list[Image]) -> int:
    """The prior slice at the image's position along the normal, else at the same relative place."""
    if image.slice_position is not None and all(s.slice_position is not None for s in slices):
        return min(range(len(slices)), key=lambda i: abs(float(slices[i].slice_position) - image.slice_position))
    at = next((i for i, s in enumerate(current) if s.id == image.id), 0)
    return round(at / max(len(current) - 1, 1) * (len(slices) - 1))
