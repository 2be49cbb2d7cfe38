"""The Label page in a real browser: `streamlit run app.py` on a demo project, Debian's Chromium
through Playwright. Draws on the canvas with the mouse and checks the database.

Screenshots go to ``test-artifacts/`` (or ``$MEDAL_TEST_ARTIFACTS``) and are not committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.intake.demo import create_demo
from labeling.labels.accounts import add_user
from labeling.labels.annotations import list_annotations
from labeling.labels.catalog import get_image
from labeling.ui.canvas import display_scale
from storage.db import dispose_engines, get_engine
from tests.ui.app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, served

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(os.environ.get("MEDAL_TEST_ARTIFACTS", ROOT / "test-artifacts"))
USERS = {"alice": "alice-password", "bob": "bob-password"}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A demo project and `streamlit run app.py` serving it on a free loopback port."""
    home = tmp_path_factory.mktemp("browser") / "medal-home"
    previous = os.environ.get("MEDAL_HOME")
    os.environ["MEDAL_HOME"] = str(home)
    dispose_engines()
    create_demo(labeled=0)
    for name, password in USERS.items():
        add_user(name, password, "annotator")
    dispose_engines()
    try:
        with served(home) as url:
            yield url, home
    finally:
        dispose_engines()
        if previous is None:
            os.environ.pop("MEDAL_HOME", None)
        else:
            os.environ["MEDAL_HOME"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _log_in(browser: object, url: str, name: str) -> object:
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(USERS[name])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=re.compile(r"^Image \d+")).wait_for()
    page.locator("canvas").last.wait_for()
    return page


def _image_id(page: object) -> int:
    heading = page.get_by_role("heading", name=re.compile(r"^Image \d+")).inner_text()
    return int(re.search(r"Image (\d+)", heading).group(1))


def _settled(page: object) -> None:
    """Wait until the script run is over and the canvas it drew has mounted."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    page.locator("canvas").last.wait_for()
    page.wait_for_timeout(300)


def _draw_box(page: object, start: tuple[float, float], end: tuple[float, float]) -> dict[str, float]:
    """Drag a box on the canvas from ``start`` to ``end`` (CSS px inside it); returns the canvas box."""
    _settled(page)
    canvas = page.locator("canvas").last
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=12)
    page.mouse.up()
    page.get_by_text(re.compile(r"Regions \(1\)")).wait_for()
    return box


def _save_and_wait(page: object, image_id: int) -> None:
    page.get_by_role("button", name=re.compile("Save & next")).click()
    page.get_by_role("heading", name=re.compile(rf"^Image (?!{image_id}\b)\d+")).wait_for()


def test_draw_a_cancerous_box_and_save(server: tuple[str, Path], browser: object) -> None:
    url, home = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _log_in(browser, url, "alice")
    image_id = _image_id(page)
    page.get_by_role("button", name=re.compile("Cancerous")).click()
    page.get_by_text(re.compile(r"Drawing box as")).wait_for()
    box = _draw_box(page, (60, 50), (160, 130))
    page.screenshot(path=str(ARTIFACTS / "label-box-drawn.png"))
    _save_and_wait(page, image_id)
    page.screenshot(path=str(ARTIFACTS / "label-after-save.png"))

    dispose_engines()
    saved = list_annotations(get_engine(), annotator="alice")
    assert [a.image_id for a in saved] == [image_id]
    (region,) = saved[0].regions
    assert region.label == "Cancerous" and region.shape == "rect"
    image = get_image(image_id)
    scale = display_scale(image.rows, image.cols) * box["width"] / round(image.cols * display_scale(image.rows, image.cols))
    expected = [60 / scale, 50 / scale, 100 / scale, 80 / scale]
    assert region.bbox == pytest.approx(expected, abs=3), (region.bbox, expected)

    # Back to the saved image: its region is on the canvas again; saving adds version 2, same place.
    page.get_by_role("button", name=re.compile("^Back")).click()
    page.get_by_role("heading", name=re.compile(rf"^Image {image_id}\b")).wait_for()
    page.get_by_text(re.compile(r"Regions \(1\)")).wait_for()
    page.screenshot(path=str(ARTIFACTS / "label-back-to-saved.png"))
    _save_and_wait(page, image_id)
    dispose_engines()
    (again,) = list_annotations(get_engine(), annotator="alice", image_id=image_id)
    assert again.version == 2 and again.regions[0].bbox == pytest.approx(region.bbox, abs=1)

    # A polygon: click three corners, then the first again to close it.
    image_id = _image_id(page)
    page.get_by_role("button", name=re.compile("^Polygon")).click()
    page.get_by_text(re.compile(r"Drawing polygon as")).wait_for()
    _settled(page)
    canvas = page.locator("canvas").last
    box = canvas.bounding_box()
    corners = [(50, 60), (200, 70), (120, 190), (50, 60)]
    for x, y in corners:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)
    page.get_by_text(re.compile(r"Regions \(1\)")).wait_for()
    page.screenshot(path=str(ARTIFACTS / "label-polygon.png"))
    _save_and_wait(page, image_id)
    dispose_engines()
    (polygon,) = list_annotations(get_engine(), annotator="alice", image_id=image_id)[0].regions
    image = get_image(image_id)
    scale = display_scale(image.rows, image.cols) * box["width"] / round(image.cols * display_scale(image.rows, image.cols))
    assert polygon.shape == "polygon" and len(polygon.points) == 3
    assert polygon.bbox == pytest.approx([50 / scale, 60 / scale, 150 / scale, 130 / scale], abs=3)
    page.close()


def test_two_users_at_once_never_share_an_image(server: tuple[str, Path], browser: object) -> None:
    url, _ = server
    pages = {name: _log_in(browser, url, name) for name in USERS}
    seen: dict[str, list[int]] = {name: [] for name in USERS}
    for _round in range(3):
        shown = {name: _image_id(page) for name, page in pages.items()}
        assert shown["alice"] != shown["bob"]
        for name, page in pages.items():
            seen[name].append(shown[name])
            _draw_box(page, (40, 40), (120, 110))
        for page in pages.values():  # both saves in flight together
            page.get_by_role("button", name=re.compile("Save & next")).click()
        for name, page in pages.items():
            page.get_by_role("heading", name=re.compile(rf"^Image (?!{shown[name]}\b)\d+")).wait_for()
    for name, page in pages.items():
        page.screenshot(path=str(ARTIFACTS / f"two-users-{name}.png"))
        page.close()
    dispose_engines()
    engine = get_engine()
    by_user = {name: {a.image_id for a in list_annotations(engine, annotator=name)} for name in USERS}
    assert by_user["bob"] == set(seen["bob"])
    assert set(seen["alice"]) <= by_user["alice"]
    assert not set(seen["alice"]) & set(seen["bob"])
