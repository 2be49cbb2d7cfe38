r"""Which images may show identity in their pixels, for a de-identified export (DICOM PS3.15 Annex E: the
Basic Profile removes identity from attributes only; the Clean Pixel Data and Clean Recognizable Visual
Features options are about the pixels, which Medal does not clean, so such images are left out).

An image is left out, with the attribute that says so, when:

- ``BurnedInAnnotation`` (0028,0301) is YES: the file says text is in the pixels;
- ``RecognizableVisualFeatures`` (0028,0302) is YES: the pixels could identify the person (a face);
- ``ImageType`` (0008,0008) names a capture in its third value or later (``SCREEN SAVE``, ``CAPTURE``,
  ``DOSE …``, ``… REPORT``: dose screens, annotated views), unless ``BurnedInAnnotation`` is explicitly NO.
  ``DERIVED\SECONDARY`` alone is not enough: reformats and processed series say it and hold no text;
- its SOP class is secondary capture (1.2.840.10008.5.1.4.1.1.7 and its multi-frame variants) or visible
  light (1.2.840.10008.5.1.4.1.1.77 and below: photographs, endoscopy, microscopy, ophthalmic photography,
  the retired trial classes 77.1 and 77.2), or its modality is XC, US or
  OT (photographs, ultrasound with its calipers and text, "other");
- it is a PNG, JPEG or TIFF picture (nothing says what is in it), or its file cannot be read to check.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from labeling.dicom import Source, dicom_header, sniff
from storage import Image, MedalError, SourceKind

SECONDARY_CAPTURE = {"1.2.840.10008.5.1.4.1.1.7", *(f"1.2.840.10008.5.1.4.1.1.7.{n}" for n in range(1, 5))}
# (matched whole: the visible-light classes, 1.2.840.10008.5.1.4.1.1.77…, start with the same characters)
VISIBLE_LIGHT = "1.2.840.10008.5.1.4.1.1.77"  # VL endoscopic, microscopic, photographic …: 77.1, 77.2, 77.1.x
CAPTURE_WORDS = ("SCREEN", "CAPTURE", "DOSE", "REPORT")
PICTURE_MODALITIES = {"XC": "external-camera photography", "US": "ultrasound, where text is often burned in",
                      "OT": "modality OT (other), which says nothing of its pixels"}


def burned_in_reason(image: Image) -> str | None:
    """Why the image may carry identity in its pixels (None when nothing says so)."""
    if image.kind != SourceKind.DICOM:
        return "a PNG/JPEG/TIFF picture, whose pixels may hold burned-in text"
    if image.burned_in_annotation:
        return "BurnedInAnnotation is YES"
    sop_class = image.sop_class_uid or ""
    if sop_class in SECONDARY_CAPTURE:
        return "secondary capture, where text is often burned into the pixels"
    if sop_class.startswith(VISIBLE_LIGHT + "."):
        return "a visible-light image (photograph, endoscopy, microscopy)"
    if (image.modality or "") in PICTURE_MODALITIES:
        return PICTURE_MODALITIES[image.modality]
    try:
        source = Source.parse(image.path)
        dataset, _ = dicom_header(source, sniff(source.head()))
    except (OSError, MedalError):
        return "its file cannot be read to check its pixels"
    return header_reason(dataset)


def header_reason(dataset: Dataset) -> str | None:
    """What the DICOM header itself says about identity in the pixels (see the module's docstring)."""
    burned_in = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper()
    if burned_in == "YES":
        return "BurnedInAnnotation is YES"
    if str(dataset.get("RecognizableVisualFeatures", "") or "").strip().upper() == "YES":
        return "RecognizableVisualFeatures is YES (the pixels could identify the person)"
    image_type = [str(value).strip().upper() for value in _values(dataset.get("ImageType"))]
    capture = next((value for value in image_type[2:] if any(word in value for word in CAPTURE_WORDS)), None)
    if capture and burned_in != "NO":
        return f"ImageType says {capture} (a screen capture or report, with text on it)"
    return None


def _values(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(
        value, (str, bytes)) else [value]
