"""``medal bench localise``: do the heatmaps and proposals point at findings? Measured on the demo project.

The demo (``medal demo --labeled N``) is built in a temporary project with N images labelled from its
truth; the product's own loop trains and scores the pool, every heatmap included. Then, for the unlabeled
images: of those whose truth has a cancerous region, how often the heatmap's peak lies inside one (or within
``TOLERANCE_PX``); of those whose truth has none, how often a proposal appears at all.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.path import Path as Polygon
from sqlmodel import Session, select

from benchmarks.ingest import fresh_project
from labeling.intake import create_demo, demo_folder
from learner import prediction_rows, train_and_publish
from storage import Image, ImageStatus, Project

TOLERANCE_PX = 8.0
FINDING = "Cancerous"


def distance_to_polygon(point: tuple[float, float], polygon: list[list[float]]) -> float:
    """0 inside the polygon, else the distance in pixels to its nearest edge."""
    vertices = np.asarray(polygon, dtype=float)
    if Polygon(vertices).contains_point(point):
        return 0.0
    start, end = vertices, np.roll(vertices, -1, axis=0)
    edge = end - start
    along = np.clip(((np.asarray(point) - start) * edge).sum(1) / np.maximum((edge ** 2).sum(1), 1e-12), 0, 1)
    nearest = start + along[:, None] * edge
    return float(np.sqrt(((nearest - np.asarray(point)) ** 2).sum(1)).min())


def localisation_figures(project: Project) -> dict[str, Any]:
    """Peak-in-finding and proposal rates of the active model over ``project``'s unlabeled demo images."""
    truth = json.loads((demo_folder(project=project) / "truth.json").read_text())
    with Session(project.engine) as session:
        unlabeled = {image.id: image.sop_instance_uid for image in session.exec(
            select(Image).where(Image.status == ImageStatus.UNLABELED)).all()}
    hits = positives = negatives = proposed = found = 0
    misses: list[int] = []
    for row in prediction_rows(engine=project.engine):
        entry = truth.get(unlabeled.get(row.image_id, ""))
        if entry is None:
            continue
        findings = [region["points"] for region in entry["regions"] if region["label"] == FINDING]
        if findings:
            positives += 1
            found += bool(row.proposals)
            if row.heatmap_peak is not None and min(
                    distance_to_polygon(tuple(row.heatmap_peak), points) for points in findings) <= TOLERANCE_PX:
                hits += 1
            else:
                misses.append(row.image_id)
        else:
            negatives += 1
            proposed += bool(row.proposals)
    return {"peak_in_finding": round(hits / max(positives, 1), 4), "images_with_finding": positives,
            "proposals_without_finding": round(proposed / max(negatives, 1), 4),
            "images_without_finding": negatives, "proposals_with_finding": round(found / max(positives, 1), 4),
            "tolerance_px": TOLERANCE_PX, "missed_images": misses[:20]}


def bench_localise(labeled: int = 100, out: Path | None = None) -> dict[str, Any]:
    """Build the demo with ``labeled`` labels in a temporary project, train, score, and measure."""
    with fresh_project() as project:
        create_demo(labeled, project=project)
        started = time.perf_counter()
        result = train_and_publish(project, lambda fraction, message: None, strategy_name="default")
        report = {"labels": labeled, "train_s": result["train_s"], "epochs": result["epochs"],
                  "loop_s": round(time.perf_counter() - started, 2),
                  "validation_auc": round(result["metrics"].get("auc", float("nan")), 4),
                  "ece": round(result["metrics"].get("ece", float("nan")), 4),
                  **localisation_figures(project)}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report
