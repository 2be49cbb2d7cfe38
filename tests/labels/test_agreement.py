"""Reader agreement (``labeling.labels.agreement``, ``medal agreement``) on a project with known disagreement,
against scikit-learn's ``cohen_kappa_score`` and counts made by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from labeling.access.accounts import add_user
from labeling.access.rights import NotAllowed
from labeling.cli.main import main
from labeling.labels.agreement import agreement_report, kappa_from_codes
from labeling.labels.annotations import RegionInput, save_annotation
from labeling.labels.taxonomy import list_classes


def square(label: str, x: float, y: float, side: float = 20) -> RegionInput:
    return RegionInput(label, "rect", [[x, y], [x + side, y], [x + side, y + side], [x, y + side]])


# Two readers over six images: their image labels, and what each drew (a finding class, or nothing).
ANN = ["cancerous", "cancerous", "cancerous", "healthy", "healthy", "healthy"]
BOB = ["cancerous", "cancerous", "healthy", "healthy", "healthy", "cancerous"]


@pytest.fixture
def two_readers(project, make_demo):
    make_demo(0)
    for name in ("ann", "bob", "cy"):
        add_user(name, f"{name}-password", "annotator", engine=project.engine)
    add_user("rita", "rita-password", "reviewer", engine=project.engine)
    finding, normal = (c.name for c in sorted(list_classes(engine=project.engine),
                                              key=lambda c: c.type_code == "17621005"))
    images = list(range(1, 7))
    regions = {  # image → (ann's regions, bob's regions)
        1: ([square(finding, 10, 10)], [square(finding, 20, 10)]),  # overlap 11 of 21 columns: Dice 231/441
        2: ([square(finding, 10, 10), square(finding, 100, 100)], [square(finding, 10, 10)]),  # one unmatched
        3: ([square(finding, 40, 40)], []),  # a finding only ann saw
        4: ([square(normal, 50, 50)], [square(normal, 50, 50)]),  # the same healthy region
    }
    for image_id, ann_label, bob_label in zip(images, ANN, BOB):
        mine, theirs = regions.get(image_id, ([], []))
        save_annotation(image_id, "ann", mine, image_label=ann_label, engine=project.engine)
        save_annotation(image_id, "bob", theirs, image_label=bob_label, engine=project.engine)
    save_annotation(7, "ann", [], image_label="healthy", engine=project.engine)  # read once: not compared
    return project, finding, normal


def test_pair_agreement_equals_scikit_learn_and_the_hand_count(two_readers) -> None:
    project, finding, normal = two_readers
    report = agreement_report(engine=project.engine, actor="rita")
    assert report.readers == ["ann", "bob"] and report.images_read_twice == 6 and report.readings == 12
    (pair,) = report.pairs
    assert pair.images == 6
    # By hand: 4 of 6 agree; each reader says cancerous 3 times of 6, so chance agreement is 1/2: κ = 1/3.
    assert pair.label_agreement == pytest.approx(4 / 6)
    assert pair.label_kappa.value == pytest.approx(1 / 3)
    assert pair.label_kappa.value == pytest.approx(cohen_kappa_score(ANN, BOB))
    assert pair.label_kappa.low < pair.label_kappa.value < pair.label_kappa.high
    # Findings (cancerous, or a finding region): both on 1 and 2; only ann on 3; only bob on 6 (his label); 4
    # (healthy regions only) and 5 neither.
    assert pair.findings == {"both": 2, "only_first": 1, "only_second": 1, "neither": 2}
    matched = pair.regions_by_class[finding]
    assert (matched.matched, matched.only_first, matched.only_second) == (2, 2, 0)
    # Image 1: two 21×21-pixel squares (the outline's pixels count) sharing 11×21; images 2 and 4: identical ones.
    assert sorted(pair.dice_values) == pytest.approx([2 * 231 / 882, 1.0, 1.0], abs=1e-4)
    assert pair.regions_by_class[finding].iou.value == pytest.approx((231 / 651 + 1) / 2, abs=1e-4)
    assert pair.regions_by_class[normal].dice.value == pytest.approx(1.0)
    assert pair.regions.matched == 3 and pair.regions.dice.n == 3


def test_kappa_from_codes_is_cohens_kappa() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, y = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
        y[:20] = x[:20]
        assert kappa_from_codes(x, y, 3) == pytest.approx(cohen_kappa_score(x, y))


def test_alpha_of_three_readers_by_hand(project, make_demo) -> None:
    make_demo(0)
    for name in ("ann", "bob", "cy"):
        add_user(name, f"{name}-password", "annotator", engine=project.engine)
    # Two readers on four images: (c, c), (c, h), (h, h), (h, h). Coincidences: c–c 2, c–h 1, h–c 1, h–h 4;
    # n_c = 3, n_h = 5, n = 8: α = 1 − (2/8) / (2·3·5 / (8·7)) = 8/15.
    for image_id, (first, second) in enumerate([("cancerous", "cancerous"), ("cancerous", "healthy"),
                                                ("healthy", "healthy"), ("healthy", "healthy")], start=1):
        save_annotation(image_id, "ann", [], image_label=first, engine=project.engine)
        save_annotation(image_id, "bob", [], image_label=second, engine=project.engine)
    assert agreement_report(engine=project.engine).alpha.value == pytest.approx(8 / 15)
    # A third reader who agrees with ann everywhere, on the same four images.
    for image_id, label in enumerate(["cancerous", "cancerous", "healthy", "healthy"], start=1):
        save_annotation(image_id, "cy", [], image_label=label, engine=project.engine)
    report = agreement_report(engine=project.engine)
    assert [(p.first, p.second) for p in report.pairs] == [("ann", "bob"), ("ann", "cy"), ("bob", "cy")]
    assert report.pairs[1].label_kappa.value == pytest.approx(1.0)
    # Three readers: in a unit of m values, each ordered pair of values counts 1/(m − 1).
    # Units: (c,c,c) c–c 6/2 = 3; (c,h,c) c–c 2/2, c–h 2/2, h–c 2/2 → 1, 1, 1; (h,h,h) ×2: h–h 3 each.
    # o_cc 4, o_ch = o_hc 1, o_hh 6; n = 12, n_c 5, n_h 7: α = 1 − (2/12) / (2·5·7 / (12·11)) = 1 − 22/70.
    assert report.alpha.value == pytest.approx(1 - 22 / 70)


def test_only_reviewers_scientists_and_admins_see_agreement(two_readers) -> None:
    project, _, _ = two_readers
    with pytest.raises(NotAllowed, match="see how readers agree"):
        agreement_report(engine=project.engine, actor="ann")


def test_medal_agreement_prints_json_and_text(two_readers, capsys) -> None:
    assert main(["agreement", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairs"][0]["label_kappa"]["value"] == pytest.approx(1 / 3)
    assert report["pairs"][0]["findings"]["only_first"] == 1
    assert main(["agreement"]) == 0
    out = capsys.readouterr().out
    assert "2 reader(s), 6 image(s) read by two or more" in out and "ann / bob: 6 image(s)" in out
    assert main(["agreement", "--readers", "ann"]) == 0
    assert "0 image(s) read by two or more" in capsys.readouterr().out
