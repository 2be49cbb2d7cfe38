"""Decoding one frame of a source, and the cache of decoded frames and default previews.

The cache lives under ``$MEDAL_HOME/cache`` and can be deleted at any time: each image's frame
is decoded once, kept as its modality values (``.npy``, what window/level re-renders from) and
as its default 8-bit rendering (``.png``, what the UI shows first).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from numpy.lib import format as npy_format
from PIL import Image as PILImage
from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import pixel_array
from pydicom.pixels.utils import _get_jpg_parameters  # parses a JPEG/JPEG-LS header only

from labeling.dicom.display import Window, frame_view, to_display, to_modality
from labeling.dicom.header import PARSE_ERRORS, oversized_frame, read_header, transfer_syntax_of
from labeling.dicom.sources import Content, Source, sniff
from storage import InvalidDicom, UnsupportedFile, disk_full_as, first_line, is_disk_full

JPEG_SYNTAXES = frozenset({uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLossless, uid.JPEGLosslessSV1,
                           uid.JPEGLSLossless, uid.JPEGLSNearLossless})
JPEG2000_SYNTAXES = frozenset({uid.JPEG2000Lossless, uid.JPEG2000, uid.HTJ2KLossless, uid.HTJ2KLosslessRPCL, uid.HTJ2K})
CODESTREAM_SYNTAXES = JPEG_SYNTAXES | JPEG2000_SYNTAXES
PNG_COMPRESS_LEVEL = 1  # encoding costs more than decoding; favour speed over size


def cache_key(identity: str, frame: int) -> str:
    """The name of a frame's cached files: SOPInstanceUID (or content hash) and frame."""
    return hashlib.sha1(f"{identity}/{frame}".encode()).hexdigest()


@dataclass(frozen=True)
class FrameCache:
    """Files derived from one frame, under ``root``."""

    root: Path

    def array_path(self, key: str) -> Path:
        return self.root / "frames" / key[:2] / f"{key}.npy"

    def preview_path(self, key: str) -> Path:
        return self.root / "previews" / key[:2] / f"{key}.png"

    def has(self, key: str) -> bool:
        return self.array_path(key).exists() and self.preview_path(key).exists()

    def store(self, key: str, modality: np.ndarray, preview: np.ndarray) -> None:
        """Write both files atomically (a crash or a failed write never leaves a half-written cache entry);
        ``StorageFull`` when the disk is full, its temporary file removed."""
        array_path, preview_path = self.array_path(key), self.preview_path(key)
        with disk_full_as("the project's files", "the file being written was removed"):
            array_path.parent.mkdir(parents=True, exist_ok=True)
            preview_path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(array_path, lambda handle: _save_npy(handle, modality))
            _write_atomically(preview_path, lambda handle: PILImage.fromarray(preview).save(
                handle, format="PNG", compress_level=PNG_COMPRESS_LEVEL))

    def load_array(self, key: str) -> np.ndarray | None:
        path = self.array_path(key)
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None


def _save_npy(handle: BinaryIO, array: np.ndarray) -> None:
    """``np.save`` through Python's writes, the file's space reserved first (as numpy does): a full disk refuses
    them with ENOSPC, EDQUOT or EFBIG, where ``ndarray.tofile``'s short write is an ``OSError`` without errno."""
    array = np.ascontiguousarray(array)
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, npy_format.header_data_from_array_1_0(array))
    _reserve(handle, header.tell() + array.nbytes)
    handle.write(header.getvalue())
    handle.write(array.data)


