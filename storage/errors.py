"""Named errors for what a user can get wrong; each message says what is wrong and what to do.

Pages turn them into ``st.error`` and the CLI into a non-zero exit with the message.
"""


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
    """An indexed image whose original file is gone or unreadable."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when empty), for one-line reasons."""
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]
