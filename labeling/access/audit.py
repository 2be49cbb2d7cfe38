"""The audit trail: who did what and when (saves, edits, undos, skips, reviews, settings, log-ins and failed
log-ins, exports, deletions), newest first, filtered by user, image and action; admins only.

Each event is as it was written: ``detail`` holds what changed (a setting's before and after, an annotation's
version and its image, an export's folder and options). An image's events are those naming it: the image
itself (a skip), or an annotation, review or import whose detail names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import rights
from storage import AuditEvent, as_utc

SCAN = 2000  # events read per query while filtering by image
MAX_SCANNED = 200_000  # an image filter looks this far back at most


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user: str | None
    action: str
    entity: str | None
    entity_id: int | None
    image_id: int | None
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "user": self.user, "action": self.action,
                "entity": self.entity, "entity_id": self.entity_id, "image_id": self.image_id, "detail": self.detail}


def audit_trail(*, engine: Engine, actor: str | None = None, user: str | None = None, image_id: int | None = None,
                action: str | None = None, since: datetime | None = None, limit: int = 500) -> list[AuditEntry]:
    """The newest ``limit`` events matching every filter given: by ``user`` (the acting account's name), on
    ``image_id``, whose action is ``action`` or starts with it followed by a dot ("annotation" matches
    "annotation.save" and "annotation.undo"), at or after ``since``."""
    statement = select(AuditEvent).order_by(col(AuditEvent.id).desc())
    if user:
        statement = statement.where(AuditEvent.username == user)
    if action:
        statement = statement.where((AuditEvent.action == action) | col(AuditEvent.action).startswith(f"{action}."))
    if since:
        statement = statement.where(AuditEvent.created_at >= since)
    found: list[AuditEntry] = []
    with Session(engine) as session:
        rights.check(session, actor, rights.AUDIT)
        for offset in range(0, MAX_SCANNED, SCAN if image_id is not None else limit):
            batch = session.exec(statement.offset(offset).limit(SCAN if image_id is not None else limit)).all()
            found += [entry for entry in map(_entry, batch) if image_id is None or entry.image_id == image_id]
            if len(found) >= limit or len(batch) < (SCAN if image_id is not None else limit):
                break
    return found[:limit]


def _entry(event: AuditEvent) -> AuditEntry:
    detail = dict(event.detail or {})
    image = event.entity_id if event.entity == "image" else detail.get("image_id")
    return AuditEntry(event.id, as_utc(event.created_at), event.username, event.action, event.entity, event.entity_id,
                      image if isinstance(image, int) else None, detail)
