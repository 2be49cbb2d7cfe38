"""All SQLModel tables of a Medal project, in one module.

The DICOM hierarchy (patient → study → series → image, one image per frame) comes first, then
what labeling and learning add. Every timestamp is timezone-aware UTC. The schema itself is
created and upgraded by the Alembic migrations in ``storage/migrations``, never by
``create_all`` on an existing database.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware (sqlmodel refuses naive datetimes)."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """A timestamp read back from the database as timezone-aware UTC (SQLite returns it naive)."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _ts(index: bool = False) -> Any:
    """A timezone-aware timestamp column that defaults to now."""
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=index)


def _ts_optional() -> Any:
    """A timezone-aware timestamp column that starts empty."""
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


def _json(empty: type | None = None) -> Any:
    """A JSON column; ``empty`` (dict or list) is its default, None makes it nullable."""
    if empty is None:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=empty, sa_column=Column(JSON, nullable=False))


class ImageStatus(str, enum.Enum):
    """Where an image stands in the labeling workflow."""

    UNLABELED = "unlabeled"
    LABELED = "labeled"
    SKIPPED = "skipped"


class SourceKind(str, enum.Enum):
    DICOM = "dicom"
    RASTER = "raster"  # PNG, JPEG, TIFF


class Role(str, enum.Enum):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    SCIENTIST = "scientist"
    ADMIN = "admin"


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# --- project -------------------------------------------------------------------------------


class ProjectSetting(SQLModel, table=True):
    """Key/value settings of the project (e.g. the secret behind pseudonymous patient keys)."""

    __tablename__ = "project_setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str


# --- the DICOM hierarchy -------------------------------------------------------------------


class Patient(SQLModel, table=True):
    __tablename__ = "patient"
    id: Optional[int] = Field(default=None, primary_key=True)
    # Stable pseudonymous key (salted hash of issuer + PatientID); safe to show and export.
    key: str = Field(index=True, unique=True, max_length=32)
    patient_id: Optional[str] = Field(default=None, index=True, max_length=64)
    issuer: Optional[str] = Field(default=None, max_length=64)
    name: Optional[str] = Field(default=None, max_length=324)
    birth_date: Optional[date] = None
    sex: Optional[str] = Field(default=None, max_length=16)
    created_at: datetime = _ts()


class Study(SQLModel, table=True):
    __tablename__ = "study"
    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    study_instance_uid: str = Field(index=True, unique=True, max_length=64)
    study_date: Optional[date] = Field(default=None, index=True)
    study_time: Optional[str] = Field(default=None, max_length=32)
    accession_number: Optional[str] = Field(default=None, max_length=64)
    description: Optional[str] = Field(default=None, max_length=256)
    created_at: datetime = _ts()


class Series(SQLModel, table=True):
    __tablename__ = "series"
    id: Optional[int] = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    series_instance_uid: str = Field(index=True, unique=True, max_length=64)
    modality: Optional[str] = Field(default=None, index=True, max_length=16)
    series_number: Optional[int] = None
    description: Optional[str] = Field(default=None, max_length=256)
    body_part: Optional[str] = Field(default=None, max_length=64)
    frame_of_reference_uid: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = _ts()


