"""Enhanced multi-frame objects: rescale and window come from the functional groups, per frame."""

from __future__ import annotations

from pathlib import Path

import highdicom
import numpy as np
import pydicom
from sqlmodel import Session, select

from labeling.intake import import_paths
from labeling.labels import render_frame
from storage import Image
from tests.support.dicom_files import enhanced_ct


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
