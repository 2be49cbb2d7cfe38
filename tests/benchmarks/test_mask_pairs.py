"""``medal bench real`` on a folder of images with their masks beside them — the layouts public segmentation sets
ship in (BUSI's ``name_mask.png`` and ``name_mask_1.png`` in benign/, malignant/ and normal/; ISIC's
``_segmentation`` masks in a folder of their own; Kvasir's ``images/`` and ``masks/`` with JPEG masks) — read
without a truth.json, and what cannot be paired left out with its reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from benchmarks.mask_pairs import paired_truth, read_mask
from benchmarks.real import TruthError, lesion_mask, load_truth
from tests.support.lesion_sets import lesion_folder

ROOT = Path(__file__).resolve().parents[2]


def disc(shape: tuple[int, int], cx: float, cy: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2


def save(path: Path, pixels: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = PILImage.fromarray(pixels)
    (picture.convert(mode) if mode else picture).save(path)


def busi_folder(folder: Path) -> Path:
    """benign/ and malignant/ images with ``_mask`` (and a second lesion's ``_mask_1``) PNGs, one mask in colour;
    normal/ with blank masks and one image without any; plus a benign image nobody outlined and one whose mask
    is the wrong size."""
    shape = (60, 80)
    grey = np.full(shape, 90, np.uint8)
    save(folder / "benign" / "benign (1).png", grey)
    save(folder / "benign" / "benign (1)_mask.png", disc(shape, 20, 20, 8).astype(np.uint8) * 255)
    save(folder / "benign" / "benign (1)_mask_1.png", disc(shape, 60, 40, 6).astype(np.uint8) * 255)
    save(folder / "malignant" / "malignant (1).png", grey)
    save(folder / "malignant" / "malignant (1)_mask.png", disc(shape, 40, 30, 10).astype(np.uint8) * 255, "RGB")
    save(folder / "normal" / "normal (1).png", grey)
    save(folder / "normal" / "normal (1)_mask.png", np.zeros(shape, np.uint8))
    save(folder / "normal" / "normal (2).png", grey)
    save(folder / "benign" / "benign (2).png", grey)  # not outlined: not known to be free of lesions
    save(folder / "benign" / "benign (3).png", grey)
    save(folder / "benign" / "benign (3)_mask.png", np.zeros((30, 40), np.uint8))
    return folder


def test_a_busi_layout_pairs_each_image_with_all_its_masks(tmp_path: Path) -> None:
    folder = busi_folder(tmp_path / "busi")
    truth = load_truth(folder)
    assert truth.source == "image/mask pairs" and truth.folder == folder
    assert sorted(truth.entries) == ["benign/benign (1).png", "malignant/malignant (1).png", "normal/normal (1).png",
                                     "normal/normal (2).png"]
    assert {name: entry["has_finding"] for name, entry in truth.entries.items()} == {
        "benign/benign (1).png": True, "malignant/malignant (1).png": True, "normal/normal (1).png": False,
        "normal/normal (2).png": False}
    both = lesion_mask(folder, truth.entries["benign/benign (1).png"], (60, 80))
    assert (both == disc((60, 80), 20, 20, 8) | disc((60, 80), 60, 40, 6)).all()  # the union of its two masks
    coloured = lesion_mask(folder, truth.entries["malignant/malignant (1).png"], (60, 80))
    assert (coloured == disc((60, 80), 40, 30, 10)).all()
    assert not lesion_mask(folder, truth.entries["normal/normal (2).png"], (60, 80)).any()
    reasons = "\n".join(truth.left_out)
    assert "benign/benign (2).png (no mask, and not in a folder of normal images)" in reasons
    assert "benign/benign (3).png (its mask benign/benign (3)_mask.png is not the image's size)" in reasons
    assert len(truth.left_out) == 2


def test_masks_in_their_own_folder_pair_by_name_and_jpeg_masks_lose_their_fringe(tmp_path: Path) -> None:
    shape = (48, 64)
    lesion = disc(shape, 30, 24, 9)
    # Kvasir: images/ and masks/, the same names, masks as JPEG (compression greys every edge)
    save(tmp_path / "kvasir" / "images" / "a1.jpg", np.full(shape, 120, np.uint8))
    save(tmp_path / "kvasir" / "masks" / "a1.jpg", lesion.astype(np.uint8) * 255)
    kvasir = paired_truth(tmp_path / "kvasir")
    assert list(kvasir.truth) == ["images/a1.jpg"] and kvasir.left_out == []
    stored = np.asarray(PILImage.open(tmp_path / "kvasir" / "masks" / "a1.jpg"))
    assert ((stored > 0) & ~lesion).sum() > 0  # the fringe a plain "> 0" would take for lesion …
    found = read_mask(tmp_path / "kvasir" / "masks" / "a1.jpg")
    assert 2 * (found & lesion).sum() / (found.sum() + lesion.sum()) >= 0.97  # … and what is kept

    # ISIC: differently named folders, the mask named with ``_segmentation``; a mask whose image is missing
    save(tmp_path / "isic" / "Training_Input" / "ISIC_0000001.jpg", np.full(shape, 120, np.uint8))
    save(tmp_path / "isic" / "Training_GroundTruth" / "ISIC_0000001_segmentation.png", lesion.astype(np.uint8))
    save(tmp_path / "isic" / "Training_GroundTruth" / "ISIC_0000009_segmentation.png", lesion.astype(np.uint8))
    isic = paired_truth(tmp_path / "isic")
    assert isic.truth == {"Training_Input/ISIC_0000001.jpg": {
        "image": "Training_Input/ISIC_0000001.jpg", "masks": ["Training_GroundTruth/ISIC_0000001_segmentation.png"],
        "has_finding": True}}
    assert isic.left_out == ["Training_GroundTruth/ISIC_0000009_segmentation.png (a mask with no image of its name)"]


def test_a_folder_of_images_without_masks_or_truth_is_refused_in_one_line(tmp_path: Path) -> None:
    save(tmp_path / "plain" / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(TruthError, match="no lesion masks beside its images"):
        load_truth(tmp_path / "plain")
    save(tmp_path / "orphans" / "a_mask.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(TruthError, match="no image could be paired"):
        load_truth(tmp_path / "orphans")


def test_a_mask_of_another_size_in_truth_json_is_refused_in_one_line(tmp_path: Path) -> None:
    save(tmp_path / "set" / "a.png", np.zeros((8, 8), np.uint8))
    save(tmp_path / "set" / "a_mask.png", np.zeros((4, 8), np.uint8))
    with pytest.raises(TruthError, match="The mask a_mask.png is 8×4 pixels and its image 8×8"):
        lesion_mask(tmp_path / "set", {"image": "a.png", "mask": "a_mask.png"}, (8, 8))


def test_bench_real_runs_on_images_and_masks_without_a_truth_file(tmp_path: Path) -> None:
    folder = lesion_folder(tmp_path / "set")
    (folder / "truth.json").unlink()  # images/ and masks/ remain, the lesion-free images' masks blank
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "labeling.cli", "bench", "real", str(folder), "--labels", "25",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "truth: image/mask pairs, 40 images" in done.stderr
    report = json.loads(out.read_text())
    # without --json a reader gets the figures as lines, each beside the answer it must beat
    assert done.stdout.splitlines()[0] == f"{folder}: 40 images (image/mask pairs), 25 labels, 1 seed"
    assert f"heatmap peak within 8 px of a lesion     {report['peak_on_lesion']['median'] * 100:.0f}%   " \
        "[the picture's centre: " in done.stdout
    (run,) = report["runs"]
    assert report["truth"] == "image/mask pairs" and report["left_out"] == []
    assert run["lesion_images"] + run["lesion_free_images"] == 40 - 25 and run["lesion_free_images"] >= 1
    assert run["outline_dice"] >= 0.85


def test_the_report_reads_as_figures_with_their_spread_and_what_they_must_beat() -> None:
    from benchmarks import format_report

    def spread(median: float, low: float, high: float) -> dict[str, float]:
        return {"median": median, "min": low, "max": high}

    report = {"folder": "/data/busi", "truth": "image/mask pairs", "modality": None, "images": 780, "labels": 80,
              "seeds": 3, "left_out": ["benign/benign (2).png (no mask, and not in a folder of normal images)"],
              "image_auc": spread(0.861, 0.84, 0.9), "peak_on_lesion": spread(0.77, 0.7, 0.81),
              "centre_on_lesion": spread(0.18, 0.15, 0.21), "outline_dice": spread(0.88, 0.876, 0.88),
              "box_dice": spread(0.49, 0.49, 0.5), "ellipse_dice": spread(0.59, 0.58, 0.59),
              "shrunk_ellipse_dice": spread(0.82, 0.81, 0.82), "train_s": spread(24.4, 23.5, 28.8),
              "by_modality": {"US": {"image_auc": 0.86, "peak_on_lesion": 0.77, "outline_dice": 0.88}}}
    lines = format_report(report).splitlines()
    assert lines[0] == "/data/busi: 780 images (image/mask pairs), 80 labels, 3 seeds; median (min–max) over seeds"
    assert lines[1] == "left out 1 file(s), e.g. benign/benign (2).png (no mask, and not in a folder of normal images)"
    assert "  image ROC AUC, lesion against none       0.86 (0.84–0.90)" in lines
    assert "  heatmap peak within 8 px of a lesion     77% (70%–81%)   [the picture's centre: 18% (15%–21%)]" in lines
    assert "  quick outline, rough boxes: Dice         0.88 (0.88–0.88)   [box 0.49 (0.49–0.50), inscribed ellipse " \
           "0.59 (0.58–0.59), shrunk ellipse 0.82 (0.81–0.82)]" in lines
    assert "  training, s                              24.4 (23.5–28.8)" in lines
    assert lines[-1] == "  US (medians): AUC 0.86, peak on a lesion 77%, outline 0.88"
    assert not any("proposal" in line for line in lines)  # a figure the run did not measure is not made up


def test_split_and_named_folders_pair_within_their_split(tmp_path: Path) -> None:
    """Found in review: a mask whose folders did not line up paired with any image of its name, even one with its own
    mask; folders named ``test-image``/``test-mask`` (TN3K) or ``Original``/``Ground Truth`` (CVC-ClinicDB) were not
    recognised; an image named ``liver_seg`` inside ``images/`` was taken for a mask."""
    shape = (16, 16)
    lesion = disc(shape, 8, 8, 4).astype(np.uint8) * 255
    grey = np.full(shape, 100, np.uint8)
    save(tmp_path / "a" / "test" / "images" / "5.png", grey)
    save(tmp_path / "a" / "test" / "masks" / "5.png", np.zeros(shape, np.uint8))
    save(tmp_path / "a" / "train" / "masks" / "5.png", lesion)  # its image is missing
    crossed = paired_truth(tmp_path / "a")
    assert crossed.truth["test/images/5.png"]["masks"] == ["test/masks/5.png"]
    assert not crossed.truth["test/images/5.png"]["has_finding"]
    assert crossed.left_out == ["train/masks/5.png (a mask with no image of its name)"]

    for split in ("test", "trainval"):
        save(tmp_path / "tn3k" / f"{split}-image" / "0000.jpg", grey)
        save(tmp_path / "tn3k" / f"{split}-mask" / "0000.jpg", lesion)
        save(tmp_path / "cvc" / split / "Original" / "1.tif", grey)
        save(tmp_path / "cvc" / split / "Ground Truth" / "1.tif", lesion)
    assert {name: entry["masks"] for name, entry in paired_truth(tmp_path / "tn3k").truth.items()} == {
        "test-image/0000.jpg": ["test-mask/0000.jpg"], "trainval-image/0000.jpg": ["trainval-mask/0000.jpg"]}
    assert {name: entry["masks"] for name, entry in paired_truth(tmp_path / "cvc").truth.items()} == {
        "test/Original/1.tif": ["test/Ground Truth/1.tif"], "trainval/Original/1.tif": ["trainval/Ground Truth/1.tif"]}

    save(tmp_path / "named" / "images" / "liver_seg.png", grey)
    save(tmp_path / "named" / "masks" / "liver_seg.png", lesion)
    assert list(paired_truth(tmp_path / "named").truth) == ["images/liver_seg.png"]
    # a folder whose name only mentions masks does not make masks of images where masks are named as such
    save(tmp_path / "Dataset_BUSI_with_GT" / "benign" / "benign (1).png", grey)
    save(tmp_path / "Dataset_BUSI_with_GT" / "benign" / "benign (1)_mask.png", lesion)
    assert list(paired_truth(tmp_path).truth) != [] and "Dataset_BUSI_with_GT/benign/benign (1).png" in \
        paired_truth(tmp_path).truth


def test_masks_coded_0_1_in_jpeg_and_on_a_transparent_background_read_right(tmp_path: Path) -> None:
    shape = (40, 40)
    lesion = disc(shape, 20, 20, 10)
    save(tmp_path / "coded.jpg", lesion.astype(np.uint8))  # 0/1, saved as JPEG
    found = read_mask(tmp_path / "coded.jpg")
    assert 2 * (found & lesion).sum() / (found.sum() + lesion.sum()) >= 0.8  # half the maximum (2): 0.1
    rgba = np.zeros(shape + (4,), np.uint8)
    rgba[..., :3] = 255  # white, but transparent, outside the lesion
    rgba[lesion, 3] = 255
    save(tmp_path / "overlay.png", rgba)
    assert (read_mask(tmp_path / "overlay.png") == lesion).all()


def test_a_json_that_is_not_coco_does_not_hide_the_masks(tmp_path: Path) -> None:
    save(tmp_path / "images" / "a.png", np.full((8, 8), 90, np.uint8))
    save(tmp_path / "masks" / "a.png", np.full((8, 8), 255, np.uint8))
    (tmp_path / "annotations.json").write_text(json.dumps({"a": [[1, 1, 4, 4]]}))  # Kvasir's boxes, say
    truth = load_truth(tmp_path)
    assert truth.source == "image/mask pairs" and list(truth.entries) == ["images/a.png"]
