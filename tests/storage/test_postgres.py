"""PostgreSQL, the supported alternative: the migrations and an import run on a real server.

The server is a throw-away one (``tests.support.postgres``); the test is skipped only where none is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session, func, select

from labeling.intake import import_paths
from storage import Image, LabelClass, Project, current_revision, head_revision, upgrade_to_head
from storage.db import make_engine
from tests.conftest import pydicom_file


def test_migrations_and_import_on_postgres(postgres_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEDAL_HOME", str(tmp_path / "home"))
    engine = make_engine(postgres_url)
    upgrade_to_head(engine)
    project = Project(tmp_path / "home", engine)
    assert current_revision(engine) == head_revision()
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("CT_small.dcm", "SC_rgb_rle_2frame.dcm"):
        shutil.copy(pydicom_file(name), folder / name)
    (folder / "junk.dcm").write_bytes(b"junk")
    report = import_paths([folder], project=project, workers=1)
    assert (report.images, len(report.rejected)) == (3, 1)
    assert import_paths([folder], project=project, workers=1).duplicates == 2
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Image)).one() == 3
        assert {c.name for c in session.exec(select(LabelClass)).all()} == {"Cancerous", "Healthy"}
    engine.dispose()
