"""Workers on several machines, for real: three ``medal worker`` processes, each with a home of its own (as on
three machines) and one PostgreSQL database, serve thirty queued scoring jobs; one of them is killed with
SIGKILL while it runs a job. Every job ends exactly once: each job row is claimed once and reaches a final
state once (a trigger on the job table records every change of state, so a job claimed twice or closed twice
shows, even when the last write looks right); the 29 others succeed; the killed worker's job is failed, once,
by a survivor that sees its heartbeat stop (the existing behaviour: it is not retried), and no job is added.
The second test makes certain what two survivors may do at once: both find the dead job stale; one fails it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from labeling.intake import import_paths
from labeling.intake.demo import apply_truth
from learner import jobs, registry, run_worker
from storage import Project

TINY = {"config": {"max_epochs": 1, "min_steps": 1, "min_steps_before_stopping": 1}}  # any model will do
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")  # how PostgreSQL's jobstatus enum spells the end states
HEARTBEAT_TIMEOUT_S = "3"  # the dead job is noticed soon; a live one beats every 0.75 s, so it never looks dead
PATIENTS = 5
POOL = 24
DEADLINE_S = 300  # only so a hung worker fails the test instead of hanging it; not a timing assertion

# Every change of a job row's state, and every write of an end state (a job closed twice writes it twice even
# when the second write changes nothing), in the order the database made them.
TRANSITIONS = """
CREATE TABLE IF NOT EXISTS job_transition (id serial PRIMARY KEY, job_id integer NOT NULL, old_status text,
                                           new_status text, worker text);
CREATE OR REPLACE FUNCTION log_job_transition() RETURNS trigger AS $$
BEGIN
    INSERT INTO job_transition (job_id, old_status, new_status, worker)
    VALUES (NEW.id, OLD.status::text, NEW.status::text, NEW.worker);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS job_transition ON job;
CREATE TRIGGER job_transition AFTER UPDATE ON job FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR NEW.status::text IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))
    EXECUTE FUNCTION log_job_transition();
