"""Enhanced multi-frame objects: rescale and window come from the functional groups, per frame."""

from __future__ import annotations

from pathlib import Path

import highdicom
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlmodel import Session, select

from labeling.intake.ingest import import_paths
from labeling.labels.pictures import render_frame
from storage.models import Image

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


def test_functional_group_rescale_and_window_per_frame(project, tmp_path: Path) -> None:
    path = tmp_path / "enhanced.dcm"
    stored = enhanced_ct(path)
    report = import_paths([path], project=project, workers=1)
    assert report.images == 3, report.rejected
    with Session(project.engine) as session:
        images = session.exec(select(Image).where(Image.path == str(path)).order_by(Image.frame)).all()
    assert [i.pixel_spacing for i in images] == [[0.5, 0.5]] * 3
    for image in images:
        center, width = 40 + 100 * image.frame, 400 + 200 * image.frame
        assert image.windows[0]["center"] == center and image.windows[0]["width"] == width
        hu = stored[image.frame].astype(np.float64) - 1024  # pydicom alone would forget the −1024
        c, w = center - 0.5, width - 1
        expected = np.clip(((hu - c) / w + 0.5) * 255, 0, 255)
        assert np.abs(render_frame(image, project=project).astype(np.float64) - expected).max() <= 1


def test_matches_highdicom_frame_transform(project, tmp_path: Path) -> None:
    path = tmp_path / "enhanced.dcm"
    enhanced_ct(path)
    import_paths([path], project=project, workers=1)
    reference = highdicom.Image.from_dataset(pydicom.dcmread(path), copy=False)
    with Session(project.engine) as session:
        images = session.exec(select(Image).where(Image.path == str(path)).order_by(Image.frame)).all()
    for image in images:
        expected = reference.get_frame(image.frame + 1, apply_voi_transform=True) * 255.0
        assert np.abs(render_frame(image, project=project).astype(np.float64) - expected).max() <= 1.5
