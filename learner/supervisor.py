"""Making sure a worker serves the project when the app starts (no second terminal needed).

Kept free of torch so the app starts fast. The worker's lock file decides: if no process holds it,
a worker is started in its own session, tied to this process (it exits once the app is gone and it
is idle); if two apps race, the second worker finds the lock taken and exits at once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

from storage.settings import medal_home


def worker_running() -> bool:
    """Whether some process holds this home's worker lock."""
    path = medal_home() / "worker.lock"
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def ensure_worker() -> bool:
    """Start a worker for this project unless one runs or ``MEDAL_WORKER=off``; True when one was started."""
    if os.environ.get("MEDAL_WORKER", "auto").lower() in ("off", "0", "no", "external") or worker_running():
        return False
    home = medal_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "worker.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "labeling.cli", "worker", "--parent", str(os.getpid())],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    return True
