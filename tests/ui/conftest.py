"""The browser the browser tests share (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app_server import CHROMIUM, chromium_browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Skips (never errors) where Debian's chromium is missing, like the modules that mark themselves."""
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is missing: the README's test command installs it")
    with chromium_browser() as browser:
        yield browser
