"""Jobs and the worker: life cycle, heartbeat timeout, cancel, kill -9, checkpoints and rollback, and
the loop end to end (demo labels → train → scores → `medal next` puts the most uncertain first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from labeling.cli.main import main
from labeling.labels import next_image
from learner import jobs, registry, run_worker, set_auto_retrain_every, set_strategy, worker_running
from learner.loop import maybe_auto_retrain
from learner.worker import WorkerAlreadyRunning, run_job, worker_lock
from storage import Image, ImageStatus, JobStatus, Prediction, current_project

QUICK = {"config": {"max_epochs": 3, "min_steps": 10, "size": 32}}


@pytest.fixture
def labeled_demo(project, make_demo):
    make_demo(40)
    return project


def test_job_life_cycle(project) -> None:
    job_id = jobs.enqueue("train", {"strategy": "random"}, engine=project.engine)
    assert jobs.get_job(job_id, engine=project.engine).status == "queued"
    claimed = jobs.claim("w1", engine=project.engine)
    assert claimed.id == job_id and claimed.status == "running" and claimed.params == {"strategy": "random"}
    assert jobs.claim("w2", engine=project.engine) is None  # one job, one worker
    jobs.beat(job_id, 0.4, "epoch 2/5", engine=project.engine)
    view = jobs.get_job(job_id, engine=project.engine)
    assert (view.progress, view.message) == (0.4, "epoch 2/5")
    jobs.finish(job_id, JobStatus.SUCCEEDED, message="done", result={"model_version": 1}, engine=project.engine)
    view = jobs.get_job(job_id, engine=project.engine)
    assert (view.status, view.progress, view.result) == ("succeeded", 1.0, {"model_version": 1})
    assert view.finished_at >= view.started_at >= view.created_at
    with pytest.raises(ValueError):
        jobs.enqueue("dance", engine=project.engine)


def test_heartbeat_timeout_fails_the_job_with_a_reason(project) -> None:
    job_id = jobs.enqueue("train", engine=project.engine)
    jobs.claim("w1", engine=project.engine)
    assert jobs.reap_stale(engine=project.engine, timeout_s=5) == []  # fresh heartbeat
    time.sleep(0.3)
    assert jobs.reap_stale(engine=project.engine, timeout_s=0.2) == [job_id]
    view = jobs.get_job(job_id, engine=project.engine)
    assert view.status == "failed" and "stopped sending heartbeats" in view.error
    with pytest.raises(jobs.JobCancelled):  # the dead worker, were it to wake up, may not carry on
        jobs.beat(job_id, engine=project.engine)


def test_cancel_queued_and_running(project) -> None:
    queued = jobs.enqueue("score", engine=project.engine)
    assert jobs.cancel(queued, engine=project.engine).status == "cancelled"
    assert jobs.claim("w", engine=project.engine) is None
    running = jobs.enqueue("score", engine=project.engine)
    jobs.claim("w", engine=project.engine)
    jobs.cancel(running, actor="sam", engine=project.engine)
    with pytest.raises(jobs.JobCancelled):
        jobs.beat(running, 0.5, engine=project.engine)
    jobs.finish(running, JobStatus.SUCCEEDED, engine=project.engine)
    assert jobs.get_job(running, engine=project.engine).status == "cancelled"  # a cancelled job stays cancelled
    with pytest.raises(jobs.JobNotFound):
        jobs.cancel(999, engine=project.engine)


def test_heartbeat_timeout_setting(monkeypatch) -> None:
    monkeypatch.setenv("MEDAL_HEARTBEAT_TIMEOUT_S", "12")
    assert jobs.heartbeat_timeout() == 12
    monkeypatch.delenv("MEDAL_HEARTBEAT_TIMEOUT_S")
    assert jobs.heartbeat_timeout() <= 60


def test_too_few_labels_fails_with_a_reason(project, make_demo) -> None:
    make_demo(8)  # 4 cancerous, 4 healthy
    job_id = jobs.enqueue("train", QUICK, engine=project.engine)
    run_job(jobs.claim("w", engine=project.engine), 1.0, project=project)
    view = jobs.get_job(job_id, engine=project.engine)
    assert view.status == "failed" and "Label more images" in view.error
    assert registry.active_version(engine=project.engine) is None


def test_one_worker_per_home(project) -> None:
    with worker_lock(project=project):
        assert worker_running(project=project)
        with pytest.raises(WorkerAlreadyRunning):
            with worker_lock(project=project):
                pass
    assert not worker_running(project=project)


def test_train_scores_and_reranks_the_queue(labeled_demo, capsys) -> None:
    engine = labeled_demo.engine
    set_strategy("least_confidence", engine=engine)
    jobs.enqueue("train", QUICK, engine=engine)
    assert main(["worker", "--once"]) == 0
    capsys.readouterr()
    assert main(["models", "--json"]) == 0
    (version,) = json.loads(capsys.readouterr().out)
    assert version["active"] and version["labels"] == 40
    assert {"auc", "sensitivity", "specificity", "ece", "threshold"} <= set(version["metrics"])
    assert main(["jobs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(j["kind"], j["status"]) for j in listed] == [("train", "succeeded")]  # heatmaps came with scoring
    assert {"id", "kind", "status", "progress", "message", "error"} <= set(listed[0])

    with Session(engine) as session:
        unlabeled = session.exec(select(Image.id).where(Image.status == ImageStatus.UNLABELED)).all()
        predictions = {p.image_id: p for p in session.exec(select(Prediction)).all()}
    assert set(predictions) == set(unlabeled)  # every unlabeled image scored, and only those
    assert all(p.heatmap_path and Path(p.heatmap_path).exists() for p in predictions.values())
    heat = np.load(next(iter(predictions.values())).heatmap_path)
    assert heat.ndim == 2 and 0 <= heat.min() and heat.max() <= 1

    assert main(["next", "-n", "20", "--json"]) == 0
    top = [item["image_id"] for item in json.loads(capsys.readouterr().out)]
    uncertainty = {i: p.uncertainty for i, p in predictions.items()}
    ranked = sorted(uncertainty, key=lambda i: -uncertainty[i])
    assert sorted(uncertainty[i] for i in top) == sorted(uncertainty[i] for i in ranked[:20])
    assert top == sorted(top, key=lambda i: -uncertainty[i])  # most uncertain first


def test_rollback_and_broken_checkpoints(labeled_demo, capsys) -> None:
    engine = labeled_demo.engine
    for _ in range(2):
        jobs.enqueue("train", QUICK, engine=engine)
    run_worker(project=labeled_demo, once=True)
    first, second = registry.list_versions(engine=engine)
    assert registry.active_version(engine=engine).id == second.id
    assert main(["models", "activate", str(first.id)]) == 0
    assert registry.active_version(engine=engine).id == first.id

    Path(second.checkpoint_path).write_bytes(Path(second.checkpoint_path).read_bytes()[:1000])
    assert main(["models", "activate", str(second.id)]) == 2
    assert "damaged" in capsys.readouterr().err
    assert registry.active_version(engine=engine).id == first.id  # refused: nothing changed

    Path(first.checkpoint_path).unlink()
    with pytest.raises(registry.CheckpointError, match="missing"):
        registry.load_active(engine=engine)
    assert registry.active_version(engine=engine) is None  # falls back to no model
    assert next_image("demo", engine=engine) is not None  # and the queue keeps serving


def test_auto_retrain_after_n_new_labels(labeled_demo) -> None:
    engine = labeled_demo.engine
    assert maybe_auto_retrain(engine=engine) is None  # off by default
    set_auto_retrain_every(30, engine=engine)
    job_id = maybe_auto_retrain(engine=engine)  # 40 labels, no version yet
    assert job_id is not None and maybe_auto_retrain(engine=engine) is None  # not twice


def test_kill_minus_nine_during_training(labeled_demo, tmp_path: Path) -> None:
    engine = labeled_demo.engine
    jobs.enqueue("train", QUICK, engine=engine)
    run_worker(project=labeled_demo, once=True)
    previous = registry.active_version(engine=engine)
    slow = jobs.enqueue("train", {"config": {"max_epochs": 200, "min_steps": 20000, "size": 32}}, engine=engine)
    env = {**os.environ, "MEDAL_HEARTBEAT_TIMEOUT_S": "3"}
    worker = subprocess.Popen([sys.executable, "-m", "labeling.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while "epoch" not in (jobs.get_job(slow, engine=engine).message or ""):
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never started training"
            time.sleep(0.2)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    killed_at = time.monotonic()
    os.environ["MEDAL_HEARTBEAT_TIMEOUT_S"] = "3"
    try:
        while jobs.get_job(slow, engine=engine).status == "running":
            assert time.monotonic() - killed_at < 10, "the dead job was not failed within the timeout"
            jobs.reap_stale(engine=engine)
            time.sleep(0.2)
    finally:
        del os.environ["MEDAL_HEARTBEAT_TIMEOUT_S"]
    view = jobs.get_job(slow, engine=engine)
    assert view.status == "failed" and "heartbeats" in view.error
    assert registry.active_version(engine=engine).id == previous.id  # the killed run changed nothing
    assert next_image("demo", engine=engine) is not None
    jobs.enqueue("train", QUICK, engine=engine)
    run_worker(project=labeled_demo, once=True)
    assert registry.active_version(engine=engine).id == previous.id + 1  # the next training succeeds


def test_the_app_starts_one_worker_that_runs_jobs(labeled_demo, monkeypatch, project) -> None:
    from learner import ensure_worker

    def medal_home() -> Path:
        return current_project().home

    monkeypatch.setenv("MEDAL_WORKER", "auto")
    assert ensure_worker(project=project)
    deadline = time.monotonic() + 60
    while not worker_running(project=project):
        assert time.monotonic() < deadline, "the started worker never took its lock"
        time.sleep(0.2)
    pid = int((medal_home() / "worker.lock").read_text().split()[0])
    try:
        assert not ensure_worker(project=project)  # a second app process does not start a second worker
        job_id = jobs.enqueue("train", QUICK, engine=labeled_demo.engine)
        while jobs.get_job(job_id, engine=labeled_demo.engine).status in ("queued", "running"):
            assert time.monotonic() < deadline + 120, "the app's worker did not run the job"
            time.sleep(0.3)
        assert jobs.get_job(job_id, engine=labeled_demo.engine).status == "succeeded"
        assert registry.active_version(engine=labeled_demo.engine) is not None
    finally:
        os.kill(pid, signal.SIGKILL)
