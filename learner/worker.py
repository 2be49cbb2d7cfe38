"""``medal worker``: runs training and scoring jobs from the jobs table, one at a time.

While a job runs, a background thread beats every quarter of the heartbeat timeout, so a slow epoch
never looks dead, and a killed worker is noticed within the timeout. A training job publishes nothing
until it has finished: the new version's predictions, the queue priorities and its activation are one
transaction at the end, so a crash or ``kill -9`` leaves the previous model active.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, Any, Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from labeling.errors import MedalError
from learner import jobs, registry, scoring
from learner.dataset import build_examples, materialise, patch_fraction, split_by_patient
from learner.settings import auto_retrain_every, strategy
from learner.strategies import resolve
from learner.train import DEVICE, TooFewLabels, TrainConfig, fit
from storage.db import get_engine
from storage.models import Image, ImageStatus, JobStatus, ModelVersion
from storage.settings import medal_home

MIN_IMAGES_PER_CLASS = 5  # fewer labeled images of a class than this make a model worth nothing
TOP_HEATMAPS = 2 * scoring.PICK_BATCH  # heatmaps ready before the training job reports success
PROJECT_CONFIG = TrainConfig()  # patches and whole images at 32×32: scoring 10,000 images stays within seconds


class WorkerAlreadyRunning(MedalError):
    """Another worker already serves this project's home on this machine."""


def lock_path() -> Any:
    return medal_home() / "worker.lock"


@contextmanager
def worker_lock() -> Iterator[IO[str]]:
    """Hold the per-home worker lock (released by the OS if the process dies, even by kill -9)."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        handle.close()
        raise WorkerAlreadyRunning(f"A worker already runs for {medal_home()} (lock {path}).") from error
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class Beats:
    """The running job's heartbeat: a thread that beats on its own, and progress reports from the job."""

    def __init__(self, job_id: int, engine: Engine, interval: float) -> None:
        self.job_id, self.engine, self.interval = job_id, engine, interval
        self.cancelled, self.stopped = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{job_id}")

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                jobs.beat(self.job_id, engine=self.engine)
            except jobs.JobCancelled:
                self.cancelled.set()
                return

    def __enter__(self) -> "Beats":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def progress(self, fraction: float, message: str) -> None:
        if self.cancelled.is_set():
            raise jobs.JobCancelled(f"Job {self.job_id} was cancelled.")
        try:
            jobs.beat(self.job_id, fraction, message, engine=self.engine)
        except jobs.JobCancelled:
            self.cancelled.set()
            raise


def labeled_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Image).where(
            Image.status == ImageStatus.LABELED)).one())


def train_and_publish(engine: Engine, progress: Callable[[float, str], None], *, strategy_name: str | None = None,
                      config: TrainConfig = PROJECT_CONFIG, job_id: int | None = None) -> dict[str, Any]:
    """Build the training set, train, register the version, score the pool, and publish it all at once."""
    name = resolve(strategy_name or strategy(engine))
    progress(0.01, "building the training set from the labels")
    examples = build_examples(engine)
    split = split_by_patient(examples, seed=config.seed)
    labels = [e.label for e in split.train]
    with_finding = {e.image_id for e in examples if e.label == 1}
    normal = {e.image_id for e in examples if e.label == 0} - with_finding
    if min(len(with_finding), len(normal)) < MIN_IMAGES_PER_CLASS:
        raise TooFewLabels(f"Training needs at least {MIN_IMAGES_PER_CLASS} labeled images with a finding and "
                           f"{MIN_IMAGES_PER_CLASS} without; there are {len(with_finding)} and {len(normal)}. "
                           "Label more images (both cancerous and healthy) and train again.")
    if sum(labels) < config.min_per_class or len(labels) - sum(labels) < config.min_per_class:
        raise TooFewLabels(f"Training needs at least {config.min_per_class} findings and {config.min_per_class} "
                           f"normal examples outside the validation patients; there are {sum(labels)} and "
                           f"{len(labels) - sum(labels)}. Label more images of other patients and train again.")
    with Session(engine) as session:
        shapes = {i: (r, c) for i, r, c in session.exec(select(Image.id, Image.rows, Image.cols).where(
            Image.status == ImageStatus.LABELED)).all()}
    data = {"patch_fraction": patch_fraction(examples, shapes), "examples": len(examples),
            "train_examples": len(split.train), "val_examples": len(split.val),
            "train_patients": len(split.train_patients), "val_patients": len(split.val_patients),
            "strategy": name}
    started = time.monotonic()

    def on_epoch(epoch: int, epochs: int, train_loss: float, val_loss: float) -> None:
        progress(0.05 + 0.6 * epoch / epochs, f"epoch {epoch}/{epochs}: loss {train_loss:.3f}, "
                                              f"validation loss {val_loss:.3f}")

    folder = medal_home() / "training" / f"job-{job_id or os.getpid()}"
    progress(0.02, f"reading {len(examples)} examples from {len({e.image_id for e in examples})} images")
    train_set = materialise(split.train, config.size, folder / "train.npy")
    val_set = materialise(split.val, config.size, folder / "val.npy") if split.val else None
    try:
        result = fit(train_set, labels, val_set, config, on_epoch)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    train_s = time.monotonic() - started
    version = registry.register(result, {**data, "train_s": round(train_s, 2), "device": str(DEVICE)},
                                labeled_count(engine), job_id=job_id, engine=engine)
    loaded = registry.load(version)
    progress(0.66, f"version {version.id} trained (AUC {result.metrics.get('auc', float('nan')):.3f}); scoring")
    started = time.monotonic()
    scores = scoring.rank_pool(loaded, name, engine, seed=config.seed,
                               progress=lambda f, m: progress(0.66 + 0.25 * f, m))
    scoring.publish(version.id, scores, name, activate=True, engine=engine)
    ready_s = time.monotonic() - started
    top = scoring.queue_order(version.id, engine)[:TOP_HEATMAPS]
    heatmaps = scoring.add_heatmaps(loaded, top, engine, lambda f, m: progress(0.91 + 0.08 * f, m))
    return {"model_version": version.id, "metrics": result.metrics, "labels": version.label_count,
            "epochs": result.epochs, "train_s": round(train_s, 2), "ready_s": round(ready_s, 2),
            "scored": len(scores.image_ids), "heatmaps": heatmaps, "strategy": name}