def _reserve(handle: BinaryIO, size: int) -> None:
    """Allocate ``size`` bytes of the file at once (fast, and a full disk says so before anything is written)."""
    if size <= 0 or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(handle.fileno(), 0, size)
    except OSError as error:
        if is_disk_full(error):
            raise
        # a file system that cannot reserve space: the writes that follow allocate it


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file beside it (this process and thread's own), renamed into place
    once complete; the temporary file is removed whatever stops the write."""
    temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # gone already once renamed


# --- DICOM -----------------------------------------------------------------------------------


def dicom_stored_frame(source: Source, header_dataset: Dataset, complete_read: bool, frame: int) -> np.ndarray:
    """Decode one frame's stored values (YBR comes back as RGB); ``InvalidDicom`` if it fails, or if a
    JPEG/JPEG-LS/JPEG 2000 frame's own codestream declares another size than the header (checked before
    decoding: a 64×64 header must not cost the memory of a 16000×16000 codestream)."""
    rows, cols = int(header_dataset.Rows), int(header_dataset.Columns)
    syntax = transfer_syntax_of(header_dataset)
    try:
        if complete_read or syntax in CODESTREAM_SYNTAXES:
            with source.open() as handle:
                dataset = pydicom.dcmread(handle, force=True)
            if "TransferSyntaxUID" not in dataset.file_meta:
                dataset.file_meta.TransferSyntaxUID = transfer_syntax_of(dataset)
            if syntax in CODESTREAM_SYNTAXES:
                _check_codestream_size(dataset, syntax, frame, rows, cols)
            stored = pixel_array(dataset, index=frame)
        else:
            stored = pixel_array(source.for_pydicom(), index=frame)
    except PARSE_ERRORS as error:
        raise InvalidDicom(f"Pixel data cannot be decoded ({decoder_reasons(error)}).") from error
    if stored.shape[:2] != (rows, cols):
        raise InvalidDicom(f"Decoded frame is {stored.shape[:2]}, the header says {rows}×{cols}.")
    return stored


def decoder_reasons(error: BaseException, limit: int = 300) -> str:
    """Why decoding failed, in one line: pydicom's first line, or, when every plugin failed, what each
    plugin said (e.g. "pylibjpeg: … a misplaced marker segment …; pillow: … 12-bit precision")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith("all available plugins:"):
        return "; ".join(lines[1:])[:limit]
    return first_line(error, limit)


def codestream_size(syntax: str, codestream: bytes) -> tuple[int, int] | None:
    """(rows, columns) a JPEG, JPEG-LS or JPEG 2000 codestream declares in its own header, read without
    decoding (JPEG's SOF, JPEG 2000's SIZ marker); None when it cannot be found."""
    if syntax in JPEG2000_SYNTAXES:
        start = codestream.find(b"\xff\x4f\xff\x51")  # SOC then SIZ
        if start < 0 or len(codestream) < start + 24:
            return None
        width, height, left, top = struct.unpack(">IIII", codestream[start + 8:start + 24])
        return height - top, width - left
    parameters = _get_jpg_parameters(codestream)
    return (parameters["height"], parameters["width"]) if parameters.get("height") else None


def _check_codestream_size(dataset: Dataset, syntax: str, frame: int, rows: int, cols: int) -> None:
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    codestream = get_frame(dataset.PixelData, frame, number_of_frames=frames)
    declared = codestream_size(syntax, codestream)
    if declared is not None and declared != (rows, cols):
        raise InvalidDicom(f"The frame's codestream is {declared[0]:,}×{declared[1]:,} pixels but the header says "
                           f"{rows:,}×{cols:,}; the file is inconsistent and is not decoded.")


@lru_cache(maxsize=64)
def _header_for(name: str, content: Content, mtime_ns: int) -> tuple[Dataset, bool]:
    header = read_header(Source.parse(name), content)
    return header.dataset, header.complete_read


def dicom_header(source: Source, content: Content) -> tuple[Dataset, bool]:
    """The validated header of an indexed source (cached while the file is unchanged)."""
    return _header_for(source.name, content, os.stat(source.path).st_mtime_ns)


# --- PNG / JPEG / TIFF -------------------------------------------------------------------------

GREY_MODES = {"1", "L", "I;16", "I;16B", "I;16L", "I", "F"}
MAX_RASTER_PAGES = 1_000  # pages of one multi-page raster file that are imported


def open_raster(source: Source) -> PILImage.Image:
    """Open a raster image lazily and check its size before anything is decoded."""
    try:
        image = PILImage.open(source.open())
    except (OSError, ValueError, PILImage.DecompressionBombError) as error:
        raise UnsupportedFile(f"Unreadable image file ({first_line(error)}).") from error
    pages = raster_pages(image)
    for page in range(pages):  # every page's size (read from its header) before any page is decoded
        image.seek(page)
        too_large = oversized_frame(*image.size, f"Page {page + 1} declares" if pages > 1 else "The image declares")
        if too_large:
            raise UnsupportedFile(too_large)
    image.seek(0)
    return image


