"""The quick outline: from a rough box to the lesion's polygon, on the demo's true lesions (the pictures as the
clinician sees them), on flat areas, and refusing boxes it cannot outline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from benchmarks.outline import box_mask, demo_lesions, dice, mask_dice, rasterise, rough_box, snug_box, speckle_dice
from benchmarks.real import lesion_mask, load_truth
from benchmarks.speckle import lesion_box
from labeling.access import NotAllowed, add_user, update_user
from labeling.intake import import_paths
from labeling.labels import OutlineError, get_image, outline_in_box, outline_region, render_frame
from storage import Image, MedalError, current_project
from tests.conftest import demo_lesion


def test_outline_matches_the_demo_lesions(make_demo) -> None:
    make_demo(0)
    rng = np.random.default_rng(0)
    scores, by_modality = [], {"CT": [], "MG": []}
    for modality, picture, region in demo_lesions(current_project()):
        box = rough_box(region["bbox"], rng)
        found = outline_in_box(picture, box, max_vertices=48)
        assert 3 <= len(found) <= 48
        score = dice(found, region["points"], picture.shape)
        scores.append(score)
        by_modality[modality].append(score)
    assert len(scores) >= 100 and by_modality["CT"] and by_modality["MG"]
    # On the 146 demo lesions (seed 0): mean 0.968, median 0.977, min 0.747 (a mammogram lesion against a
    # bright clump of tissue it touches). The floor below catches an outline that lost its lesion.
    assert np.mean(scores) >= 0.8, (np.mean(scores), min(scores))
    assert min(scores) >= 0.5, sorted(scores)[:5]
    for modality, values in by_modality.items():
        assert np.mean(values) >= 0.8, (modality, np.mean(values))


def test_outline_finds_a_dark_lesion_on_a_float_picture() -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:200, 0:240]
    picture = 300.0 + rng.normal(0, 10, yy.shape)
    picture[(xx - 130) ** 2 + (yy - 90) ** 2 <= 20**2] -= 250.0  # darker than around it
    truth = [[130 + 20.5 * np.cos(a), 90 + 20.5 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 32, endpoint=False)]
    found = outline_in_box(picture, (100, 55, 64, 70), max_vertices=12)
    assert len(found) <= 12
    assert dice(found, truth, picture.shape) >= 0.9


def test_outline_finds_dark_lesions_in_speckle_better_than_the_box_alone() -> None:
    """Ultrasound-like pictures (hypoechoic lesions with soft edges in speckle): a threshold breaks up in the
    speckle or spills into dark tissue (mean Dice 0.68 here before the prior-guided outline; 0.88 with it)."""
    found, inscribed = speckle_dice(seed=7, pictures=20, boxes=rough_box)
    assert np.mean(found) >= 0.82, (np.mean(found), np.mean(inscribed))
    assert np.mean(found) >= np.mean(inscribed) + 0.15, (np.mean(found), np.mean(inscribed))
    assert min(found) >= 0.6, sorted(found)[:3]


def test_a_lesion_as_dense_as_the_tissue_around_it_does_not_spill_into_it() -> None:
    """A sarcoma in muscle on CT: the lesion barely differs from the muscle it lies in, the fat around the limb
    is dark. A threshold takes much of the limb inside the box (mean Dice 0.69 over these four boxes before);
    the box's shape is then the better guide (0.83)."""
    yy, xx = np.mgrid[0:256, 0:256]
    lesion = ((xx - 120) / 34.0) ** 2 + ((yy - 135) / 26.0) ** 2 <= 1
    scores = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        picture = np.full(yy.shape, 40.0)  # fat
        picture[(xx - 128) ** 2 + (yy - 128) ** 2 <= 100**2] = 120.0  # the limb's muscle
        picture[lesion] = 123.0
        picture = np.clip(picture + rng.normal(0, 8, picture.shape), 0, 255).astype(np.uint8)
        box = rough_box((86.0, 109.0, 68.0, 52.0), rng)
        scores.append(mask_dice(rasterise(outline_in_box(picture, box), picture.shape), lesion))
    assert np.mean(scores) >= 0.77, scores


REAL_LESIONS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-lesions"


@pytest.mark.skipif(not (REAL_LESIONS / "truth.json").is_file(), reason="../shared/data/real-lesions is not here")
def test_outline_on_real_ct_and_mr_lesions_beats_the_box(project) -> None:
    """Real soft-tissue sarcomas (CT and MR) as the product renders them, 60 lesions: mean Dice 0.61 before (the
    threshold spilled into muscle), 0.79 with the prior-guided outline; the inscribed ellipse gives 0.58."""
    truth = load_truth(REAL_LESIONS).entries
    names = sorted(name for name, entry in truth.items() if entry["has_finding"] and name.startswith("sts_"))[::4][:60]
    import_paths([str(REAL_LESIONS / truth[name]["image"]) for name in names], project=project)
    with Session(project.engine) as session:
        by_path = {Path(image.path).resolve(): image for image in session.exec(select(Image)).all()}
    rng = np.random.default_rng(0)
    found, inscribed = [], []
    for name in names:
        image = by_path[(REAL_LESIONS / truth[name]["image"]).resolve()]
        picture = render_frame(image, project=project)
        mask = lesion_mask(REAL_LESIONS, truth[name], picture.shape[:2])
        box = rough_box(lesion_box(mask), rng)
        found.append(mask_dice(rasterise(outline_in_box(picture, box), mask.shape), mask))
        inscribed.append(mask_dice(box_mask(box, mask.shape, ellipse=True), mask))
    assert np.mean(found) >= 0.74, (np.mean(found), np.mean(inscribed))
    assert np.mean(found) >= np.mean(inscribed) + 0.1, (np.mean(found), np.mean(inscribed))


