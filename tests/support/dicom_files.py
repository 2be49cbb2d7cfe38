"""DICOM files made for a test: what pydicom's own test files do not cover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import pydicom_file

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def enhanced_ct(path: Path, frames: int = 3) -> np.ndarray:
    """An Enhanced CT whose intercept (−1024) lives only in the shared functional groups and
    whose window differs per frame; returns the stored pixels."""
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 2000, (frames, 32, 48), dtype=np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ENHANCED_CT, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = ENHANCED_CT, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality, ds.StudyDate = "EMF1", "Enhanced^Test", "CT", "20250102"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 32, 48, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    shared = _item(
        PixelMeasuresSequence=Sequence([_item(PixelSpacing=[0.5, 0.5], SliceThickness=1.0)]),
        PixelValueTransformationSequence=Sequence([_item(RescaleIntercept=-1024, RescaleSlope=1, RescaleType="HU")]),
        PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
    )
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence([
        _item(FrameVOILUTSequence=Sequence([_item(WindowCenter=40 + 100 * i, WindowWidth=400 + 200 * i)]),
              PlanePositionSequence=Sequence([_item(ImagePositionPatient=[0, 0, float(i)])]))
        for i in range(frames)
    ])
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return stored


def dicom_around_jpeg(path: Path, width: int, height: int) -> None:
    """A DICOM file whose header says 64×64 around a JPEG codestream of ``width``×``height``."""
    import io

    from PIL import Image as PILImage
    from pydicom.uid import JPEGBaseline8Bit

    jpeg = io.BytesIO()
    PILImage.new("L", (width, height), 128).save(jpeg, format="JPEG")
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.Rows = ds.Columns = 64
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PhotometricInterpretation, ds.SamplesPerPixel = "MONOCHROME2", 1
    ds.PixelData = encapsulate([jpeg.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.save_as(path, enforce_file_format=True)
