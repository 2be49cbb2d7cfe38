"""The Review page (AppTest): a reviewer sees the disagreeing images with each reader's regions, accepts one
reading or merges regions into the consensus; other roles do not get the page."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from labeling.labels import list_annotations, readings_png, save_annotation
from tests.support.pages import ann_and_bob_disagree, logged_in, square


@pytest.fixture
def disagreeing(project, make_demo):
    """Image 1: ann saw nothing, bob a nodule; image 2: two nodules, bob outlined only the first."""
    make_demo(0)
    ann_and_bob_disagree(project)
    save_annotation(2, "ann", [square(20, 20), square(120, 120)], image_label="cancerous", engine=project.engine)
    save_annotation(2, "bob", [square(20, 20)], image_label="cancerous", engine=project.engine)
    return project


def consensus(project, image_id: int):
    return next(a for a in list_annotations(engine=project.engine, image_id=image_id) if a.annotator == "consensus")


def test_a_reviewer_accepts_one_reading_then_merges_regions(disagreeing) -> None:
    at = logged_in("rita", "reviewer", project=disagreeing)
    at.switch_page("labeling/ui/pages/review.py").run()
    assert not at.exception, at.exception
    assert at.selectbox[0].options[0].startswith("Image 1: a finding marked by bob only (+2)")
    assert len(at.selectbox[0].options) == 2
    assert list(at.dataframe[0].value["reader"]) == ["ann", "bob"]  # ann has no region: one row
    at.selectbox[1].set_value("bob")  # the reading to accept
    at.text_input[0].set_value("the nodule is there")
    at.button[0].click().run()
    assert not at.exception, at.exception
    saved = consensus(disagreeing, 1)
    assert saved.image_label == "cancerous" and len(saved.regions) == 1
    assert len(at.selectbox[0].options) == 1 and at.selectbox[0].options[0].startswith("Image 2")  # 1 is done
    at.radio[0].set_value("Merge regions")
    at.multiselect[0].set_value([("ann", 1), ("bob", 0)])
    at.selectbox[2].set_value("ann")
    at.text_input[0].set_value("bob's outline of the first, ann's second nodule")
    at.button[0].click().run()
    assert not at.exception, at.exception
    merged = consensus(disagreeing, 2)
    assert [r.bbox[:2] for r in merged.regions] == [[120, 120], [20, 20]]
    assert any("Nothing to review" in s.value for s in at.success)


def test_a_save_without_a_reason_is_refused_on_the_page(disagreeing) -> None:
    at = logged_in("rita", "reviewer", project=disagreeing)
    at.switch_page("labeling/ui/pages/review.py").run()
    at.button[0].click().run()
    assert any("Say why" in e.value for e in at.error)
    assert all(a.annotator != "consensus" for a in list_annotations(engine=disagreeing.engine))


def test_each_readers_regions_are_drawn_in_their_colour(disagreeing) -> None:
    both = np.asarray(PILImage.open(io.BytesIO(readings_png(2, ["ann", "bob"], project=disagreeing))))
    only_bob = np.asarray(PILImage.open(io.BytesIO(readings_png(2, ["bob"], project=disagreeing))))
    red, green = np.array([0xe6, 0x19, 0x4b]), np.array([0x3c, 0xb4, 0x4b])  # ann, bob (name order)
    assert (both == red).all(-1).sum() > 100 and (both == green).all(-1).sum() > 100
    assert (only_bob == red).all(-1).sum() == 0 and (only_bob == green).all(-1).sum() > 100


@pytest.mark.parametrize("role", ["annotator", "scientist"])
def test_readers_and_scientists_do_not_get_the_page(disagreeing, role) -> None:
    at = logged_in("someone", role, project=disagreeing)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("labeling/ui/pages/review.py")
