"""The training-set builder: regions → patches with the right classes, image labels, background, the
patient-level split, and the memory-mapped inputs (on the demo's real DICOM files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from labeling.labels.annotations import RegionInput, save_annotation
from labeling.labels.catalog import get_image
from labeling.labels.pictures import render_frame
from learner.dataset import (
    Example,
    build_examples,
    materialise,
    read_picture,
    split_by_patient,
    square_around,
    to_input,
    windows,
)
from storage.models import Image


@pytest.fixture
def demo(project, make_demo):
    make_demo(0)
    return project


def _ct_images(engine, count: int) -> list[Image]:
    with Session(engine) as session:
        return list(session.exec(select(Image).where(Image.modality == "CT").order_by(Image.id).limit(count)).all())


def box(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_square_around_adds_context_and_stays_inside() -> None:
    assert square_around(100, 100, 40, 20, 256, 256) == (90, 80, 60)  # 40 × 1.5, centred
    assert square_around(0, 0, 4, 4, 256, 256) == (0, 0, 32)  # at least 1/8 of the short side, clamped
    assert square_around(250, 250, 6, 6, 256, 256)[:2] == (224, 224)
    assert square_around(0, 0, 400, 50, 256, 300)[2] == 256  # never larger than the image


def test_examples_from_regions_labels_and_background(demo) -> None:
    a, b, c, d = _ct_images(demo, 4)
    save_annotation(a.id, "ann", [RegionInput("Cancerous", "polygon", box(40, 50, 20, 20)),
                                  RegionInput("Healthy", "rect", box(150, 150, 30, 30))],
                    image_label="cancerous", engine=demo)
    save_annotation(b.id, "ann", [], image_label="cancerous", engine=demo)
    save_annotation(c.id, "ann", [], image_label="healthy", engine=demo)
    save_annotation(d.id, "ann", [RegionInput("Healthy", "rect", box(10, 10, 40, 40))], engine=demo)
    examples = build_examples(demo)
    by_image = {image.id: [e for e in examples if e.image_id == image.id] for image in (a, b, c, d)}

    kinds = sorted((e.source, e.label) for e in by_image[a.id])
    assert kinds == [("background", 0), ("image", 1), ("region", 0), ("region", 1)]
    cancer = next(e for e in by_image[a.id] if e.source == "region" and e.label == 1)
    assert cancer.box == square_around(40, 50, 20, 20, a.rows, a.cols)
    background = next(e for e in by_image[a.id] if e.source == "background")
    x, y, side = background.box
    for rx, ry, rw, rh in ((40, 50, 20, 20), (150, 150, 30, 30)):  # touches neither region
        assert x + side <= rx or rx + rw <= x or y + side <= ry or ry + rh <= y
    # A cancerous image with nothing outlined: the whole image is positive, no patch is known to be normal.
    assert [(e.source, e.label) for e in by_image[b.id]] == [("image", 1)]
    assert sorted((e.source, e.label) for e in by_image[c.id]) == [("background", 0), ("image", 0)]
    # Only a normal region and no image label: no whole-image example (the rest was not judged).
    assert sorted(e.source for e in by_image[d.id]) == ["background", "region"]
    assert all(e.patient == by_image[a.id][0].patient for e in by_image[a.id])
    assert build_examples(demo) == examples  # reproducible


def test_only_current_versions_count(demo) -> None:
    (image,) = _ct_images(demo, 1)
    save_annotation(image.id, "ann", [], image_label="cancerous", engine=demo)
    save_annotation(image.id, "ann", [], image_label="healthy", engine=demo)
    assert [e.label for e in build_examples(demo) if e.source == "image"] == [0]


def test_split_keeps_patients_whole_and_both_classes_on_each_side() -> None:
    examples = [Example(i, f"p{i // 3}", int(i % 4 == 0)) for i in range(60)]
    split = split_by_patient(examples, 0.2, seed=1)
    assert not split.train_patients & split.val_patients
    assert {e.patient for e in split.val} == split.val_patients
    assert len(split.train) + len(split.val) == 60
    assert 0.15 <= len(split.val) / 60 <= 0.35
    assert {e.label for e in split.train} == {0, 1} == {e.label for e in split.val}
    assert split_by_patient(examples, 0.2, seed=1) == split


def test_materialised_inputs_are_the_standardised_crops(demo, tmp_path: Path) -> None:
    (image,) = _ct_images(demo, 1)
    examples = [Example(image.id, "p", 1, (40, 50, 30), "region"), Example(image.id, "p", 0)]
    data = materialise(examples, 32, tmp_path / "inputs.npy")
    grey, mean, std = read_picture(image.id)
    assert np.allclose(grey, render_frame(get_image(image.id, demo)).astype(np.float32))
    crop, label = data[0]
    assert label == 1 and crop.shape == (1, 32, 32)
    expected = to_input(grey[50:80, 40:70], mean, std, 32)
    assert np.allclose(crop.numpy(), expected.numpy(), atol=2e-2)  # float16 on disk
    whole, label = data[1]
    assert label == 0 and np.allclose(whole.numpy(), to_input(grey, mean, std, 32).numpy(), atol=2e-2)
    assert isinstance(data.inputs, np.memmap)


def test_windows_cover_the_image(demo) -> None:
    (image,) = _ct_images(demo, 1)
    patches, (rows, cols), boxes = windows(image.id, 0.25, 32, 7)
    assert patches.shape == (rows * cols, 1, 32, 32) and rows == cols == 7
    assert boxes[0][:2] == (0, 0) and boxes[0][2] == pytest.approx(64, abs=1)
    assert boxes[-1][0] + boxes[-1][2] == pytest.approx(image.cols, abs=1)
