"""A project's own settings, kept in its database: the patient-key secret, the query strategy and
automatic retraining."""

from __future__ import annotations

import secrets
from collections.abc import Collection

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import rights
from storage.db import get_engine, write_session
from storage.errors import MedalError
from storage.models import AuditEvent, ProjectSetting

PATIENT_KEY_SECRET = "patient_key_secret"
STRATEGY_KEY = "learner.strategy"
AUTO_RETRAIN_KEY = "learner.auto_retrain_every"


class InvalidSetting(MedalError):
    """A project setting outside what Medal accepts."""


def patient_key_secret(session: Session) -> bytes:
    """The project's secret behind pseudonymous patient keys, made on first use (inside ``session``)."""
    setting = session.get(ProjectSetting, PATIENT_KEY_SECRET)
    if setting is None:
        setting = ProjectSetting(key=PATIENT_KEY_SECRET, value=secrets.token_hex(32))
        session.add(setting)
        session.flush()
    return bytes.fromhex(setting.value)


def _get(key: str, default: str, engine: Engine | None) -> str:
    with Session(engine or get_engine()) as session:
        setting = session.get(ProjectSetting, key)
        return setting.value if setting else default


def _set(key: str, value: str, actor: str | None, engine: Engine | None) -> None:
    with write_session(engine) as session:
        rights.check(session, actor, rights.TRAIN)
        setting = session.get(ProjectSetting, key) or ProjectSetting(key=key, value=value)
        setting.value = value
        session.add(setting)
        session.add(AuditEvent(username=actor, action="setting.change", entity="project_setting",
                               detail={"key": key, "value": value}))
        session.commit()


def strategy(engine: Engine | None = None) -> str:
    """The query strategy's registry name, ``default`` unless a data scientist chose another."""
    return _get(STRATEGY_KEY, "default", engine)


def set_strategy(name: str, *, known: Collection[str], actor: str | None = None, engine: Engine | None = None) -> None:
    """Choose the query strategy; ``known`` are the learner's strategy names (``learner.strategies.STRATEGIES``)."""
    if name != "default" and name not in known:
        raise InvalidSetting(f"Unknown strategy {name!r}; choose from default, {', '.join(known)}.")
    _set(STRATEGY_KEY, name, actor, engine)


def auto_retrain_every(engine: Engine | None = None) -> int:
    """Retrain after this many new labeled images (0: only when asked)."""
    return int(_get(AUTO_RETRAIN_KEY, "0", engine))


def set_auto_retrain_every(labels: int, *, actor: str | None = None, engine: Engine | None = None) -> None:
    if not 0 <= int(labels) <= 100_000:
        raise InvalidSetting("Automatic retraining takes a number of new labels from 0 (off) to 100000.")
    _set(AUTO_RETRAIN_KEY, str(int(labels)), actor, engine)
