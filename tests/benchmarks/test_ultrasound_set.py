"""``medal bench ultrasound-set DIR``: ultrasound-like frames that ``medal bench real`` reads — black outside the
probe's field, a lesion darker than the tissue around it where the truth says there is one, the same frames from
the same seed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from benchmarks.real import lesion_mask, load_truth
from benchmarks.ultrasound import FRAME, ultrasound_frame, write_ultrasound_set

ROOT = Path(__file__).resolve().parents[2]


def test_frames_are_dark_lesions_in_a_field_on_black() -> None:
    rng = np.random.default_rng(5)
    for _ in range(4):
        picture, mask = ultrasound_frame(rng, lesion=True)
        assert picture.shape == mask.shape == FRAME and picture.dtype == np.uint8
        assert mask.sum() > 100
        ring = ndimage.binary_dilation(mask, iterations=12) & ~ndimage.binary_dilation(mask, iterations=4)
        assert picture[mask].mean() < 0.85 * picture[ring & (picture > 0)].mean()  # hypoechoic
        assert (picture[-1:, :] == 0).mean() > 0.2 or (picture[:, :1] == 0).all()  # black beside the field
    picture, mask = ultrasound_frame(rng, lesion=False)
    assert not mask.any() and picture.max() > 200


def test_the_folder_is_one_bench_real_reads_and_the_seed_repeats_it(tmp_path: Path) -> None:
    counts = write_ultrasound_set(tmp_path / "a", images=6, seed=2)
    found = load_truth(tmp_path / "a")
    folder, truth = found.folder, found.entries
    assert len(truth) == counts["images"] == 6 and counts["with_lesion"] + counts["without_lesion"] == 6
    for entry in truth.values():
        with PILImage.open(folder / entry["image"]) as stored:
            shape = stored.size[::-1]
        assert lesion_mask(folder, entry, shape).any() == entry["has_finding"]
        assert entry["modality"] and entry["patient"]
    write_ultrasound_set(tmp_path / "b", images=6, seed=2)
    digest = [hashlib.sha256((tmp_path / side / "truth.json").read_bytes()
                             + b"".join(p.read_bytes() for p in sorted((tmp_path / side / "images").iterdir())))
              .hexdigest() for side in ("a", "b")]
    assert digest[0] == digest[1]


def test_cli_writes_the_folder_and_says_what_next(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ultrasound-set", str(tmp_path / "us"),
                           "--images", "3", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["images"] == 3
    assert len(json.loads((tmp_path / "us" / "truth.json").read_text())) == 3


def test_a_folder_that_holds_something_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """Pointed at a real data set by mistake, the command must not overwrite its truth.json: exit 2, one line."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "truth.json").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "ultrasound-set", str(tmp_path / "real")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "not an empty folder" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (tmp_path / "real" / "truth.json").read_text() == "{}" and not (tmp_path / "real" / "images").exists()
