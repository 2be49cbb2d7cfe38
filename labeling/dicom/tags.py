"""The DICOM header of an image as rows (tag, VR, name, value), with patient identity masked.

Identity is masked for every role that need not see it (``Account.sees_identity``): every person
name (VR PN), and the attributes below that name, number or locate a patient or institution.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from labeling.dicom.frames import dicom_header
from labeling.dicom.sources import Content, Source, sniff
from storage.errors import MedalError
from storage.models import Image

MASK = "•••"
MAX_VALUE_CHARS = 160
IDENTIFYING = frozenset({
    "PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "OtherPatientIDsSequence",
    "OtherPatientNames", "PatientBirthDate", "PatientBirthTime", "PatientBirthName", "PatientMotherBirthName",
    "PatientAddress", "PatientTelephoneNumbers", "PatientTelecomInformation", "MedicalRecordLocator",
    "AccessionNumber", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "ReferringPhysicianName", "ReferringPhysicianAddress", "PerformingPhysicianName", "OperatorsName",
    "NameOfPhysiciansReadingStudy", "PhysiciansOfRecord", "RequestingPhysician", "PatientInsurancePlanCodeSequence",
    "MilitaryRank", "BranchOfService", "EthnicGroup", "PatientReligiousPreference", "CountryOfResidence",
    "RegionOfResidence", "StationName", "DeviceSerialNumber", "StudyID", "AdmissionID", "PatientComments",
})


def header_rows(image: Image, *, reveal_identity: bool) -> list[dict[str, str]]:
    """Every top-level element of the image's file except pixel data; [] for PNG/JPEG/TIFF."""
    source = Source.parse(image.path)
    try:
        content = sniff(source.head())
    except OSError as error:
        raise MedalError(f"Cannot read {image.path} any more ({error.strerror}); was it moved?") from error
    if content not in (Content.DICOM, Content.DICOM_NO_PREAMBLE):
        return []
    dataset, _ = dicom_header(source, content)
    return [_row(element, reveal_identity) for element in _elements(dataset)]


def _elements(dataset: Dataset) -> list[DataElement]:
    meta = list(dataset.file_meta) if getattr(dataset, "file_meta", None) else []
    return meta + [element for element in dataset if element.tag != 0x7FE00010]


def _row(element: DataElement, reveal: bool) -> dict[str, str]:
    name = element.name if not element.tag.is_private else f"Private: {element.name}"
    hidden = not reveal and (element.VR == "PN" or element.keyword in IDENTIFYING)
    return {"tag": f"({element.tag.group:04X},{element.tag.element:04X})", "VR": element.VR, "name": name,
            "value": MASK if hidden and not element.is_empty else _value(element)}


def _value(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"sequence of {len(element.value)} item(s)"
    if isinstance(element.value, (bytes, bytearray)):
        return f"{len(element.value)} bytes"
    text = str(element.value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
