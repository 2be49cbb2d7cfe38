"""Where the model looks on pictures it was not developed on: lesions of very different sizes (window scales),
the windows it is wrongly sure of (hard negatives it points at itself, ``learner/mining.py``), and where a flat
heatmap peaks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from benchmarks import bench_real
from learner.mining import MINED_PER_IMAGE, MINED_PER_SCALE, hottest_of_all_scales, windows_to_mine

SIDE = 128


def sized_folder(folder: Path, count: int = 64) -> Path:
    """16-bit pictures of textured background, three in four with a bright round lesion that is either small
    (radius 4–6 px) or large (radius 28–36 px) — one window scale cannot fit both."""
    rng = np.random.default_rng(5)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    truth = {}
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    for index in range(count):
        values = 1000 + rng.normal(0, 25, (SIDE, SIDE))
        mask = np.zeros((SIDE, SIDE), np.uint8)
        if index % 4:
            radius = float(rng.uniform(4, 6) if index % 2 else rng.uniform(28, 36))
            cx, cy = rng.uniform(radius + 4, SIDE - radius - 4, 2)
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
            values[inside] += 300
            mask[inside] = 255
        name = f"case_{index:02d}.png"
        PILImage.fromarray(np.clip(values, 0, 65535).astype(np.uint16)).save(folder / "images" / name)
        PILImage.fromarray(mask).save(folder / "masks" / name)
        truth[name] = {"image": f"images/{name}", "mask": f"masks/{name}", "has_finding": bool(mask.any()),
                       "patient": f"P{index}"}
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder


def test_lesions_small_and_large_get_the_peak_and_lesion_free_pictures_no_corner_peak(tmp_path: Path) -> None:
    """Each region is trained at its own scale and the dense pass looks at every scale the regions have; a flat
    heatmap of a lesion-free picture peaks in its middle, not in its top-left corner (the first hottest cell)."""
    report = bench_real(sized_folder(tmp_path / "sized"), labels=32, seeds=1)
    (run,) = report["runs"]
    assert run["peak_on_lesion"] >= 0.8, run
    assert run["peaks_at_edge"] <= 0.25, run


def test_mined_windows_are_the_hottest_away_from_the_regions_and_inside_the_picture() -> None:
    heat = np.zeros((32, 32), np.float32)
    heat[0, 10] = 0.9  # on the top edge
    heat[16, 16] = 0.95  # on the drawn region
    heat[28, 28] = 0.6
    heat[20, 4] = 0.1  # below the threshold
    boxes = windows_to_mine(heat, (128, 128), 24, avoid=((56.0, 56.0, 16.0, 16.0),))
    # the edge's window kept inside the picture; the one on the region left out
    assert [box for _, box in boxes] == [(30, 0, 24), (102, 102, 24)]


def test_nothing_is_mined_where_the_model_is_nowhere_sure() -> None:
    assert windows_to_mine(np.full((16, 16), 0.2, np.float32), (64, 64), 16, avoid=()) == []


def test_one_scale_gives_at_most_its_share_of_windows() -> None:
    heat = np.zeros((64, 64), np.float32)
    for index in range(20):  # twenty separate hot spots, hotter to the right
        heat[8 + 16 * (index // 5), 6 + 12 * (index % 5)] = 0.5 + 0.02 * index
    boxes = windows_to_mine(heat, (256, 256), 16, avoid=())
    assert len(boxes) == MINED_PER_SCALE
    assert [round(found, 2) for found, _ in boxes] == [round(0.5 + 0.02 * index, 2) for index in range(19, 13, -1)]


def test_the_small_windows_mistakes_are_mined_beside_the_large_windows_hotter_ones() -> None:
    """The largest windows are hot wherever they hold anything odd (the edge, text): their six must not take
    every place, so the small windows' mistakes (a caliper, a speckle blob) are mined too."""
    large = [(0.95 - 0.01 * index, (index * 40, 0, 120)) for index in range(MINED_PER_SCALE)]
    small = [(0.6 - 0.01 * index, (index * 30, 200, 24)) for index in range(MINED_PER_SCALE)]
    kept = hottest_of_all_scales(large + small)
    assert len(kept) == MINED_PER_IMAGE == 2 * MINED_PER_SCALE
    assert {box for _, box in small} <= set(kept)
    assert kept[0] == large[0][1]
    triple = hottest_of_all_scales(large + small + [(0.7, (0, 0, 60))] * MINED_PER_SCALE)
    assert len(triple) == MINED_PER_IMAGE and (0, 0, 60) in triple and small[-1][1] not in triple
