"""The default render equals the DICOM standard's pipeline, computed here by hand, within 1 grey level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from sqlmodel import Session, select

from labeling.dicom import Window
from labeling.intake import import_paths
from labeling.labels import render_frame, render_image
from storage import Image, InvalidWindow, Project
from tests.conftest import pydicom_file


def linear_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 (LINEAR), output scaled straight to 0..255."""
    c, w = center - 0.5, width - 1
    out = ((values - c) / w + 0.5) * 255.0
    out[values <= c - w / 2] = 0
    out[values > c + w / 2] = 255
    return out


def import_one(project: Project, path: Path) -> Image:
    report = import_paths([path], project=project, workers=1)
    assert report.images >= 1, report.rejected
    with Session(project.engine) as session:
        return session.exec(select(Image).where(Image.path == str(path)).order_by(Image.frame)).first()


def hu(ds: Dataset) -> np.ndarray:
    return ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))


@pytest.fixture
def ct(tmp_path: Path) -> Dataset:
    return pydicom.dcmread(pydicom_file("CT_small.dcm"))


def save(ds: Dataset, tmp_path: Path, name: str) -> Path:
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path / name
    ds.save_as(path)
    return path


@pytest.mark.parametrize("center,width", [(40, 400), (-600, 1500), (200, 50)])
def test_stored_window_matches_standard(project, ct, tmp_path, center, width) -> None:
    ct.WindowCenter, ct.WindowWidth = center, width
    image = import_one(project, save(ct, tmp_path, "ct.dcm"))
    expected = linear_window(hu(ct), center, width)
    shown = render_frame(image, project=project).astype(np.float64)
    assert np.abs(shown - expected).max() <= 1
    assert 0 < shown.mean() < 255


def test_every_stored_window_is_a_preset(project, ct, tmp_path) -> None:
    ct.WindowCenter, ct.WindowWidth = [40, -600], [400, 1500]
    ct.WindowCenterWidthExplanation = ["SOFT", "LUNG"]
    image = import_one(project, save(ct, tmp_path, "ct2.dcm"))
    assert [p["name"] for p in image.windows] == ["SOFT", "LUNG"]
    lung = render_frame(image, 1, project=project).astype(np.float64)
    assert np.abs(lung - linear_window(hu(ct), -600, 1500)).max() <= 1
    default = render_frame(image, project=project).astype(np.float64)
    assert np.abs(default - linear_window(hu(ct), 40, 400)).max() <= 1


def test_monochrome1_is_inverted_after_the_window(project, ct, tmp_path) -> None:
    ct.WindowCenter, ct.WindowWidth = 40, 400
    ct.PhotometricInterpretation = "MONOCHROME1"
    image = import_one(project, save(ct, tmp_path, "mono1.dcm"))
    expected = 255 - linear_window(hu(ct), 40, 400)
    assert np.abs(render_frame(image, project=project).astype(np.float64) - expected).max() <= 1


def test_voi_lut_sequence_wins_over_window(project, ct, tmp_path) -> None:
    ct.WindowCenter, ct.WindowWidth = 40, 400
    first, entries = 0, 4096
    table = (np.sqrt(np.arange(entries) / (entries - 1)) * 4095).astype(np.uint16)  # a gamma-like LUT
    item = Dataset()
    item.LUTDescriptor = [entries, first, 12]
    item.LUTExplanation = "GAMMA"
    item.LUTData = table.tolist()
    item["LUTData"].VR = "US"
    ct.VOILUTSequence = Sequence([item])
    ct.RescaleIntercept = 0  # the LUT is indexed by the (rescaled) stored values
    image = import_one(project, save(ct, tmp_path, "lut.dcm"))
    assert image.windows[0] == {"name": "GAMMA", "kind": "lut", "index": 0}
    values = np.clip(ct.pixel_array.astype(np.int64) - first, 0, entries - 1)
    expected = table[values] / 4095 * 255
    assert np.abs(render_frame(image, project=project).astype(np.float64) - expected).max() <= 1


