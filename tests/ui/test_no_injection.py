"""User and DICOM text is shown as text in a real browser: no Markdown image, no HTML, no fetch.

A loopback "beacon" server stands for an attacker's host: class names, a user name and DICOM header
values point at it with Markdown images and HTML, and the pages that show them must make the browser
request nothing from it, while the text itself stays readable on the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pydicom
import pytest
from pydicom import config as pydicom_config

from labeling.access import add_user
from labeling.intake import import_paths
from labeling.labels import save_class
from storage import Project
from tests.conftest import pydicom_file
from tests.support.app_server import CHROMIUM, served, submit_log_in

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")


class Beacon(ThreadingHTTPServer):
    """Records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                beacon.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path}"


@pytest.fixture(scope="module")
def beacon() -> Iterator[Beacon]:
    server = Beacon()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def hostile_ct(folder: Path, beacon: Beacon) -> Path:
    """CT_small with a Markdown image as its Modality and as its window's name."""
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.Modality = f"![m]({beacon.url('modality')})"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.WindowCenterWidthExplanation = f"![w]({beacon.url('window')})"
    path = folder / "hostile.dcm"
    with pydicom_config.disable_value_validation():
        ds.save_as(path)
    return path


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory, beacon: Beacon) -> Iterator[str]:
    """A project whose class names, users and DICOM text point at the beacon, served by ``streamlit run``."""
    home = tmp_path_factory.mktemp("hostile") / "medal-home"
    project = Project.open(home)
    save_class(f"![c]({beacon.url('class')})", "#f58231", engine=project.engine)
    save_class(f'<img src="{beacon.url("html")}">', "#911eb4", engine=project.engine)
    add_user(f"![u]({beacon.url('user')})", "someone-password", "annotator", engine=project.engine)
    add_user("boss", "boss-password", "admin", engine=project.engine)
    report = import_paths([hostile_ct(tmp_path_factory.mktemp("files"), beacon)], project=project)
    assert report.images == 1
    project.close()
    with served(home, MEDAL_WORKER="off") as url:
        yield url


def settled(page: object) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def open_page(page: object, title: str) -> None:
    """Click a page in the navigation once the app is idle; click again if a busy app dropped the click."""
    for attempt in range(3):
        settled(page)
        page.get_by_role("link", name=title).click()
        try:
            page.get_by_role("heading", name=title).wait_for(timeout=20_000)
            break
        except playwright_api.TimeoutError as error:
            if attempt == 2:  # show what the page shows instead
                raise AssertionError(f"{title} did not open: {page.locator('body').inner_text()[:1500]}") from error
    settled(page)


def test_names_and_header_values_render_as_text_and_fetch_nothing(hostile_app: str, beacon: Beacon,
                                                                   chromium: object) -> None:
    page = chromium.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(hostile_app)
    submit_log_in(page, "boss", "boss-password")
    page.get_by_role("heading", name="Image 1").wait_for()  # Label: class buttons, window names, header
    page.get_by_text("Keyboard shortcuts").click()
    page.get_by_text(f"![c]({beacon.url('class')})").first.wait_for()
    page.get_by_text(f"![w]({beacon.url('window')})").first.wait_for()
    shown = {"Images": f"![m]({beacon.url('modality')})",  # the thumbnail's caption
             "Settings": f"![c]({beacon.url('class')})"}
    for title, text in shown.items():
        open_page(page, title)
        page.get_by_text(text).first.wait_for(state="attached")
        page.wait_for_timeout(1000)
    page.close()
    assert beacon.requests == []
