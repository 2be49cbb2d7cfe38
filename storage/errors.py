"""Named errors for what a user can get wrong; each message says what is wrong and what to do.

Pages turn them into ``st.error`` and the CLI into a non-zero exit with the message.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

# What a write gets from a full disk: no space, the account's quota, or a file-size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG})


class MedalError(Exception):
    """Base class of every error Medal reports to a user."""


class InvalidDicom(MedalError):
    """A file that looks like DICOM but cannot be indexed or displayed."""


class UnsupportedFile(MedalError):
    """A file that is neither DICOM nor a PNG/JPEG/TIFF image."""


class ImageNotFound(MedalError):
    """An image id that is not in the project."""


class InvalidWindow(MedalError):
    """A window/level the user asked for that cannot be applied."""


class SourceMissing(MedalError):
    """An indexed image whose original file is gone or unreadable. The message never holds the file's path (it
    may name the patient, and the message may reach a browser); ``path`` keeps it for the server's log."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


@contextmanager
def about_image(image_id: int) -> Iterator[None]:
    """Say which image a ``SourceMissing`` inside is about ("Image 12: Cannot read the file …")."""
    try:
        yield
    except SourceMissing as error:
        raise SourceMissing(f"Image {image_id}: {error}", error.path) from error


class StorageFull(MedalError):
    """The server's disk is full (or failing): a write was refused, and what it had half-written is undone.

    The message names the area (e.g. "the project's database"), never a server path, and says what
    happened to the work and what to do; ``args`` hold the parts, so it crosses process boundaries.
    """

    def __init__(self, area: str, outcome: str, retry: str = "try again", failing: bool = False) -> None:
        super().__init__(area, outcome, retry, failing)
        self.area, self.outcome, self.retry, self.failing = area, outcome, retry, failing

    def __str__(self) -> str:
        lead = "The server's disk is full or failing" if self.failing else "The server's disk is full"
        return (f"{lead}: {self.area} could not be written; {self.outcome}. "
                f"Free disk space on the server (or ask your IT team), then {self.retry}.")


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is an ``OSError`` a full disk, a disk quota or a file-size limit causes."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


@contextmanager
def disk_full_as(area: str, outcome: str, retry: str = "try again") -> Iterator[None]:
    """Turn an ``OSError`` of a full disk raised inside the block into ``StorageFull``; other errors pass."""
    try:
        yield
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise StorageFull(area, outcome, retry) from error


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when empty), for one-line reasons."""
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]
