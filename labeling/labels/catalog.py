"""Looking images up: the list ``medal images`` prints and the Images page shows, one image, and a
patient's studies over time. Queries return dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import and_, false, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from storage import (
    Annotation,
    Image,
    ImageNotFound,
    ImageStatus,
    Patient,
    Prediction,
    Series,
    Study,
    User,
    up_to_patient,
)


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
    probability: float | None = None  # the given model version's, when it scored the image
    uncertainty: float | None = None

    def as_json(self, *, with_path: bool = True) -> dict[str, object]:
        """The row as JSON; ``with_path=False`` leaves out the server path (it may name the patient)."""
        data = asdict(self)
        data["study_date"] = self.study_date.isoformat() if self.study_date else None
        if not with_path:
            del data["path"]
        return data


ORDERS = ("id", "probability", "uncertainty")  # how list_images may sort (the model's: highest first)


def list_images(*, engine: Engine, modality: str | None = None, status: str | None = None,
                patient_key: str | None = None, annotator: str | None = None, since: date | None = None,
                until: date | None = None, limit: int | None = None, offset: int = 0,
                model_version_id: int | None = None, order: str = "id",
                blind_for: str | None = None) -> list[ImageSummary]:
    """Images with their patient key, study date and (given a model version) its probability and uncertainty,
    optionally filtered (the annotator filter keeps images with a current annotation by that user), in id
    order or by the model's probability or uncertainty, highest first (images it did not score last).

    ``blind_for``: a reader under a blinded reading plan (``reading_plan.blinded_for``), who must not learn
    that another reading exists: an image still waiting for readers that they have not read is *unlabeled*
    to them (in its status and in the status filter)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    statement = up_to_patient(select(Image, Patient.key, Study.study_date, Prediction.probability,
                                     Prediction.uncertainty)).outerjoin(
        Prediction, and_(Prediction.image_id == Image.id, Prediction.model_version_id == (model_version_id or -1)))
    if order == "id":
        statement = statement.order_by(Image.id)
    else:
        by = Prediction.probability if order == "probability" else Prediction.uncertainty
        statement = statement.order_by(col(by).is_(None), col(by).desc(), Image.id)
    if modality:
        statement = statement.where(Image.modality == modality)
    unseen = _read_by_others_only(blind_for) if blind_for else None
    if status and unseen is not None and status in (ImageStatus.UNLABELED.value, ImageStatus.LABELED.value):
        statement = statement.where(or_(Image.status == ImageStatus.UNLABELED, unseen)
                                    if status == ImageStatus.UNLABELED.value
                                    else and_(Image.status == ImageStatus.LABELED, ~unseen))
    elif status:
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
    with Session(engine) as session:
        rows = session.exec(statement.add_columns(unseen if unseen is not None else false())).all()
    return [
        ImageSummary(image.id, image.path, image.frame, image.sop_instance_uid, image.modality, image.rows,
                     image.cols, key, study_date, ImageStatus.UNLABELED.value if hidden else image.status.value,
                     probability, uncertainty)
        for image, key, study_date, probability, uncertainty, hidden in rows
    ]


def _read_by_others_only(reader: str):  # noqa: ANN202 (an SQL expression)
    """Whether an image waits for more readers and ``reader`` has not read it: its readings are hidden from them."""
    theirs = (select(Annotation.id).join(User, Annotation.user_id == User.id)
              .where(Annotation.image_id == Image.id, Annotation.is_current, User.name == reader).exists())
    return and_(col(Image.wants_reading), ~theirs)


def get_image(image_id: int, *, engine: Engine) -> Image:
    with Session(engine) as session:
        image = session.get(Image, image_id)
    if image is None:
        raise ImageNotFound(f"There is no image {image_id} in this project; `medal images` lists them.")
    return image


def patient_keys(*, engine: Engine) -> list[str]:
    """Every patient's pseudonymous key, sorted."""
    with Session(engine) as session:
        return list(session.exec(select(Patient.key).order_by(Patient.key)).all())


@dataclass(frozen=True)
class TimelineStudy:
    """One study of a patient's timeline: what it holds, how it was labeled, what the model says."""

    study_date: date | None
    description: str
    modalities: list[str]
    images: int
    labeled: int
    image_labels: dict[str, int]  # current annotations per image label ("" for regions only)
    max_probability: float | None  # the highest probability of the given model version over the study
    first_image_id: int | None = None  # an image of the study (its first series' first image), to open it


def patient_timeline(patient_key: str, *,
                     engine: Engine, model_version_id: int | None = None) -> list[TimelineStudy]:
    """One patient's studies by date with how they were labeled and, given a model version (the active
    one, from ``learner.registry``), what it predicts: the view for following a patient over time."""
    with Session(engine) as session:
        studies = session.exec(select(Study).join(Patient, Study.patient_id == Patient.id)
                               .where(Patient.key == patient_key).order_by(Study.study_date, Study.id)).all()
        timeline = []
        for study in studies:
            in_study = (select(Image.id).join(Series, Image.series_id == Series.id)
                        .where(Series.study_id == study.id))
            images = session.exec(select(Image.modality, Image.status).where(col(Image.id).in_(in_study))).all()
            labels = session.exec(select(Annotation.image_label, func.count()).where(
                col(Annotation.image_id).in_(in_study), Annotation.is_current).group_by(Annotation.image_label)).all()
            top = None
            if model_version_id is not None:
                top = session.exec(select(func.max(Prediction.probability)).where(
                    col(Prediction.image_id).in_(in_study), Prediction.model_version_id == model_version_id)).one()
            first = session.exec(select(Image.id).where(col(Image.id).in_(in_study)).order_by(Image.id)).first()
            timeline.append(TimelineStudy(
                study_date=study.study_date, description=study.description or "",
                modalities=sorted({m for m, _ in images if m}), images=len(images),
                labeled=sum(1 for _, status in images if status is ImageStatus.LABELED),
                image_labels={label or "": n for label, n in labels},
                max_probability=None if top is None else float(top), first_image_id=first))
    return timeline
