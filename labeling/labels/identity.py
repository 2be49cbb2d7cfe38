"""What a role without identity rights (``Account.sees_identity`` False: annotators, scientists) is shown.

One allow-list for every page, overlay and download: each function here takes what the library knows and
returns what such a role may see. Free text (study, series and protocol descriptions, comments, file names,
paths) is never on it — any of it can hold a patient's name — and neither are dates (a study is placed by its
interval from the patient's first one), original UIDs, or other accounts' names. Series are named by number
and modality. The DICOM header's own allow-list is ``labeling.dicom.tags.READER_ATTRIBUTES``.
"""

from __future__ import annotations

from datetime import date

from labeling.dicom import header_rows
from labeling.labels.catalog import ImageSummary, TimelineStudy
from storage import Image, about_image

# The Images table (and its CSV download) for such a role: no path, original UID or date.
IMAGE_FIELDS = ("id", "frame", "modality", "rows", "cols", "patient_key", "status", "probability", "uncertainty")


def header(image: Image, *, sees_identity: bool) -> list[dict[str, str]]:
    """The DICOM header panel's rows (tag, VR, name, value) of an image: every element for identity roles,
    else only ``READER_ATTRIBUTES``; [] for PNG/JPEG/TIFF. A file that cannot be read raises the named
    error of :func:`storage.errors.about_image`."""
    with about_image(image.id):
        return header_rows(image.path, reveal_identity=sees_identity)


def image_row(image: ImageSummary, *, sees_identity: bool) -> dict[str, object]:
    """A row of the Images table: every field for identity roles, else only ``IMAGE_FIELDS``."""
    row = image.as_json(with_path=sees_identity)
    return row if sees_identity else {name: row[name] for name in IMAGE_FIELDS}


def image_caption(image: ImageSummary, *, sees_identity: bool) -> str:
    """A thumbnail's caption: id, modality, status (and the study date for identity roles)."""
    when = f" · {image.study_date}" if sees_identity and image.study_date else ""
    return f"#{image.id} {image.modality or ''} · {image.status}{when}"


def series_name(number: int | None, modality: str | None, description: str | None, *, sees_identity: bool) -> str:
    """"#3 CT" for every role; identity roles also get the series description ("#3 CHEST 1.25 mm")."""
    text = description if sees_identity and description else (modality or "")
    return " ".join(part for part in (f"#{number}" if number is not None else "", text) if part)


def months_between(earlier: date, later: date) -> int:
    return round((later - earlier).days / 30.44)


def study_name(study_date: date | None, first: date | None, *, sees_identity: bool) -> str:
    """A study as such a role names it: "baseline" or "+14 months" from the patient's first study (identity
    roles: the date)."""
    if study_date is None:
        return "undated study"
    if sees_identity:
        return str(study_date)
    months = months_between(first, study_date) if first else 0
    return "baseline" if months == 0 and study_date == first else f"+{months} month(s)"


def timeline_rows(timeline: list[TimelineStudy], *, sees_identity: bool) -> list[dict[str, object]]:
    """The patient's studies as table rows: date and description for identity roles, the interval otherwise."""
    first = next((study.study_date for study in timeline if study.study_date), None)
    rows = []
    for study in timeline:
        row: dict[str, object] = {"study": study_name(study.study_date, first, sees_identity=sees_identity)}
        if sees_identity:
            row["description"] = study.description
        rows.append(row | {
            "modalities": ", ".join(study.modalities), "images": study.images, "labeled": study.labeled,
            "labels": ", ".join(f"{label or 'regions only'} ×{n}" for label, n in study.image_labels.items()),
            "max model probability": None if study.max_probability is None else round(study.max_probability, 3)})
    return rows


def annotator_choices(names: list[str], me: str, *, sees_identity: bool) -> list[str]:
    """The accounts the annotator filter offers: every one for identity roles, only one's own otherwise."""
    return names if sees_identity else [name for name in names if name == me]
