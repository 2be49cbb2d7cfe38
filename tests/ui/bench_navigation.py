"""Benchmark: from the Images page to a drawn image in Chromium; prints numbers (run it on a quiet machine).

    python -m tests.ui.bench_navigation [--runs 5] [--json]     (from the repository root)

On the demo project (336 images, 14 patients), served by `streamlit run app.py` on loopback, as an admin:

- ``open_in_label_ms``: a click on a thumbnail's "Open in Label" until the viewer has drawn that image
  (``data-ready`` with its id);
- ``compare_with_prior_ms``: a click on the patient timeline's "Compare … with its prior" until the
  viewer has drawn the follow-up with the prior pane open beside it;
- ``images_page_ms``: a click on "Images" in the navigation until its thumbnails are on screen.

Each figure: median, min and max over ``--runs`` clicks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labeling.access import add_user
from labeling.intake import create_demo
from storage import Project
from tests.support.app_server import label_page

VIEWER = '[data-testid="medal-viewer"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def measure(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        project = Project.open(home)
        create_demo(project=project)
        add_user("bench", "bench-password", "admin", engine=project.engine)
        project.close()
        with label_page(home, "bench", "bench-password") as page:
            times: dict[str, list[float]] = {"images_page_ms": [], "open_in_label_ms": [],
                                             "compare_with_prior_ms": []}
            for run in range(runs):
                times["images_page_ms"].append(_to_images(page))
                buttons = page.get_by_role("link", name="Open in Label")
                target = buttons.nth(run + 1)
                wanted = target.evaluate("b => b.closest('[data-testid=stVerticalBlock]').innerText")
                image_id = wanted.split("#", 1)[1].split()[0]
                start = time.perf_counter()
                target.click()
                page.locator(f'{VIEWER}[data-ready="1"][data-image-id="{image_id}"]').wait_for()
                times["open_in_label_ms"].append((time.perf_counter() - start) * 1000)
                page.locator(IDLE).wait_for()
                _to_images(page)
                compare = page.get_by_role("link", name="with its prior")
                start = time.perf_counter()
                compare.first.click()
                page.locator(f'{VIEWER}[data-ready="1"][data-prior="1"][data-prior-image-id]').wait_for()
                times["compare_with_prior_ms"].append((time.perf_counter() - start) * 1000)
                page.locator(IDLE).wait_for()
    return {name: {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
                   "max": round(max(values), 1), "n": len(values)} for name, values in times.items()}


def _to_images(page: object) -> float:
    start = time.perf_counter()
    page.get_by_role("link", name="Images").click()
    page.get_by_role("link", name="Open in Label").first.wait_for()
    page.locator('[data-testid="stImage"] img').first.wait_for()
    page.locator(IDLE).wait_for()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.runs)
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
