"""The learning commands of ``medal``: worker, train, jobs, models, score (a thin edge over learner/)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from labeling.cli_common import print_json
from storage.models import JobStatus

FINISHED = {JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value}


def cmd_worker(args: argparse.Namespace) -> int:
    from learner.worker import run_worker

    count = run_worker(once=args.once, poll_s=args.poll, parent=args.parent)
    if args.once:
        print(f"{count} job(s) run")
    return 0


def _wait(job_id: int, as_json: bool) -> int:
    from learner.jobs import get_job
    from learner.supervisor import worker_running

    if not worker_running():  # nobody would run it: run it here
        from learner.worker import run_worker

        run_worker(once=True)
    shown = None
    while True:
        job = get_job(job_id)
        if not as_json and job.message != shown:
            print(f"[{job.progress:4.0%}] {job.message or ''}", flush=True)
            shown = job.message
        if job.status in FINISHED:
            break
        time.sleep(0.5)
    if as_json:
        print_json(job.as_json())
    elif job.status == JobStatus.SUCCEEDED.value:
        print(f"job {job.id} succeeded: {job.message}")
        metrics = (job.result or {}).get("metrics", {})
        if metrics:
            print("  " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
    else:
        print(f"job {job.id} {job.status}: {job.error or job.message}")
    return 0 if job.status == JobStatus.SUCCEEDED.value else 1


def cmd_train(args: argparse.Namespace) -> int:
    from learner.jobs import enqueue
    from learner.strategies import resolve

    params: dict[str, Any] = {"strategy": resolve(args.strategy)} if args.strategy else {}
    job_id = enqueue("train", params, actor="cli")
    if args.wait:
        return _wait(job_id, args.json)
    print_json({"job_id": job_id}) if args.json else print(f"job {job_id} queued; `medal worker` runs it")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from learner.jobs import enqueue

    job_id = enqueue("score", {"strategy": args.strategy} if args.strategy else {}, actor="cli")
    if args.wait:
        return _wait(job_id, args.json)
    print_json({"job_id": job_id}) if args.json else print(f"job {job_id} queued")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from learner.jobs import cancel, list_jobs

    if args.cancel is not None:
        job = cancel(args.cancel, actor="cli")
        print(f"job {job.id}: {job.status}")
        return 0
    items = list_jobs(args.limit)
    if args.json:
        print_json([job.as_json() for job in items])
        return 0
    for job in items:
        print(f"{job.id:>5}  {job.kind:6} {job.status:10} {job.progress:5.0%}  {job.error or job.message or ''}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from learner.registry import activate, list_versions, version_json

    if args.action == "activate":
        if args.id is None:
            raise SystemExit("medal models activate needs a version id")
        version = activate(args.id, actor="cli")
        print(f"model version {version.id} is active")
        return 0
    versions = [version_json(v) for v in list_versions()]
    if args.json:
        print_json(versions)
        return 0
    for v in versions:
        metrics = v["metrics"]
        print(f"{v['id']:>4} {'*' if v['active'] else ' '} {v['created_at'][:19]}  {v['labels']:>6} labels  "
              f"AUC {metrics.get('auc', float('nan')):.3f}  sens {metrics.get('sensitivity', float('nan')):.3f}  "
              f"spec {metrics.get('specificity', float('nan')):.3f}  ECE {metrics.get('ece', float('nan')):.3f}")
    return 0


def add_parsers(commands: Any) -> None:
    command = commands.add_parser("worker", help="run training and scoring jobs")
    command.add_argument("--once", action="store_true", help="exit when no job is queued")
    command.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the jobs table")
    command.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    command.set_defaults(run=cmd_worker)

    command = commands.add_parser("train", help="queue a training job (the worker runs it)")
    command.add_argument("--wait", action="store_true", help="wait and print the result")
    command.add_argument("--strategy", help="query strategy for the scoring after training")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_train)

    command = commands.add_parser("score", help="queue re-ranking of the pool with the active model")
    command.add_argument("--wait", action="store_true")
    command.add_argument("--strategy")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_score)

    command = commands.add_parser("jobs", help="training and scoring jobs, newest first")
    command.add_argument("--json", action="store_true")
    command.add_argument("--limit", type=int, default=50)
    command.add_argument("--cancel", type=int, metavar="ID", help="cancel a queued or running job")
    command.set_defaults(run=cmd_jobs)

    command = commands.add_parser("models", help="model versions; `models activate ID` rolls back")
    command.add_argument("action", nargs="?", choices=["list", "activate"], default="list")
    command.add_argument("id", nargs="?", type=int)
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_models)
