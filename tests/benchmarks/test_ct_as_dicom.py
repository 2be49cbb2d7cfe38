"""``medal bench ct-as-dicom SRC OUT``: CT slices kept as 16-bit PNGs (HU + an offset) written as CT DICOM in HU
without a window, with the same truth, so ``medal bench real`` sees them as Medal opens a hospital's CT (issue 23:
on real-lesions' sarcoma CT the PNGs' percentile window hid the lesions from the model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image as PILImage

from benchmarks.real import format_report, lesion_mask, load_truth, unitless_ct
from labeling.dicom import frame_view, to_display

ROOT = Path(__file__).resolve().parents[2]


def labeled_ct_folder(folder: Path) -> np.ndarray:
    """Two 16-bit PNG CT slices (HU + 1024) of one patient with masks, an 8-bit picture and an MR slice."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    hu = np.full((64, 80), 55.0)
    hu[:, :10] = -1000.0
    hu[20:40, 30:50] = 20.0  # the lesion, 35 HU darker than the muscle
    mask = np.zeros(hu.shape, np.uint8)
    mask[20:40, 30:50] = 255
    truth = {}
    for index in range(2):
        name = f"ct_{index}.png"
        PILImage.fromarray((hu + 1024).astype(np.uint16)).save(folder / "images" / name)
        PILImage.fromarray(mask).save(folder / "masks" / name)
        truth[name] = {"image": f"images/{name}", "mask": f"masks/{name}", "modality": "CT", "patient": "P1",
                       "slice_index": index, "pixel_spacing_mm": [0.8, 0.8]}
    PILImage.fromarray(np.zeros((64, 80), np.uint8)).save(folder / "images" / "eight.png")
    truth["eight.png"] = {"image": "images/eight.png", "modality": "CT", "boxes": []}
    (folder / "images" / "broken.png").write_bytes(b"not a picture")
    truth["broken.png"] = {"image": "images/broken.png", "modality": "CT", "boxes": []}
    PILImage.fromarray(np.zeros((64, 80), np.uint16)).save(folder / "images" / "mr.png")
    truth["mr.png"] = {"image": "images/mr.png", "modality": "MR", "boxes": []}
    (folder / "truth.json").write_text(json.dumps(truth))
    return hu


def test_ct_slices_become_ct_dicom_in_hu_that_opens_in_a_soft_tissue_window(tmp_path: Path) -> None:
    hu = labeled_ct_folder(tmp_path / "src")
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ct-as-dicom", str(tmp_path / "src"),
                           str(tmp_path / "out"), "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["images"] == 2  # and the MR slice is not CT
    broken, eight = report["left_out"]  # each with its reason; neither stops the rest
    assert broken.startswith("broken.png: not a PNG or TIFF picture PIL can read (")
    assert eight == "eight.png: not a 16-bit grey picture, so not HU + an offset"
    truth = load_truth(tmp_path / "out")
    assert sorted(truth.entries) == ["ct_0.dcm", "ct_1.dcm"]
    entry = truth.entries["ct_0.dcm"]
    ds = pydicom.dcmread(truth.folder / entry["image"])
    assert ds.Modality == "CT" and "WindowCenter" not in ds and ds.PatientID == "P1"
    assert np.array_equal(ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hu)
    assert float(ds.PixelSpacing[0]) == 0.8
    assert lesion_mask(truth.folder, entry, hu.shape).sum() == 400  # the mask is read from the source folder
    shown = to_display(hu, frame_view(ds, 0)).astype(int)
    assert shown[10, 60] - shown[30, 40] >= 20  # the lesion stands apart from the muscle, as a reader sets it
    again = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ct-as-dicom", str(tmp_path / "src"),
                            str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_keep_others_gives_the_whole_set_with_its_ct_as_dicom(tmp_path: Path) -> None:
    """A mixed set (real-lesions: CT PNGs beside MR) measured as Medal opens it: the CT as DICOM, the MR as it is,
    read where it lies; a CT slice left out is not kept as another modality's."""
    labeled_ct_folder(tmp_path / "src")
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ct-as-dicom", str(tmp_path / "src"),
                           str(tmp_path / "out"), "--keep-others"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote 2 CT slices as DICOM" in done.stdout and "kept 1 image(s) of other modalities" in done.stdout
    truth = load_truth(tmp_path / "out")  # every entry names an existing image
    assert sorted(truth.entries) == ["ct_0.dcm", "ct_1.dcm", "mr.png"]
    mr = truth.entries["mr.png"]
    assert Path(mr["image"]) == (tmp_path / "src" / "images" / "mr.png").resolve() and mr["modality"] == "MR"
    assert not list((tmp_path / "out").glob("**/*.png"))  # read where it lies, not copied


def test_bench_real_warns_that_ct_kept_as_16_bit_pngs_is_not_ct_as_medal_opens_it(tmp_path: Path) -> None:
    """A data scientist pointing `medal bench real` at CT slices kept as 16-bit PNGs is told, before the figures,
    that they open in their percentile window (sarcoma CT: image AUC 0.68 there, 0.80 as CT DICOM) and how to
    measure them as Medal opens CT; 8-bit or unreadable pictures, other modalities and DICOM files get no warning."""
    labeled_ct_folder(tmp_path / "src")
    truth = load_truth(tmp_path / "src")
    (warning,) = unitless_ct(truth.folder, truth.entries)
    assert warning.startswith("2 CT image(s) are 16-bit PNG/TIFF (e.g. ct_0.png)")
    assert "medal bench ct-as-dicom" in warning
    report = {"folder": "src", "images": 2, "truth": "truth.json", "labels": 1, "seeds": 1, "warnings": [warning]}
    assert f"warning: {warning}" in format_report(report).splitlines()
    subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ct-as-dicom", str(tmp_path / "src"),
                    str(tmp_path / "out")], check=True, capture_output=True, cwd=ROOT, timeout=120)
    converted = load_truth(tmp_path / "out")
    assert unitless_ct(converted.folder, converted.entries) == []