class Image(SQLModel, table=True):
    """One labelable 2-D image: a single-frame instance, one frame of a multi-frame, or a raster file."""

    __tablename__ = "image"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", "frame", name="uq_image_sop_frame"),
        UniqueConstraint("content_hash", "frame", name="uq_image_hash_frame"),
        Index("ix_image_status_priority", "status", "priority"),
        Index("ix_image_wants_priority", "wants_reading", "priority"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    series_id: Optional[int] = Field(default=None, foreign_key="series.id", index=True)
    kind: SourceKind = Field(default=SourceKind.DICOM, max_length=16)
    path: str = Field(max_length=4096)  # source file; "archive.zip!member" for zip members
    frame: int = 0  # 0-based frame index within the source file
    number_of_frames: int = 1
    sop_instance_uid: Optional[str] = Field(default=None, max_length=64)
    sop_class_uid: Optional[str] = Field(default=None, max_length=64)
    content_hash: Optional[str] = Field(default=None, max_length=64)  # sha256, non-DICOM only
    transfer_syntax_uid: Optional[str] = Field(default=None, max_length=64)
    modality: Optional[str] = Field(default=None, index=True, max_length=16)
    rows: int
    cols: int
    samples_per_pixel: int = 1
    photometric: Optional[str] = Field(default=None, max_length=32)
    bits_stored: Optional[int] = None
    pixel_spacing: Optional[list[float]] = _json()  # [row, col] mm
    instance_number: Optional[int] = None
    slice_position: Optional[float] = None  # mm along the plane's normal: anatomical order within a series
    burned_in_annotation: Optional[bool] = None
    # Window presets stored in the file: [{"name", "center", "width", "function"|"lut"}].
    windows: list[dict[str, Any]] = _json(list)
    cache_key: str = Field(max_length=64, index=True)  # names derived files under $MEDAL_HOME/cache
    status: ImageStatus = Field(default=ImageStatus.UNLABELED, max_length=16)
    priority: float = 0.0  # higher comes first in the label queue
    # The label queue leases an image to one user until lease_until, so no two get it at once.
    leased_by: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    lease_until: Optional[datetime] = _ts_optional()
    skip_reason: Optional[str] = Field(default=None, max_length=256)
    # The reading plan (labeling.labels.reading_plan): readers with a current annotation, how many the plan
    # wants once the image has its first reading, and whether a labeled image still waits for another reader.
    readings: int = 0
    readings_needed: int = 1
    wants_reading: bool = False
    file_size: int = 0
    imported_at: datetime = _ts()


class ImportProblem(SQLModel, table=True):
    """A file an import refused, with the one-line reason shown to the user."""

    __tablename__ = "import_problem"
    id: Optional[int] = Field(default=None, primary_key=True)
    path: str = Field(max_length=4096, unique=True)
    reason: str = Field(max_length=1024)
    batch: str = Field(index=True, max_length=36)
    detected_at: datetime = _ts()


# --- labeling ------------------------------------------------------------------------------


class LabelClass(SQLModel, table=True):
    """A class of the taxonomy: a name, a colour, a keyboard key and its SNOMED CT codes."""

    __tablename__ = "label_class"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    color: str = Field(max_length=9)  # "#rrggbb"
    key: Optional[str] = Field(default=None, max_length=1)
    position: int = 0
    category_code: str = Field(max_length=16)
    category_meaning: str = Field(max_length=128)
    type_code: str = Field(max_length=16)
    type_meaning: str = Field(max_length=128)
    coding_scheme: str = Field(default="SCT", max_length=16)
    active: bool = True
    description: str = Field(default="", max_length=500)  # what readers mark with it, shown beside the class


class User(SQLModel, table=True):
    __tablename__ = "user"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    password_hash: Optional[str] = Field(default=None, max_length=256)
    role: Role = Field(default=Role.ANNOTATOR, max_length=16)
    active: bool = True
    created_at: datetime = _ts()


class LoginAttempt(SQLModel, table=True):
    """Failed log-ins per user name (known or not), so repeated failures slow down."""

    __tablename__ = "login_attempt"
    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    blocked_until: Optional[datetime] = _ts_optional()


class BrowserSession(SQLModel, table=True):
    """A logged-in browser. Its cookie holds a random token; the table keeps only the token's SHA-256 (a
    copy of the database yields no usable cookie) and that of the one-time ticket the page exchanges for
    the cookie. Ended at log-out, after idle time, at ``expires_at``, or when the account is disabled."""

    __tablename__ = "browser_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    ticket_hash: Optional[str] = Field(default=None, index=True, max_length=64)
    ticket_until: Optional[datetime] = _ts_optional()
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    expires_at: datetime = _ts()
    ended_at: Optional[datetime] = _ts_optional()


class Annotation(SQLModel, table=True):
    """One saved reading of an image by one user; an edit adds a version, never overwrites."""

    __tablename__ = "annotation"
    __table_args__ = (Index("ix_annotation_image_current", "image_id", "is_current"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    image_label: Optional[str] = Field(default=None, max_length=64)
    version: int = 1
    supersedes_id: Optional[int] = Field(default=None, foreign_key="annotation.id")
    is_current: bool = True
    created_at: datetime = _ts(index=True)
    # A consensus reading (annotator "consensus"): who adjudicated, from which readings (annotation ids), and why.
    adjudicated_by: Optional[int] = Field(default=None, foreign_key="user.id")
    sources: Optional[list[int]] = _json()
    reason: Optional[str] = Field(default=None, max_length=1000)


class Region(SQLModel, table=True):
    """A drawn region, every coordinate in original image pixels."""

    __tablename__ = "region"
    id: Optional[int] = Field(default=None, primary_key=True)
    annotation_id: int = Field(foreign_key="annotation.id", index=True)
    label_class_id: int = Field(foreign_key="label_class.id", index=True)
    shape: str = Field(max_length=16)  # rect | polygon | path
    points: list[list[float]] = _json(list)
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0


# --- learning ------------------------------------------------------------------------------


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    id: Optional[int] = Field(default=None, primary_key=True)
    created_at: datetime = _ts(index=True)
    job_id: Optional[int] = Field(default=None, foreign_key="job.id")
    config: dict[str, Any] = _json(dict)
    label_count: int = 0
    metrics: dict[str, Any] = _json(dict)
    checkpoint_path: str = Field(max_length=4096)
    active: bool = Field(default=False, index=True)


class Prediction(SQLModel, table=True):
    __tablename__ = "prediction"
    __table_args__ = (UniqueConstraint("model_version_id", "image_id", name="uq_prediction"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    probability: float
    uncertainty: float = 0.0
    strategy: Optional[str] = Field(default=None, max_length=32)
    heatmap_path: Optional[str] = Field(default=None, max_length=4096)
    created_at: datetime = _ts()


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_created", "status", "created_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    status: JobStatus = Field(default=JobStatus.QUEUED, max_length=16)
    progress: float = 0.0
    message: Optional[str] = Field(default=None, max_length=1024)
    error: Optional[str] = Field(default=None, max_length=4096)
    params: dict[str, Any] = _json(dict)
    worker: Optional[str] = Field(default=None, max_length=128)
    created_at: datetime = _ts()
    started_at: Optional[datetime] = _ts_optional()
    finished_at: Optional[datetime] = _ts_optional()
    heartbeat_at: Optional[datetime] = _ts_optional()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    created_at: datetime = _ts(index=True)
    user_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    username: Optional[str] = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    entity: Optional[str] = Field(default=None, max_length=32)
    entity_id: Optional[int] = None
    detail: dict[str, Any] = _json(dict)
