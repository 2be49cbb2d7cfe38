"""The jobs table: enqueue, claim, heartbeat, finish, cancel, and failing jobs whose worker died.

A worker claims the oldest queued job with one conditional UPDATE (so two workers never run the same
job), then beats: progress, a message, and ``heartbeat_at``. A running job whose heartbeat is older
than ``MEDAL_HEARTBEAT_TIMEOUT_S`` is failed by the next worker that looks (``reap_stale``). Cancelling a
running job marks it cancelled; its worker sees that on its next beat and stops without publishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import rights
from storage import AuditEvent, Job, JobStatus, MedalError, as_utc, config, utcnow, write_session

KINDS = ("train", "score", "export", "pretrain")
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)  # a JobView's status string compares equal


class JobNotFound(MedalError):
    """A job id that does not exist."""


class JobCancelled(MedalError):
    """Raised inside a running job when someone cancelled it."""


def heartbeat_timeout() -> float:
    """Seconds without a heartbeat after which a running job counts as dead (``MEDAL_HEARTBEAT_TIMEOUT_S``)."""
    return config().heartbeat_timeout_s


@dataclass
class JobView:
    id: int
    kind: str
    status: str
    progress: float
    message: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    result: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": self.status, "progress": round(self.progress, 4),
                "message": self.message, "error": self.error, "created_at": self.created_at.isoformat(),
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "result": self.result}


def _view(job: Job) -> JobView:
    return JobView(job.id, job.kind, job.status.value, job.progress, job.message, job.error,
                   as_utc(job.created_at), as_utc(job.started_at), as_utc(job.finished_at),
                   {k: v for k, v in job.params.items() if k != "result"}, job.params.get("result"))


def enqueue(kind: str, params: dict[str, Any] | None = None, *, engine: Engine, actor: str | None = None) -> int:
    """Queue a new job of ``kind`` (train, score, export or pretrain) for the worker; audited."""
    return _queue(kind, params, actor, engine, reuse=False)[0]


def request(kind: str, params: dict[str, Any] | None = None, *, engine: Engine,
            actor: str | None = None) -> tuple[int, bool]:
    """A job of ``kind`` with ``params``: the one already waiting with the same parameters, so asking
    again does not pile up duplicates, else a new one. Returns ``(job id, whether it is new)``."""
    return _queue(kind, params, actor, engine, reuse=True)


def _queue(kind: str, params: dict[str, Any] | None, actor: str | None, engine: Engine,
           reuse: bool) -> tuple[int, bool]:
    if kind not in KINDS:
        raise ValueError(f"Unknown job kind {kind!r}; one of {', '.join(KINDS)}.")
    params = params or {}
    with write_session(engine=engine) as session:  # one transaction: two requests at once still make one job
        rights.check(session, actor, _right(kind, params))
        if reuse:
            waiting = session.exec(select(Job).where(Job.kind == kind, Job.status == JobStatus.QUEUED)
                                   .order_by(Job.id)).all()
            same = next((job.id for job in waiting if (job.params or {}) == params), None)
            if same is not None:
                return int(same), False
        job = Job(kind=kind, params=params, message="waiting for a worker")
        session.add(job)
        session.flush()
        session.add(AuditEvent(username=actor, action="job.enqueue", entity="job", entity_id=job.id,
                               detail={"kind": kind, **params}))
        session.commit()
        return int(job.id), True


def _right(kind: str, params: dict[str, Any]) -> rights.Right:
    """What the account asking for a job must be allowed: training and scoring, or the export it asks for."""
    if kind == "export":
        return rights.EXPORT if params.get("deidentify", True) else rights.EXPORT_IDENTITY
    return rights.TRAIN


def pending(kind: str, *, engine: Engine) -> int | None:
    """The id of a queued or running job of ``kind``, if there is one (to avoid piling up duplicates)."""
    with Session(engine) as session:
        return session.exec(select(Job.id).where(Job.kind == kind, col(Job.status).in_(ACTIVE))
                           .order_by(Job.id)).first()


def claim(worker: str, *, engine: Engine) -> JobView | None:
    """Take the oldest queued job for ``worker`` (atomically), or None when there is none. On PostgreSQL the
    candidate row is locked with SKIP LOCKED, so workers on several machines each take a different job at once;
    the conditional update makes a job run exactly once on any database."""
    with write_session(engine=engine) as session:
        job_id = session.exec(select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
                              .with_for_update(skip_locked=True)).first()
        if job_id is None:
            return None
        now = utcnow()
        taken = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED).values(
            status=JobStatus.RUNNING, worker=worker, started_at=now, heartbeat_at=now, message="starting"))
        session.commit()
        if taken.rowcount != 1:
            return None
    return get_job(job_id, engine=engine)


def beat(job_id: int, progress: float | None = None, message: str | None = None, *, engine: Engine) -> None:
    """Record that the job is alive (and how far it got); JobCancelled when someone cancelled it."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, float(progress)))
    if message is not None:
        values["message"] = message[:1024]
    with write_session(engine=engine) as session:
        changed = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                                  .values(**values)).rowcount
        session.commit()
    if changed != 1:
        raise JobCancelled(f"Job {job_id} was cancelled.")


