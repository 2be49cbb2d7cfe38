"""app.py opens the configured project only where it serves: a process that the import's worker pool spawns
re-imports the file as ``__mp_main__`` and must not open (and so migrate) the project beside the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_app_as(run_name: str, home: Path) -> None:
    script = f"import runpy; runpy.run_path({str(ROOT / 'app.py')!r}, run_name={run_name!r})"
    env = {"MEDAL_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home.parent)}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


def test_a_spawned_worker_does_not_open_the_project(tmp_path: Path) -> None:
    home = tmp_path / "spawned"
    _import_app_as("__mp_main__", home)
    assert not (home / "medal.db").exists()


def test_the_server_import_opens_the_project(tmp_path: Path) -> None:  # the check above can see an opening
    home = tmp_path / "served"
    _import_app_as("app", home)
    assert (home / "medal.db").exists()
