"""``medal bench loop``: how long retraining and rescoring take, on a generated project.

The project: 256×256 CT images with nodules (bright discs) in about 40% of them, ``labels`` of them
annotated (a polygon around each nodule, *cancerous* or *healthy* image labels), ``pool`` unlabeled.
Timed, with the product's own code: training (building the inputs included), ranking the pool and
publishing the new queue order (``ready_s``, when the clinician's next image is the new model's pick),
and the heatmaps of the whole pool; plus head-only BALD against full-network MC dropout.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlmodel import Session, select

from benchmarks.ingest import fresh_project
from labeling.intake import SeriesPlace, SyntheticPatient, import_paths, uid, write_ct_slice
from labeling.labels import RegionInput, save_annotation
from learner import DEVICE, PROJECT_CONFIG, PoolDataset, registry, scoring, to_device, train_and_publish
from storage import Image, ImageStatus, Project

SIZE = 256
PATIENTS = 100
STUDY_DATE = date(2025, 1, 1)


def write_nodule_files(folder: Path, count: int, seed: int = 0) -> dict[str, list[tuple[float, float, float]]]:
    """``count`` CT files; returns the nodules (x, y, radius) of each SOPInstanceUID."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    body = ((yy - SIZE / 2) ** 2 / 0.9 + (xx - SIZE / 2) ** 2 < (SIZE * 0.42) ** 2)
    truth: dict[str, list[tuple[float, float, float]]] = {}
    for index in range(count):
        hu = np.where(body, 40.0, -1000.0) + rng.normal(0, 25, (SIZE, SIZE))
        nodules = []
        if rng.random() < 0.4:
            for _ in range(int(rng.integers(1, 3))):
                radius = float(rng.uniform(6, 14))
                x, y = (float(v) for v in rng.uniform(70, SIZE - 70, 2))
                hu[(yy - y) ** 2 + (xx - x) ** 2 < radius ** 2] += 180
                nodules.append((x, y, radius))
        patient = index % PATIENTS
        place = SeriesPlace(SyntheticPatient(f"LOOP{patient:03d}", f"Loop^{patient}"), STUDY_DATE,
                            uid(seed, "study", patient), uid(seed, "series", patient), uid(seed, "for", patient))
        truth[write_ct_slice(folder / f"{index:06d}.dcm", hu, place, index=index)] = nodules
    return truth


def _label(project: Project, count: int, truth: dict[str, list[tuple[float, float, float]]]) -> None:
    with Session(project.engine) as session:
        images = session.exec(select(Image).order_by(Image.id).limit(count)).all()
    for image in images:
        nodules = truth[image.sop_instance_uid]
        regions = [RegionInput("Cancerous", "polygon", [[x + (r + 2) * np.cos(a), y + (r + 2) * np.sin(a)]
                                                         for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)])
                   for x, y, r in nodules]
        save_annotation(image.id, "bench-oracle", regions, image_label="cancerous" if nodules else "healthy",
                        engine=project.engine)


@torch.no_grad()
def bald_speedup(loaded: registry.LoadedModel, image_ids: list[int], project: Project,
                 samples: int = scoring.BALD_SAMPLES) -> float:
    """Head-only MC dropout (features once, head T times) against the whole network T times."""
    images = to_device(torch.cat([batch for batch, _ in torch.utils.data.DataLoader(
        PoolDataset(image_ids, loaded.config.size, project=project), batch_size=256)]))
    model = loaded.model
    start = time.perf_counter()
    model.head_samples(model.features(images), samples)
    head_only = time.perf_counter() - start
    model.train()  # dropout on everywhere; batch norm would move, so keep it in eval
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    start = time.perf_counter()
    torch.stack([torch.softmax(model(images), 1) for _ in range(samples)])
    full = time.perf_counter() - start
    model.eval()
    return full / head_only


def bench_loop(labels: int = 1000, pool: int = 10_000, out: Path | None = None) -> dict[str, Any]:
    """Time the loop on a generated project of its own (temporary; the configured project is never touched)."""
    with tempfile.TemporaryDirectory(prefix="medal-bench-loop-") as scratch, fresh_project() as project:
        engine = project.engine
        started = time.perf_counter()
        truth = write_nodule_files(Path(scratch), labels + pool)
        import_paths([Path(scratch)], project=project)
        _label(project, labels, truth)
        setup_s = time.perf_counter() - started
        steps: list[tuple[float, str]] = []
        started = time.perf_counter()
        result = train_and_publish(project, lambda fraction, message: steps.append((fraction, message)),
                                   strategy_name="default", config=PROJECT_CONFIG)
        first_s = time.perf_counter() - started
        loaded = registry.load_active(engine=engine)
        speedup = bald_speedup(loaded, scoring.image_ids(ImageStatus.UNLABELED, engine=engine)[:2000], project)
    train_s = result["train_s"]
    score_s = first_s - train_s  # ranking, publishing and every heatmap: one pass per image
    report = {
        "train_s": round(train_s, 2), "outline_s": result["outline_s"],  # of train_s: the quick outline's fit
        "score_s": round(score_s, 2), "total_s": round(train_s + score_s, 2),
        "ready_s": round(train_s + result["ready_s"], 2), "device": str(DEVICE),
        "bald_speedup": round(speedup, 1), "labels": labels, "pool": pool, "image_size": f"{SIZE}x{SIZE}",
        "strategy": result["strategy"], "epochs": result["epochs"], "heatmaps": result["heatmaps"],
        "validation_auc": round(result["metrics"].get("auc", float("nan")), 4), "setup_s": round(setup_s, 1),
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report
