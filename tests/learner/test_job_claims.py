"""Workers on several machines: job claims from several workers at once (every queued job claimed by exactly one
of them, on SQLite and on a real PostgreSQL server, where claims skip the rows another worker has locked), and a
GPU worker refused where it cannot run."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from labeling.cli.main import main
from learner import JobStatus, check_gpu_worker
from learner.jobs import claim, enqueue, finish
from learner.worker import NoGpuWorkerHere
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


def test_a_gpu_worker_needs_postgresql_and_a_gpu(project, tmp_path, request, capsys) -> None:
    assert main(["worker", "--device", "cuda", "--once"]) == 2  # the test's project is on SQLite
    assert "needs the project on PostgreSQL" in capsys.readouterr().err
    engine = make_engine(request.getfixturevalue("postgres_url"))
    with pytest.raises(NoGpuWorkerHere, match="no CUDA device"):
        check_gpu_worker(project=Project(tmp_path, engine), cuda_available=False)
    check_gpu_worker(project=Project(tmp_path, engine), cuda_available=True)  # a GPU node on PostgreSQL: fine
    engine.dispose()
