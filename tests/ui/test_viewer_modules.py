"""The viewer's ES modules: served by Medal's own route (so the component's sibling imports work without a
build step), and their pure parts (VOI, geometry, brush masks, pixel decoding) unit-tested without a page —
with Node where it is installed, else once in Chromium."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from starlette.requests import Request

from labeling.ui.web_routes import VIEWER_MODULES, viewer_module
from tests.support.app_server import CHROMIUM, chromium_browser

ROOT = Path(__file__).resolve().parents[2]
PURE_TESTS = Path(__file__).parent / "viewer_js" / "pure_parts.mjs"
EXPECTED_TESTS = 9


def _get(name: str, headers: dict[str, str] | None = None):
    raw = [(key.encode(), value.encode()) for key, value in (headers or {}).items()]
    request = Request({"type": "http", "method": "GET", "path": f"/medal/viewer/{name}", "headers": raw,
                       "query_string": b"", "path_params": {"name": name}})
    return asyncio.run(viewer_module(request))


def test_the_route_serves_each_module_as_javascript_and_304_when_unchanged() -> None:
    names = sorted(p.relative_to(VIEWER_MODULES).as_posix() for p in VIEWER_MODULES.rglob("*.js"))
    assert {"viewer.js", "voi.js", "geometry.js", "mask.js", "pixels.js", "keys.js", "drafts.js", "common.js",
            "slices.js", "viewport.js", "render.js", "regions.js", "input.js", "tools/index.js",
            "tools/box.js", "tools/polygon.js", "tools/freehand.js", "tools/brush.js", "tools/outline.js",
            "tools/length.js", "tools/pan.js", "tools/wl.js", "tools/edit.js"} <= set(names)
    for name in names:
        response = _get(name)
        assert response.status_code == 200 and response.media_type == "text/javascript"
        assert response.body == (VIEWER_MODULES / name).read_bytes()
        assert response.headers["cache-control"] == "no-cache"
    etag = _get("voi.js").headers["etag"]
    assert _get("voi.js", {"if-none-match": etag}).status_code == 304


@pytest.mark.parametrize("name", ["../__init__.py", "..%2F__init__.py", "VIEWER.JS", "viewer.css", "nothere.js", "",
                                  "tools/../viewer.js", "../viewer.js", "tools/tools/box.js", "/etc/passwd"])
def test_the_route_serves_nothing_else(name: str) -> None:
    response = _get(name)
    assert response.status_code == 404 and b"__init__" not in response.body


def _with_node() -> dict:
    script = f"import({json.dumps(PURE_TESTS.as_uri())}).then(async m => console.log(JSON.stringify(await m.runAll())))"
    done = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class _QuietFiles(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def _in_chromium() -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with chromium_browser() as browser:
            page = browser.new_page()
            page.goto(f"{base}/README.md")
            return page.evaluate("async (url) => (await import(url)).runAll()",
                                 f"{base}/{PURE_TESTS.relative_to(ROOT).as_posix()}")
    finally:
        server.shutdown()


def test_the_pure_modules_pass_their_unit_tests() -> None:
    if shutil.which("node"):
        report = _with_node()
    elif Path(CHROMIUM).exists():
        report = _in_chromium()
    else:
        pytest.skip("neither Node nor Debian's chromium is here: the README's test command installs chromium")
    assert report["failures"] == {}
    assert report["count"] == EXPECTED_TESTS
