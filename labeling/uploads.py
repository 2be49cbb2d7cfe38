"""Uploaded files are kept under ``$MEDAL_HOME/uploads`` so imports can point at them for good."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

from storage.settings import medal_home


def save_uploads(files: Iterable[tuple[str, bytes]]) -> Path:
    """Write uploaded ``(name, bytes)`` pairs into a new folder and return it."""
    folder = medal_home() / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for name, data in files:
        safe = Path(name).name or "upload"
        (folder / safe).write_bytes(data)
    return folder
