"""Shared fixtures: a fresh project (MEDAL_HOME + SQLite file) per test, and DICOM helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from sqlalchemy.engine import Engine

from storage.db import dispose_engines, get_engine

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A new, migrated project in a temporary MEDAL_HOME; yields its engine."""
    home = tmp_path / "medal-home"
    monkeypatch.setenv("MEDAL_HOME", str(home))
    monkeypatch.delenv("MEDAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDAL_WORKER", "off")  # tests run workers themselves when they need one
    dispose_engines()
    yield get_engine()
    dispose_engines()


def pydicom_file(name: str) -> Path:
    return TEST_FILES / name
