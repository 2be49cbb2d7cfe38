"""Job claims from several workers at once: every queued job is claimed by exactly one of them, on SQLite and on
a real PostgreSQL server (where claims skip the rows another worker has locked)."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from learner import JobStatus
from learner.jobs import claim, enqueue, finish
from storage import Job, Project, upgrade_to_head
from storage.db import make_engine


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_thirty_jobs_six_workers_each_job_once(database, tmp_path, request) -> None:
    if database == "sqlite":
        engine = Project.open(tmp_path / "home").engine
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        upgrade_to_head(engine)
    jobs = [enqueue("score", {"n": n}, engine=engine) for n in range(30)]
    taken: list[tuple[str, int]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            while (job := claim(name, engine=engine)) is not None or _queued(engine):
                if job is not None:
                    with lock:
                        taken.append((name, job.id))
                    finish(job.id, JobStatus.SUCCEEDED, engine=engine)
        except BaseException as error:  # noqa: BLE001 (reported in the test's thread)
            failures.append(error)

    workers = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(6)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not failures, failures
    assert sorted(job for _, job in taken) == sorted(jobs)  # each job once, none lost
    if database == "postgresql":
        engine.dispose()


def _queued(engine) -> bool:
    """Whether a job is still queued (a worker whose claim lost a race looks again)."""
    with Session(engine) as session:
        return session.exec(select(Job.id).where(Job.status == JobStatus.QUEUED).limit(1)).first() is not None
