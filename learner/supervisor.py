"""Making sure a worker serves the project when the app starts (no second terminal needed).

Kept free of torch so the app starts fast. The worker's lock file decides: if no process holds it,
a worker is started in its own session, tied to this process (it exits once the app is gone and it
is idle); if two apps race, the second worker finds the lock taken and exits at once. ``locked`` is
the one place that opens and locks that file: the worker holds it while it serves, the app only
looks whether it is taken.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from storage import Project, config


def lock_path(*, project: Project) -> Path:
    """The project's worker lock file (it need not exist)."""
    return project.home / "worker.lock"


@contextmanager
def locked(path: Path) -> Iterator[IO[str] | None]:
    """Hold the lock file at ``path`` for the block when no process holds it: yields the open file, or
    None when another process holds it. The OS releases it if the process dies, even by kill -9."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_running(*, project: Project) -> bool:
    """Whether some process holds this project's worker lock."""
    path = lock_path(project=project)
    if not path.exists():
        return False
    with locked(path) as handle:
        return handle is None


def ensure_worker(*, project: Project) -> bool:
    """Start a worker for this project unless one runs or ``MEDAL_WORKER=off``; True when one was started.
    The worker is a new process: it serves the configured project (``MEDAL_HOME``) it inherits."""
    if config().worker == "off" or worker_running(project=project):
        return False
    home = project.home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "worker.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "labeling.cli", "worker", "--parent", str(os.getpid())],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    return True
