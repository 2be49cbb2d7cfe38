"""Where image bytes come from: plain files, or members of zip archives (``archive.zip!member``).

``walk`` expands the paths a user gives (files, folders, zip archives) into sources without
reading more than a few bytes of each; ``sniff`` tells what a source holds by its content.
"""

from __future__ import annotations

import enum
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage import SourceMissing, config

ZIP_SEPARATOR = "!"
SNIFF_BYTES = 132
MAX_ZIP_RATIO = 200  # a member that expands more than this is refused unread (deflate's own limit is ~1,030)


class Content(str, enum.Enum):
    DICOM = "dicom"
    DICOM_NO_PREAMBLE = "dicom-no-preamble"  # a raw data set without the 128-byte preamble
    RASTER = "raster"
    ZIP = "zip"
    GZIP = "gzip"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Source:
    """A file on disk, or a member of a zip archive on disk."""

    path: str  # absolute file path
    member: str | None = None  # name inside the zip archive

    @property
    def name(self) -> str:
        """How the source is shown and stored: ``/abs/file.dcm`` or ``/abs/a.zip!dir/file.dcm``."""
        return f"{self.path}{ZIP_SEPARATOR}{self.member}" if self.member else self.path

    @classmethod
    def parse(cls, name: str) -> "Source":
        """The inverse of ``name``."""
        if ZIP_SEPARATOR in name:
            path, member = name.split(ZIP_SEPARATOR, 1)
            if path.lower().endswith(".zip"):
                return cls(path, member)
        return cls(name)

    def size(self) -> int:
        try:
            if self.member is None:
                return os.path.getsize(self.path)
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(self.member).file_size
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise self._missing(error) from error

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        """The first ``n`` bytes."""
        with self.open() as handle:
            return handle.read(n)

    def open(self) -> BinaryIO:
        """A readable, seekable binary handle; a zip member is streamed, never read whole into memory
        (the archive's file stays open until the handle is closed)."""
        try:
            if self.member is None:
                return open(self.path, "rb")
            with zipfile.ZipFile(self.path) as archive:
                return archive.open(self.member)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise self._missing(error) from error

    def _missing(self, error: Exception) -> SourceMissing:
        """Why the source cannot be read, without its path (the caller says which image or file it was)."""
        if isinstance(error, OSError):
            why = error.strerror or type(error).__name__
        elif isinstance(error, KeyError):
            why = "the member is no longer in its zip archive"
        else:
            why = "the zip archive is damaged"
        return SourceMissing(f"Cannot read the file ({why}). Check that it still exists and is readable.", self.name)

    def for_pydicom(self) -> str | BinaryIO:
        """What pydicom should read: the path itself for files (so it can seek), else a handle."""
        return self.path if self.member is None else self.open()


def sniff(head: bytes) -> Content:
    """What the first bytes of a file say it is (extensions are not trusted)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return Content.DICOM
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return Content.RASTER
    if head.startswith(b"PK\x03\x04"):
        return Content.ZIP
    if head.startswith(b"\x1f\x8b"):
        return Content.GZIP
    if len(head) >= 8 and _looks_like_raw_dataset(head):
        return Content.DICOM_NO_PREAMBLE
    return Content.UNKNOWN


def _looks_like_raw_dataset(head: bytes) -> bool:
    """A data set written without preamble starts with a group 0002/0008 element (either endian)."""
    group_le = int.from_bytes(head[0:2], "little")
    group_be = int.from_bytes(head[0:2], "big")
    if group_le not in (0x0002, 0x0008) and group_be not in (0x0002, 0x0008):
        return False
    vr = head[4:6]
    explicit = vr.isalpha() and vr.isupper()
    if explicit:
        return True
    length = int.from_bytes(head[4:8], "little" if group_le in (0x0002, 0x0008) else "big")
    return length < 1 << 16


def walk(paths: list[str | os.PathLike[str]]) -> Iterator[Source | tuple[str, str]]:
    """Every file under ``paths`` (folders recursively, zip archives by member), in a stable order.

    Yields ``Source`` objects, or ``(name, reason)`` for a path that cannot be walked.
    """
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for filename in sorted(files):
                    yield from _expand(Path(root) / filename)
        elif path.exists():
            yield from _expand(path)
        else:
            yield str(path.absolute()), "No such file or folder."


def _printable(name: str) -> str:
    """A path that may hold undecodable bytes (kept by Python as surrogates) as storable text."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _expand(path: Path) -> Iterator[Source | tuple[str, str]]:
    name = str(path.absolute())
    if _printable(name) != name:
        yield _printable(name), "The file name is not valid UTF-8; rename the file and import it again."
        return
    source = Source(name)
    if path.suffix.lower() != ".zip":
        limit, size = config().max_file_mb, _size_or_zero(path)
        if size > limit * 1024**2:
            yield name, f"The file holds {size / 1024**2:,.1f} MB; Medal takes files of up to {limit:,.1f} MB."
        else:
            yield source
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted((info for info in archive.infolist() if not info.is_dir()), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError) as error:
        yield source.name, f"Unreadable zip archive ({error})."
        return
    for info in members:  # zipfile decodes member names (cp437 or UTF-8): always text
        member = Source(source.path, info.filename)
        refusal = _member_refusal(info)
        yield (member.name, refusal) if refusal else member


def _size_or_zero(path: Path) -> int:
    """The file's size; 0 when it cannot be asked (a broken link): reading it will give the reason."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _member_refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is refused before any of it is read (its size and ratio come from the archive's
    directory), or None."""
    limit = config().max_file_mb
    if info.file_size > limit * 1024**2:
        return f"The archive member holds {info.file_size / 1024**2:,.1f} MB; Medal takes files of up to {limit:,.1f} MB."
    if info.file_size > 1024**2 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        return (f"The archive member expands {info.file_size / max(info.compress_size, 1):,.0f}-fold "
                f"({info.file_size / 1024**2:,.0f} MB); Medal refuses more than {MAX_ZIP_RATIO}-fold (a zip bomb?).")
    return None
