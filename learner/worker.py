"""``medal worker``: claims training and scoring jobs from the jobs table and runs them, one at a time.

The worker's own part is claim, heartbeat and lock: it holds the project's worker lock (one worker per
project home), claims the oldest queued job, and while the job runs a background thread beats every
quarter of the heartbeat timeout, so a slow epoch never looks dead, and a killed worker is noticed
within the timeout. What a job does is ``learner.loop``'s.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import IO

import torch
from sqlalchemy.engine import Engine

from learner import jobs
from learner.export_job import run_export
from learner.loop import PROJECT_CONFIG, finish_heatmaps, maybe_auto_retrain, rescore, train_and_publish
from learner.pretrain import POOL_PRETRAIN_STEPS, pretrain_project
from learner.supervisor import lock_path, locked
from storage import JobStatus, MedalError, Project


class NoGpuWorkerHere(MedalError):
    """``medal worker --device cuda`` where a GPU worker cannot run."""


def check_gpu_worker(*, project: Project, cuda_available: bool | None = None) -> None:
    """A GPU worker (``--device cuda``: one on a GPU node, beside the annotators' machine) needs the project's
    database on PostgreSQL — SQLite is one file on one machine — and a CUDA device torch can see."""
    if project.engine.dialect.name == "sqlite":
        raise NoGpuWorkerHere("A worker on a GPU node needs the project on PostgreSQL (MEDAL_DATABASE_URL): SQLite is "
                              "one file on one machine. On the machine that holds it, `medal worker` uses a GPU by "
                              "itself when torch sees one.")
    if not (torch.cuda.is_available() if cuda_available is None else cuda_available):
        raise NoGpuWorkerHere("torch sees no CUDA device on this machine; install the CUDA build of torch for its "
                              "driver, or run `medal worker` without --device.")


class WorkerAlreadyRunning(MedalError):
    """Another worker already serves this project's home on this machine."""


@contextmanager
def worker_lock(*, project: Project) -> Iterator[IO[str]]:
    """Hold the project's worker lock, with this process's id in it (released by the OS if the process
    dies, even by kill -9); WorkerAlreadyRunning when another process holds it."""
    path = lock_path(project=project)
    with locked(path) as handle:
        if handle is None:
            raise WorkerAlreadyRunning(f"A worker already runs for {project.home} (lock {path}).")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle


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

    def __enter__(self) -> Beats:
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


def run_job(job: jobs.JobView, heartbeat_s: float, *, project: Project) -> None:
    """Run one claimed job of ``project`` to its end state; a failure is recorded on the job, never raised."""
    engine = project.engine
    with Beats(job.id, engine, heartbeat_s) as beats:
        try:
            if job.kind == "train":
                result = train_and_publish(project, beats.progress, strategy_name=job.params.get("strategy"),
                                           config=replace(PROJECT_CONFIG, **job.params.get("config", {})),
                                           job_id=job.id)
                message = f"version {result['model_version']} is active"
                if skipped := result.get("skipped_regions"):
                    message += (f"; {len(skipped)} region(s) left out (outside their image or without finite "
                                f"coordinates): region ids {', '.join(map(str, skipped[:10]))}")
            elif job.kind == "pretrain":
                steps = int(job.params.get("steps", POOL_PRETRAIN_STEPS))
                pretrain_project(PROJECT_CONFIG, steps, project=project, progress=lambda step, total, loss:
                                 beats.progress(step / total, f"pre-training step {step}/{total}: loss {loss:.3f}"))
                result = {"steps": steps}
                message = f"features pre-trained on the pool ({steps} steps): the next training starts from them"
            elif job.kind == "export":
                result = run_export(project, beats.progress, job.params)
                message = f"export {result['name']}: {result['images']} image(s)"
            elif job.params.get("heatmaps"):
                result = finish_heatmaps(project, beats.progress, job.params.get("version_id"))
                message = f"{result['heatmaps']} heatmaps"
            else:
                result = rescore(project, beats.progress, job.params.get("strategy"))
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


def run_worker(*, project: Project, once: bool = False,
               poll_s: float = 1.0, stop: threading.Event | None = None, parent: int | None = None) -> int:
    """Serve ``project``'s jobs until stopped, or, with ``once``, until the queue is empty. Returns jobs run. With
    ``parent``, exits when that process is gone (the app's own worker goes with the app)."""
    engine = project.engine
    stop = stop or threading.Event()
    name = f"{socket.gethostname()}:{os.getpid()}"
    timeout = jobs.heartbeat_timeout()
    count = 0
    with worker_lock(project=project):
        while not stop.is_set():
            jobs.reap_stale(timeout, engine=engine)
            maybe_auto_retrain(engine=engine)
            job = jobs.claim(name, engine=engine)
            if job is None:
                if once or (parent is not None and os.getppid() != parent):
                    break
                stop.wait(poll_s)
                continue
            print(f"job {job.id} ({job.kind}) started", file=sys.stderr, flush=True)
            run_job(job, max(0.2, timeout / 4), project=project)
            count += 1
            print(f"job {job.id} {jobs.get_job(job.id, engine=engine).status}", file=sys.stderr, flush=True)
    return count
