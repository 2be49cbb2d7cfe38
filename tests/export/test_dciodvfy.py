"""Every DICOM object Medal writes passes dicom3tools' validator ``dciodvfy`` without an error: the demo's
synthetic CT and mammography files, and the DICOM SEG an export writes next to them (a PACS may refuse an object
that lacks a Type 1 or 2 attribute)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from labeling.export import ExportOptions, export_dataset
from labeling.labels import list_images

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(DCIODVFY is None, reason="dicom3tools' dciodvfy is not installed (apt: dicom3tools)")


def errors(path: Path) -> list[str]:
    """dciodvfy's error lines for one file (it prints to stderr; warnings are left out)."""
    found = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (found.stdout + found.stderr).splitlines() if line.startswith("Error")]


def test_the_demos_files_pass_the_validator(project, make_demo) -> None:
    make_demo(0)
    files = sorted({Path(image.path) for image in list_images(engine=project.engine)})  # the template's files
    by_modality: dict[str, Path] = {}
    for path in files:  # one of each kind: CT slices, and each mammography view of either photometry
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        by_modality.setdefault(f"{ds.Modality} {ds.get('ViewPosition', '')} {ds.PhotometricInterpretation}", path)
    assert len(by_modality) >= 3
    assert {kind: errors(path) for kind, path in by_modality.items()} == {kind: [] for kind in by_modality}


@pytest.mark.parametrize("deidentify", [True, False])
def test_exported_segs_pass_the_validator(project, make_demo, tmp_path: Path, deidentify: bool) -> None:
    make_demo(12)
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["seg"], deidentify=deidentify, include_burned_in=True), project=project)
    segs = [path for path in out.rglob("*.dcm") if pydicom.dcmread(path, stop_before_pixels=True).Modality == "SEG"]
    modalities = {pydicom.dcmread(path, stop_before_pixels=True).ReferencedSeriesSequence[0].SeriesInstanceUID
                  for path in segs}
    assert len(segs) >= 6 and len(modalities) >= 2
    assert {path.name: errors(path) for path in segs} == {path.name: [] for path in segs}
