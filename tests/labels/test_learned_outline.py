"""The quick outline learned from the project's own outlines (``labeling.labels.learned_outline``).

The lesions here differ from their surroundings by texture, not by grey level, and lie at an angle in the reader's
box: the classic outline finds no edge and falls back to the box's shape (mean Dice ~0.73); what the project's
outlines teach follows them (~0.90)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
from scipy import ndimage
from sklearn.ensemble import HistGradientBoostingClassifier
from sqlmodel import Session, select

from benchmarks.outline import mask_dice, rasterise, rough_box
from labeling.intake import import_paths
from labeling.labels import (
    RegionInput,
    fit_outline_model,
    fit_project_outline,
    learned_outline,
    outline_file,
    outline_in_box,
    outline_record,
    outline_region,
    project_outline_model,
    region_mask,
    save_annotation,
)
from labeling.labels.learned_outline import (
    CROSS_CHECK_BELOW,
    MIN_OUTLINES,
    READER_BOXES,
    OutlineModel,
    project_outlines,
    save_outline_models,
)
from learner.registry import mark_active
from storage import Image, ModelVersion, Project, write_session


def textured_lesion(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A grey picture (uint8) with an elongated lesion at an angle, as bright on average as what surrounds it but
    coarsely textured, and the lesion's mask."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    centre_y, centre_x = rng.uniform(0.35, 0.65, 2) * size
    long, short, angle = rng.uniform(0.12, 0.22) * size, rng.uniform(0.04, 0.08) * size, rng.uniform(0, np.pi)
    along = (xx - centre_x) * np.cos(angle) + (yy - centre_y) * np.sin(angle)
    across = -(xx - centre_x) * np.sin(angle) + (yy - centre_y) * np.cos(angle)
    mask = (along / long) ** 2 + (across / short) ** 2 <= 1
    background = 120 + 180 * ndimage.gaussian_filter(rng.standard_normal((size, size)), 12)
    picture = background + np.where(mask, 40, 4) * rng.standard_normal((size, size))
    return np.clip(picture, 0, 255).astype(np.uint8), mask


def extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(cols.min()), int(rows.min()), int(cols.max() - cols.min()), int(rows.max() - rows.min())


def outline_points(mask: np.ndarray) -> list[list[float]]:
    """The lesion's outline as a reader's polygon (the mask's contour)."""
    from skimage.measure import find_contours

    contour = max(find_contours(np.pad(mask, 1).astype(float), 0.5), key=len) - 1
    return [[float(c), float(r)] for r, c in contour[::2]]


def test_outlines_learnt_from_the_project_follow_lesions_the_classic_outline_cannot_see() -> None:
    rng = np.random.default_rng(0)
    model = fit_outline_model([textured_lesion(rng) for _ in range(16)])
    # with few outlines every one is held out once (by quarters): the gate weighs 16 outlines, not 4
    assert model is not None and model.outlines == 16 and model.held_out == 16
    assert model.preferred and model.learned_dice > model.classic_dice  # it earned its place on held-out outlines
    learned, classic = [], []
    for _ in range(12):
        picture, mask = textured_lesion(rng)
        box = rough_box(extent(mask), rng)
        learned.append(mask_dice(rasterise(outline_in_box(picture, box, model=model), mask.shape), mask))
        classic.append(mask_dice(rasterise(outline_in_box(picture, box), mask.shape), mask))
    assert np.mean(learned) >= 0.85 and np.mean(learned) >= np.mean(classic) + 0.1, (learned, classic)


def test_the_learnt_outline_on_a_mammogram_sized_picture_copies_only_the_box() -> None:
    """A quick outline on a 4,000×3,000 picture: the box and its margin are read, the picture is not copied (it was
    converted whole to floats, 48 MB, at every outline), also where the box runs over the picture's edge; what is
    read is the picture's pixels, the border repeated beyond it."""
    import tracemalloc

    rng = np.random.default_rng(6)
    model = fit_outline_model([textured_lesion(rng) for _ in range(MIN_OUTLINES)])
    picture, mask = textured_lesion(rng)
    large = np.zeros((4000, 3000), dtype=np.uint8)
    large[3872:, 2872:] = picture  # in the corner: the box and its margin run over two edges
    x, y, w, h = extent(mask)
    box = (2872 + x - 0.3 * w, 3872 + y - 0.3 * h, 1.6 * w, 1.6 * h)
    tracemalloc.start()
    try:
        found = model.outline_points(large, box)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak
    corner = large[3000:, 2000:]  # the corner as a picture of its own: the same pixels, the same edges
    expected = model.outline_points(corner.copy(), (872 + x - 0.3 * w, 872 + y - 0.3 * h, 1.6 * w, 1.6 * h))
    assert found is not None and np.allclose(found, expected + [2000, 3000])


def test_with_many_outlines_the_gate_holds_back_one_quarter() -> None:
    rng = np.random.default_rng(7)
    model = fit_outline_model([textured_lesion(rng, size=96) for _ in range(CROSS_CHECK_BELOW)])
    assert model is not None and model.outlines == CROSS_CHECK_BELOW and model.held_out == CROSS_CHECK_BELOW // 4


def test_fitting_reads_each_outline_once_and_learns_from_a_bounded_number_of_pixels(monkeypatch) -> None:
    """The trial fits behind the gate and the final fit share each outline's training boxes (they were read again for
    every fit: 144 boxes for 16 outlines, the features most of the 23 s a 1,000-label project spent fitting its
    outline); however many outlines, one fit learns from at most PIXELS_PER_FIT pixels."""
    rng = np.random.default_rng(3)
    examples = [textured_lesion(rng, size=96) for _ in range(16)]
    boxes_read, fitted_on = [], []
    real_features, real_fit = learned_outline._box_features, HistGradientBoostingClassifier.fit

    def counting_features(grey, box):
        boxes_read.append(box)
        return real_features(grey, box)

    def recording_fit(self, inputs, targets, *args, **options):
        fitted_on.append(len(inputs))
        return real_fit(self, inputs, targets, *args, **options)

    monkeypatch.setattr(learned_outline, "_box_features", counting_features)
    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", recording_fit)
    monkeypatch.setattr(learned_outline, "PIXELS_PER_FIT", 16 * len(READER_BOXES) * 200)
    model = fit_outline_model(examples)
    assert model is not None and model.held_out == 16
    # a training box of each kind around each outline, and one box each to hold it out with: read once
    assert len(boxes_read) == 16 * len(READER_BOXES) + 16
    assert len(fitted_on) == 5 and max(fitted_on) <= 16 * len(READER_BOXES) * 200, fitted_on  # 4 trials + the final
    assert fitted_on[-1] == 16 * len(READER_BOXES) * 200  # the budget spread over every outline's boxes


def test_too_few_outlines_learn_nothing() -> None:
    rng = np.random.default_rng(1)
    assert fit_outline_model([textured_lesion(rng) for _ in range(MIN_OUTLINES - 1)]) is None


def _textured_project(project: Project, folder: Path, count: int) -> list[tuple[Image, np.ndarray]]:
    rng = np.random.default_rng(2)
    cases = []
    for index in range(count):
        picture, mask = textured_lesion(rng)
        PIL.Image.fromarray(picture).save(folder / f"t{index:02d}.png")
        cases.append(mask)
    import_paths([str(folder / f"t{index:02d}.png") for index in range(count)], project=project)
    with Session(project.engine) as session:
        images = {Path(image.path).name: image for image in session.exec(select(Image)).all()}
    return [(images[f"t{index:02d}.png"], mask) for index, mask in enumerate(cases)]


def active_version(project: Project, models: dict[str, OutlineModel], name: str) -> int:
    """A model version whose learned quick outline is ``models``, kept beside its checkpoint as the training job
    keeps it (``learner.registry.register``), made the active one; its id."""
    checkpoint = project.folder("models") / f"{name}.pt"
    if models:
        save_outline_models(models, outline_file(checkpoint))
    with write_session(engine=project.engine) as session:
        version = ModelVersion(checkpoint_path=str(checkpoint))
        session.add(version)
        session.flush()
        version_id = int(version.id)
        mark_active(session, version_id, None, {})
        session.commit()
    return version_id


def activate(project: Project, version_id: int) -> None:
    with write_session(engine=project.engine) as session:
        mark_active(session, version_id, None, {})
        session.commit()


def test_the_project_learns_its_quick_outline_from_its_readers_outlines(project, tmp_path) -> None:
    """Readers outline 16 lesions; training fits the project's outline on them (``fit_project_outline``, what the
    training job calls) and keeps it with the version, and the Label page's quick outline on the other images
    follows the lesions. It belongs to the version: with an older one active, the classic outline is back; with
    this one again, the learnt one; fitting alone keeps nothing (a training that fails later changes nothing)."""
    cases = _textured_project(project, tmp_path, 24)
    for image, mask in cases[:16]:
        save_annotation(image.id, "expert", [RegionInput("Cancerous", "polygon", outline_points(mask))],
                        engine=project.engine)
    older = active_version(project, {}, "older")  # trained before the outlines
    models = fit_project_outline(project)
    assert not list(project.folder("models").glob("*.skops"))  # fitting keeps nothing: registering does
    (modality, found), = outline_record(models)["outline_model"].items()  # one modality: one model
    assert modality == (cases[0][0].modality or "")
    assert found["outlines"] == 16 and found["used"] and found["learned_dice"] > found["classic_dice"]
    rng = np.random.default_rng(3)
    boxes = [rough_box(extent(mask), rng) for _, mask in cases[16:]]

    def dice_of_quick_outlines() -> list[float]:
        return [mask_dice(rasterise(outline_region(image.id, box, project=project, actor=None), mask.shape), mask)
                for (image, mask), box in zip(cases[16:], boxes)]

    assert project_outline_model(project, modality) is None
    classic = dice_of_quick_outlines()
    newer = active_version(project, models, "newer")
    learned = dice_of_quick_outlines()
    assert np.mean(learned) >= 0.85 and np.mean(learned) >= np.mean(classic) + 0.1, (learned, classic)
    activate(project, older)  # rolled back: that version's outline, the classic one
    assert project_outline_model(project, modality) is None and dice_of_quick_outlines() == classic
    activate(project, newer)
    assert dice_of_quick_outlines() == learned


def test_a_learned_outline_that_did_worse_than_the_classic_one_is_not_used(project, tmp_path) -> None:
    classifier = HistGradientBoostingClassifier(max_iter=2).fit(np.arange(20.0)[:, None], np.arange(20) % 2)
    model = OutlineModel(classifier, outlines=12, learned_dice=0.80, classic_dice=0.72, held_out=3)
    active_version(project, {"CT": model}, "kept")
    path = outline_file(project.folder("models") / "kept.pt")
    assert project_outline_model(project, "CT") is not None
    assert project_outline_model(project, "MR") is None  # learnt on CT outlines only
    model.learned_dice, model.classic_dice = 0.70, 0.72
    save_outline_models({"CT": model}, path)
    assert project_outline_model(project, "CT") is None  # read again: the file changed


def test_a_server_keeps_the_models_of_a_few_versions_read_not_of_every_version(project) -> None:
    """Each training adds a version with its own learnt outline; a server that lives through many keeps only the
    last few read (``KEPT_READ``), and reads a version's file again when it is active again."""
    from labeling.labels import learned_outline

    classifier = HistGradientBoostingClassifier(max_iter=2).fit(np.arange(20.0)[:, None], np.arange(20) % 2)
    versions = [active_version(project, {"CT": OutlineModel(classifier, 12, 0.8, 0.7, 3)}, f"v{index}")
                for index in range(learned_outline.KEPT_READ + 3)]
    for version in versions:
        activate(project, version)
        assert project_outline_model(project, "CT") is not None
    kept = [path for path in learned_outline._loaded if path.parent == project.folder("models")]
    assert len(kept) == learned_outline.KEPT_READ, kept
    activate(project, versions[0])
    assert project_outline_model(project, "CT") is not None  # read again
    in_use = project_outline_model(project, "CT")
    for version in versions[1:1 + learned_outline.KEPT_READ]:  # others read while the one in use keeps being used
        activate(project, version)
        project_outline_model(project, "CT")
        activate(project, versions[0])
        assert project_outline_model(project, "CT") is in_use  # kept: the one used longest ago went, not this one


def test_with_too_few_outlines_now_the_next_version_has_no_learnt_outline(project, tmp_path) -> None:
    cases = _textured_project(project, tmp_path, MIN_OUTLINES)
    for image, mask in cases:
        save_annotation(image.id, "expert", [RegionInput("Cancerous", "polygon", outline_points(mask))],
                        engine=project.engine)
    modality = cases[0][0].modality
    models = fit_project_outline(project)
    assert outline_record(models)["outline_model"][modality or ""]["outlines"] == MIN_OUTLINES
    active_version(project, models, "first")
    assert project_outline_model(project, modality) is not None
    save_annotation(cases[0][0].id, "expert", [], image_label="no finding", engine=project.engine)  # an edit
    models = fit_project_outline(project)
    assert models == {} and outline_record(models) == {"outline_model": None}
    active_version(project, models, "second")
    assert project_outline_model(project, modality) is None


def test_fitting_keeps_only_the_part_of_each_picture_around_its_outline(project, tmp_path) -> None:
    """A 2,400×2,400 picture (a mammogram's size) with a small lesion: what fitting holds for the outline is the
    lesion and 1.5 times its size around it, not the picture (400 mammograms would be tens of gigabytes)."""
    rng = np.random.default_rng(5)
    picture, mask = textured_lesion(rng)
    large = np.full((2400, 2400), 120, dtype=np.uint8)
    large[1000:1128, 1500:1628] = picture
    PIL.Image.fromarray(large).save(tmp_path / "large.png")
    import_paths([str(tmp_path / "large.png")], project=project)
    with Session(project.engine) as session:
        image = session.exec(select(Image)).one()
    outline = [[x + 1500, y + 1000] for x, y in outline_points(mask)]
    save_annotation(image.id, "expert", [RegionInput("Cancerous", "polygon", outline)], engine=project.engine)
    ((grey, lesion),), = project_outlines(project).values()
    whole = region_mask(outline, 2400, 2400)
    x, y, w, h = extent(whole)
    assert grey.shape == lesion.shape and grey.dtype == np.float32 and lesion.sum() == whole.sum()  # all the lesion
    assert grey.shape[0] <= 4 * (h + 1) + 10 and grey.shape[1] <= 4 * (w + 1) + 10, (grey.shape, w, h)
    top, left = y - extent(lesion)[1], x - extent(lesion)[0]
    assert np.array_equal(grey, large[top:top + grey.shape[0], left:left + grey.shape[1]])  # the picture's pixels


class Payload:
    """Not what a kept outline model holds."""

    def __setstate__(self, state: dict) -> None:
        raise AssertionError("a kept outline model's file ran code")


def test_a_kept_model_file_holding_anything_else_is_not_loaded(project) -> None:
    import skops.io

    active_version(project, {}, "planted")
    skops.io.dump({"CT": {"classifier": Payload(), "outlines": 12, "learned_dice": 0.9, "classic_dice": 0.5,
                          "held_out": 3}}, outline_file(project.folder("models") / "planted.pt"))
    assert project_outline_model(project, "CT") is None