def raster_pages(image: PILImage.Image) -> int:
    """How many pages of a raster image are imported (at most ``MAX_RASTER_PAGES``)."""
    return min(getattr(image, "n_frames", 1) or 1, MAX_RASTER_PAGES)


def raster_frame(image: PILImage.Image, frame: int) -> np.ndarray:
    """One page of a raster image as grey values or 8-bit RGB."""
    try:
        image.seek(frame)
        image.load()
        if image.mode in GREY_MODES:
            array = np.asarray(image)
            return array.astype(np.uint8) if array.dtype == bool else array
        return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, EOFError, SyntaxError) as error:
        raise UnsupportedFile(f"Image data cannot be decoded ({first_line(error)}).") from error


DEEP_GREY_PERCENTILES = (0.5, 99.5)  # the default window of a deeper-than-8-bit grey picture, in its own values


def raster_view(values: np.ndarray) -> Dataset:
    """A display header for a raster frame: 8-bit grey shows as is; deeper grey (a 16-bit PNG of CT or MR
    values, which carries no window) through the window from its 0.5th to its 99.5th percentile, as a reader
    would set it — its full range put a CT's soft tissue, or an MR's anatomy, into a few grey levels."""
    view = Dataset()
    view.set_original_encoding(False, True)
    if values.ndim == 3:
        view.PhotometricInterpretation = "RGB"
        view.SamplesPerPixel = 3
        view.BitsStored = 8
        return view
    view.PhotometricInterpretation = "MONOCHROME2"
    view.SamplesPerPixel = 1
    view.PixelRepresentation = 0
    view.BitsStored = 8 if values.dtype == np.uint8 else 16
    if values.dtype == np.uint8:
        view.WindowCenter, view.WindowWidth = 127.5, 255
        view.VOILUTFunction = "LINEAR_EXACT"
        view.WindowCenterWidthExplanation = "Full range"
    elif values.size:
        step = max(1, int(np.sqrt(values.size / 250_000)))  # a quarter of a million values say it well enough
        sample = values[::step, ::step]
        sample = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
        if sample.size:
            low, high = (float(v) for v in np.percentile(sample, DEEP_GREY_PERCENTILES))
            if high > low:
                view.WindowCenter, view.WindowWidth = round((low + high) / 2, 3), round(high - low, 3)
                view.VOILUTFunction = "LINEAR_EXACT"
                view.WindowCenterWidthExplanation = "0.5-99.5 percentile"
    return view


# --- both --------------------------------------------------------------------------------------


def render_source_frame(source: Source, frame: int, window: Window | int | None = None,
                        cache: FrameCache | None = None, key: str | None = None) -> np.ndarray:
    """The 8-bit image of ``frame`` as shown, from the cache when there is one."""
    modality, view = modality_frame(source, frame, cache, key)
    return to_display(modality, view, window)


def modality_frame(source: Source, frame: int, cache: FrameCache | None = None,
                   key: str | None = None) -> tuple[np.ndarray, Dataset]:
    """Modality values and the display header of one frame; decodes once, then reads the cache."""
    content = sniff(source.head())
    cached = cache.load_array(key) if cache and key else None
    if content in (Content.DICOM, Content.DICOM_NO_PREAMBLE):
        dataset, complete = dicom_header(source, content)
        view = frame_view(dataset, frame)
        if cached is not None:
            return cached, view
        modality = to_modality(dicom_stored_frame(source, dataset, complete, frame), view)
    elif content is Content.RASTER:
        modality = cached if cached is not None else raster_frame(open_raster(source), frame)
        view = raster_view(modality)
        if cached is not None:
            return cached, view
    else:
        raise UnsupportedFile("The file is no longer a DICOM or image file (was it replaced?).")
    if cache and key:
        cache.store(key, modality, to_display(modality, view))
    return modality, view


def encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(image).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()

