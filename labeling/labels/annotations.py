"""Saving annotations: an annotation, its regions and an audit event in one transaction.

Every coordinate is in original image pixels. Saving again on an image the same user annotated
before adds a new version and keeps the old one (``is_current`` False), never overwriting history.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from numbers import Real
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from labeling.access import CONSENSUS, rights
from labeling.labels.reading_plan import count_reading, uncount_reading
from storage import (
    Annotation,
    AuditEvent,
    Image,
    ImageNotFound,
    ImageStatus,
    LabelClass,
    MedalError,
    Region,
    User,
    as_utc,
    utcnow,
    write_session,
)

SHAPES = ("rect", "polygon", "path")
MAX_VERTICES = 5_000  # per region: a brush or freehand outline the viewer simplified has a few hundred at most
MAX_REGIONS = 200  # per image (per slice of a series)
EDGE_MARGIN = 0.1  # a region may reach this fraction of the image's side past its edge (a box dragged past it)


class UnknownLabel(MedalError):
    """A region tagged with a class that is not in the taxonomy."""


class InvalidRegion(MedalError):
    """A region whose coordinates are not numbers within the image, or too many regions or vertices."""


def check_regions(regions: list[RegionInput], image: Image) -> None:
    """Every region of ``image`` as a training job and an export can use it: at most ``MAX_REGIONS``, each with
    at most ``MAX_VERTICES`` points of two finite numbers within the image (plus ``EDGE_MARGIN``). A region that
    is not is refused with what is wrong; points are stored as plain floats."""
    if len(regions) > MAX_REGIONS:
        raise InvalidRegion(f"Image {image.id}: {len(regions)} regions; Medal keeps at most {MAX_REGIONS} per image. "
                            "Merge or remove some and save again.")
    margin_x, margin_y = image.cols * EDGE_MARGIN, image.rows * EDGE_MARGIN
    for number, region in enumerate(regions, 1):
        where = f"Region {number} on image {image.id}"
        if len(region.points) > MAX_VERTICES:
            raise InvalidRegion(f"{where} has {len(region.points)} points; at most {MAX_VERTICES} are kept. "
                                "Draw it with fewer (the polygon tool, or the brush).")
        for point in region.points:
            if not isinstance(point, (list, tuple)) or len(point) != 2 \
                    or not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in point):
                raise InvalidRegion(f"{where} has a point that is not two finite numbers ({str(point)[:40]}): "
                                    "draw it again.")
            if not (-margin_x <= point[0] <= image.cols + margin_x and -margin_y <= point[1] <= image.rows + margin_y):
                raise InvalidRegion(f"{where} reaches ({point[0]:.0f}, {point[1]:.0f}), outside the image "
                                    f"({image.cols}×{image.rows} px): draw it on the image.")
        region.points = [[float(x), float(y)] for x, y in region.points]


@dataclass
class RegionInput:
    """A region as drawn: its class name, shape and points ``[[x, y], ...]`` in image pixels."""

    label: str
    shape: str
    points: list[list[float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if len(self.points) < 2:
            raise ValueError("a region needs at least two points")

    def bbox(self) -> tuple[float, float, float, float]:
        xs = [float(p[0]) for p in self.points]
        ys = [float(p[1]) for p in self.points]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def user_named(session: Session, name: str) -> User:
    """The user called ``name``, added (without a password: annotations only) when new. Two sessions adding the
    same name at once (two reviewers' first consensus) both get the one row: the loser's insert is rolled back to
    a savepoint and the winner's row read."""
    user = session.exec(select(User).where(User.name == name)).first()
    if user is not None:
        return user
    try:
        with session.begin_nested():
            user = User(name=name)
            session.add(user)
    except IntegrityError:
        user = session.exec(select(User).where(User.name == name)).one()
    return user


def save_annotation(image_id: int, username: str, regions: list[RegionInput], *,
                    engine: Engine, image_label: str | None = None) -> Annotation:
    """Write a new (version of the) annotation of ``image_id`` by ``username`` (an account must still be
    active: a disabled annotator's open browser cannot save)."""
    return _save_all(image_id, username, {image_id: regions}, image_label, engine)[0]


class NotInSeries(MedalError):
    """A save that names an image outside the series of the image on screen."""


def save_reading(image_id: int, username: str, regions_by_image: dict[int, list[RegionInput]], *,
                 engine: Engine, image_label: str | None = None) -> list[Annotation]:
    """Save a reader's work on the series of ``image_id`` (the image on screen) in one transaction: a new
    version for each image in ``regions_by_image`` (``image_label`` goes with ``image_id``'s). Every image must be
    a slice of that series as the viewer shows it, and any refusal (another reader's lease on one slice, an
    unknown class, a bad region) refuses the whole save: nothing is stored."""
    from labeling.labels.reading import series_slices  # reading reads pixels; only saves need it here

    on_screen = {image.id for image in series_slices(image_id, engine=engine)}
    if outside := sorted(set(regions_by_image) - on_screen):
        raise NotInSeries(f"Image(s) {', '.join(map(str, outside[:5]))} are not slices of the series on screen "
                          f"(image {image_id}): nothing was saved. Reload the page and save again.")
    return _save_all(image_id, username, regions_by_image, image_label, engine)


def _save_all(image_id: int, username: str, regions_by_image: dict[int, list[RegionInput]], image_label: str | None,
              engine: Engine) -> list[Annotation]:
    """One transaction: the account's right, every class, every image and every lease checked before anything
    is written; ``image_label`` goes with ``image_id``'s annotation."""
    with write_session(engine=engine) as session:
        rights.check(session, username, rights.LABEL)
        # Each image's row locked (PostgreSQL; SQLite writes one at a time): its readings count and its current
        # annotation are read and written by one save at a time.
        images = {i: session.get(Image, i, with_for_update=True) for i in sorted(regions_by_image)}
        if missing := sorted(i for i, image in images.items() if image is None):
            raise ImageNotFound(f"There is no image {missing[0]} in this project.")
        classes = {c.name.lower(): c for c in session.exec(select(LabelClass)).all()}
        unknown = sorted({r.label for regions in regions_by_image.values() for r in regions
                          if r.label.lower() not in classes})
        if unknown:
            raise UnknownLabel(f"Unknown class(es) {', '.join(unknown)}; add them in Settings first.")
        user = user_named(session, username)
        for image in images.values():  # every lease first: no slice is written when one is refused
            refuse_if_leased_to_another(session, image, user)
        saved = [add_annotation(session, images[i], user, regions, image_label if i == image_id else None, classes)
                 for i, regions in regions_by_image.items()]
        session.commit()
        return saved


class LeasedToAnother(MedalError):
    """A save on an image that another annotator holds the lease of."""


def refuse_if_leased_to_another(session: Session, image: Image, user: User) -> None:
    """Two annotators never label one image at once: a save on an image leased to someone else (and not
    lapsed) is refused with who holds it and until when."""
    if image.leased_by in (None, user.id) or image.lease_until is None or as_utc(image.lease_until) <= utcnow():
        return
    holder = session.get(User, image.leased_by)
    raise LeasedToAnother(f"{holder.name if holder else 'Someone else'} is labeling image {image.id} until "
                          f"{as_utc(image.lease_until):%H:%M} UTC; save it after that, or take another image.")


def add_annotation(session: Session, image: Image, user: User, regions: list[RegionInput], image_label: str | None,
                   classes: dict[str, LabelClass], action: str = "annotation.save") -> Annotation:
    """Add the annotation inside the caller's transaction (the classes are known to exist; the regions are
    checked here, so no caller stores one a training job or an export cannot use)."""
    check_regions(regions, image)
    previous = session.exec(select(Annotation).where(
        Annotation.image_id == image.id, Annotation.user_id == user.id, Annotation.is_current)).first()
    annotation = Annotation(image_id=image.id, user_id=user.id, image_label=image_label,
                            version=previous.version + 1 if previous else 1,
                            supersedes_id=previous.id if previous else None)
    if previous:
        previous.is_current = False
        session.add(previous)
    session.add(annotation)
    session.flush()
    for region in regions:
        x, y, w, h = region.bbox()
        session.add(Region(annotation_id=annotation.id, label_class_id=classes[region.label.lower()].id,
                           shape=region.shape, points=region.points, x=x, y=y, w=w, h=h))
    image.status, image.leased_by, image.lease_until, image.skip_reason = ImageStatus.LABELED, None, None, None
    count_reading(session, image, new_reader=previous is None and user.name != CONSENSUS)  # a consensus is no reader
    session.add(image)
    session.add(AuditEvent(user_id=user.id, username=user.name, action=action,
                           entity="annotation", entity_id=annotation.id,
                           detail={"image_id": image.id, "version": annotation.version,
                                   "regions": len(regions), "image_label": image_label}))
    return annotation


@dataclass(frozen=True)
class SavedRegion:
    """A saved region: its class name, drawn shape, bbox ``[x, y, w, h]`` and points, in image pixels."""

    label: str
    shape: str
    bbox: list[float]
    points: list[list[float]]

    @classmethod
    def of(cls, region: Region, label: str) -> SavedRegion:
        """The region row ``region`` of the class called ``label``."""
        return cls(label, region.shape, [region.x, region.y, region.w, region.h], region.points)


@dataclass
class SavedAnnotation:
    """An annotation as ``medal annotations`` prints it; coordinates in image pixels."""

    id: int
    image_id: int
    annotator: str
    image_label: str | None
    created_at: datetime
    version: int
    is_current: bool
    regions: list[SavedRegion]

    def as_json(self) -> dict[str, Any]:
        """The annotation as plain JSON values (each region an object with its fields in order)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data

    def region_inputs(self) -> list[RegionInput]:
        """The regions as drawn, to save them again."""
        return [RegionInput(region.label, region.shape, region.points) for region in self.regions]


def list_annotations(*, engine: Engine, image_id: int | None = None, annotator: str | None = None,
                     include_history: bool = False, image_ids: list[int] | None = None) -> list[SavedAnnotation]:
    """Annotations in id order (current versions only unless ``include_history``), with their regions; of one
    image (``image_id``) or of several (``image_ids``) when given."""
    statement = select(Annotation, User.name).join(User, Annotation.user_id == User.id).order_by(Annotation.id)
    if image_id is not None:
        statement = statement.where(Annotation.image_id == image_id)
    if image_ids is not None:
        statement = statement.where(col(Annotation.image_id).in_(image_ids))
    if annotator:
        statement = statement.where(User.name == annotator)
    if not include_history:
        statement = statement.where(Annotation.is_current)
    with Session(engine) as session:
        rows = session.exec(statement).all()
        ids = [annotation.id for annotation, _ in rows]
        regions: dict[int, list[SavedRegion]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for region, label in session.exec(
                    select(Region, LabelClass.name).join(LabelClass, Region.label_class_id == LabelClass.id)
                    .where(Region.annotation_id.in_(chunk)).order_by(Region.id)).all():
                regions[region.annotation_id].append(SavedRegion.of(region, label))
    return [SavedAnnotation(a.id, a.image_id, name, a.image_label, a.created_at, a.version, a.is_current,
                            regions[a.id]) for a, name in rows]


def current_annotations(image_ids: list[int], username: str, *, engine: Engine) -> dict[int, SavedAnnotation]:
    """The user's current annotation of each of ``image_ids`` that has one (a series' slices), in one query."""
    return {a.image_id: a for a in list_annotations(engine=engine, image_ids=list(image_ids), annotator=username)}


def current_annotation(image_id: int, username: str, *, engine: Engine) -> SavedAnnotation | None:
    """The user's current annotation of an image, to edit it (None if they have not labeled it)."""
    found = list_annotations(engine=engine, image_id=image_id, annotator=username)
    return found[-1] if found else None


