"""The label taxonomy: region classes (name, colour, keyboard key, SNOMED codes) and image-level labels."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from labeling.access import rights
from storage import AuditEvent, LabelClass, MedalError, write_session

IMAGE_LABELS = ("no finding", "healthy", "cancerous")
# Keys the Label page uses for its own actions, and the two Streamlit keeps for itself.
RESERVED_KEYS = frozenset("sbukxpfcrnhmwelory0+-=")  # the Label page's own keys (README table)
NORMAL_CODE = "17621005"  # SNOMED CT "Normal": classes with it mark healthy tissue, not findings
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class TaxonomyError(MedalError):
    """A class that cannot be added or changed as asked (duplicate name, colour or key)."""


def list_classes(*, engine: Engine, include_inactive: bool = False) -> list[LabelClass]:
    statement = select(LabelClass).order_by(LabelClass.position, LabelClass.id)
    if not include_inactive:
        statement = statement.where(LabelClass.active)
    with Session(engine) as session:
        return list(session.exec(statement).all())


def finding_class(classes: list[LabelClass]) -> str | None:
    """The first of ``classes`` that is a finding (not SNOMED "Normal"): what proposals are tagged with."""
    return next((c.name for c in classes if c.type_code != NORMAL_CODE), None)


def save_class(name: str, color: str, key: str | None = None, *, engine: Engine, class_id: int | None = None,
               category: tuple[str, str] = ("49755003", "Morphologically abnormal structure"),
               kind: tuple[str,
                           str] | None = None, description: str | None = None, actor: str | None = None) -> LabelClass:
    """Add a class, or rename/recolour/re-key/re-describe the class ``class_id``. Names, colours and keys are
    unique (a region's class is read back from its colour on the canvas); ``description`` (what readers mark
    with the class, ≤ 500 characters) is shown beside the class on the Label page."""
    name, color, key = name.strip(), color.strip().lower(), (key or "").strip().lower() or None
    if not name or len(name) > 64:
        raise TaxonomyError("A class name needs 1 to 64 characters.")
    if not _COLOR.match(color):
        raise TaxonomyError(f"Colour {color!r} is not of the form #rrggbb.")
    description = None if description is None else " ".join(description.split())
    if description is not None and len(description) > 500:
        raise TaxonomyError(f"A class description holds at most 500 characters; this one has {len(description)}.")
    if key is not None and (len(key) != 1 or key in RESERVED_KEYS):
        raise TaxonomyError(f"Key {key!r} must be one character other than {', '.join(sorted(RESERVED_KEYS))}.")
    with write_session(engine=engine) as session:
        rights.check(session, actor, rights.TAXONOMY)
        for other in session.exec(select(LabelClass).where(LabelClass.id != (class_id or -1))).all():
            if other.name.lower() == name.lower():
                raise TaxonomyError(f"There is a class called {other.name} already.")
            if other.color.lower() == color:
                raise TaxonomyError(f"{other.name} has colour {color} already; pick another.")
            if key and other.key == key:
                raise TaxonomyError(f"{other.name} uses key {key} already.")
        if class_id is None:
            position = session.exec(select(func.max(LabelClass.position))).one() or 0
            code, meaning = kind or ("", name)
            item = LabelClass(name=name, color=color, key=key, position=position + 1,
                              category_code=category[0], category_meaning=category[1],
                              type_code=code, type_meaning=meaning, description=description or "")
        else:
            item = session.get(LabelClass, class_id)
            if item is None:
                raise TaxonomyError(f"There is no class {class_id}.")
            item.name, item.color, item.key = name, color, key
            if description is not None:
                item.description = description
        session.add(item)
        session.flush()
        session.add(AuditEvent(username=actor, action="taxonomy.save", entity="label_class", entity_id=item.id,
                               detail={"name": name, "color": color, "key": key}))
        session.commit()
        return item
