"""PostgreSQL, the supported alternative: the migrations and an import run on a real server.

The test starts a throw-away server from the Debian binaries on a free loopback port (as the
``postgres`` user when the suite runs as root) and is skipped only where no server is installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from labeling.intake import import_paths
from storage import Image, LabelClass, Project, current_revision, head_revision, upgrade_to_head
from storage.db import dispose_engines, make_engine
from tests.conftest import pydicom_file

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not BINARIES or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("no PostgreSQL server installed")
    pytest.importorskip("psycopg")
    bin_dir = Path(BINARIES[-1])
    data = Path(tempfile.mkdtemp(prefix="medal-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "medal", "--auth=trust"]),
                   check=True, capture_output=True)
    server = subprocess.Popen(_as_server_user([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                                               "-h", "127.0.0.1", "-k", str(data)]),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield f"postgresql+psycopg://medal@127.0.0.1:{port}/postgres"
    finally:
        dispose_engines()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


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
