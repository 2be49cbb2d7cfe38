"""Reading and validating DICOM headers, before any pixel data is decoded.

``read_header`` parses everything up to the pixel data and checks the declared geometry against
the bytes really present, so no allocation ever follows an unchecked header value.
``describe`` turns a validated header into the facts Medal indexes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from labeling.dicom.display import frame_view, functional_groups, window_presets
from labeling.dicom.sources import Content, Source
from storage import InvalidDicom, config, first_line

# Limits on what a header may declare; beyond them a file is refused before decoding. The pixels of
# one frame are a setting (MEDAL_MAX_MEGAPIXELS), the same for every format: see ``oversized_frame``.
MAX_FRAME_BYTES = 512 * 1024**2  # one decoded frame, as stored
MAX_FRAMES = 10_000

# Everything a parser of arbitrary bytes can raise on a damaged file; turned into a reason.
PARSE_ERRORS = (
    InvalidDicomError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    UnicodeError,
    RuntimeError,
)

NATIVE_SYNTAXES = {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian}
PIXEL_DATA_TAG = 0x7FE00010
OB_OW_LIKE = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN", b"UT", b"SQ", b"UC", b"UR"}


@dataclass
class Header:
    """A parsed header and what was learned about the pixel data that follows it."""

    dataset: Dataset
    transfer_syntax: UID
    file_size: int
    has_pixels: bool  # a pixel data element follows the header (assumed when read whole)
    pixel_length: int | None  # its byte length; None when encapsulated (undefined) or unknown
    complete_read: bool  # True when the data set had to be read whole (no preamble, deflate)


@dataclass
class InstanceFacts:
    """What Medal indexes about one DICOM instance (all frames)."""

    patient_id: str | None
    issuer: str | None
    patient_name: str | None
    birth_date: date | None
    sex: str | None
    study_uid: str
    study_date: date | None
    study_time: str | None
    accession_number: str | None
    study_description: str | None
    series_uid: str
    modality: str | None
    series_number: int | None
    series_description: str | None
    body_part: str | None
    frame_of_reference_uid: str | None
    sop_instance_uid: str
    sop_class_uid: str | None
    instance_number: int | None
    transfer_syntax_uid: str
    number_of_frames: int
    rows: int
    cols: int
    samples_per_pixel: int
    photometric: str
    bits_stored: int
    burned_in_annotation: bool | None
    frames: list[dict[str, Any]] = field(default_factory=list)  # per frame: spacing, windows


def read_header(source: Source, content: Content = Content.DICOM) -> Header:
    """Parse the header of ``source`` and validate it; raises ``InvalidDicom`` with the reason."""
    file_size = source.size()
    try:
        with source.open() as handle:
            if content is Content.DICOM_NO_PREAMBLE:
                dataset = pydicom.dcmread(handle, force=True, stop_before_pixels=True)
                complete = True
            else:
                dataset = pydicom.dcmread(handle, stop_before_pixels=True)
                complete = False
            syntax = transfer_syntax_of(dataset)
            has_pixels, pixel_length = True, None
            if syntax == DeflatedExplicitVRLittleEndian:
                complete = True
            elif not complete:
                has_pixels, pixel_length = _pixel_data_element(handle, dataset, file_size)
    except PARSE_ERRORS as error:
        raise InvalidDicom(f"Unreadable DICOM header ({first_line(error)}).") from error
    header = Header(dataset, syntax, file_size, has_pixels, pixel_length, complete)
    validate(header)
    return header


def transfer_syntax_of(dataset: Dataset) -> UID:
    syntax = dataset.get("file_meta", Dataset()).get("TransferSyntaxUID")
    if syntax:
        return UID(syntax)
    implicit, little = dataset.original_encoding
    if implicit is None:
        return ExplicitVRLittleEndian
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _pixel_data_element(handle: Any, dataset: Dataset, file_size: int) -> tuple[bool, int | None]:
    """Read the pixel data element's header where parsing stopped: (present, defined length).

    Raises ``InvalidDicom`` when the element says it is longer than what the file holds.
    """
    start = handle.tell()
    head = handle.read(12)
    if len(head) < 8:
        return False, None
    implicit, little = dataset.original_encoding
    order = "<" if little is not False else ">"
    group, element = struct.unpack(order + "HH", head[:4])
    if (group << 16 | element) != PIXEL_DATA_TAG:
        return False, None
    if implicit:
        (length,) = struct.unpack(order + "I", head[4:8])
        header_size = 8
    elif head[4:6] in OB_OW_LIKE:
        (length,) = struct.unpack(order + "I", head[8:12])
        header_size = 12
    else:
        (length,) = struct.unpack(order + "H", head[6:8])
        header_size = 8
    if length == 0xFFFFFFFF:
        return True, None
    available = file_size - start - header_size
    if length > available:
        raise InvalidDicom(
            f"Truncated file: the pixel data declares {length:,} bytes but only {max(available, 0):,}"
            " are present. Copy the file again from its source."
        )
    return True, length


def validate(header: Header) -> None:
    """Refuse a header whose image cannot be shown, before anything is decoded."""
    ds = header.dataset
    sop_class = ds.get("SOPClassUID")
    if ds.get("DirectoryRecordSequence") is not None:
        raise InvalidDicom("A DICOMDIR (a directory index) holds no image; import the folder it lists.")
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if rows is None or cols is None:
        kind = UID(sop_class).name if sop_class else "DICOM"
        if "Image" in kind and not header.has_pixels:
            raise InvalidDicom(f"A {kind} file that ends before its image attributes: truncated?"
                               " Copy the file again from its source.")
        raise InvalidDicom(f"A {kind} object without image data (no Rows/Columns): nothing to label.")
    if not header.has_pixels:
        raise InvalidDicom("The DICOM header describes an image but the file holds no pixel data.")
    rows, cols = int(rows), int(cols)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    bits_allocated = int(ds.get("BitsAllocated", 0) or 0)
    frames = _number_of_frames(ds)
    if rows < 1 or cols < 1:
        raise InvalidDicom(f"The header declares an empty image ({rows}×{cols} pixels).")
    too_large = oversized_frame(cols, rows, "The header declares")
    if too_large:
        raise InvalidDicom(too_large)
    if frames > MAX_FRAMES:
        raise InvalidDicom(f"The header declares {frames:,} frames; Medal accepts at most {MAX_FRAMES:,}.")
    if samples not in (1, 3):
        raise InvalidDicom(f"Samples per pixel is {samples}; only 1 (grey) or 3 (colour) can be shown.")
    if bits_allocated not in (1, 8, 16, 32, 64):
        raise InvalidDicom(f"Bits allocated is {bits_allocated}; expected 1, 8, 16, 32 or 64.")
    frame_bytes = (rows * cols * samples * bits_allocated + 7) // 8
    if frame_bytes > MAX_FRAME_BYTES:
        raise InvalidDicom(f"One decoded frame would need {frame_bytes:,} bytes; too large to show.")
    if "PhotometricInterpretation" not in ds:
        raise InvalidDicom("Photometric Interpretation is missing; the pixels cannot be interpreted.")
    syntax = header.transfer_syntax
    if syntax in NATIVE_SYNTAXES and header.pixel_length is not None:
        # YBR_FULL_422 keeps two samples per pixel on average: Cb and Cr are shared by two pixels
        stored = 2 if str(ds.PhotometricInterpretation).upper() == "YBR_FULL_422" and samples == 3 else samples
        needed = (rows * cols * stored * bits_allocated * frames + 7) // 8
        if header.pixel_length < needed:
            raise InvalidDicom(
                f"Truncated pixel data: {frames} frame(s) of {rows}×{cols} need {needed:,} bytes,"
                f" the file holds {header.pixel_length:,}."
            )
    if syntax not in NATIVE_SYNTAXES and syntax != DeflatedExplicitVRLittleEndian:
        _require_decoder(syntax)


def oversized_frame(width: int, height: int, what: str) -> str | None:
    """Why a frame of ``width`` × ``height`` is refused before decoding (one pixel budget for DICOM, PNG,
    JPEG and TIFF alike: ``MEDAL_MAX_MEGAPIXELS``), or None when it fits."""
    limit = config().max_megapixels
    if width * height <= limit * 1_000_000:
        return None
    return (f"{what} {width:,}×{height:,} pixels ({width * height / 1e6:,.1f} megapixels); Medal decodes at most"
            f" {limit:g} megapixels per frame (MEDAL_MAX_MEGAPIXELS).")


def _require_decoder(syntax: UID) -> None:
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        raise InvalidDicom(
            f"Unsupported transfer syntax {syntax.name} ({syntax}): no installed decoder handles it."
            " Convert the file to an uncompressed or JPEG syntax first."
        ) from error
    if not decoder.is_available:
        raise InvalidDicom(
            f"No decoder is installed for {syntax.name} ({syntax}); reinstall Medal with its"
            " pylibjpeg plugins."
        )


def _number_of_frames(ds: Dataset) -> int:
    value = ds.get("NumberOfFrames", 1)
    try:
        return max(int(value or 1), 1)
    except (TypeError, ValueError) as error:
        raise InvalidDicom(f"Number of Frames is not a number ({value!r}).") from error


def describe(header: Header, source: Source) -> InstanceFacts:
    """The indexable facts of a validated header; missing UIDs are derived deterministically."""
    ds = header.dataset
    sop_uid = _text(ds.get("SOPInstanceUID")) or generate_uid(entropy_srcs=[source.name, "sop"])
    study_uid = _text(ds.get("StudyInstanceUID")) or generate_uid(entropy_srcs=[sop_uid, "study"])
    series_uid = _text(ds.get("SeriesInstanceUID")) or generate_uid(entropy_srcs=[study_uid, "series"])
    frames = _number_of_frames(ds)
    facts = InstanceFacts(
        patient_id=_text(ds.get("PatientID")),
        issuer=_text(ds.get("IssuerOfPatientID")),
        patient_name=_text(ds.get("PatientName")),
        birth_date=_date(ds.get("PatientBirthDate")),
        sex=_text(ds.get("PatientSex")),
        study_uid=study_uid,
        study_date=_date(ds.get("StudyDate")) or _date(ds.get("SeriesDate")) or _date(ds.get("ContentDate")),
        study_time=_text(ds.get("StudyTime")),
        accession_number=_text(ds.get("AccessionNumber")),
        study_description=_text(ds.get("StudyDescription")),
        series_uid=series_uid,
        modality=_text(ds.get("Modality")),
        series_number=_int(ds.get("SeriesNumber")),
        series_description=_text(ds.get("SeriesDescription")),
        body_part=_text(ds.get("BodyPartExamined")),
        frame_of_reference_uid=_text(ds.get("FrameOfReferenceUID")),
        sop_instance_uid=sop_uid,
        sop_class_uid=_text(ds.get("SOPClassUID")),
        instance_number=_int(ds.get("InstanceNumber")),
        transfer_syntax_uid=str(header.transfer_syntax),
        number_of_frames=frames,
        rows=int(ds.Rows),
        cols=int(ds.Columns),
        samples_per_pixel=int(ds.get("SamplesPerPixel", 1) or 1),
        photometric=str(ds.PhotometricInterpretation),
        bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8),
        burned_in_annotation=_yes_no(ds.get("BurnedInAnnotation")),
    )
    for index in range(frames):
        view = frame_view(ds, index)
        facts.frames.append({"spacing": _spacing(view), "windows": window_presets(view),
                             "position": slice_position(ds, index)})
    return facts


def slice_position(ds: Dataset, frame: int = 0) -> float | None:
    """Where a frame lies along its plane's normal, in mm (ImagePositionPatient · (row × column direction)),
    from the frame's own functional groups, the shared ones, or the top level; None without a geometry.
    Sorting a series by it gives anatomical order whatever the instance numbers say."""
    position = _plane_attribute(ds, frame, "PlanePositionSequence", "ImagePositionPatient")
    orientation = _plane_attribute(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient")
    try:
        point = [float(v) for v in position]
        row, col = [float(v) for v in orientation[:3]], [float(v) for v in orientation[3:6]]
    except (TypeError, ValueError):
        return None
    if len(point) != 3 or len(row) != 3 or len(col) != 3:
        return None
    normal = (row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0])
    return round(sum(p * n for p, n in zip(point, normal)), 4)


def _plane_attribute(ds: Dataset, frame: int, sequence: str, keyword: str) -> Any:
    """``keyword`` from the frame's (else the shared) functional group ``sequence``, else the top level."""
    for group in functional_groups(ds, frame):
        items = group.get(sequence)
        if items and keyword in items[0]:
            return items[0].get(keyword)
    return ds.get(keyword)


def _spacing(view: Dataset) -> list[float] | None:
    value = view.get("PixelSpacing") or view.get("ImagerPixelSpacing")
    try:
        return [float(value[0]), float(value[1])] if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().strip("\x00")
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    text = _text(value)
    if not text or len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _yes_no(value: Any) -> bool | None:
    text = (_text(value) or "").upper()
    return True if text == "YES" else False if text == "NO" else None

