"""The DICOM header of an image as rows (tag, VR, name, value), with patient identity kept out.

Roles that see identity (``Account.sees_identity``) get every element. Every other role gets only
the attributes on ``READER_ATTRIBUTES``, what a reader needs to read the image: free text (image
comments, overlay and curve text, private tags, the sending station) can carry identity anywhere,
so an allow-list is the only safe choice, and no free-text attribute is on it (study, series and protocol
descriptions, contrast agent and window explanations are typed by people and have held names). Dates and
times are left out for them too.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from labeling.dicom.frames import dicom_header
from labeling.dicom.sources import Content, Source, sniff

MAX_VALUE_CHARS = 160
READER_ATTRIBUTES = frozenset({
    # what and how: modality, anatomy, view
    "TransferSyntaxUID", "SOPClassUID", "Modality", "ImageType", "PresentationIntentType", "BodyPartExamined",
    "Laterality", "ImageLaterality", "ViewPosition", "PatientPosition", "PatientOrientation",
    "SeriesNumber", "InstanceNumber", "AcquisitionNumber", "NumberOfFrames",
    "PatientSex", "PatientAge",
    # geometry
    "Rows", "Columns", "PixelSpacing", "ImagerPixelSpacing", "SliceThickness", "SpacingBetweenSlices",
    "SliceLocation", "ImagePositionPatient", "ImageOrientationPatient",
    # pixel values and display
    "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "RescaleIntercept", "RescaleSlope", "RescaleType", "WindowCenter", "WindowWidth", "VOILUTFunction",
    # acquisition
    "KVP", "ExposureTime", "XRayTubeCurrent", "Exposure", "ConvolutionKernel",
    "MagneticFieldStrength", "RepetitionTime", "EchoTime", "InversionTime", "FlipAngle", "ScanningSequence",
    "SequenceVariant", "Manufacturer", "ManufacturerModelName",
})


def header_rows(path: str, *, reveal_identity: bool) -> list[dict[str, str]]:
    """Every top-level element of the file at ``path`` (a file or a zip member, as
    :meth:`~labeling.dicom.sources.Source.parse` reads it) except pixel data; [] for PNG/JPEG/TIFF."""
    source = Source.parse(path)
    content = sniff(source.head())
    if content not in (Content.DICOM, Content.DICOM_NO_PREAMBLE):
        return []
    dataset, _ = dicom_header(source, content)
    shown = [element for element in _elements(dataset)
             if reveal_identity or (element.keyword in READER_ATTRIBUTES and not element.tag.is_private)]
    first = {keyword: rank for rank, keyword in enumerate(KEY_ATTRIBUTES)}
    shown.sort(key=lambda element: first.get(element.keyword, len(first)))  # stable: the rest in tag order
    return [_row(element) for element in shown]


# What a reader looks at first; the header panel lists these at the top.
KEY_ATTRIBUTES = ("Modality", "BodyPartExamined", "StudyDescription", "SeriesDescription", "ImageLaterality",
                  "ViewPosition", "PatientPosition", "SliceThickness", "SpacingBetweenSlices", "PixelSpacing",
                  "ImagerPixelSpacing", "Rows", "Columns", "WindowCenter", "WindowWidth", "RescaleSlope",
                  "RescaleIntercept", "KVP", "ConvolutionKernel", "Manufacturer", "ManufacturerModelName")


def _elements(dataset: Dataset) -> list[DataElement]:
    meta = list(dataset.file_meta) if getattr(dataset, "file_meta", None) else []
    return meta + [element for element in dataset if element.tag != 0x7FE00010]


def _row(element: DataElement) -> dict[str, str]:
    name = element.name if not element.tag.is_private else f"Private: {element.name}"
    return {"tag": f"({element.tag.group:04X},{element.tag.element:04X})", "VR": element.VR, "name": name,
            "value": _value(element)}


def _value(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"sequence of {len(element.value)} item(s)"
    if isinstance(element.value, (bytes, bytearray)):
        return f"{len(element.value)} bytes"
    text = str(element.value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
