"""Past exports in the project's ``exports`` folder: list them, zip one for a download, delete one, and
sweep the download zips left behind.

An export made by the Export page is a folder ``exports/<name>``; older Medal versions also left its
zip ``exports/<name>.zip`` there for good. A download now zips the folder into a private temporary
file next to it (``<name>.download-<random>.zip``), reads it and deletes it at once; a zip that a
crash or an older version left behind is swept once it is older than ``ZIP_RETENTION``.

Past exports may keep patient identity, so only admins list or delete them (``rights.PAST_EXPORTS``);
a name is one folder directly in ``exports``: ``..``, paths and links are refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlmodel import Session

from labeling.access import rights
from labeling.export.run import zip_folder
from labeling.export.selection import ExportError
from storage import AuditEvent, Project, write_session

ZIP_RETENTION = timedelta(hours=1)  # a zip in ``exports`` older than this is deleted by the next sweep
DOWNLOAD_PART = ".download-"  # what a temporary download zip's name holds between the export's name and ".zip"


class InvalidExportName(ExportError):
    """A name that is not one folder directly in the exports folder (``..``, a path, a link)."""


class ExportNotFound(ExportError):
    """No past export has this name."""


@dataclass(frozen=True)
class PastExport:
    """One export folder (and any zip of it) in the project's ``exports`` folder."""

    name: str
    created: datetime  # the card's created_at; the folder's modification time when there is no card
    size: int  # bytes: the folder's files and its zips
    images: int | None  # from the dataset card; None when the card is missing or unreadable
    deidentified: bool | None  # from the dataset card, as ``images``
    zips: int  # zips of it still on disk (an older version's, or a download's left behind)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created.isoformat(timespec="seconds"), "size": self.size,
                "images": self.images, "deidentified": self.deidentified, "zips": self.zips}


def exports_folder(*, project: Project) -> Path:
    """The project's ``exports`` folder (created owner-only if missing)."""
    return project.folder("exports")


def list_exports(*, project: Project, actor: str | None) -> list[PastExport]:
    """The past exports, newest first; ``actor`` must be allowed to see them (admins)."""
    with Session(project.engine) as session:
        rights.check(session, actor, rights.PAST_EXPORTS)
    exports = exports_folder(project=project)
    names = [path.name for path in exports.iterdir() if path.is_dir() and not path.is_symlink()]
    return sorted((_describe(exports, name) for name in names), key=lambda entry: entry.created, reverse=True)


def delete_export(name: str, *, project: Project, actor: str | None) -> PastExport:
    """Delete the export ``name``: its folder and every zip of it, for good; the deletion is audited.
    Returns what was deleted. :class:`InvalidExportName` for a name that leaves the exports folder,
    :class:`ExportNotFound` when there is no such export."""
    with Session(project.engine) as session:
        user = rights.check(session, actor, rights.PAST_EXPORTS)
    exports = exports_folder(project=project)
    folder = _export_path(exports, name)
    zips = _zips_of(exports, name)
    if not folder.is_dir() and not zips:
        raise ExportNotFound(f"No past export is named {name!r}; the list of past exports names them.")
    entry = _describe(exports, name)
    if folder.is_dir():
        shutil.rmtree(folder)
    for archive in zips:
        archive.unlink(missing_ok=True)
    with write_session(engine=project.engine) as session:
        session.add(AuditEvent(user_id=user.id if user else None, username=actor, action="export.delete",
                               entity="export", detail={"name": name, "images": entry.images, "size": entry.size}))
        session.commit()
    return entry


def export_card(name: str, *, project: Project, actor: str | None) -> dict[str, Any]:
    """The dataset card of the export ``name`` (what the Export page shows of an export a job finished); ``actor``
    must be allowed to export (to keep identity, for one that keeps it)."""
    folder = _export_path(exports_folder(project=project), name)
    card = _card(folder)
    with Session(project.engine) as session:
        rights.check(session, actor, rights.EXPORT if card.get("deidentified") is True else rights.EXPORT_IDENTITY)
    if not card:
        raise ExportNotFound(f"There is no finished export {name!r}; export again.")
    return card


