"""Uploaded files are kept under ``$MEDAL_HOME/uploads`` so imports can point at them for good."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

from storage.db import Project, current_project


def save_uploads(files: Iterable[tuple[str, bytes]], project: Project | None = None) -> Path:
    """Write uploaded ``(name, bytes)`` pairs into a new folder of the project's uploads and return it."""
    folder = (project or current_project()).folder("uploads") / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for name, data in files:
        safe = Path(name).name or "upload"
        (folder / safe).write_bytes(data)
    return folder
