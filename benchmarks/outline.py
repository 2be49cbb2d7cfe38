"""``medal bench outline``: how well and how fast the quick outline finds a lesion from a rough box.

Quality: on the demo (built in a temporary project), every *Cancerous* true region gets a rough box (its
bounding box grown by 10–40 % on each side and shifted by up to 10 %, from a seeded generator); the
outline found in it, on the picture the clinician sees, is compared with the truth by Dice (both
polygons rasterised); the same on ``SPECKLE_PICTURES`` ultrasound-like pictures (``benchmarks.speckle``: dark
lesions with soft edges in speckle, which the demo lacks), beside the ellipse inscribed in each box.
Speed: the median time of one outline on a 512×512 picture (a demo CT slice scaled up), with a ~60×60 box
around its lesion and with a ~200×200 one.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from skimage.draw import polygon
from sqlmodel import Session, select

from benchmarks.ingest import fresh_project
from benchmarks.speckle import lesion_box, speckled_lesion
from labeling.intake import create_demo, demo_folder
from labeling.labels import mask_dice, outline_in_box, render_frame
from storage import Image, Project

LESION = "Cancerous"
LATENCY_SIZE = 512
LATENCY_BOXES = (60, 200)
LATENCY_RUNS = 20
SPECKLE_PICTURES = 50


def demo_lesions(project: Project) -> Iterator[tuple[str, np.ndarray, dict[str, Any]]]:
    """``(modality, picture, region)`` for every Cancerous true region of the demo in ``project``, the
    picture as the clinician sees it (8-bit grey), in image id order."""
    truth = json.loads((demo_folder(project=project) / "truth.json").read_text())
    with Session(project.engine) as session:
        images = session.exec(select(Image).order_by(Image.id)).all()
    for image in images:
        regions = [r for r in truth.get(image.sop_instance_uid, {}).get("regions", []) if r["label"] == LESION]
        if not regions:
            continue
        picture = render_frame(image, project=project)
        grey = picture if picture.ndim == 2 else picture[..., :3].mean(axis=2)
        for region in regions:
            yield image.modality, grey, region


def rough_box(bbox: list[float], rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A clinician's rough box around a lesion whose bounding box is ``bbox`` (x, y, w, h): each side pushed
    out by 10–40 % of the lesion's size, the whole shifted by up to ±10 %."""
    return _grown_box(bbox, rng, 0.1, 0.4, 0.1)