def zip_for_download(name: str, *, project: Project, actor: str | None) -> bytes:
    """The export ``name`` as the bytes of a zip, for a download. The zip is written to a private temporary
    file beside the folder, read and deleted at once. ``actor`` must still be allowed to export (and, for
    an export that keeps identity or has no card, to keep identity)."""
    exports = exports_folder(project=project)
    folder = _export_path(exports, name)
    with Session(project.engine) as session:
        rights.check(session, actor, rights.EXPORT)
        if not folder.is_dir():
            raise ExportNotFound(f"The export {name!r} is gone (deleted by an admin); export again.")
        if _card(folder).get("deidentified") is not True:
            rights.check(session, actor, rights.EXPORT_IDENTITY)
    sweep_zips(project=project)
    handle, temporary = tempfile.mkstemp(prefix=f"{name}{DOWNLOAD_PART}", suffix=".zip", dir=exports)
    os.close(handle)
    try:
        return zip_folder(folder, Path(temporary)).read_bytes()
    finally:
        Path(temporary).unlink(missing_ok=True)


def sweep_zips(*, project: Project, older_than: timedelta = ZIP_RETENTION) -> list[str]:
    """Delete every zip directly in the exports folder last written more than ``older_than`` ago (download
    zips a crash left behind, an older version's export zips); returns their names."""
    exports = exports_folder(project=project)
    cutoff = datetime.now(timezone.utc).timestamp() - older_than.total_seconds()
    swept = []
    for path in exports.glob("*.zip"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            swept.append(path.name)
    return sorted(swept)


def _export_path(exports: Path, name: str) -> Path:
    """``exports/name`` when ``name`` is one plain folder name there; :class:`InvalidExportName` otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"An export name is a str, not {type(name).__name__}.")
    if name in ("", ".", "..") or any(mark in name for mark in ("/", "\\", "\0")) or Path(name).is_absolute():
        raise InvalidExportName(f"{name!r} is not the name of an export: give a name from the list of past "
                                f"exports, without a path.")
    path = exports / name
    if path.is_symlink() or path.resolve().parent != exports.resolve():
        raise InvalidExportName(f"{name!r} is a link, not an export folder; Medal follows no link out of "
                                f"the exports folder.")
    return path


def _zips_of(exports: Path, name: str) -> list[Path]:
    """The export's zips: ``<name>.zip`` (older versions) and ``<name>.download-*.zip``; never a link."""
    pattern = re.compile(re.escape(name) + r"(" + re.escape(DOWNLOAD_PART) + r"[^/]+)?\.zip")
    return sorted(path for path in exports.glob("*.zip")
                  if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink())


def _card(folder: Path) -> dict[str, Any]:
    """The export's dataset card; empty when it is missing (an export that failed) or unreadable."""
    try:
        card = json.loads((folder / "dataset_card.json").read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def _describe(exports: Path, name: str) -> PastExport:
    folder, zips = exports / name, _zips_of(exports, name)
    files = [Path(top, file) for top, _, names in os.walk(folder) for file in names] if folder.is_dir() else []
    card = _card(folder)
    return PastExport(name=name, created=_created(card, folder if folder.is_dir() else zips[0]),
                      size=sum(path.lstat().st_size for path in files + zips), images=_images(card),
                      deidentified=card.get("deidentified") if isinstance(card.get("deidentified"), bool) else None,
                      zips=len(zips))


def _images(card: dict[str, Any]) -> int | None:
    """The card's image count over every split; None when the card does not say."""
    counts = card.get("counts")
    images = counts.get("images") if isinstance(counts, dict) else None
    if isinstance(images, dict) and all(isinstance(number, int) for number in images.values()):
        return sum(images.values())
    return None


def _created(card: dict[str, Any], path: Path) -> datetime:
    try:
        created = datetime.fromisoformat(str(card["created_at"]))
    except (KeyError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)
