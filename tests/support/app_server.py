"""What the browser tests share: Debian's Chromium and `streamlit run app.py` serving a project on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("streamlit exited before serving")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not answer within 60 s")


@contextmanager
def served(home: Path, port: int | None = None, **settings: str) -> Iterator[str]:
    """The app serving the project at ``home`` (plus any ``MEDAL_*`` settings) on ``port`` (a free loopback
    port when None); yields its URL. The server's output goes to ``home/streamlit.log``."""
    port = port or free_port()
    with (home / "streamlit.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env={**os.environ, "MEDAL_HOME": str(home), **settings}, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def submit_log_in(page: object, name: str, password: str) -> None:
    """Fill the log-in form and send it."""
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_as(browser: object, url: str, name: str, path: str = "") -> object:
    """A page of a new browser context (its own cookies: its own log-in) logged in as ``name``."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url + path)
    submit_log_in(page, name, f"{name}-password")
    return page


@contextmanager
def label_page(home: Path, name: str, password: str) -> Iterator[object]:
    """The benchmarks' browser: the app serving ``home`` (no worker), a 1600×1000 Chromium page logged in as
    ``name``, once the Label page's viewer has drawn its first image."""
    with served(home, MEDAL_WORKER="off") as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        submit_log_in(page, name, password)
        page.locator('[data-testid="medal-viewer"][data-ready="1"]').wait_for()
        yield page