def finish_heatmaps(engine: Engine, progress: Callable[[float, str], None], version_id: int | None) -> dict[str, Any]:
    """The rest of the heatmaps of the active version (top of the queue first)."""
    active = registry.active_version(engine)
    if active is None or (version_id is not None and active.id != version_id):
        return {"heatmaps": 0, "skipped": "that version is no longer active"}
    loaded = registry.load(active)
    order = scoring.queue_order(active.id, engine)
    return {"heatmaps": scoring.add_heatmaps(loaded, order, engine, progress), "model_version": active.id}


def rescore(engine: Engine, progress: Callable[[float, str], None], strategy_name: str | None) -> dict[str, Any]:
    """Re-rank the pool with the active model (after a rollback or a change of strategy)."""
    loaded = registry.load_active(engine)
    if loaded is None:
        return {"scored": 0, "skipped": "no active model"}
    name = resolve(strategy_name or strategy(engine))
    scores = scoring.rank_pool(loaded, name, engine, progress=lambda f, m: progress(0.9 * f, m))
    scoring.publish(loaded.version_id, scores, name, activate=False, engine=engine)
    return {"scored": len(scores.image_ids), "model_version": loaded.version_id, "strategy": name}


def run_job(job: jobs.JobView, engine: Engine, heartbeat_s: float) -> None:
    """Run one claimed job to its end state; a failure is recorded on the job, never raised."""
    with Beats(job.id, engine, heartbeat_s) as beats:
        try:
            if job.kind == "train":
                result = train_and_publish(engine, beats.progress, strategy_name=job.params.get("strategy"),
                                           config=replace(PROJECT_CONFIG, **job.params.get("config", {})),
                                           job_id=job.id)
                message = f"version {result['model_version']} is active"
                jobs.enqueue("score", {"version_id": result["model_version"], "heatmaps": True}, engine=engine)
            elif job.params.get("heatmaps"):
                result = finish_heatmaps(engine, beats.progress, job.params.get("version_id"))
                message = f"{result['heatmaps']} heatmaps"
            else:
                result = rescore(engine, beats.progress, job.params.get("strategy"))
                message = f"{result['scored']} images scored"
        except jobs.JobCancelled:
            return  # already marked cancelled by whoever cancelled it; nothing was published
        except MedalError as error:
            jobs.finish(job.id, JobStatus.FAILED, error=str(error), engine=engine)
            return
        except Exception as error:  # noqa: BLE001 - a bug in a job must fail that job, visibly, not the worker
            traceback.print_exc(file=sys.stderr)
            jobs.finish(job.id, JobStatus.FAILED, error=f"{type(error).__name__}: {error}", engine=engine)
            return
    jobs.finish(job.id, JobStatus.SUCCEEDED, message=message, result=result, engine=engine)


def maybe_auto_retrain(engine: Engine) -> int | None:
    """Enqueue training when automatic retraining is on and enough new labels came in since the last version."""
    every = auto_retrain_every(engine)
    if every <= 0 or jobs.pending("train", engine) is not None:
        return None
    with Session(engine) as session:
        last = session.exec(select(func.max(ModelVersion.label_count))).one() or 0
    if labeled_count(engine) - last < every:
        return None
    return jobs.enqueue("train", {"reason": f"{every} new labels"}, actor="auto-retrain", engine=engine)


def run_worker(engine: Engine | None = None, *, once: bool = False, poll_s: float = 1.0,
               stop: threading.Event | None = None, parent: int | None = None) -> int:
    """Serve jobs until stopped (or, with ``once``, until the queue is empty). Returns jobs run.
    With ``parent``, exits when that process is gone (the app's own worker goes with the app)."""
    engine = engine or get_engine()
    stop = stop or threading.Event()
    name = f"{socket.gethostname()}:{os.getpid()}"
    timeout = jobs.heartbeat_timeout()
    count = 0
    with worker_lock():
        while not stop.is_set():
            jobs.reap_stale(engine, timeout)
            maybe_auto_retrain(engine)
            job = jobs.claim(name, engine)
            if job is None:
                if once or (parent is not None and os.getppid() != parent):
                    break
                stop.wait(poll_s)
                continue
            print(f"job {job.id} ({job.kind}) started", file=sys.stderr, flush=True)
            run_job(job, engine, max(0.2, timeout / 4))
            count += 1
            print(f"job {job.id} {jobs.get_job(job.id, engine).status}", file=sys.stderr, flush=True)
    return count