"""


def test_three_worker_processes_thirty_jobs_one_killed(postgres_url, demo_template: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    project = Project.open(tmp_path / "setup", postgres_url)  # migrates the PostgreSQL database
    engine = project.engine
    demo = demo_template / "demo"  # a third of the demo's patients (the session's copy), 40 of their images labeled
    import_paths([demo / "dicom" / f"DEMO{n:04d}" for n in range(PATIENTS)], project=project)
    apply_truth(40, json.loads((demo / "truth.json").read_text()), engine=engine)
    with engine.begin() as connection:  # a pool of POOL images: a scoring job takes a moment, not minutes
        connection.execute(text("UPDATE image SET status = 'SKIPPED' WHERE status = 'UNLABELED' AND id NOT IN "
                                "(SELECT id FROM image WHERE status = 'UNLABELED' ORDER BY id LIMIT :n)"), {"n": POOL})
    jobs.enqueue("train", TINY, engine=engine)
    run_worker(project=project, once=True)  # a model to score with: a scoring job without one does nothing
    assert registry.active_version(engine=engine) is not None
    setup_s = time.monotonic() - started
    with engine.begin() as connection:
        connection.execute(text(TRANSITIONS))
    queued = [jobs.enqueue("score", {"n": n}, engine=engine) for n in range(30)]

    env = {**os.environ, "MEDAL_DATABASE_URL": postgres_url, "MEDAL_HEARTBEAT_TIMEOUT_S": HEARTBEAT_TIMEOUT_S,
           "MEDAL_WORKER": "off"}
    workers, logs = [], []
    for n in range(3):
        log = open(tmp_path / f"worker-{n}.log", "w")
        logs.append(log)
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "labeling.cli.main", "worker", "--poll", "0.2"],
            env={**env, "MEDAL_HOME": str(tmp_path / f"machine-{n}")}, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT))
    names = {f"{socket.gethostname()}:{worker.pid}": worker for worker in workers}
    try:
        deadline = time.monotonic() + DEADLINE_S
        victim, held = None, None
        while victim is None:  # a worker mid-job: stopped (SIGSTOP) while it holds a running job, then killed
            assert time.monotonic() < deadline, "no worker was caught running a job"
            assert all(worker.poll() is None for worker in workers), _logs(logs)
            candidate = _running(engine, names)
            if candidate is None:
                time.sleep(0.02)
                continue
            worker = names[candidate[1]]
            os.kill(worker.pid, signal.SIGSTOP)  # frozen: what the database says it holds, it holds
            if (holding := _running(engine, names, worker=candidate[1])) is not None:
                held, victim = holding[0], worker
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
            else:  # it finished that job just before: let it go on, and look again
                os.kill(worker.pid, signal.SIGCONT)
        killed_s = time.monotonic() - started
        victim_name = next(name for name, worker in names.items() if worker is victim)
        survivors = [worker for worker in workers if worker is not victim]

        while _unfinished(engine):
            assert time.monotonic() < deadline, f"jobs left unfinished: {_unfinished(engine)}\n{_logs(logs)}"
            assert all(worker.poll() is None for worker in survivors), _logs(logs)
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        for log in logs:
            log.close()
    wall_s = time.monotonic() - started

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, kind, status::text AS status, worker, error FROM job "
                                       "WHERE kind = 'score' ORDER BY id")).all()
        transitions = connection.execute(text("SELECT job_id, old_status, new_status, worker "
                                              "FROM job_transition ORDER BY id")).all()
        total = connection.execute(text("SELECT count(*) FROM job")).scalar_one()
    text_logs = _logs(logs)
    print(f"setup {setup_s:.1f} s, kill at {killed_s:.1f} s, wall {wall_s:.1f} s")

    assert [row.id for row in rows] == queued and total == 31  # the training job and the thirty: none added
    claims = Counter(t.job_id for t in transitions if t.old_status == "QUEUED" and t.new_status == "RUNNING")
    ends = Counter(t.job_id for t in transitions if t.new_status in FINAL)
    assert claims == Counter(queued), transitions  # each job claimed once
    assert ends == Counter(queued), transitions  # and ended once
    statuses = {row.id: row.status for row in rows}
    assert statuses[held] == "FAILED"  # the killed worker's job: failed, not retried
    held_row = next(row for row in rows if row.id == held)
    assert held_row.worker == victim_name and "stopped sending heartbeats" in held_row.error
    assert [(t.old_status, t.new_status) for t in transitions if t.job_id == held] == [("QUEUED", "RUNNING"),
                                                                                      ("RUNNING", "FAILED")]
    assert {job: status for job, status in statuses.items() if job != held} == {
        job: "SUCCEEDED" for job in queued if job != held}, text_logs
    # each job run by one worker: the workers' own logs say which jobs they started (the killed one may have been
    # stopped between its claim and its line)
    started_lines = Counter(int(line.split()[1]) for line in text_logs.splitlines()
                            if line.startswith("job ") and line.endswith("started"))
    assert started_lines - Counter([held]) == Counter(job for job in queued if job != held), text_logs
    assert started_lines[held] <= 1, text_logs
    assert {row.worker for row in rows} <= set(names)
    project.close()



def test_two_workers_that_see_a_dead_job_at_once_fail_it_once(postgres_url, tmp_path: Path, monkeypatch) -> None:
    """What the survivors of the test above may do at any moment, made certain: one looks at a dead worker's job
    (found stale, not yet written) while the other reaps. The job is failed once: the second looker skips the
    row the first holds (without that both wrote it, and the last error and end time won)."""
    project = Project.open(tmp_path / "home", postgres_url)
    engine = project.engine
    with engine.begin() as connection:
        connection.execute(text(TRANSITIONS))
    job_id = jobs.enqueue("score", engine=engine)
    jobs.claim("dead-worker", engine=engine)
    time.sleep(0.3)  # its heartbeat goes stale
    seen, other_done = threading.Event(), threading.Event()
    first = threading.current_thread()
    as_utc = jobs.as_utc

    def slow_as_utc(value):  # the first reaper pauses between finding the job and writing it
        if threading.current_thread() is first:
            seen.set()
            other_done.wait(timeout=5)
        return as_utc(value)

    monkeypatch.setattr(jobs, "as_utc", slow_as_utc)
    reaped: list[list[int]] = []

    def second() -> None:
        seen.wait(timeout=5)
        reaped.append(jobs.reap_stale(0.2, engine=engine))
        other_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    reaped.append(jobs.reap_stale(0.2, engine=engine))
    thread.join(timeout=30)
    with engine.connect() as connection:
        ends = connection.execute(text("SELECT new_status FROM job_transition WHERE job_id = :id "
                                       "AND new_status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')"), {"id": job_id}).all()
    assert sorted(reaped) == [[], [job_id]] and len(ends) == 1, (reaped, ends)
    assert jobs.get_job(job_id, engine=engine).status == "failed"
    project.close()


def test_a_worker_judged_dead_that_finishes_meanwhile_does_not_write_over_the_reaper(postgres_url, tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """A live worker whose heartbeat came late finishes its job while a reaper fails it: one end is written (the
    reaper's, whose lock the finishing worker waits for); without the lock in finish both were, the last won."""
    project = Project.open(tmp_path / "home", postgres_url)
    engine = project.engine
    with engine.begin() as connection:
        connection.execute(text(TRANSITIONS))
    job_id = jobs.enqueue("score", engine=engine)
    jobs.claim("slow-worker", engine=engine)
    time.sleep(0.3)  # its heartbeat goes stale
    seen, finished = threading.Event(), threading.Event()
    reaper = threading.current_thread()
    as_utc = jobs.as_utc

    def slow_as_utc(value):  # the reaper pauses between finding the job (locked) and writing it
        if threading.current_thread() is reaper:
            seen.set()
            finished.wait(timeout=1)
        return as_utc(value)

    monkeypatch.setattr(jobs, "as_utc", slow_as_utc)

    def worker() -> None:
        seen.wait(timeout=5)
        jobs.finish(job_id, jobs.JobStatus.SUCCEEDED, engine=engine, message="done")
        finished.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert jobs.reap_stale(0.2, engine=engine) == [job_id]
    thread.join(timeout=30)
    with engine.connect() as connection:
        ends = connection.execute(text("SELECT new_status FROM job_transition WHERE job_id = :id "
                                       "AND new_status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')"), {"id": job_id}).all()
    assert [end[0] for end in ends] == ["FAILED"], ends
    assert jobs.get_job(job_id, engine=engine).status == "failed"
    project.close()


def _running(engine, names, worker: str | None = None) -> tuple[int, str] | None:
    """A scoring job that one of the workers runs (that worker's, when ``worker`` is given): (id, worker)."""
    with engine.connect() as connection:
        for job_id, name in connection.execute(text(
                "SELECT id, worker FROM job WHERE status = 'RUNNING' AND kind = 'score' ORDER BY id")).all():
            if name in names and worker in (None, name):
                return job_id, name
    return None


def _unfinished(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT id FROM job WHERE status::text IN ('QUEUED', 'RUNNING') ORDER BY id")).scalars())


def _logs(logs) -> str:
    """What the workers wrote so far (read through a file of its own: the workers share the log's offset)."""
    return "\n".join(Path(log.name).read_text() for log in logs)