@pytest.mark.parametrize("flat", ["constant", "noise"])
def test_a_flat_box_gives_the_ellipse_inside_it(flat: str) -> None:
    rng = np.random.default_rng(2)
    picture = np.full((128, 128), 90, dtype=np.uint8)
    if flat == "noise":
        picture = np.clip(90 + rng.normal(0, 1.0, picture.shape), 0, 255).astype(np.uint8)
    box = (30.0, 40.0, 50.0, 30.0)
    found = np.asarray(outline_in_box(picture, box))
    assert len(found) >= 3
    assert (found[:, 0] >= box[0] - 1e-6).all() and (found[:, 0] <= box[0] + box[2] + 1e-6).all()
    assert (found[:, 1] >= box[1] - 1e-6).all() and (found[:, 1] <= box[1] + box[3] + 1e-6).all()


def test_a_box_partly_off_the_image_is_clipped() -> None:
    picture = np.zeros((100, 100), dtype=np.uint8)
    picture[:20, :20] = 200  # a lesion in the corner
    found = np.asarray(outline_in_box(picture, (-30, -30, 60, 60)))
    assert (found >= 0).all() and (found <= 99).all()
    assert dice(found.tolist(), [[0, 0], [19, 0], [19, 19], [0, 19]], picture.shape) >= 0.8


@pytest.mark.parametrize("box", [(10, 10, 0, 20), (10, 10, 20, -5), (500, 10, 30, 30), (-80, -80, 40, 40),
                                 (10, float("nan"), 20, 20)])
def test_a_box_it_cannot_outline_is_refused(box: tuple[float, float, float, float]) -> None:
    picture = np.zeros((100, 120), dtype=np.uint8)
    with pytest.raises(OutlineError) as raised:
        outline_in_box(picture, box)
    assert isinstance(raised.value, MedalError) and isinstance(raised.value, ValueError)
    assert "draw" in str(raised.value)


def test_outline_region_outlines_what_the_clinician_sees_for_an_account_that_may_label(make_demo, project) -> None:
    make_demo(0)
    add_user("ann", "ann-password", "annotator", engine=project.engine)
    image_id, region = demo_lesion("CT", project)
    image = get_image(image_id, engine=project.engine)
    box = rough_box(region["bbox"], np.random.default_rng(3))
    found = outline_region(image_id, box, actor="ann",
                           project=project)  # the default rendering, as the viewer first shows it
    assert 3 <= len(found) <= 48 and dice(found, region["points"], (image.rows, image.cols)) >= 0.8
    # Under the window the clinician chose: one that makes the whole slice white leaves nothing to find in the
    # box, so the answer is the ellipse inside it — the window was used.
    flat = outline_region(image_id, box, actor="ann", window=(-5000.0, 1.0), project=project)
    assert flat == outline_in_box(np.full((image.rows, image.cols), 255, np.uint8), box)
    with pytest.raises(OutlineError, match="no area"):
        outline_region(image_id, (10, 10, 0, 20), actor="ann", project=project)
    update_user("ann", active=False, actor="boss",
                engine=project.engine)  # rights are checked against the account as it is now
    with pytest.raises(NotAllowed):
        outline_region(image_id, box, actor="ann", project=project)


def test_snug_boxes_hold_the_lesion_and_are_10_to_40_percent_larger() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, y, w, h = snug_box((100.0, 50.0, 40.0, 20.0), rng)
        assert x <= 100 and y <= 50 and x + w >= 140 and y + h >= 70
        assert 1.1 <= w / 40 <= 1.4 and 1.1 <= h / 20 <= 1.4


def test_outline_from_snug_boxes_meets_the_goal_on_dark_lesions_in_speckle() -> None:
    """The external review's protocol (boxes 10–40% larger than the lesion in all): the goal is ≥ 0.85 and ≥ 0.05
    above the ellipse inscribed in the box, which those boxes make a stronger answer than rough ones do."""
    found, inscribed = speckle_dice(seed=7, pictures=20, boxes=snug_box)
    assert np.mean(found) >= 0.85 and np.mean(found) >= np.mean(inscribed) + 0.05, (np.mean(found), np.mean(inscribed))
