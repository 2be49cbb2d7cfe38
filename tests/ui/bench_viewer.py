"""Benchmark of the Label page's viewer in Chromium: prints numbers (run it on a quiet machine).

    python -m tests.ui.bench_viewer [--saves 15] [--json]     (from the repository root)

On a fresh project holding one 512×512 CT series of 100 slices (realistic HU values, as a scanner
writes them), served by `streamlit run app.py` on loopback:

- ``save_next_key_ms``, ``save_next_button_ms``: Save & next (by the key `s`, and by the side panel's
  button; an image label set by key) until the next image is drawn (the viewer's ``data-ready`` for the
  new image id), its pixels already fetched (the queue's next image is another slice of the series):
  median and p95 over ``--saves`` images each, and where the time went (medians of both);
- ``wl_fps``: pictures redrawn per second while the right button drags window/level for 2 s;
- ``scroll_slices_per_s``: slices drawn per second scrolling (ArrowDown) through the 100 slices once
  they are loaded;
- ``slice_bytes``: bytes on the wire for one 512×512 CT slice (gzip-compressed int16 modality values),
  median over the slices fetched, from the browser's resource timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from labeling.access import add_user
from labeling.intake import SeriesPlace, SyntheticPatient, import_paths, uid, write_ct_slice
from storage import Project
from tests.support.app_server import label_page

VIEWER = '[data-testid="medal-viewer"]'
SLICES = 100


def write_patients(folder: Path, patients: int) -> None:
    """``patients`` single-slice CT studies of other patients: the queue's next image after the series is
    another series (the cold start goes round the patients), whose pixels are not the series' own."""
    rng = np.random.default_rng(1)
    for number in range(patients):
        place = SeriesPlace(SyntheticPatient(f"BENCHOTHER{number}", f"Other^{number}"), date(2025, 1, 1),
                            uid("bo", number, "study"), uid("bo", number, "series"), uid("bo", number, "for"))
        hu = np.full((512, 512), -1000.0, dtype=np.float32)
        hu[96:416, 64:448] = 40 + rng.normal(0, 12, (320, 384))
        write_ct_slice(folder / f"other{number:03d}.dcm", hu, place, index=0, spacing=0.7, thickness=1.0)


