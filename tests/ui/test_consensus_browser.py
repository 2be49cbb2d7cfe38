"""Editing the consensus in the viewer, in a real browser (issue 25): a reviewer opens an image two readers disagree
on from the Review page, sees both readers' regions in the viewer (and hides one), deletes a region and draws one,
saves with a reason; the stored consensus holds exactly those regions, adjudicated by her from the two readings.
A reader cannot reach it. `streamlit run app.py` on a demo project, Debian's Chromium, headless."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from labeling.access import add_user
from labeling.labels import get_image, list_annotations, save_annotation
from storage.models import Annotation, User
from tests.support.app_server import CHROMIUM, open_as, served
from tests.support.pages import square
from tests.support.viewer_browser import VIEWER, attr, has, ready, screen_point, settled

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")


@pytest.fixture
def disagreeing(project, make_demo):
    """Image 1: ann outlined a lesion at (20, 20) and calls it cancerous; bob one at (120, 120), healthy."""
    make_demo(0)
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rita", "reviewer")):
        add_user(name, f"{name}-password", role, engine=project.engine)
    save_annotation(1, "ann", [square(20, 20)], image_label="cancerous", engine=project.engine)
    save_annotation(1, "bob", [square(120, 120)], image_label="healthy", engine=project.engine)
    return project


def test_a_reviewer_edits_the_consensus_in_the_viewer(disagreeing, chromium) -> None:
    engine = disagreeing.engine
    readings = {a.annotator: a.id for a in list_annotations(engine=engine, image_id=1)}
    image = get_image(1, engine=engine)
    with served(disagreeing.home, MEDAL_WORKER="off") as url:
        rita = open_as(chromium, url, "rita", "/review")
        rita.get_by_role("heading", name="Review", exact=True).wait_for()
        settled(rita)
        rita.get_by_role("radiogroup").get_by_text("Merge regions", exact=True).click()  # none chosen: all regions
        rita.get_by_role("button", name="Edit the consensus in the viewer").click()
        ready(rita, 1)
        has(rita, "regions", "2")  # the editable regions: both readers'
        has(rita, "reader-regions", "2")  # and each reader's, read-only
        toggles = rita.locator(".mv-toolbar button.mv-reader")
        assert toggles.all_inner_texts() == ["ann", "bob"]
        bob = toggles.filter(has_text="bob")
        assert bob.get_attribute("aria-pressed") == "true"
        bob.click()
        has(rita, "reader-regions", "1")
        assert bob.get_attribute("aria-pressed") == "false"
        assert toggles.filter(has_text="ann").get_attribute("aria-pressed") == "true"

        rita.locator(VIEWER).hover()
        rita.keyboard.press("x")
        has(rita, "tool", "box")
        rita.mouse.click(*screen_point(rita, 35, 35))  # selects the region taken from ann's reading
        rita.keyboard.press("Delete")
        has(rita, "regions", "1")
        (sx, sy) = screen_point(rita, image.cols - 70, 40)
        (ex, ey) = screen_point(rita, image.cols - 30, 66)
        rita.mouse.move(sx, sy)
        rita.mouse.down()
        rita.mouse.move(ex, ey, steps=10)
        rita.mouse.up()
        has(rita, "regions", "2")
        has(rita, "unsaved", "1")
        settled(rita)
        reason = rita.get_by_role("textbox", name="Why this is the consensus")
        reason.fill("bob's lesion; ann's was a vessel; one both missed")
        reason.press("Enter")
        settled(rita)
        rita.get_by_role("button", name="Save the consensus").click()
        rita.get_by_text("Nothing to review", exact=False).wait_for()
        assert rita.locator(VIEWER).count() == 0  # the viewer closed with the image's review
        rita.context.close()

    (consensus,) = [a for a in list_annotations(engine=engine, image_id=1) if a.annotator == "consensus"]
    boxes = sorted(r.bbox for r in consensus.regions)
    assert len(boxes) == 2 and boxes[0] == [120, 120, 30, 30]
    assert boxes[1] == pytest.approx([image.cols - 70, 40, 40, 26], abs=1.5)
    assert consensus.image_label == "cancerous"  # the image label from the merge's default reader (ann)
    with Session(engine) as session:
        row = session.get(Annotation, consensus.id)
        rita_id = session.exec(select(User.id).where(User.name == "rita")).one()
    assert row.adjudicated_by == rita_id and row.sources == sorted(readings.values())
    assert row.reason == "bob's lesion; ann's was a vessel; one both missed"
    assert {a.annotator for a in list_annotations(engine=engine)} == {"ann", "bob", "consensus"}
    assert get_image(1, engine=engine).leased_by is None


def test_a_reader_cannot_open_the_consensus(disagreeing, chromium) -> None:
    with served(disagreeing.home, MEDAL_WORKER="off") as url:
        ann = open_as(chromium, url, "ann", "/review")
        ann.locator(f'{VIEWER}[data-ready="1"]').wait_for(timeout=30_000)  # her own queue on the Label page
        settled(ann)
        assert ann.get_by_role("heading", name="Review", exact=True).count() == 0
        assert ann.get_by_role("button", name="Edit the consensus in the viewer").count() == 0
        assert ann.locator(".mv-toolbar button.mv-reader").count() == 0 and attr(ann, "reader-regions") == "0"
        assert attr(ann, "image-id") != "1"  # she read image 1: never shown bob's reading
        ann.context.close()
