"""Scoring the unlabeled pool with a model and re-ranking the label queue.

Two stages, so the clinician's next image is ready soon:

1. **Rank** (every unlabeled image, one 32×32-ish pass each): the whole-image probability, the CNN
   embedding, head-only MC-dropout samples for BALD. The strategy picks its batch (ranked first, in
   its order); every other image gets the strategy's per-image utility. The priorities go through the
   queue (``labeling.labels.queue.write_priorities``, their one writer), in one transaction with the
   predictions and (for a new version) the activation.
2. **Heatmaps** (top of the queue first, then the rest in chunks): the patch model slid over the
   image on a lattice of windows the size of a typical labelled region; the heatmap is kept as a
   small ``.npy`` and its maximum (or the whole-image probability, if higher) becomes the image score.
   The queue order stays that of stage 1 (uncertainty needs the same evidence for every image).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from torch.utils.data import Dataset

from labeling.labels.queue import write_priorities
from learner.dataset import PoolDataset, load_picture, windows
from learner.model import CompactCNN
from learner.registry import LoadedModel, mark_active
from learner.strategies import STRATEGIES, PoolClassifier, resolve, utility
from learner.train import DEVICE, embed, to_device
from storage.db import Project, current_project, get_engine, write_session
from storage.models import Image, ImageStatus, Prediction

BALD_SAMPLES = 10  # head-only MC-dropout passes per image (scoring, the simulation and the benchmark)
PICK_BATCH = 20  # images the strategy chooses together, ranked above the rest
HEATMAP_GRID = 5  # windows per side at most (25 per image)
HEATMAP_SIDE = 64  # the stored heatmap's long side, in cells
HEATMAP_CHUNK = 32  # images per heatmap transaction
Progress = Callable[[float, str], None]


@dataclass
class PoolScores:
    image_ids: list[int]
    probabilities: np.ndarray  # P(finding) per image
    utility: np.ndarray  # the strategy's per-image worth of a label
    picks: np.ndarray  # indices of the strategy's batch, best first
    priorities: np.ndarray


def image_ids(status: ImageStatus, engine: Engine | None = None) -> list[int]:
    with Session(engine or get_engine()) as session:
        return list(session.exec(select(Image.id).where(Image.status == status).order_by(Image.id)).all())


@torch.no_grad()
def pool_classifier(model: CompactCNN, pool: Dataset, labeled: Dataset, strategy: str, seed: int = 0,
                    on_batch: Callable[[int], None] | None = None) -> PoolClassifier:
    """Everything strategy ``strategy`` may use about the pool, from one pass of the network: the
    embeddings and the head's probabilities, head-only MC-dropout samples for BALD, and the labeled
    items' embeddings for diversity. ``on_batch`` hears how many pool items are embedded so far."""
    embeddings = embed(model, pool, on_batch=on_batch)
    features = torch.from_numpy(embeddings).to(DEVICE)
    probabilities = torch.softmax(model.head_logits(features), 1).cpu().numpy()
    samples = model.head_samples(features, BALD_SAMPLES).cpu().numpy() if strategy == "bald" else None
    training = embed(model, labeled) if strategy == "diverse" else None
    return PoolClassifier(probabilities, embeddings, training, samples, seed)


def rank_pool(loaded: LoadedModel, strategy: str, project: Project | None = None, *, seed: int = 0,
              progress: Progress | None = None) -> PoolScores:
    """Stage 1 for every unlabeled image of ``project`` (nothing is written)."""
    project = project or current_project()
    name = resolve(strategy)
    ids = image_ids(ImageStatus.UNLABELED, project.engine)
    started = time.monotonic()

    def on_batch(done: int) -> None:
        if progress:
            rate = done / max(time.monotonic() - started, 1e-6)
            progress(0.9 * done / len(ids), f"scoring {done}/{len(ids)} images ({rate:.0f}/s)")

    size = loaded.config.size
    classifier = pool_classifier(loaded.model, PoolDataset(ids, size, project),
                                 PoolDataset(image_ids(ImageStatus.LABELED, project.engine), size, project),
                                 name, seed, on_batch)
    picks = STRATEGIES[name](classifier, classifier.embeddings, min(PICK_BATCH, len(ids))) if ids else np.zeros(0, int)
    worth = utility(name, classifier) if ids else np.zeros(0)
    priorities = np.asarray(worth, dtype=float).copy()
    priorities[picks] = 2.0 + (len(picks) - np.arange(len(picks))) / max(len(picks), 1)
    return PoolScores(ids, classifier.probabilities[:, 1] if len(ids) else np.zeros(0),
                      np.asarray(worth, dtype=float), np.asarray(picks, dtype=int), priorities)


