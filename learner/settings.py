"""The project's learning settings, kept in its database: the query strategy and automatic retraining.
Changing either needs the right to train (checked against the account as it is now) and is audited."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from labeling.access import rights
from learner.strategies import STRATEGIES
from storage import AuditEvent, MedalError, ProjectSetting, write_session

STRATEGY_KEY = "learner.strategy"
AUTO_RETRAIN_KEY = "learner.auto_retrain_every"
MAX_AUTO_RETRAIN = 100_000


class InvalidSetting(MedalError):
    """A learning setting outside what Medal accepts."""


def _get(key: str, default: str, engine: Engine) -> str:
    with Session(engine) as session:
        setting = session.get(ProjectSetting, key)
        return setting.value if setting else default


def _set(key: str, value: str, actor: str | None, engine: Engine) -> None:
    with write_session(engine=engine) as session:
        rights.check(session, actor, rights.TRAIN)
        setting = session.get(ProjectSetting, key) or ProjectSetting(key=key, value=value)
        setting.value = value
        session.add(setting)
        session.add(AuditEvent(username=actor, action="setting.change", entity="project_setting",
                               detail={"key": key, "value": value}))
        session.commit()


def strategy(*, engine: Engine) -> str:
    """The query strategy's registry name, ``default`` unless a data scientist chose another."""
    return _get(STRATEGY_KEY, "default", engine)


def set_strategy(name: str, *, engine: Engine, actor: str | None = None) -> None:
    """Choose the query strategy: ``default`` or a name of ``learner.strategies.STRATEGIES``."""
    if name != "default" and name not in STRATEGIES:
        raise InvalidSetting(f"Unknown strategy {name!r}; choose from default, {', '.join(STRATEGIES)}.")
    _set(STRATEGY_KEY, name, actor, engine)


def auto_retrain_every(*, engine: Engine) -> int:
    """Retrain after this many new labeled images (0: only when asked)."""
    return int(_get(AUTO_RETRAIN_KEY, "0", engine))


def set_auto_retrain_every(labels: int, *, engine: Engine, actor: str | None = None) -> None:
    """Retrain automatically after ``labels`` new labeled images (0 turns it off)."""
    if not 0 <= int(labels) <= MAX_AUTO_RETRAIN:
        raise InvalidSetting(f"Automatic retraining takes a number of new labels from 0 (off) to {MAX_AUTO_RETRAIN}.")
    _set(AUTO_RETRAIN_KEY, str(int(labels)), actor, engine)
