"""Hostile files at the sizes a security review used cost an import little memory (issue 12, finding 3).

Each file is generated here at full size, imported by the real ``medal import`` in its own process,
and that process's peak resident memory (``wait4``'s ``ru_maxrss``: it and every child it waited for;
an import of one file runs in one process) must stay under 500 MB while the file is refused with a
one-line reason. A valid frame at the pixel budget imports within the same memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image as PILImage

from tests.conftest import pydicom_file
from tests.support.dicom_files import dicom_around_jpeg

BUDGET_MB = 500


# Run by a fresh, small Python: a child forked straight from pytest would count pytest's own peak
# (the kernel's high-water mark survives fork and exec).
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(f"PEAK_KB {usage.ru_maxrss}")
"""


def _medal_import(path: Path, home: Path) -> tuple[str, float]:
    """Run ``medal import PATH`` in a fresh process; its output and its peak resident memory in MB."""
    medal = Path(sys.executable).with_name("medal")
    env = {**os.environ, "MEDAL_HOME": str(home), "MEDAL_WORKER": "off"}
    result = subprocess.run([sys.executable, "-c", MEASURE, str(medal), "import", str(path)], capture_output=True,
                            text=True, env=env, timeout=300)
    output, peak = result.stdout.rsplit("PEAK_KB ", 1)
    return output + result.stderr, int(peak) / 1024


def _zip_bomb(path: Path) -> None:
    """A 2 MB archive holding a 2 GiB member of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        with bundle.open("zeros.dcm", "w", force_zip64=True) as member:
            chunk = bytes(16 * 1024**2)
            for _ in range(128):
                member.write(chunk)


def _tiff_with_huge_second_page(path: Path) -> None:
    huge = PILImage.new("L", (12_000, 12_000))
    PILImage.new("L", (1, 1)).save(path, save_all=True, append_images=[huge], compression="tiff_adobe_deflate")


def _dicom_with_huge_jpeg(path: Path) -> None:
    """A 64×64 header around a 16000×16000 JPEG codestream."""
    dicom_around_jpeg(path, 16_000, 16_000)


def _png_of_100_megapixels(path: Path) -> None:
    PILImage.new("L", (10_000, 10_000)).save(path)  # ~97 KB


HOSTILE = {
    "bomb.zip": (_zip_bomb, "-fold"),
    "pages.tif": (_tiff_with_huge_second_page, "Page 2 declares 12,000×12,000 pixels"),
    "liar.dcm": (_dicom_with_huge_jpeg, "codestream is 16,000×16,000 pixels but the header says 64×64"),
    "wide.png": (_png_of_100_megapixels, "The image declares 10,000×10,000 pixels (100.0 megapixels)"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_is_refused_within_the_memory_budget(name: str, tmp_path: Path) -> None:
    make, reason = HOSTILE[name]
    path = tmp_path / name
    make(path)
    output, peak_mb = _medal_import(path, tmp_path / "home")
    refusals = [line for line in output.splitlines() if line.strip().startswith("refused")]
    assert len(refusals) == 1 and reason in refusals[0], output
    assert "0 new image(s)" in output, output
    assert peak_mb < BUDGET_MB, f"{name}: peak {peak_mb:.0f} MB"


def test_a_frame_at_the_pixel_budget_imports_within_the_memory_budget(tmp_path: Path) -> None:
    """40 megapixels of 16-bit CT values with a rescale: the display pipeline works in blocks, so the
    import holds the frame and its picture, not several float64 copies (it peaked at 1.2 GB before)."""
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    rows, cols = 6_250, 6_400
    values = (np.arange(rows * cols, dtype=np.uint32) % 4096).astype(np.uint16).reshape(rows, cols)
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = values.tobytes()
    path = tmp_path / "large.dcm"
    ds.save_as(path, enforce_file_format=True)
    del values, ds
    output, peak_mb = _medal_import(path, tmp_path / "home")
    assert "1 new image(s)" in output, output
    assert peak_mb < BUDGET_MB, f"peak {peak_mb:.0f} MB"
