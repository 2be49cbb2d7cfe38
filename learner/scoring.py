"""Scoring the unlabeled pool with a model and re-ranking the label queue, in one pass per image.

Each unlabeled picture is scaled so that a typical labelled region's patch is the model's input size and
run through the network fully convolutionally: every window at a stride of 16 scaled pixels gets
P(finding). That one pass gives the image's heatmap (kept as a small ``.npy``), its probability (the
hottest window's: an image has a finding where its most suspicious part has one) and its embedding (the
hottest window's pooled features, for BALD's head-only samples and for diversity). A project labelled
with image-level labels only trains on whole images, and its "window" is the whole image.

The strategy picks its batch (ranked first, in its order); every other image gets the strategy's
per-image utility. The priorities go through the queue (``labeling.labels.queue.write_priorities``, their
one writer), in one transaction with the predictions, their heatmaps and (for a new version) the
activation.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from torch import nn
from torch.utils.data import Dataset

from labeling.labels import write_priorities
from learner.allocator import keep_freed_memory
from learner.dataset import images_by_id, picture_of, scaled_picture
from learner.model import CompactCNN
from learner.registry import LoadedModel, mark_active
from learner.strategies import STRATEGIES, PoolClassifier, resolve, utility
from learner.train import DEVICE, ON_GPU, embed, mixed_precision, to_device
from storage import Image, ImageStatus, Prediction, Project, write_session

BALD_SAMPLES = 10  # head-only MC-dropout passes per image (scoring, the simulation and the benchmark)
PICK_BATCH = 20  # images the strategy chooses together, ranked above the rest
DENSE_STRIDE = 16  # input pixels between neighbouring windows of the dense pass (four 2× poolings)
DENSE_BATCH = 64 if ON_GPU else 4  # scaled pictures per dense pass (on a CPU, 4 keep the feature maps in cache)
DENSE_CONTEXT = 16  # scaled pixels of replicated picture around it in the dense pass (a multiple of the stride)
HEATMAP_SIDE = 64  # the stored heatmap's long side, in cells
ROWS_PER_QUERY = 256  # image rows the dense pass reads in one query (a multiple of DENSE_BATCH)
MAX_IO_THREADS = 8  # reading threads, and as many writing ones, of the dense pass (a GPU's host may have many cores)
HEATMAP_CHUNK = 32  # images per heatmap transaction
Progress = Callable[[float, str], None]


@dataclass
class PoolScores:
    image_ids: list[int]
    probabilities: np.ndarray  # P(finding) per image
    utility: np.ndarray  # the strategy's per-image worth of a label
    picks: np.ndarray  # indices of the strategy's batch, best first
    priorities: np.ndarray
    heatmaps: list[str | None] = field(default_factory=list)  # each image's heatmap file


@dataclass
class DensePass:
    probabilities: np.ndarray  # (n, 2): the hottest window's, calibrated
    embeddings: np.ndarray  # (n, d): the hottest window's pooled features
    heatmaps: list[str | None]  # the files written (None where no folder was given)


def image_ids(status: ImageStatus, *, engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.exec(select(Image.id).where(Image.status == status).order_by(Image.id)).all())


def _onto_grid(centres: np.ndarray, per_pixel: tuple[float, float], rows: int, cols: int,
               size: int) -> tuple[np.ndarray, np.ndarray]:
    """The window probabilities (one per window, at a stride of 16 scaled pixels) interpolated onto a grid of
    ≤ HEATMAP_SIDE cells over the image: each cell holds P(finding) of a window centred on it. Also which cells
    such a window can be centred on: within half a stride of the outermost windows' centres. Cells nearer the
    picture's edge than half a window get the nearest window's value, which is a window half its side inside."""
    scale = HEATMAP_SIDE / max(rows, cols)
    shape = max(1, round(rows * scale)), max(1, round(cols * scale))
    cell_y = (np.arange(shape[0]) + 0.5) * rows / shape[0]  # cell centres in image pixels
    cell_x = (np.arange(shape[1]) + 0.5) * cols / shape[1]
    window_y = (cell_y / per_pixel[1] - size / 2) / DENSE_STRIDE  # … in window indices
    window_x = (cell_x / per_pixel[0] - size / 2) / DENSE_STRIDE
    grid_y, grid_x = np.meshgrid(window_y, window_x, indexing="ij")
    values = ndimage.map_coordinates(centres, [grid_y, grid_x], order=1, mode="nearest").astype(np.float32)
    covered = ((grid_y >= -0.5) & (grid_y <= centres.shape[0] - 0.5)
               & (grid_x >= -0.5) & (grid_x <= centres.shape[1] - 0.5))
    return values, covered


@dataclass
class _Scaled:
    tensor: torch.Tensor  # (1, H, W): the picture at the patch model's scale, standardised
    per_pixel: tuple[float, float]  # image pixels per scaled pixel along x and y
    shape: tuple[int, int]  # the picture's rows and columns


def window_fractions(data: dict[str, Any]) -> list[float]:
    """The dense pass's window scales, as fractions of the image's short side, from a version's ``data``
    (``dataset.patch_fractions``; a version trained before there were several has its one ``patch_fraction``)."""
    return [float(f) for f in data.get("patch_fractions") or [data.get("patch_fraction", 0.25)]]


def _read_chunk(images: list[Image], fractions: list[float], size: int, project: Project) -> list[list[_Scaled]]:
    """Each picture at each window scale."""
    chunk = []
    for image in images:
        picture = picture_of(image, project)
        scaled = [scaled_picture(picture, fraction, size) for fraction in fractions]
        chunk.append([_Scaled(tensor, (per_x, per_y), picture[0].shape) for tensor, per_x, per_y in scaled])
    return chunk


def _read_ahead(image_ids: list[int], fractions: list[float], size: int, project: Project,
                readers: int = 1) -> Iterator[list[list[_Scaled]]]:
    """The pictures of ``image_ids`` in batches of DENSE_BATCH, in order, read on ``readers`` threads while
    the batches before are scored (``readers`` + 1 batches ahead at most). Their rows come ROWS_PER_QUERY at a
    time (a query per batch held the interpreter lock for half of all the reading)."""
    with ThreadPoolExecutor(readers, thread_name_prefix="medal-read") as reader:
        ahead: deque[Future[list[list[_Scaled]]]] = deque()
        for first in range(0, len(image_ids), ROWS_PER_QUERY):
            block = image_ids[first:first + ROWS_PER_QUERY]
            rows = images_by_id(block, project.engine)
            for start in range(0, len(block), DENSE_BATCH):
                images = [rows[image_id] for image_id in block[start:start + DENSE_BATCH]]
                ahead.append(reader.submit(_read_chunk, images, fractions, size, project))
                if len(ahead) > readers + 1:
                    yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _windows(model: CompactCNN, items: list[_Scaled], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window's P(finding) and pooled embedding for pictures of one shape: (n, rows, cols, 2) and
    (n, rows, cols, d)."""
    batch = torch.stack([item.tensor for item in items])
    height, width = batch.shape[-2:]
    # The picture continues past its edges (replicated) so that the convolutions' zero padding, which would look
    # like a structure next to dark air, stays away from every window inside the picture.
    padded = nn.functional.pad(batch, (DENSE_CONTEXT,) * 4, mode="replicate")
    skip = DENSE_CONTEXT // DENSE_STRIDE
    with mixed_precision():
        embedded = model.window_embeddings(to_device(padded), size).float()
    embedded = embedded[:, skip:skip + (height - size) // DENSE_STRIDE + 1,
                        skip:skip + (width - size) // DENSE_STRIDE + 1]
    return torch.softmax(model.head_logits(embedded), -1), embedded


@contextmanager
def _one_thread_each(workers: int) -> Iterator[None]:
    """torch's intra-op threads at 1 for the block when ``workers`` networks run side by side (restored after):
    each worker is then one core's thread, and a core freed by the reader or the writer is taken up at once
    instead of idling at a two-thread barrier."""
    threads = torch.get_num_threads()
    if workers > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def dense_pass(loaded: LoadedModel, image_ids: list[int], *,
               project: Project, folder: Path | None = None, on_batch: Callable[[int],
                                                                                None] | None = None) -> DensePass:
    """One fully convolutional pass per image (see the module docstring); heatmaps are written to ``folder``
    as ``<image id>.npy`` when one is given. ``on_batch`` hears how many images are done. The next pictures
    are read (database, files, resizing) and the heatmaps written on threads (one each per two cores, at most
    MAX_IO_THREADS) while the network runs on one thread per core (on one with a GPU)."""
    keep_freed_memory()
    model, size = to_device(loaded.model.for_inference()), loaded.config.size
    fractions = window_fractions(loaded.data)
    found = DensePass(np.zeros((len(image_ids), 2), np.float32),
                      np.zeros((len(image_ids), model.embedding_size), np.float32), [None] * len(image_ids))
    workers = 1 if ON_GPU else torch.get_num_threads()
    helpers = min(MAX_IO_THREADS, max(1, ((os.cpu_count() or 1) if ON_GPU else workers) // 2))
    writes: list[Future[None]] = []
    with (_one_thread_each(workers), ThreadPoolExecutor(workers, thread_name_prefix="medal-network") as network,
          ThreadPoolExecutor(helpers, thread_name_prefix="medal-heatmaps") as writer):
        scoring: deque[tuple[int, Future[list[Future[None]]]]] = deque()

        def finish_oldest() -> None:
            done, scored = scoring.popleft()
            writes.extend(scored.result())
            if on_batch:
                on_batch(done)

        start = 0
        for chunk in _read_ahead(image_ids, fractions, size, project, readers=helpers):
            scoring.append((start + len(chunk), network.submit(
                _score_chunk, model, size, chunk, range(start, start + len(chunk)), found, folder, writer, image_ids)))
            start += len(chunk)
            while len(scoring) > workers:  # one chunk waits for each busy worker, no more
                finish_oldest()
        while scoring:
            finish_oldest()
    for write in writes:
        write.result()  # a failed write fails the pass
    return found


def _score_chunk(model: CompactCNN, size: int, chunk: list[list[_Scaled]], indices: range, found: DensePass,
                 folder: Path | None, writer: ThreadPoolExecutor, image_ids: list[int]) -> list[Future[None]]:
    """The network over one chunk (pictures ``indices`` of the pass), at every window scale: its rows of
    ``found`` filled in from the hottest window of any scale, its heatmaps (the hottest scale at each cell)
    handed to ``writer``."""
    best = np.full(len(chunk), -1.0)
    centres: list[list[tuple[np.ndarray, _Scaled]]] = [[] for _ in chunk]
    with torch.inference_mode():  # per thread, as is autocast: set here, on the worker
        for scale in range(len(chunk[0]) if chunk else 0):
            by_shape: dict[tuple[int, ...], list[int]] = {}
            for offset, scaled in enumerate(chunk):
                by_shape.setdefault(tuple(scaled[scale].tensor.shape), []).append(offset)
            for same in by_shape.values():
                window_probabilities, embedded = _windows(model, [chunk[offset][scale] for offset in same], size)
                n, rows, cols, _ = embedded.shape
                heat = window_probabilities[..., 1].reshape(n, rows * cols)
                hottest = (torch.arange(n, device=heat.device), heat.argmax(1))
                probabilities = window_probabilities.reshape(n, rows * cols, 2)[hottest].cpu().numpy()
                embeddings = embedded.reshape(n, rows * cols, -1)[hottest].cpu().numpy()
                for position, offset in enumerate(same):
                    if probabilities[position, 1] > best[offset]:
                        best[offset] = probabilities[position, 1]
                        found.probabilities[indices[offset]] = probabilities[position]
                        found.embeddings[indices[offset]] = embeddings[position]
                if folder is not None:
                    for offset, grid in zip(same, heat.reshape(n, rows, cols).cpu().numpy()):
                        centres[offset].append((grid, chunk[offset][scale]))
    writes = []
    if folder is not None:
        for offset, scales in enumerate(centres):
            index = indices[offset]
            path = folder / f"{image_ids[index]}.npy"
            found.heatmaps[index] = str(path)
            writes.append(writer.submit(_write_heatmap, path, scales, size))
    return writes


def _write_heatmap(path: Path, scales: list[tuple[np.ndarray, _Scaled]], size: int) -> None:
    """The heatmap of one picture (``combine_scales`` of each scale's grid)."""
    grids = [_onto_grid(centres, item.per_pixel, *item.shape, size) for centres, item in scales]
    finest = int(np.argmin([item.per_pixel[0] for _, item in scales]))
    np.save(path, combine_scales(grids, finest).astype(np.float16), allow_pickle=False)


def combine_scales(grids: list[tuple[np.ndarray, np.ndarray]], finest: int) -> np.ndarray:
    """At each cell, P(finding) of the hottest window of any scale centred on it; a cell no window of a scale is
    centred on (nearer the edge than half that window) takes nothing from that scale, and one no scale reaches,
    the nearest window of the ``finest``. Extending every scale to the edges painted the largest windows' heat
    — half the picture wide, holding a lesion well inside — along the picture's edges, over black margins, and
    pulled the heatmap's peak there."""
    values = np.stack([grid for grid, _ in grids])
    covered = np.stack([inside for _, inside in grids])
    heat = np.where(covered, values, -np.inf).max(axis=0)
    return np.where(covered.any(axis=0), heat, values[finest])


@torch.no_grad()
def pool_classifier(model: CompactCNN, pool: Dataset, labeled: Dataset, strategy: str, seed: int = 0) -> PoolClassifier:
    """What strategy ``strategy`` may use about a pool of whole images (the oracle simulation's): the
    embeddings and the head's probabilities from one pass, head-only MC-dropout samples for BALD, and the
    labeled items' embeddings for ranked batch."""
    embeddings = embed(model, pool)
    features = torch.from_numpy(embeddings).to(DEVICE)
    probabilities = torch.softmax(model.head_logits(features), 1).cpu().numpy()
    samples = model.head_samples(features, BALD_SAMPLES).cpu().numpy() if strategy == "bald" else None
    training = embed(model, labeled) if strategy == "diverse" else None
    return PoolClassifier(probabilities, embeddings, training, samples, seed)


def rank_pool(loaded: LoadedModel, strategy: str, *, project: Project, seed: int = 0,
              progress: Progress | None = None) -> PoolScores:
    """Score every unlabeled image of ``project`` (heatmap files are written; nothing else is)."""
    name = resolve(strategy)
    ids = image_ids(ImageStatus.UNLABELED, engine=project.engine)
    started = time.monotonic()

    def on_batch(done: int) -> None:
        if progress:
            rate = done / max(time.monotonic() - started, 1e-6)
            progress(0.9 * done / len(ids), f"scoring {done}/{len(ids)} images ({rate:.0f}/s)")

    found = dense_pass(loaded, ids, project=project, folder=heatmap_dir(loaded.version_id, project=project),
                       on_batch=on_batch)
    features = torch.from_numpy(found.embeddings).to(DEVICE)
    samples = loaded.model.head_samples(features, BALD_SAMPLES).cpu().numpy() if name == "bald" and ids else None
    labeled = (dense_pass(loaded, image_ids(ImageStatus.LABELED, engine=project.engine), project=project).embeddings
               if name == "diverse" else None)
    classifier = PoolClassifier(found.probabilities, found.embeddings, labeled, samples, seed,
                                groups=series_of(ids, engine=project.engine))
    picks = STRATEGIES[name](classifier, classifier.embeddings, min(PICK_BATCH, len(ids))) if ids else np.zeros(0, int)
    worth = utility(name, classifier) if ids else np.zeros(0)
    priorities = np.asarray(worth, dtype=float).copy()
    priorities[picks] = 2.0 + (len(picks) - np.arange(len(picks))) / max(len(picks), 1)
    return PoolScores(ids, found.probabilities[:, 1], np.asarray(worth, dtype=float), np.asarray(picks, dtype=int),
                      priorities, found.heatmaps)


def series_of(image_ids: list[int], *, engine: Engine) -> np.ndarray:
    """Each image's series (its SeriesInstanceUID, else the image itself), for strategies that spread a batch."""
    with Session(engine) as session:
        found = dict(session.exec(select(Image.id, Image.series_id).where(col(Image.id).in_(image_ids))).all())
    return np.asarray([f"series:{found[i]}" if found.get(i) is not None else f"image:{i}" for i in image_ids],
                      dtype=object)


def publish(version_id: int, scores: PoolScores, strategy: str, *, engine: Engine, activate: bool,
            actor: str | None = None) -> None:
    """Write the queue priorities (through the queue, their one writer), the predictions and (for a new
    version) its activation in one transaction: a crash leaves the previous model and order in charge."""
    with write_session(engine=engine) as session:
        write_priorities(session, dict(zip(scores.image_ids, scores.priorities.tolist())))
        session.execute(delete(Prediction).where(Prediction.model_version_id == version_id,
                                                 col(Prediction.image_id).in_(scores.image_ids)))
        heatmaps = scores.heatmaps or [None] * len(scores.image_ids)
        rows = [{"model_version_id": version_id, "image_id": image_id, "probability": float(p),
                 "uncertainty": float(u), "strategy": strategy, "heatmap_path": heat}
                for image_id, p, u, heat in zip(scores.image_ids, scores.probabilities, scores.utility, heatmaps)]
        for start in range(0, len(rows), 2000):
            session.execute(insert(Prediction), rows[start:start + 2000])
        if activate:
            mark_active(session, version_id, actor, {"after": "training"})
        session.commit()


def heatmap_dir(version_id: int, *, project: Project) -> Path:
    """Where ``version_id``'s heatmaps are kept: derived data in ``project``'s cache (created on first use)."""
    return project.folder("cache", "heatmaps", f"v{version_id}")


def add_heatmaps(loaded: LoadedModel, image_ids: list[int], progress: Progress | None = None, *,
                 project: Project) -> int:
    """Heatmaps for scored images that lack theirs (the cache was deleted, or they were scored before heatmaps
    came with scoring), in chunks; each chunk's predictions are updated in one transaction."""
    folder = heatmap_dir(loaded.version_id, project=project)
    done = 0
    for start in range(0, len(image_ids), HEATMAP_CHUNK):
        chunk = image_ids[start:start + HEATMAP_CHUNK]
        found = dense_pass(loaded, chunk, project=project, folder=folder)
        with write_session(engine=project.engine) as session:
            predictions = {p.image_id: p for p in session.exec(select(Prediction).where(
                Prediction.model_version_id == loaded.version_id, col(Prediction.image_id).in_(chunk))).all()}
            for image_id, path in zip(chunk, found.heatmaps):
                if image_id in predictions:
                    predictions[image_id].heatmap_path = path
                    session.add(predictions[image_id])
            session.commit()
        done += len(chunk)
        if progress:
            progress(done / max(len(image_ids), 1), f"heatmaps {done}/{len(image_ids)}")
    return done


def queue_order(version_id: int, *, engine: Engine) -> list[int]:
    """Unlabeled images scored by ``version_id`` without a heatmap yet, highest priority first."""
    with Session(engine) as session:
        return list(session.exec(
            select(Image.id).join(Prediction, Prediction.image_id == Image.id)
            .where(Prediction.model_version_id == version_id, Prediction.heatmap_path.is_(None),
                   Image.status == ImageStatus.UNLABELED)
            .order_by(col(Image.priority).desc(), Image.id)).all())
