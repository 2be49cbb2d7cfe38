"""Helpers for the full-disk tests: a child process whose writes stop at a file-size limit (the kernel refuses
a write past ``RLIMIT_FSIZE`` with EFBIG, as a full disk refuses one with ENOSPC, and SQLite then reports a
"disk I/O error"), a cap on a SQLite database's pages (SQLite's own "database or disk is full"), and the
checks that nothing half-written is left."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.dicom import FrameCache
from storage import Image

ROOT = Path(__file__).resolve().parents[2]
LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def run_limited(code: str, home: Path, limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child process of the project at ``home`` in which no file can grow past ``limit`` bytes."""
    env = {**os.environ, "MEDAL_HOME": str(home), "MEDAL_WORKER": "off"}
    env.pop("MEDAL_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-c", LIMITED.format(limit=limit) + code, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


class DatabaseCap:
    """Once ``fill()`` is called the SQLite database cannot grow: every connection checked out gets
    ``max_page_count`` at the database's size then, so a write that needs a new page fails with SQLITE_FULL."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.pages = engine, None
        event.listen(engine, "checkout", self._cap)

    def fill(self) -> None:
        with self.engine.connect() as connection:
            self.pages = connection.execute(text("PRAGMA page_count")).scalar_one()

    def _cap(self, dbapi_connection, _record, _proxy) -> None:  # noqa: ANN001 (DB-API objects)
        if self.pages is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {self.pages}")

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._cap)
        self.engine.dispose()  # pooled connections keep their cap: new ones have none


@contextmanager
def full_database(engine: Engine) -> Iterator[DatabaseCap]:
    """A ``DatabaseCap`` on ``engine`` for the block (call its ``fill()`` where the disk fills up)."""
    cap = DatabaseCap(engine)
    try:
        yield cap
    finally:
        cap.close()


def leftovers(home: Path) -> list[str]:
    """Temporary files under the project's home (there must be none)."""
    return sorted(str(path.relative_to(home)) for path in home.rglob("*.tmp"))


def images_without_cache(engine: Engine, home: Path) -> list[str]:
    """Image rows whose cached frame or preview is missing (there must be none)."""
    cache = FrameCache(home / "cache")
    with Session(engine) as session:
        return [path for path, key in session.exec(select(Image.path, Image.cache_key)).all() if not cache.has(key)]


def integrity(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("PRAGMA integrity_check")).scalar_one()