def publish(version_id: int, scores: PoolScores, strategy: str, *, activate: bool, actor: str | None = None,
            engine: Engine | None = None) -> None:
    """Write the queue priorities (through the queue, their one writer), the predictions and (for a new
    version) its activation in one transaction: a crash leaves the previous model and order in charge."""
    with write_session(engine) as session:
        write_priorities(session, dict(zip(scores.image_ids, scores.priorities.tolist())))
        session.execute(delete(Prediction).where(Prediction.model_version_id == version_id,
                                                 col(Prediction.image_id).in_(scores.image_ids)))
        rows = [{"model_version_id": version_id, "image_id": image_id, "probability": float(p),
                 "uncertainty": float(u), "strategy": strategy}
                for image_id, p, u in zip(scores.image_ids, scores.probabilities, scores.utility)]
        for start in range(0, len(rows), 2000):
            session.execute(insert(Prediction), rows[start:start + 2000])
        if activate:
            mark_active(session, version_id, actor, {"after": "training"})
        session.commit()


def heatmap_dir(version_id: int, project: Project | None = None) -> Path:
    """Where ``version_id``'s heatmaps are kept: derived data in ``project``'s cache (created on first use)."""
    return (project or current_project()).folder("cache", "heatmaps", f"v{version_id}")


@torch.no_grad()
def heatmaps(loaded: LoadedModel, image_ids: list[int], project: Project | None = None) -> dict[int, np.ndarray]:
    """Each image's heatmap: P(finding) of every window, max-pooled onto a grid of ≤ HEATMAP_SIDE cells."""
    project = project or current_project()
    fraction = float(loaded.data.get("patch_fraction", 0.25))
    batches = [windows(image_id, fraction, loaded.config.size, HEATMAP_GRID, project) for image_id in image_ids]
    if not batches:
        return {}
    patches = to_device(torch.cat([b[0] for b in batches]))
    probabilities = torch.cat([torch.softmax(loaded.model(chunk), 1)[:, 1]
                               for chunk in patches.split(512)]).cpu().numpy()
    result, start = {}, 0
    for image_id, (_, _, boxes) in zip(image_ids, batches):
        rows, cols = load_picture(image_id, project)[0].shape
        scale = HEATMAP_SIDE / max(rows, cols)
        heat = np.zeros((max(1, round(rows * scale)), max(1, round(cols * scale))), np.float32)
        for (x, y, side), p in zip(boxes, probabilities[start:start + len(boxes)]):
            area = heat[int(y * scale):int(np.ceil((y + side) * scale)), int(x * scale):int(np.ceil((x + side) * scale))]
            np.maximum(area, p, out=area)
        start += len(boxes)
        result[image_id] = heat
    return result


def add_heatmaps(loaded: LoadedModel, image_ids: list[int], project: Project | None = None,
                 progress: Progress | None = None, share: tuple[float, float] = (0.0, 1.0)) -> int:
    """Stage 2 for ``image_ids`` (in that order, in chunks): store heatmaps in ``project``'s cache, raise
    image scores to their maxima."""
    project = project or current_project()
    folder = heatmap_dir(loaded.version_id, project)
    done = 0
    for start in range(0, len(image_ids), HEATMAP_CHUNK):
        chunk = image_ids[start:start + HEATMAP_CHUNK]
        maps = heatmaps(loaded, chunk, project)
        with write_session(project.engine) as session:
            predictions = {p.image_id: p for p in session.exec(select(Prediction).where(
                Prediction.model_version_id == loaded.version_id, col(Prediction.image_id).in_(chunk))).all()}
            for image_id, heat in maps.items():
                path = folder / f"{image_id}.npy"
                np.save(path, heat.astype(np.float16), allow_pickle=False)
                prediction = predictions.get(image_id)
                if prediction is not None:
                    prediction.heatmap_path = str(path)
                    prediction.probability = max(prediction.probability, float(heat.max()))
                    session.add(prediction)
            session.commit()
        done += len(chunk)
        if progress:
            progress(share[0] + (share[1] - share[0]) * done / max(len(image_ids), 1),
                     f"heatmaps {done}/{len(image_ids)}")
    return done


def queue_order(version_id: int, engine: Engine | None = None) -> list[int]:
    """Unlabeled images scored by ``version_id`` without a heatmap yet, highest priority first."""
    with Session(engine or get_engine()) as session:
        return list(session.exec(
            select(Image.id).join(Prediction, Prediction.image_id == Image.id)
            .where(Prediction.model_version_id == version_id, Prediction.heatmap_path.is_(None),
                   Image.status == ImageStatus.UNLABELED)
            .order_by(col(Image.priority).desc(), Image.id)).all())