def test_rescale_slope_and_custom_window(project, tmp_path) -> None:
    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.RescaleSlope, ds.RescaleIntercept = 2.5, -100
    for keyword in ("WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    image = import_one(project, save(ds, tmp_path, "mr.dcm"))
    values = ds.pixel_array.astype(np.float64) * 2.5 - 100
    shown = render_image(image.id, Window(500, 800), project=project).astype(np.float64)
    assert np.abs(shown - linear_window(values, 500, 800)).max() <= 1
    # No stored window: the frame's own range.
    auto = render_frame(image, project=project).astype(np.float64)
    expected = (values - values.min()) / (values.max() - values.min()) * 255
    assert np.abs(auto - expected).max() <= 1


def test_a_ct_whose_file_has_no_window_opens_in_a_soft_tissue_window(project, ct, tmp_path) -> None:
    """Issue 23: a CT without a window was shown over its full range (air to bone), which put a soft-tissue lesion
    and the muscle around it into the same grey level or two — for the reader and for the model, which learns from
    the picture as shown (sarcoma CT of real-lesions: heatmap peak on a lesion 3% of images)."""
    assert "WindowCenter" not in ct and "VOILUTSequence" not in ct
    tissue = np.full((ct.Rows, ct.Columns), 55.0)  # muscle, HU
    tissue[:, :24] = -1000.0  # air beside the limb
    tissue[-12:, 40:90] = 1400.0  # bone
    tissue[50:80, 50:80] = 20.0  # a sarcoma, 35 HU darker than the muscle
    ct.PixelData = np.round(tissue - float(ct.RescaleIntercept)).astype(np.int16).tobytes()
    image = import_one(project, save(ct, tmp_path, "no-window.dcm"))
    shown = render_frame(image, project=project).astype(np.float64)
    assert np.abs(shown - linear_window(tissue, 40, 400)).max() <= 1
    assert shown[40, 100] - shown[65, 65] >= 20  # the lesion stands out from the muscle (1 grey level before)
    assert image.windows[0]["name"] == "Soft tissue (the file has no window)"
    # A file's own window still wins, and an MR without one keeps its own range (above).
    ct.WindowCenter, ct.WindowWidth = 300, 2000
    own = import_one(project, save(ct, tmp_path, "own-window.dcm"))
    assert np.abs(render_frame(own, project=project) - linear_window(tissue, 300, 2000)).max() <= 1


def test_window_width_below_one_is_refused() -> None:
    with pytest.raises(InvalidWindow, match="at least 1"):
        Window.parse("40,0")
    with pytest.raises(InvalidWindow, match="CENTER,WIDTH"):
        Window.parse("forty")


def test_multiframe_frames_are_separate_images(project) -> None:
    path = pydicom_file("SC_rgb_rle_2frame.dcm")
    import_paths([path], project=project, workers=1)
    with Session(project.engine) as session:
        images = session.exec(select(Image).where(Image.path == str(path)).order_by(Image.frame)).all()
    assert [i.frame for i in images] == [0, 1]
    reference = pydicom.dcmread(path).pixel_array
    for image in images:
        assert np.array_equal(render_frame(image, project=project), reference[image.frame])


@pytest.mark.parametrize("name,change", [
    ("CT_small.dcm", {}),
    ("CT_small.dcm", {"PhotometricInterpretation": "MONOCHROME1"}),
    ("MR_small.dcm", {"RescaleSlope": 2.5, "RescaleIntercept": -100.25}),  # non-integral: float32 values
    ("MR_small.dcm", {"WindowCenter": None, "WindowWidth": None}),  # the frame's own range
    ("examples_palette.dcm", {}),  # palette colour
    ("SC_rgb_rle_16bit.dcm", {}),
])
def test_the_pipeline_in_blocks_equals_the_pipeline_in_one_piece(name, change, monkeypatch) -> None:
    """Large frames go through the pipeline a block of rows at a time (to bound memory); the result must
    be the same as in one piece, to the last grey level and dtype."""
    from labeling.dicom import display

    ds = pydicom.dcmread(pydicom_file(name))
    for keyword, value in change.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    view = display.frame_view(ds, 0)
    stored = ds.pixel_array
    whole_values = display.to_modality(stored, view)
    whole = display.to_display(whole_values, view)
    monkeypatch.setattr(display, "BLOCK_PIXELS", 3 * ds.Columns)  # blocks of three rows (the last shorter)
    values = display.to_modality(stored, view)
    assert values.dtype == whole_values.dtype and np.array_equal(values, whole_values)
    assert np.array_equal(display.to_display(values, view), whole)
    if "Window" not in name and not display.is_color(view):
        assert np.array_equal(display.to_display(values, view, Window(40, 400)),
                              display.to_display(whole_values, view, Window(40, 400)))
