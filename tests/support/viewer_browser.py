"""The Label page's viewer in Chromium: log in, wait for it, read its testing contract (CONTRACT.md)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.app_server import ROOT, submit_log_in

ARTIFACTS = Path(os.environ.get("MEDAL_TEST_ARTIFACTS", ROOT / "test-artifacts"))
VIEWER = '[data-testid="medal-viewer"]'


def settled(page: object) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def ready(page: object, image_id: int | None = None) -> object:
    """The viewer once its slice is drawn (and showing ``image_id`` when given)."""
    selector = f'{VIEWER}[data-ready="1"]' + (f'[data-image-id="{image_id}"]' if image_id else "")
    page.locator(selector).wait_for(timeout=30_000)
    settled(page)
    return page.locator(VIEWER)


def has(page: object, name: str, value: object) -> None:
    """Wait until the viewer's ``data-NAME`` is ``value`` (CSS locators see into its shadow root)."""
    page.locator(f'{VIEWER}[data-{name}="{value}"]').wait_for(timeout=30_000)


def attr(page: object, name: str) -> str:
    return page.locator(VIEWER).get_attribute(f"data-{name}")


def log_in(chromium: object, url: str, name: str, size: tuple[int, int] = (1600, 1000), path: str = "") -> object:
    page = chromium.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(30_000)
    page.goto(url + path)
    submit_log_in(page, name, f"{name}-password")
    ready(page)
    return page


def screen_point(page: object, x: float, y: float) -> tuple[float, float]:
    """Where image pixel (x, y) is on the page, from the testing contract."""
    box = page.locator(VIEWER).bounding_box()
    scale = float(attr(page, "scale"))
    return box["x"] + float(attr(page, "offset-x")) + x * scale, box["y"] + float(attr(page, "offset-y")) + y * scale
