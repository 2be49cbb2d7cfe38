"""Uploaded files are kept under ``$MEDAL_HOME/uploads`` so imports can point at them for good."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlmodel import Session

from labeling.access import rights
from storage import Project, disk_full_as


def save_uploads(files: Iterable[tuple[str, bytes | BinaryIO]], *,
                 project: Project, actor: str | None = None) -> Path:
    """Write uploaded ``(name, bytes or readable file)`` pairs into a new folder of the project's uploads
    and return it (a file is copied in chunks, never duplicated in memory).

    Only a name's last part is kept; a name that is empty, ``.`` or ``..`` becomes ``upload``, and a
    name used twice gets ``-2``, ``-3``… before its suffix, so no upload overwrites another. When the disk
    is full the folder is removed and ``StorageFull`` raised.
    """
    with Session(project.engine) as session:  # only an account that may import may put files on the server
        rights.check(session, actor, rights.IMPORT)
    with disk_full_as("the uploaded files", "the upload was not kept", "upload again"):
        folder = project.folder("uploads") / uuid.uuid4().hex
        folder.mkdir(parents=True)
        try:
            for name, data in files:
                _write_upload(folder / _unused_name(folder, name), data)
        except BaseException:  # a full disk, a broken upload stream: nothing half-written is kept
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return folder


def _write_upload(path: Path, data: bytes | BinaryIO) -> None:
    with open(path, "xb") as handle:
        if isinstance(data, bytes):
            handle.write(data)
        else:
            data.seek(0)
            shutil.copyfileobj(data, handle, CHUNK_BYTES)


CHUNK_BYTES = 4 * 1024**2


def _unused_name(folder: Path, name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "upload" if base in ("", ".", "..") else base
    stem, suffix, number, candidate = Path(base).stem, Path(base).suffix, 1, base
    while (folder / candidate).exists():
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    return candidate
