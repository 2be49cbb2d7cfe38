"""Project files are the owner's alone: folders 0700, files 0600 (they hold patient identity, password
hashes and the patient-key secret)."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (created with its parents if missing; an existing
    folder of ours is tightened)."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    make_private(path, FOLDER_MODE)
    return path


def make_private(path: Path, mode: int = FILE_MODE) -> Path:
    """Restrict an existing file (or folder, with ``FOLDER_MODE``) to its owner, when it is ours to change."""
    if path.exists() and path.stat().st_uid == os.getuid():
        path.chmod(mode)
    return path
