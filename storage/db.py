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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from storage.config import config
from storage.errors import StorageFull
from storage.files import make_private, private_folder

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
    """The process-wide engine for ``url`` (default: the configured project's database, its home created).

    The first call for a URL brings the schema to the newest migration unless ``upgrade`` is False.
    """
    if url is None:
        return current_project().engine
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
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction takes the write lock first (SQLite ``BEGIN IMMEDIATE``).

    A SQLite transaction that reads and then writes fails at once with "database is locked" when
    another connection wrote in between; taking the lock first makes concurrent writers wait for
    each other (busy timeout) instead. Other databases start an ordinary transaction. The caller
    commits; leaving the block without a commit rolls back. A write the disk refuses raises ``StorageFull``
    once the transaction is rolled back: nothing of it is kept.
    """
    engine = engine or get_engine()
    with storage_full_on_refused_writes(), Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session


@dataclass(frozen=True)
class Project:
    """One Medal project: the folder its files live in (``home``) and the engine of its database.

    Library functions that write or read project files take one (``project=``; default: the
    configured project), so a benchmark or a simulation can work on another project without
    touching the process environment.
    """

    home: Path
    engine: Engine

    @classmethod
    def open(cls, home: Path | str, database_url: str | None = None) -> Project:
        """The project at ``home`` (created if new, schema migrated); SQLite in the home by default. The
        home and the SQLite file are owner-only (SQLite gives its -wal and -shm files the same mode)."""
        home = private_folder(Path(home).expanduser().resolve())
        project = cls(home, get_engine(database_url or f"sqlite:///{home / 'medal.db'}"))
        make_private(home / "medal.db")
        return project

    def folder(self, *parts: str) -> Path:
        """A sub-folder of the home (created on first use), e.g. ``folder("cache")``."""
        return private_folder(self.home.joinpath(*parts))

    def close(self) -> None:
        """Close this project's database connections (a temporary project, before its folder goes)."""
        with _lock:
            for url, engine in list(_engines.items()):
                if engine is self.engine:
                    del _engines[url]
        self.engine.dispose()

    @property
    def cache_dir(self) -> Path:
        """Derived, rebuildable data (previews, decoded frames, heatmaps); safe to delete."""
        return self.folder("cache")


def current_project() -> Project:
    """The configured project (``MEDAL_HOME`` and ``MEDAL_DATABASE_URL``)."""
    settings = config()
    return Project.open(settings.home, settings.database_url)
