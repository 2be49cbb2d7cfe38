"""The database engine and short-lived sessions.

SQLite (the default) is opened with WAL, a busy timeout and foreign keys on, so the app, the CLI
and the worker can share one file. Any SQLAlchemy URL works; PostgreSQL is the supported
alternative for a team. A write the disk refuses (full, over quota, failing) raises ``StorageFull``
after its transaction is rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from storage.errors import StorageFull

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


def get_engine(url: str, *, upgrade: bool = True) -> Engine:
    """The process-wide engine for ``url``. The first call for a URL brings the schema to the newest migration
    unless ``upgrade`` is False.
    """
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if upgrade:
                from storage.migrate import upgrade_to_head

                upgrade_to_head(engine)
            _engines[url] = engine
        return engine


def forget_engine(engine: Engine) -> None:
    """Close ``engine``'s connections and drop it from the process's engines (a project closed for good)."""
    with _lock:
        for url, cached in list(_engines.items()):
            if cached is engine:
                del _engines[url]
    engine.dispose()


def dispose_engines() -> None:
    """Close every cached engine (tests, and after MEDAL_HOME changes)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# What a database says when its disk refuses a write: SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100:
# "could not extend file … No space left on device"), and the errno texts that drivers pass on.
FULL_MESSAGES = ("database or disk is full", "could not extend file", "no space left on device",
                 "disk quota exceeded", "file too large")
FULL_SQLSTATES = frozenset({"53100"})


def disk_trouble(error: OperationalError) -> str | None:
    """``"full"`` when ``error`` says the database's disk is full, ``"failing"`` for SQLite's "disk I/O error"
    (how SQLite reports a write refused for any other reason, e.g. a file-size limit), None otherwise."""
    original = error.orig
    name = str(getattr(original, "sqlite_errorname", ""))
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    message = str(original).lower()
    if name == "SQLITE_FULL" or state in FULL_SQLSTATES or any(words in message for words in FULL_MESSAGES):
        return "full"
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in message:
        return "failing"
    return None


@contextmanager
def storage_full_on_refused_writes(outcome: str = "nothing was saved", retry: str = "try again") -> Iterator[None]:
    """Turn a database error of a full or failing disk raised in the block into ``StorageFull`` (open the
    session inside the block: its transaction is rolled back before the error is turned)."""
    try:
        yield
    except OperationalError as error:
        trouble = disk_trouble(error)
        if trouble is None:
            raise
        raise StorageFull("the project's database", outcome, retry, trouble == "failing") from error


@contextmanager
def write_session(*, engine: Engine) -> Iterator[Session]:
    """A session whose transaction takes the write lock first (SQLite ``BEGIN IMMEDIATE``).

    A SQLite transaction that reads and then writes fails at once with "database is locked" when
    another connection wrote in between; taking the lock first makes concurrent writers wait for
    each other (busy timeout) instead. Other databases start an ordinary transaction. The caller
    commits; leaving the block without a commit rolls back. A write the disk refuses raises ``StorageFull``
    once the transaction is rolled back: nothing of it is kept.
    """
    with storage_full_on_refused_writes(), Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session
