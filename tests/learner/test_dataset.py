"""The training-set builder: regions → patches with the right classes, image labels, background, the
patient-level split, and the memory-mapped inputs (on the demo's real DICOM files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from labeling.labels import (
    ReadingPlan,
    RegionInput,
    accept_reading,
    get_image,
    render_frame,
    save_annotation,
    set_reading_plan,
)
from learner import dataset
from learner.dataset import (
    Example,
    Split,
    build_examples,
    images_by_id,
    materialise,
    patch_fraction,
    patch_fractions,
    read_picture,
    salient_boxes,
    scaled_picture,
    split_by_patient,
    square_around,
    to_input,
)
from storage import Image, ImageNotFound


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
    # Never larger than MAX_PATCH_FRACTION of the short side: a lesion wider than the picture is learnt from its
    # middle, not from the whole picture
    assert square_around(0, 0, 400, 50, 256, 300) == (123, 0, 154)


def test_a_lesion_filling_most_of_the_picture_leaves_the_dense_pass_windows_that_can_tell_where_it_is() -> None:
    """Issue 23, sarcoma crops (each cut 5 cm around its tumour): a lesion 70% of the picture wide made its patch,
    with context, the whole picture — the model learnt whole pictures, the dense pass had one window, and its
    heatmap could not say where the lesion was (real sarcoma MR: image AUC 0.67, a flat heatmap whose peak was the
    picture's middle). The patch is now the lesion's middle, 0.6 of the picture, and so are the windows."""
    shapes = {image_id: (200, 200) for image_id in range(10)}
    examples = [Example(image_id, str(image_id), 1, square_around(20 + image_id, 30, 140, 130, 200, 200), "region")
                for image_id in range(10)]
    assert all(example.box[2] == 120 for example in examples)  # 0.6 × 200; it was 200
    left, top, side = examples[0].box
    assert left <= 20 + 70 <= left + side and top <= 30 + 65 <= top + side  # the lesion's middle is in the patch
    assert patch_fractions(examples, shapes) == [0.6]  # the dense pass's windows: smaller than the picture


def test_examples_from_regions_labels_and_background(demo) -> None:
    a, b, c, d = _ct_images(demo.engine, 4)
    save_annotation(a.id, "ann", [RegionInput("Cancerous", "polygon", box(40, 50, 20, 20)),
                                  RegionInput("Healthy", "rect", box(150, 150, 30, 30))],
                    image_label="cancerous", engine=demo.engine)
    save_annotation(b.id, "ann", [], image_label="cancerous", engine=demo.engine)
    save_annotation(c.id, "ann", [], image_label="healthy", engine=demo.engine)
    save_annotation(d.id, "ann", [RegionInput("Healthy", "rect", box(10, 10, 40, 40))], engine=demo.engine)
    examples = build_examples(engine=demo.engine)
    by_image = {image.id: [e for e in examples if e.image_id == image.id] for image in (a, b, c, d)}

    kinds = sorted((e.source, e.label) for e in by_image[a.id])
    assert kinds == [("background", 0), ("hard", 0), ("hard", 0), ("region", 0), ("region", 1)]
    cancer = next(e for e in by_image[a.id] if e.source == "region" and e.label == 1)
    assert cancer.box == square_around(40, 50, 20, 20, a.rows, a.cols)
    background = next(e for e in by_image[a.id] if e.source == "background")
    x, y, side = background.box
    for rx, ry, rw, rh in ((40, 50, 20, 20), (150, 150, 30, 30)):  # touches neither region
        assert x + side <= rx or rx + rw <= x or y + side <= ry or ry + rh <= y
    # Regions exist, so the model is a patch model: a cancerous image with nothing outlined gives nothing (no
    # patch is known to be normal, and a whole image is another scale); a healthy one gives normal patches.
    assert by_image[b.id] == []
    assert sorted((e.source, e.label) for e in by_image[c.id]) == [("background", 0), ("hard", 0), ("hard", 0)]
    # Only a normal region and no image label: its region and normal patches.
    assert sorted(e.source for e in by_image[d.id]) == ["background", "hard", "hard", "region"]
    # What hard (and mined) negatives must not touch is the findings: a Healthy region is normal, and the likeliest
    # place of the model's mistakes (the demo's benign nodules drew proposals on 24% of normal pictures).
    assert {e.avoid for e in by_image[a.id] if e.source == "hard"} == {((40.0, 50.0, 20.0, 20.0),)}
    assert {e.avoid for e in by_image[d.id] if e.source == "hard"} == {()}
    assert all(e.patient == by_image[a.id][0].patient for e in by_image[a.id])
    assert build_examples(engine=demo.engine) == examples  # reproducible


def test_without_regions_the_examples_are_whole_images(demo) -> None:
    a, b = _ct_images(demo.engine, 2)
    save_annotation(a.id, "ann", [], image_label="cancerous", engine=demo.engine)
    save_annotation(b.id, "ann", [], image_label="healthy", engine=demo.engine)
    examples = build_examples(engine=demo.engine)
    assert [(e.image_id, e.source, e.label) for e in examples if e.source == "image"] == [(a.id, "image", 1),
                                                                                           (b.id, "image", 0)]
    assert patch_fraction(examples, {a.id: (256, 256), b.id: (256, 256)}) == 1.0  # the window: the whole image


def test_hard_negatives_are_the_spine_and_never_touch_a_finding(demo, tmp_path: Path, project) -> None:
    """The demo CT's brightest normal structure, the vertebral body (a 700 HU disc centred at (128, 190)), is
    what a model must learn as normal: it is a hard negative of every fully judged slice, and no hard
    negative touches a finding."""
    images = _ct_images(demo.engine, 3)
    nodule = (80.0, 120.0, 20.0, 20.0)
    for image in images:
        save_annotation(image.id, "ann", [RegionInput("Cancerous", "polygon", box(*nodule))],
                        image_label="cancerous", engine=demo.engine)
    examples = [e for e in build_examples(engine=demo.engine) if e.source == "hard"]
    assert len(examples) == 2 * len(images) and all(e.avoid == (nodule,) for e in examples)
    for image in images:
        grey, _, _ = read_picture(image.id, project=project)
        found = salient_boxes(grey, 32, (nodule,), 2)
        assert len(found) == 2
        assert any(x <= 128 <= x + side and y <= 190 <= y + side for x, y, side in found)  # the spine
        for x, y, side in found:
            assert x + side <= 80 or 100 <= x or y + side <= 120 or 140 <= y
    data = materialise(examples, 32, tmp_path / "hard.npy", project=project)
    grey, mean, std = read_picture(images[0].id, project=project)
    x, y, side = salient_boxes(grey, examples[0].box[2], (nodule,), 2)[0]
    assert np.allclose(data[0][0].numpy(), to_input(grey[y:y + side, x:x + side], mean, std, 32).numpy(), atol=2e-2)


def test_only_current_versions_count(demo) -> None:
    (image,) = _ct_images(demo.engine, 1)
    save_annotation(image.id, "ann", [], image_label="cancerous", engine=demo.engine)
    save_annotation(image.id, "ann", [], image_label="healthy", engine=demo.engine)
    assert [e.label for e in build_examples(engine=demo.engine) if e.source == "image"] == [0]


def test_a_consensus_reading_replaces_the_readers_readings(demo) -> None:
    first, second = _ct_images(demo.engine, 2)
    save_annotation(first.id, "ann", [], image_label="cancerous", engine=demo.engine)
    save_annotation(first.id, "bob", [], image_label="healthy", engine=demo.engine)
    save_annotation(second.id, "ann", [], image_label="healthy", engine=demo.engine)
    save_annotation(second.id, "bob", [], image_label="healthy", engine=demo.engine)
    readings: dict[str, int] = {}
    assert sorted(e.label for e in build_examples(engine=demo.engine, readings=readings)
                  if e.source == "image") == [0, 0, 0, 1]  # each reading, the disagreeing ones too
    assert readings == {"every_reading": 2}
    accept_reading(first.id, "ann", engine=demo.engine, reason="the lesion is there")
    by_image = sorted((e.image_id, e.label) for e in build_examples(engine=demo.engine, readings=readings)
                      if e.source == "image")
    assert by_image == [(first.id, 1), (second.id, 0), (second.id, 0)]
    assert readings == {"consensus": 1, "every_reading": 1}


def test_disagreeing_readings_follow_the_plans_rule(demo) -> None:
    first, second = _ct_images(demo.engine, 2)
    for name, label in (("ann", "cancerous"), ("bob", "cancerous"), ("cy", "healthy")):  # two against one
        save_annotation(first.id, name, [], image_label=label, engine=demo.engine)
    for name, label in (("ann", "cancerous"), ("bob", "healthy")):  # one against one: no majority
        save_annotation(second.id, name, [], image_label=label, engine=demo.engine)

    def learnt(rule: str) -> tuple[list[tuple[int, int]], dict[str, int]]:
        set_reading_plan(ReadingPlan(readers=2, disagreeing=rule), engine=demo.engine)
        readings: dict[str, int] = {}
        examples = build_examples(engine=demo.engine, readings=readings)
        return sorted((e.image_id, e.label) for e in examples if e.source == "image"), readings

    assert learnt("each") == ([(first.id, 0), (first.id, 1), (first.id, 1), (second.id, 0), (second.id, 1)],
                              {"every_reading": 2})
    assert learnt("majority") == ([(first.id, 1), (first.id, 1)], {"majority": 1, "left_out": 1})
    assert learnt("leave-out") == ([], {"left_out": 2})


def test_split_keeps_patients_whole_and_both_classes_on_each_side() -> None:
    examples = [Example(i, f"p{i // 3}", int(i % 4 == 0)) for i in range(60)]
    split = split_by_patient(examples, 0.2, seed=1)
    assert not split.train_patients & split.val_patients
    assert {e.patient for e in split.val} == split.val_patients
    assert len(split.train) + len(split.val) == 60
    assert 0.15 <= len(split.val) / 60 <= 0.35
    assert {e.label for e in split.train} == {0, 1} == {e.label for e in split.val}
    assert split_by_patient(examples, 0.2, seed=1) == split


def _patients(modality: str, count: int, findings: int, normals: int, first_image: int) -> list[Example]:
    examples, image = [], first_image
    for patient in range(count):
        for label, how_many in ((1, findings), (0, normals)):
            for _ in range(how_many):
                examples.append(Example(image, f"{modality}{patient}", label, (0, 0, 8), "region"))
                image += 1
    return examples


def test_validation_leaves_training_most_of_each_modalitys_findings() -> None:
    """4 mammography patients with 5 findings each, 12 CT patients with 2: over 40 seeds, training keeps at least
    60% of each modality's findings and validation has both classes. Without the strata some seed sends
    half of the mammography findings to validation (a split the demo's model then failed on)."""
    examples = _patients("MG", 4, 5, 1, 0) + _patients("CT", 12, 2, 3, 1000)
    strata = {e.image_id: "MG" if e.image_id < 1000 else "CT" for e in examples}

    def kept(split: Split, modality: str) -> float:
        total = sum(e.label == 1 and strata[e.image_id] == modality for e in examples)
        return sum(e.label == 1 and strata[e.image_id] == modality for e in split.train) / total

    for seed in range(40):
        split = split_by_patient(examples, seed=seed, strata=strata)
        assert kept(split, "MG") >= 0.6 and kept(split, "CT") >= 0.6, seed
        assert {e.label for e in split.val} == {0, 1} and not split.train_patients & split.val_patients
    assert min(kept(split_by_patient(examples, seed=seed), "MG") for seed in range(40)) < 0.6


def test_validation_still_gets_a_finding_when_every_patient_holds_much_of_its_stratum() -> None:
    examples = _patients("MG", 2, 5, 3, 0) + _patients("MG", 6, 0, 4, 100)  # two patients hold all findings
    split = split_by_patient(examples, seed=0, strata={e.image_id: "MG" for e in examples})
    assert {e.label for e in split.val} == {0, 1} == {e.label for e in split.train}


def test_materialised_inputs_are_the_standardised_crops(demo, tmp_path: Path, project) -> None:
    (image,) = _ct_images(demo.engine, 1)
    examples = [Example(image.id, "p", 1, (40, 50, 30), "region"), Example(image.id, "p", 0)]
    data = materialise(examples, 32, tmp_path / "inputs.npy", project=project)
    grey, mean, std = read_picture(image.id, project=project)
    assert np.allclose(grey, render_frame(get_image(image.id, engine=demo.engine), project=project).astype(np.float32))
    crop, label = data[0]
    assert label == 1 and crop.shape == (1, 32, 32)
    expected = to_input(grey[50:80, 40:70], mean, std, 32)
    assert np.allclose(crop.numpy(), expected.numpy(), atol=2e-2)  # float16 on disk
    whole, label = data[1]
    assert label == 0 and np.allclose(whole.numpy(), to_input(grey, mean, std, 32).numpy(), atol=2e-2)
    assert isinstance(data.inputs, np.memmap)


def test_inputs_built_on_several_threads_land_in_their_own_rows(demo, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, project) -> None:
    """Chunks of 2 images on threads: every row is its own image's input, and an image deleted meanwhile is
    named (not a thread's KeyError)."""
    monkeypatch.setattr(dataset, "MATERIALISE_CHUNK", 2)
    images = _ct_images(demo.engine, 7)
    examples = [Example(image.id, "p", index % 2, (10 * index, 20, 40), "region") for index, image in enumerate(images)]
    data = materialise(examples[::-1], 32, tmp_path / "threads.npy", project=project)
    for row, image in zip(range(len(images) - 1, -1, -1), images):
        grey, mean, std = read_picture(image.id, project=project)
        x = 10 * (len(images) - 1 - row)
        expected = to_input(grey[20:60, x:x + 40], mean, std, 32).numpy()
        crop, label = data[row]
        assert label == (len(images) - 1 - row) % 2 and np.allclose(crop.numpy(), expected, atol=2e-2), row
    with pytest.raises(ImageNotFound, match=r"\[424242\]"):
        materialise(examples + [Example(424242, "p", 0)], 32, tmp_path / "gone.npy", project=project)


def test_inputs_with_context_carry_the_surroundings_at_the_patch_scale(demo, tmp_path: Path, project) -> None:
    """With context 16 a 30-pixel patch becomes 64×64: the patch scaled to 32×32 in the middle, and 15 pixels
    of its surroundings (16 at that scale) around it — the picture's edge repeated where the picture ends."""
    (image,) = _ct_images(demo.engine, 1)
    examples = [Example(image.id, "p", 1, (40, 50, 30), "region"), Example(image.id, "p", 0, (0, 0, 30), "region"),
                Example(image.id, "p", 0)]
    data = materialise(examples, 32, tmp_path / "context.npy", context=16, project=project)
    grey, mean, std = read_picture(image.id, project=project)
    crop, _ = data[0]
    assert crop.shape == (1, 64, 64)
    assert np.allclose(crop.numpy(), to_input(grey[35:95, 25:85], mean, std, 64).numpy(), atol=2e-2)
    corner, _ = data[1]
    padded = np.pad(grey, 15, mode="edge")[:60, :60]
    assert np.allclose(corner.numpy(), to_input(padded, mean, std, 64).numpy(), atol=2e-2)
    whole, _ = data[2]
    middle = to_input(grey, mean, std, 32).numpy()
    assert np.allclose(whole.numpy()[:, 16:48, 16:48], middle, atol=2e-2)
    assert np.allclose(whole.numpy()[:, :16, 16:48], middle[:, :1, :], atol=2e-2)  # the edge, repeated


def test_the_scaled_picture_puts_a_window_of_the_patch_fraction_at_the_patch_size(demo, project) -> None:
    (image,) = _ct_images(demo.engine, 1)
    grey, mean, std = read_picture(image.id, project=project)
    scaled, per_x, per_y = scaled_picture((grey, mean, std), 0.25, 32)
    assert scaled.shape == (1, 128, 128)  # a 64-pixel window of the 256² image is 32 scaled pixels
    assert per_x == per_y == pytest.approx(2.0)
    crop = to_input(grey[:64, :64], mean, std, 32)[0].numpy()  # the same scale; the edge of a crop differs
    assert np.allclose(scaled[0, 1:31, 1:31].numpy(), crop[1:31, 1:31], atol=0.05)


def test_reading_rows_in_one_query_names_images_that_are_gone(project) -> None:
    with pytest.raises(ImageNotFound, match=r"\[424242\]"):
        images_by_id([424242], project.engine)
    assert images_by_id([], project.engine) == {}


def test_regions_of_very_different_sizes_give_the_dense_pass_several_window_scales() -> None:
    """A 20-px nodule and a mass filling half the picture are each looked for at a scale that fits them; regions
    of one size give one scale, no regions the whole picture."""
    shapes = {i: (256, 256) for i in range(10)}
    small = [Example(i, "p", 1, (0, 0, 24), "region") for i in range(5)]
    large = [Example(i, "p", 1, (0, 0, 160), "region") for i in range(5, 10)]
    mixed = patch_fractions(small + large, shapes)
    assert len(mixed) >= 2 and min(mixed) < 0.12 and max(mixed) > 0.5
    assert patch_fractions(small, shapes) == [24 / 256]
    assert patch_fractions([], shapes) == [1.0]
