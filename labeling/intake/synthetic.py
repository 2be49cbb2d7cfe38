"""Synthetic but valid DICOM files: the one writer behind the demo project and every benchmark.

Callers make the pixels (CT in HU, mammograms as 12-bit stored values) and say where a file belongs
(:class:`SeriesPlace`); this module writes the DICOM around them the same way for everyone.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

DIGITAL_MAMMOGRAPHY_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
CT_WINDOWS = ((40, 400, "SOFT TISSUE"), (-600, 1500, "LUNG"))


@dataclass(frozen=True)
class SyntheticPatient:
    patient_id: str
    name: str
    birth_date: str = ""
    sex: str = ""


@dataclass(frozen=True)
class SeriesPlace:
    """Where a file belongs: its patient, study and series, and the series' frame of reference."""

    patient: SyntheticPatient
    study_date: date
    study_uid: str
    series_uid: str
    frame_uid: str


def uid(*parts: object) -> str:
    """A UID derived from ``parts``, the same for the same parts (so a seed reproduces a project)."""
    return generate_uid(entropy_srcs=[str(part) for part in parts])


def write_ct_slice(path: Path, hu: np.ndarray, place: SeriesPlace, *, index: int, sop_uid: str | None = None,
                   spacing: float = 1.4, thickness: float = 5.0, description: str = "Chest 5mm",
                   windows: bool = True) -> str:
    """Slice ``index`` of an axial chest CT (12-bit, HU rescale, soft-tissue and lung windows, or none without
    ``windows``); returns its SOPInstanceUID."""
    sop_uid = sop_uid or generate_uid()
    ds = _base_dataset(CTImageStorage, sop_uid, place)
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, index + 1
    ds.SeriesDescription, ds.StudyDescription, ds.BodyPartExamined = description, "CT CHEST", "CHEST"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    rows, cols = hu.shape
    ds.ImagePositionPatient = [-spacing * cols / 2, -spacing * rows / 2, -index * thickness]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PatientPosition, ds.AcquisitionNumber = "HFS", 1  # head first supine; one acquisition
    ds.SliceThickness, ds.PixelSpacing = thickness, [spacing, spacing]
    ds.SliceLocation = -index * thickness
    ds.KVP, ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 120, -1024, 1, "HU"
    if windows:
        ds.WindowCenter, ds.WindowWidth = [w[0] for w in CT_WINDOWS], [w[1] for w in CT_WINDOWS]
        ds.WindowCenterWidthExplanation = [w[2] for w in CT_WINDOWS]
    _set_pixels(ds, np.clip(np.round(hu + 1024), 0, 4095), "MONOCHROME2", bits=12)
    _save(ds, path)
    return sop_uid


MG_WINDOW_CENTER, MG_WINDOW_WIDTH = 1500, 1800  # fat (~900) to dense tissue (~2200) in 12-bit stored values


def write_mammogram(path: Path, stored: np.ndarray, place: SeriesPlace, *, index: int, sop_uid: str,
                    laterality: str, view: str, monochrome1: bool) -> str:
    """One mammography view (12-bit stored values, MONOCHROME1 when asked: stored already inverted)."""
    ds = _base_dataset(DIGITAL_MAMMOGRAPHY_PRESENTATION, sop_uid, place)
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "MG", index + 1, 1
    ds.SeriesDescription, ds.StudyDescription, ds.BodyPartExamined = f"{laterality} {view}", "MAMMO SCREENING", "BREAST"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageLaterality, ds.ViewPosition = laterality, view
    # What dciodvfy asks of a digital mammogram for presentation (the Mammography Image and DX modules).
    ds.ViewCodeSequence = [_code(*MG_VIEW_CODES[view])]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []  # Type 2: no modifier (no spot or magnification view)
    ds.AnatomicRegionSequence = [_code("76752008", "Breast")]
    ds.PatientOrientation = MG_ORIENTATION[(laterality, view)]
    ds.OrganExposed, ds.PositionerType, ds.DetectorType = "BREAST", "MAMMOGRAPHIC", "DIRECT"
    ds.AcquisitionContextSequence = []
    ds.LossyImageCompression = "00"
    ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign = "LOG", -1 if monochrome1 else 1
    ds.PresentationLUTShape = "INVERSE" if monochrome1 else "IDENTITY"
    ds.PixelSpacing = ds.ImagerPixelSpacing = [0.2, 0.2]
    # MONOCHROME1 stores the values inverted: its window sits where the inverted values are (4095 − 1600)
    ds.WindowCenter, ds.WindowWidth = (4095 - MG_WINDOW_CENTER if monochrome1 else MG_WINDOW_CENTER), MG_WINDOW_WIDTH
    ds.WindowCenterWidthExplanation = "STANDARD"
    ds.VOILUTFunction = "LINEAR"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    _set_pixels(ds, stored, "MONOCHROME1" if monochrome1 else "MONOCHROME2", bits=12)
    _save(ds, path)
    return sop_uid


MG_VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}
# The direction of the rows and of the columns, as IHE Mammography Image displays each view.
MG_ORIENTATION = {("R", "CC"): ["P", "L"], ("L", "CC"): ["A", "R"],
                  ("R", "MLO"): ["P", "FL"], ("L", "MLO"): ["A", "FR"]}


def _code(value: str, meaning: str) -> Dataset:
    """A SNOMED CT code item."""
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    return item


def _base_dataset(sop_class: str, sop_uid: str, place: SeriesPlace) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = place.study_uid, place.series_uid
    ds.FrameOfReferenceUID = place.frame_uid
    ds.PositionReferenceIndicator = ""
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = f"{place.study_date:%Y%m%d}"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "093000"
    patient = place.patient
    ds.AccessionNumber = f"A{zlib.crc32(f'{patient.patient_id}/{place.study_date}'.encode()):010d}"
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.Manufacturer = "Medal demo"
    ds.InstitutionName = "Medal Demo Hospital"
    ds.PatientID, ds.PatientName = patient.patient_id, patient.name
    ds.PatientBirthDate, ds.PatientSex = patient.birth_date, patient.sex
    ds.BurnedInAnnotation = "NO"
    ds.SamplesPerPixel = 1
    ds.PixelRepresentation = 0
    return ds


def _set_pixels(ds: Dataset, stored: np.ndarray, photometric: str, bits: int) -> None:
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelData = stored.astype("<u2").tobytes()


def _save(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
