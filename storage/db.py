"""The database engine and short-lived sessions.

SQLite (the default) is opened with WAL, a busy timeout and foreign keys on, so the app, the CLI
and the worker can share one file. Any SQLAlchemy URL works; PostgreSQL is the supported
alternative for a team.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from storage.settings import database_url

BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite connections get WAL, busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """The process-wide engine for ``url`` (default: the configured project database).

    The first call for a URL brings the schema to the newest migration unless ``upgrade`` is False.
    """
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if upgrade:
                from storage.migrate import upgrade_to_head

                upgrade_to_head(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and after MEDAL_HOME changes)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction takes the write lock first (SQLite ``BEGIN IMMEDIATE``).

    A SQLite transaction that reads and then writes fails at once with "database is locked" when
    another connection wrote in between; taking the lock first makes concurrent writers wait for
    each other (busy timeout) instead. Other databases start an ordinary transaction. The caller
    commits; leaving the block without a commit rolls back.
    """
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session


@contextmanager
def using_home(home: Path | str) -> Iterator[Path]:
    """Work on the project at ``home`` for a while (benchmarks, the simulation of a project), then
    put ``MEDAL_HOME`` and the engines back as they were."""
    previous = os.environ.get("MEDAL_HOME")
    os.environ["MEDAL_HOME"] = str(home)
    dispose_engines()
    try:
        yield Path(home)
    finally:
        dispose_engines()
        if previous is None:
            os.environ.pop("MEDAL_HOME", None)
        else:
            os.environ["MEDAL_HOME"] = previous