def snug_box(bbox: list[float], rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A box 10–40 % larger than the lesion whose bounding box is ``bbox`` (x, y, w, h) in all: each side pushed
    out by 5–20 % of the lesion's size, the whole shifted by up to ±5 %. The external review's figures on real
    ultrasound (filling the box 0.64, the inscribed ellipse ~0.74) are what these boxes give on lesions of that
    shape (``rough_box``, twice as loose, gives 0.49 and 0.59 on the same frames)."""
    return _grown_box(bbox, rng, 0.05, 0.2, 0.05)


def _grown_box(bbox: list[float], rng: np.random.Generator, least: float, most: float, shift: float
               ) -> tuple[float, float, float, float]:
    """``bbox`` (x, y, w, h) with each side pushed out by ``least``–``most`` of the lesion's size and the whole
    shifted by up to ±``shift`` of it, drawn from ``rng``."""
    x, y, w, h = bbox
    left, right, top, bottom = rng.uniform(least, most, 4)
    shift_x, shift_y = rng.uniform(-shift, shift, 2)
    return (x - (left - shift_x) * w, y - (top - shift_y) * h, w * (1 + left + right), h * (1 + top + bottom))


def rasterise(points: list[list[float]], shape: tuple[int, ...]) -> np.ndarray:
    """The pixels inside a polygon of ``[x, y]`` points."""
    mask = np.zeros(shape[:2], dtype=bool)
    xy = np.asarray(points, dtype=float)
    rr, cc = polygon(xy[:, 1], xy[:, 0], shape[:2])
    mask[rr, cc] = True
    return mask


def box_mask(box: tuple[float, float, float, float], shape: tuple[int, int], ellipse: bool,
             scale: float = 1.0) -> np.ndarray:
    """The box filled, or the ellipse inscribed in it (shrunk about its centre by ``scale``)."""
    x, y, w, h = box
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    if ellipse:
        return ((cols - x - w / 2) / (scale * w / 2)) ** 2 + ((rows - y - h / 2) / (scale * h / 2)) ** 2 <= 1
    return (cols >= x) & (cols <= x + w) & (rows >= y) & (rows <= y + h)


def dice(found: list[list[float]], truth: list[list[float]], shape: tuple[int, ...]) -> float:
    """Dice overlap of two polygons on an image of ``shape``."""
    return mask_dice(rasterise(found, shape), rasterise(truth, shape))


Boxes = Callable[[list[float], np.random.Generator], tuple[float, float, float, float]]


def outline_dice(project: Project, seed: int = 0, boxes: Boxes = rough_box) -> list[float]:
    """Dice of the quick outline against the truth, for every demo lesion, with seeded ``boxes`` (rough or snug)."""
    rng = np.random.default_rng(seed)
    scores = []
    for _, picture, region in demo_lesions(project):
        found = outline_in_box(picture, boxes(region["bbox"], rng))
        scores.append(dice(found, region["points"], picture.shape))
    return scores


def speckle_dice(seed: int = 0, pictures: int = SPECKLE_PICTURES, boxes: Boxes = rough_box
                 ) -> tuple[list[float], list[float]]:
    """Dice of the quick outline and of the ellipse inscribed in the box, on seeded ultrasound-like pictures,
    with seeded ``boxes`` (rough or snug)."""
    rng = np.random.default_rng(seed)
    found, inscribed = [], []
    for _ in range(pictures):
        picture, mask = speckled_lesion(rng)
        box = boxes(lesion_box(mask), rng)
        found.append(mask_dice(rasterise(outline_in_box(picture, box), mask.shape), mask))
        inscribed.append(mask_dice(box_mask(box, mask.shape, ellipse=True), mask))
    return found, inscribed


def _latency_case(project: Project) -> tuple[np.ndarray, float, float]:
    """The demo CT slice with the largest lesion, scaled up to 512×512, and that lesion's centre there."""
    modality, picture, region = max((case for case in demo_lesions(project) if case[0] == "CT"),
                                    key=lambda case: case[2]["bbox"][2])
    scale = LATENCY_SIZE / picture.shape[0]
    big = np.asarray(PILImage.fromarray(picture.astype(np.uint8)).resize((LATENCY_SIZE, LATENCY_SIZE),
                                                                         PILImage.Resampling.BILINEAR))
    x, y, w, h = region["bbox"]
    return big, (x + w / 2) * scale, (y + h / 2) * scale


def _median_ms(picture: np.ndarray, box: tuple[float, float, float, float], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        outline_in_box(picture, box)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def bench_outline(out: Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Dice over all demo lesions and outline latency on a 512×512 picture, on a temporary demo project
    (the configured project is never touched)."""
    with fresh_project() as project:
        started = time.perf_counter()
        create_demo(project=project)
        setup_s = time.perf_counter() - started
        scores = outline_dice(project, seed)
        speckle, inscribed = speckle_dice(seed)
        snug_scores = outline_dice(project, seed, snug_box)
        snug_speckle, snug_inscribed = speckle_dice(seed, boxes=snug_box)
        picture, cx, cy = _latency_case(project)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    latency = {f"latency_ms_box{side}": round(_median_ms(picture, (cx - side / 2, cy - side / 2, side, side),
                                                         LATENCY_RUNS), 2)
               for side in LATENCY_BOXES}
    result = {
        "regions": len(scores),
        "dice_mean": round(float(np.mean(scores)), 4),
        "dice_median": round(float(np.median(scores)), 4),
        "dice_min": round(float(np.min(scores)), 4),
        "dice_p10": round(float(np.percentile(scores, 10)), 4),
        "speckle_pictures": len(speckle),
        "speckle_dice_mean": round(float(np.mean(speckle)), 4),
        "speckle_dice_min": round(float(np.min(speckle)), 4),
        "speckle_ellipse_dice_mean": round(float(np.mean(inscribed)), 4),
        "snug_dice_mean": round(float(np.mean(snug_scores)), 4),
        "snug_speckle_dice_mean": round(float(np.mean(snug_speckle)), 4),
        "snug_speckle_ellipse_dice_mean": round(float(np.mean(snug_inscribed)), 4),
        **latency,
        "latency_runs": LATENCY_RUNS,
        "image_size": f"{LATENCY_SIZE}x{LATENCY_SIZE}",
        "box_protocol": "truth bbox grown 10-40% per side, shifted up to ±10%; snug_*: 5-20% per side, ±5%",
        "seed": seed,
        "cpus": os.cpu_count(),
        "load_1min": None if load is None else round(load, 2),
        "setup_s": round(setup_s, 1),
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
    return result