def undo_last_save(username: str, *, engine: Engine) -> int | None:
    """Take back the user's most recent save: its previous version (if any) becomes current again.

    The undone version stays in the history (``is_current`` False) and an audit event records the
    undo. The image goes back to unlabeled when nobody else has a current annotation of it.
    Returns the image id, or None when the user has nothing to undo.
    """
    with write_session(engine=engine) as session:
        rights.check(session, username, rights.LABEL)
        user = session.exec(select(User).where(User.name == username)).first()
        if user is None:
            return None
        last = session.exec(select(Annotation).where(Annotation.user_id == user.id, Annotation.is_current)
                            .order_by(Annotation.created_at.desc(), Annotation.id.desc())).first()
        if last is None:
            return None
        last.is_current = False
        session.add(last)
        if last.supersedes_id is not None:
            previous = session.get(Annotation, last.supersedes_id)
            previous.is_current = True
            session.add(previous)
        session.flush()
        others = session.exec(select(Annotation.id).where(Annotation.image_id == last.image_id,
                                                          Annotation.is_current)).first()
        image = session.get(Image, last.image_id)
        if others is None:
            image.status = ImageStatus.UNLABELED
        if last.supersedes_id is None:  # the reader's only reading of the image
            uncount_reading(image)
        session.add(image)
        session.add(AuditEvent(user_id=user.id, username=user.name, action="annotation.undo", entity="annotation",
                               entity_id=last.id, detail={"image_id": last.image_id, "version": last.version,
                                                          "restored": last.supersedes_id}))
        session.commit()
        return last.image_id