def finish(job_id: int, status: JobStatus, *, engine: Engine, message: str | None = None, error: str | None = None,
           result: dict[str, Any] | None = None) -> None:
    """Close a running job (a job someone cancelled meanwhile stays cancelled, one a reaper failed meanwhile
    stays failed: the row is locked while it is read and written, so a worker judged dead that finishes after
    all never writes over the reaper's end, nor the reaper over its)."""
    with write_session(engine=engine) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status != JobStatus.RUNNING:
            return
        job.status, job.finished_at, job.heartbeat_at = status, utcnow(), utcnow()
        if status is JobStatus.SUCCEEDED:
            job.progress = 1.0
        job.message = (message or job.message or "")[:1024]
        job.error = error[:4096] if error else None
        if result is not None:
            job.params = {**job.params, "result": result}
        session.add(job)
        session.commit()


def cancel(job_id: int, *, engine: Engine, actor: str | None = None) -> JobView:
    """Cancel a queued or running job; a finished one is left as it is."""
    with write_session(engine=engine) as session:
        rights.check(session, actor, rights.TRAIN)
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise JobNotFound(f"There is no job {job_id}; `medal jobs` lists them.")
        if job.status not in FINISHED:
            job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
            job.message = f"cancelled by {actor or 'a user'}"
            session.add(job)
            session.add(AuditEvent(username=actor, action="job.cancel", entity="job", entity_id=job_id))
            session.commit()
    return get_job(job_id, engine=engine)


def reap_stale(timeout_s: float | None = None, *, engine: Engine) -> list[int]:
    """Fail every running job whose heartbeat is older than the timeout; returns their ids. The stale rows are
    locked as they are read (on PostgreSQL; SQLite's write lock does it there), and a row another worker is failing
    at that moment is skipped: a dead worker's job is failed once, by one of the workers that see it."""
    timeout_s = heartbeat_timeout() if timeout_s is None else timeout_s
    cutoff = utcnow() - timedelta(seconds=timeout_s)
    with write_session(engine=engine) as session:
        stale = session.exec(select(Job).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < cutoff)
                             .with_for_update(skip_locked=True)).all()
        for job in stale:
            last = as_utc(job.heartbeat_at)
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
            job.error = (f"The worker {job.worker or ''} stopped sending heartbeats (last at {last:%H:%M:%S} UTC, "
                         f"more than {timeout_s:g} s ago): it was killed or crashed. The previous model stays "
                         "active; start the training again.")
            session.add(job)
        session.commit()
        return [int(job.id) for job in stale]


def get_job(job_id: int, *, engine: Engine) -> JobView:
    with Session(engine) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFound(f"There is no job {job_id}; `medal jobs` lists them.")
        return _view(job)


def list_jobs(limit: int = 50, *, engine: Engine) -> list[JobView]:
    with Session(engine) as session:
        return [_view(job) for job in session.exec(select(Job).order_by(col(Job.id).desc()).limit(limit)).all()]