def write_series(folder: Path) -> None:
    """A 512×512 chest-like CT series: body ellipse with noise, lungs, a spine; 12-bit values."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    body = ((xx - 256) / 220) ** 2 + ((yy - 256) / 170) ** 2 <= 1
    lungs = ((((xx - 170) / 70) ** 2 + ((yy - 240) / 100) ** 2 <= 1)
             | (((xx - 342) / 70) ** 2 + ((yy - 240) / 100) ** 2 <= 1))
    spine = (xx - 256) ** 2 + (yy - 380) ** 2 <= 25**2
    place = SeriesPlace(SyntheticPatient("BENCHVIEW", "Bench^Viewer"), date(2025, 1, 1),
                        uid("bv", "study"), uid("bv", "series"), uid("bv", "for"))
    for index in range(SLICES):
        hu = np.full((512, 512), -1000.0, dtype=np.float32)
        hu[body] = 40 + rng.normal(0, 12, int(body.sum()))
        hu[lungs] = -850 + rng.normal(0, 30, int(lungs.sum()))
        hu[spine] = 700 + rng.normal(0, 40, int(spine.sum()))
        write_ct_slice(folder / f"{index:03d}.dcm", hu, place, index=index, spacing=0.7, thickness=1.0)


def measure(saves: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        with label_page(_bench_project(Path(scratch), "series", write_series), "bench", "bench-password") as page:
            fetched = "performance.getEntriesByType('resource').filter(e => e.name.includes('/medal/pixels/')).length"
            page.wait_for_function(f"{fetched} >= {SLICES}", timeout=120_000)  # the series' prefetch is over
            result = {"wl_fps": _wl_fps(page), "scroll_slices_per_s": _scroll_rate(page),
                      "slice_bytes": _slice_bytes(page)}
            result.update(_save_next(page, saves))
        # Save & next where the next image is another patient's: drawn from what was fetched while the reader
        # read (0.5 s here, seconds in practice).
        others_home = _bench_project(Path(scratch), "others", lambda folder: write_patients(folder, 2 * saves + 2))
        with label_page(others_home, "bench", "bench-password") as page:
            others = _save_next(page, saves, read_ms=500)
            result.update({f"{key.removesuffix('_ms')}_other_patient_ms": value for key, value in others.items()
                           if key.startswith("save_next_") and key.endswith("_ms")})
    return result


def _bench_project(scratch: Path, name: str, write: Callable[[Path], None]) -> Path:
    """A project in ``scratch`` holding what ``write`` puts in a folder, and the annotator "bench"; its home."""
    home, files = scratch / f"home-{name}", scratch / name
    files.mkdir()
    write(files)
    project = Project.open(home)
    import_paths([files], project=project)
    add_user("bench", "bench-password", "annotator", engine=project.engine)
    project.close()
    return home


def _attr(page: object, name: str) -> str:
    return page.locator(VIEWER).get_attribute(f"data-{name}")


# The next script run, from its start to its end, seen in the page.
WATCH_RUN = """() => {
    window.__ranOnce = false;
    const app = document.querySelector('[data-testid=stApp]');
    let started = false;
    const observer = new MutationObserver(() => {
        const state = app.dataset.testScriptState;
        if (state === 'running') started = true;
        if (started && state !== 'running') { window.__ranOnce = true; observer.disconnect(); }
    });
    observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


# Timed in the page, frame by frame (a locator's polling would add up to half a second).
WATCH_NEXT = """(shown) => {
    const viewer = () => {
        for (const host of document.querySelectorAll('[data-testid=stBidiComponentIsolated]')) {
            const root = host.shadowRoot && host.shadowRoot.querySelector('[data-testid=medal-viewer]');
            if (root) return root;
        }
        return document.querySelector('[data-testid=medal-viewer]');
    };
    window.__tNext = null;
    window.__tRun = null;
    window.__tRan = null;
    window.__t0 = performance.now();
    const app = document.querySelector('[data-testid=stApp]');
    const check = () => {
        const now = performance.now() - window.__t0;
        const state = app && app.dataset.testScriptState;
        if (window.__tRun === null && state === 'running') window.__tRun = now;
        if (window.__tRun !== null && window.__tRan === null && state !== 'running') window.__tRan = now;
        const root = viewer();
        if (root && root.dataset.ready === '1' && root.dataset.imageId !== shown) {
            window.__tNext = now;
        } else {
            requestAnimationFrame(check);
        }
    };
    requestAnimationFrame(check);
}"""


def _save_next(page: object, saves: int, read_ms: int = 0) -> dict[str, object]:
    """Save & next by the `s` key and by the side panel's button, alternately (the same load on both), each
    after ``read_ms`` on the image."""
    times: dict[str, list[float]] = {"key": [], "button": []}
    parts: dict[str, list[float]] = {"key or click until the script runs": [],
                                     "script start until the next image is drawn": [], "whole script run": []}
    samples: list[dict[str, object]] = []
    for number in range(2 * saves):
        how = "key" if number % 2 == 0 else "button"
        shown = _attr(page, "image-id")
        page.locator(VIEWER).hover()
        page.evaluate(WATCH_RUN)
        page.keyboard.press("h")
        page.locator(f'{VIEWER}[data-image-label="healthy"]').wait_for()
        # The label key's report reaches the server 30-60 ms later: wait for the run it starts to end (a bare
        # "not running" check passes before it starts, and Save & next then waits for that run).
        page.wait_for_function("window.__ranOnce === true", timeout=60_000)
        if read_ms:
            page.wait_for_timeout(read_ms)
        page.evaluate(WATCH_NEXT, shown)
        if how == "key":
            page.keyboard.press("s")
        else:
            page.get_by_role("button", name="Save & next").click()
        page.wait_for_function("window.__tNext !== null", timeout=60_000)
        total, run, ran = page.evaluate("[window.__tNext, window.__tRun, window.__tRan]")
        times[how].append(total)
        samples.append({"how": how, "ms": round(total, 1), "until_script_ms": run and round(run, 1),
                        "script_run_ms": ran and run and round(ran - run, 1)})
        if run is not None:  # where the time went (seen at frame resolution: ±16 ms)
            parts["key or click until the script runs"].append(run)
            parts["script start until the next image is drawn"].append(total - run)
            if ran is not None:  # the side panel is drawn after the viewer: the run goes on after it
                parts["whole script run"].append(ran - run)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    result: dict[str, object] = {f"save_next_{how}_ms": _spread(values) for how, values in times.items()}
    result["save_next_slowest"] = sorted(samples, key=lambda sample: -sample["ms"])[:3]
    result["save_next_breakdown_median_ms"] = {name: round(statistics.median(values), 1)
                                               for name, values in parts.items() if values}
    return result


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[max(0, int(np.ceil(len(ordered) * 0.95)) - 1)], 1), "n": len(ordered)}


def _wl_fps(page: object) -> float:
    page.evaluate("""() => {
        window.__redraws = 0;
        const put = CanvasRenderingContext2D.prototype.putImageData;
        CanvasRenderingContext2D.prototype.putImageData = function (...args) {
            window.__redraws++;
            return put.apply(this, args);
        };
    }""")
    box = page.locator(VIEWER).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down(button="right")
    start, step = time.perf_counter(), 0
    while time.perf_counter() - start < 2.0:
        step += 1
        page.mouse.move(x + 150 * np.sin(step / 15), y + 100 * np.cos(step / 20))
    elapsed = time.perf_counter() - start
    page.mouse.up(button="right")
    return round(page.evaluate("window.__redraws") / elapsed, 1)


def _scroll_rate(page: object) -> float:
    page.keyboard.press("0")
    first = int(_attr(page, "slice-index"))
    start = time.perf_counter()
    for index in range(first + 1, SLICES):
        page.keyboard.press("ArrowDown")
        page.locator(f'{VIEWER}[data-slice-index="{index}"][data-ready="1"]').wait_for()
    elapsed = time.perf_counter() - start
    return round((SLICES - 1 - first) / elapsed, 1) if SLICES - 1 > first else 0.0


def _slice_bytes(page: object) -> int:
    sizes = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => e.name.includes('/medal/pixels/')).map(e => e.encodedBodySize || e.transferSize)""")
    return int(statistics.median(sizes)) if sizes else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.saves)
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
