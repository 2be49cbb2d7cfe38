"""Uploaded files are kept under ``$MEDAL_HOME/uploads`` so imports can point at them for good."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from sqlmodel import Session

from storage import rights
from storage.db import Project, current_project


def save_uploads(files: Iterable[tuple[str, bytes]], project: Project | None = None, *,
                 actor: str | None = None) -> Path:
    """Write uploaded ``(name, bytes)`` pairs into a new folder of the project's uploads and return it.

    Only a name's last part is kept; a name that is empty, ``.`` or ``..`` becomes ``upload``, and a
    name used twice gets ``-2``, ``-3``… before its suffix, so no upload overwrites another.
    """
    project = project or current_project()
    with Session(project.engine) as session:  # only an account that may import may put files on the server
        rights.check(session, actor, rights.IMPORT)
    folder = project.folder("uploads") / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for name, data in files:
        (folder / _unused_name(folder, name)).write_bytes(data)
    return folder


def _unused_name(folder: Path, name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "upload" if base in ("", ".", "..") else base
    stem, suffix, number, candidate = Path(base).stem, Path(base).suffix, 1, base
    while (folder / candidate).exists():
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    return candidate
