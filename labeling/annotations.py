"""Saving annotations: an annotation, its regions and an audit event in one transaction.

Every coordinate is in original image pixels. Saving again on an image the same user annotated
before adds a new version and keeps the old one (``is_current`` False), never overwriting history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.errors import ImageNotFound, MedalError
from storage.db import get_engine
from storage.models import Annotation, AuditEvent, Image, ImageStatus, LabelClass, Region, User

SHAPES = ("rect", "polygon", "path")


class UnknownLabel(MedalError):
    """A region tagged with a class that is not in the taxonomy."""


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


def _user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        user = User(name=name)
        session.add(user)
        session.flush()
    return user


def save_annotation(image_id: int, username: str, regions: list[RegionInput], *,
                    image_label: str | None = None, engine: Engine | None = None) -> Annotation:
    """Write a new (version of the) annotation of ``image_id`` by ``username``."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        image = session.get(Image, image_id)
        if image is None:
            raise ImageNotFound(f"There is no image {image_id} in this project.")
        classes = {c.name.lower(): c for c in session.exec(select(LabelClass)).all()}
        unknown = sorted({r.label for r in regions if r.label.lower() not in classes})
        if unknown:
            raise UnknownLabel(f"Unknown class(es) {', '.join(unknown)}; add them in Settings first.")
        user = _user(session, username)
        previous = session.exec(select(Annotation).where(
            Annotation.image_id == image_id, Annotation.user_id == user.id, Annotation.is_current)).first()
        annotation = Annotation(image_id=image_id, user_id=user.id, image_label=image_label,
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
        image.status = ImageStatus.LABELED
        session.add(image)
        session.add(AuditEvent(user_id=user.id, username=user.name, action="annotation.save",
                               entity="annotation", entity_id=annotation.id,
                               detail={"image_id": image_id, "version": annotation.version,
                                       "regions": len(regions), "image_label": image_label}))
        session.commit()
        return annotation
