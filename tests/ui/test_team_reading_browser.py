"""Team reading in a real browser (issue 25): two blinded readers in their own Chromium contexts read the same
images from their queues, disagree on one, and a reviewer in a third context merges the consensus on the Review
page; the export then carries the consensus. `streamlit run app.py` on a demo project, Debian's Chromium.

The viewer is read through its testing contract (``data-*`` attributes, ``labeling/ui/viewer/CONTRACT.md``); what
is saved is read from the database."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from labeling.access import add_user
from labeling.export import ExportOptions, export_dataset
from labeling.labels import ReadingPlan, get_image, list_annotations, list_images, review_queue, set_reading_plan
from labeling.labels.review import SAMPLED
from tests.support.app_server import CHROMIUM, open_as, served
from tests.support.viewer_browser import VIEWER, attr, has, ready, screen_point, settled

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")
ROLES = {"ann": "annotator", "bob": "annotator", "rita": "reviewer"}


@pytest.fixture
def team(project, make_demo):
    """The demo project, read by ann and bob (two blinded readers per image), reviewed by rita."""
    make_demo(0)
    for name, role in ROLES.items():
        add_user(name, f"{name}-password", role, engine=project.engine)
    set_reading_plan(ReadingPlan(readers=2), engine=project.engine)
    return project


def save_and_next(page: object) -> int:
    """Press `s` (Save & next); returns the image the viewer shows next."""
    shown = attr(page, "image-id")
    page.keyboard.press("s")
    page.locator(f'{VIEWER}[data-ready="1"]:not([data-image-id="{shown}"])').wait_for(timeout=30_000)
    settled(page)
    return int(attr(page, "image-id"))


def read_healthy(page: object) -> int:
    """The image label *healthy*, no region, Save & next; returns the image the viewer shows next."""
    page.keyboard.press("h")
    has(page, "image-label", "healthy")
    return save_and_next(page)


def draw_box(page: object, project, image_id: int) -> None:
    """A 40×26 px box (the box tool, class Cancerous) in the middle of the image."""
    image = get_image(image_id, engine=project.engine)
    page.locator(VIEWER).hover()
    page.keyboard.press("x")
    (sx, sy) = screen_point(page, image.cols / 2 - 20, image.rows / 2 - 13)
    (ex, ey) = screen_point(page, image.cols / 2 + 20, image.rows / 2 + 13)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=10)
    page.mouse.up()
    has(page, "regions", "1")


def widget(page: object, test_id: str, label: str) -> object:
    return page.get_by_test_id(test_id).filter(has=page.get_by_text(label, exact=True))


def options_of(page: object, box: object) -> list[str]:
    """Open a select box (or multiselect) by its button and read its options (the list stays open)."""
    box.get_by_role("button", name="Open", exact=True).click()
    listbox = page.get_by_role("listbox")
    listbox.wait_for()
    return [text.strip() for text in listbox.get_by_role("option").all_inner_texts()]


def close_list(page: object) -> None:
    """Escape closes the open list; the next click must not land while it is still closing."""
    page.keyboard.press("Escape")
    page.get_by_role("listbox").wait_for(state="detached")


def pick(page: object, box: object, option: str) -> None:
    """Choose ``option`` in a select box (its list closes on the choice)."""
    box.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    page.get_by_role("listbox").wait_for(state="detached")


def test_two_blinded_readers_disagree_and_a_reviewer_merges_the_consensus(team, chromium, tmp_path: Path) -> None:
    with served(team.home, MEDAL_WORKER="off") as url:
        # ann reads the first image her queue gives her: a lesion boxed, cancerous
        ann = open_as(chromium, url, "ann")
        ready(ann)
        first = int(attr(ann, "image-id"))
        draw_box(ann, team, first)
        ann.keyboard.press("c")
        has(ann, "image-label", "cancerous")
        second = save_and_next(ann)

        # bob's queue (second readings first) offers him the same image, without ann's reading
        bob = open_as(chromium, url, "bob")
        ready(bob)
        assert int(attr(bob, "image-id")) == first
        assert attr(bob, "regions") == "0" and attr(bob, "image-label") == "none"
        bob.get_by_text("Regions (0)", exact=True).wait_for()  # the side panel's summary: nothing drawn
        status = {i.id: i.status for i in list_images(engine=team.engine, blind_for="bob")}
        assert status[first] == "unlabeled"
        assert {i.id: i.status for i in list_images(engine=team.engine)}[first] == "labeled"  # not blinded
        images_tab = bob.context.new_page()  # the Images page in another tab: no image is labeled to him
        images_tab.goto(f"{url}/images")
        images_tab.get_by_role("heading", name="Images", exact=True).wait_for()
        settled(images_tab)
        pick(images_tab, widget(images_tab, "stSelectbox", "Status"), "labeled")
        images_tab.get_by_text("No images match", exact=False).wait_for()
        images_tab.get_by_text("0 image(s)", exact=True).wait_for()
        images_tab.close()

        # ann reads her second image (healthy); bob reads the first healthy (no region), then gets the second
        after_second = read_healthy(ann)
        assert int(attr(bob, "image-id")) == first
        assert read_healthy(bob) == second
        assert attr(bob, "regions") == "0"
        assert read_healthy(bob) not in (first, second)
        assert after_second not in (first, second)

        readings = {(a.annotator, a.image_id): a for a in list_annotations(engine=team.engine)}
        assert set(readings) == {("ann", first), ("ann", second), ("bob", first), ("bob", second)}
        assert len(readings["ann", first].regions) == 1 and readings["ann", first].image_label == "cancerous"
        assert not readings["bob", first].regions and readings["bob", first].image_label == "healthy"
        queue = review_queue(engine=team.engine, actor="rita")
        assert queue[0].image_id == first and "a finding marked by ann only" in queue[0].reasons
        assert [item.image_id for item in queue] in ([first], [first, second])  # the second only as the sample
        assert all(item.reasons == [SAMPLED] for item in queue[1:])

        rita = open_as(chromium, url, "rita", "/review")
        rita.get_by_role("heading", name="Review", exact=True).wait_for()
        settled(rita)
        images = widget(rita, "stSelectbox", f"{len(queue)} image(s) to review")
        listed = options_of(rita, images)
        assert [int(re.match(r"Image (\d+): ", text).group(1)) for text in listed] == [i.image_id for i in queue]
        close_list(rita)
        pick(rita, images, listed[0])
        settled(rita)
        rita.get_by_text("• a finding marked by ann only", exact=True).wait_for()
        rita.get_by_role("radiogroup").get_by_text("Merge regions", exact=True).click()
        regions = widget(rita, "stMultiSelect", "Regions to keep (merge)")
        assert options_of(rita, regions) == ["ann: a0 (Cancerous)"]  # bob drew none
        rita.get_by_role("option", name="ann: a0 (Cancerous)").click()
        regions.get_by_text("ann: a0 (Cancerous)", exact=True).first.wait_for()  # the chosen region's tag
        close_list(rita)
        pick(rita, widget(rita, "stSelectbox", "Image label from (merge)"), "ann")
        rita.get_by_role("textbox", name="Why this is the consensus").fill("bob missed ann's lesion")
        rita.get_by_role("button", name="Save the consensus").click()
        if len(queue) == 1:
            rita.get_by_text("Nothing to review", exact=False).wait_for()
        else:
            widget(rita, "stSelectbox", f"{len(queue) - 1} image(s) to review").wait_for()
        for page in (ann, bob, rita):
            page.context.close()

    (consensus,) = [a for a in list_annotations(engine=team.engine, image_id=first) if a.annotator == "consensus"]
    assert len(consensus.regions) == 1 and consensus.image_label == "cancerous"
    assert consensus.regions[0].bbox == pytest.approx(readings["ann", first].regions[0].bbox)
    assert [item.image_id for item in review_queue(engine=team.engine, actor="rita")] == \
        [item.image_id for item in queue[1:]]

    out = tmp_path / "out"
    export_dataset(out, ExportOptions(["csv"], deidentify=True, readings="consensus"), project=team)
    with (out / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {row["annotator"] for row in rows} == {"consensus"}
    assert len({row["image_file"] for row in rows}) == 1  # the one image with a consensus
