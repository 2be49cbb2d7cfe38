"""Where a Medal project lives: ``MEDAL_HOME`` for files, ``MEDAL_DATABASE_URL`` for the database."""

from __future__ import annotations

import os
from pathlib import Path


def medal_home() -> Path:
    """The project folder (``$MEDAL_HOME``, default ``./medal-data``), created on first use."""
    home = Path(os.environ.get("MEDAL_HOME", "medal-data")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    """``$MEDAL_DATABASE_URL`` if set (e.g. ``postgresql+psycopg://…``), else SQLite in the home."""
    url = os.environ.get("MEDAL_DATABASE_URL", "").strip()
    return url or f"sqlite:///{medal_home() / 'medal.db'}"


def cache_dir() -> Path:
    """Derived, rebuildable data (previews, decoded frames); safe to delete."""
    path = medal_home() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
