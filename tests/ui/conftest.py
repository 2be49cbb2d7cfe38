"""The browser the browser tests share (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.app_server import chromium_browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    pytest.importorskip("playwright.sync_api")
    with chromium_browser() as browser:
        yield browser
