"""A Medal project: its home folder and its database, opened once by whoever starts Medal (``app.py``, the
``medal`` command, the worker) and passed down to every library function that reads or writes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from storage import db
from storage.config import config
from storage.files import make_private, private_folder


@dataclass(frozen=True)
class Project:
    """One Medal project: the folder its files live in (``home``) and the engine of its database.

    Library functions that read or write the project take it (``project=``), or only its database where that
    is all they touch (``engine=``); neither has a default. ``current_project`` resolves the configured one
    for the entry points, so a benchmark or a simulation can work on a project of its own beside it.
    """

    home: Path
    engine: Engine

    @classmethod
    def open(cls, home: Path | str, database_url: str | None = None) -> Project:
        """The project at ``home`` (created if new, schema migrated); SQLite in the home by default. The
        home and the SQLite file are owner-only (SQLite gives its -wal and -shm files the same mode)."""
        home = private_folder(Path(home).expanduser().resolve())
        project = cls(home, db.get_engine(database_url or sqlite_url(home)))
        make_private(home / "medal.db")
        return project

    def folder(self, *parts: str) -> Path:
        """A sub-folder of the home (created on first use), e.g. ``folder("cache")``."""
        return private_folder(self.home.joinpath(*parts))

    def close(self) -> None:
        """Close this project's database connections (a temporary project, before its folder goes)."""
        db.forget_engine(self.engine)

    @property
    def cache_dir(self) -> Path:
        """Derived, rebuildable data (previews, decoded frames, heatmaps); safe to delete."""
        return self.folder("cache")


def sqlite_url(home: Path) -> str:
    """The URL of the SQLite file a project keeps in its home (when no other database is configured)."""
    return f"sqlite:///{home / 'medal.db'}"


def configured_database_url() -> str:
    """The database URL of the configured project, without opening (or migrating) it."""
    settings = config()
    return settings.database_url or sqlite_url(Path(settings.home).expanduser().resolve())


def current_project() -> Project:
    """The configured project (``MEDAL_HOME`` and ``MEDAL_DATABASE_URL``). Only the entry points call it
    (``app.py`` through ``labeling.ui.context``, the ``medal`` command's ``main``, the worker's command);
    everything below them is handed the project."""
    settings = config()
    return Project.open(settings.home, settings.database_url)
