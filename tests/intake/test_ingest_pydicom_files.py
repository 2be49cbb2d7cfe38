"""Every file pydicom ships goes through import: imported and rendered, or refused with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from labeling.dicom import Source, Window, modality_frame
from labeling.intake import import_paths
from labeling.labels import render_frame
from storage import Image, ImportProblem
from tests.conftest import TEST_FILES

ALL_FILES = sorted(p for p in TEST_FILES.rglob("*") if p.is_file())

# Files that must import (a regression here is a real loss of a modality or transfer syntax).
MUST_IMPORT = {
    "CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm", "JPEG2000.dcm", "examples_palette.dcm",
    "examples_ybr_color.dcm", "examples_rgb_color.dcm", "SC_rgb_rle_2frame.dcm", "image_dfl.dcm",
    "rtdose.dcm", "liver_1frame.dcm", "693_J2KI.dcm", "emri_small_jpeg_2k_lossless.dcm",
    "SC_ybr_full_422_uncompressed.dcm",  # 4:2:2 keeps two samples per pixel: was refused as "truncated"
}
MUST_REFUSE = {"MR_truncated.dcm", "rtplan.dcm", "README.txt", "zipMR.gz", "test-SR.dcm", "DICOMDIR"}


def test_the_whole_set_is_covered() -> None:
    assert len(ALL_FILES) > 150


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(TEST_FILES)) for p in ALL_FILES])
def test_file_is_imported_and_rendered_or_refused(project, path: Path) -> None:
    report = import_paths([path], project=project, workers=1)
    with Session(project.engine) as session:
        images = session.exec(select(Image).where(Image.path == str(path))).all()
        problems = session.exec(select(ImportProblem)).all()
    if report.rejected:
        assert path.name not in MUST_IMPORT, report.rejected
        assert not images, "a refused file left images behind"
        (rejected,) = report.rejected
        assert rejected["path"] == str(path)
        assert rejected["reason"] and "\n" not in rejected["reason"] and "Traceback" not in rejected["reason"]
        assert [p.reason for p in problems] == [rejected["reason"]]
        return
    assert path.name not in MUST_REFUSE
    assert report.imported == 1 and report.images == len(images) >= 1
    for image in images:
        shown = render_frame(image, project=project)
        assert shown.dtype == np.uint8
        assert shown.shape[:2] == (image.rows, image.cols)
        if shown.max() == shown.min():
            # Only a stored window that puts every pixel outside it may give a flat picture;
            # the pixels themselves must still hold an image.
            assert image.windows, f"frame {image.frame} renders blank"
            values, _ = modality_frame(Source.parse(image.path), image.frame)
            low, high = float(values.min()), float(values.max())
            assert high > low
            full = render_frame(image, Window((low + high) / 2, max(high - low, 1)), project=project)
            assert full.max() > full.min()


def test_a_refused_compressed_file_says_what_each_decoder_found(project) -> None:
    report = import_paths([TEST_FILES / "JPEG-lossy.dcm"], project=project, workers=1)
    (refused,) = report.rejected  # its 12-bit codestream is not conformant: no decoder reads it
    assert "pylibjpeg: " in refused["reason"] and "misplaced marker segment" in refused["reason"]
    assert "pillow: " in refused["reason"] and "\n" not in refused["reason"]
