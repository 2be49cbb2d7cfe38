"""The learning commands of ``medal``: worker, train, score, jobs, models and simulate (a thin edge
over learner/)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeling.cli.output import print_json
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project


def cmd_worker(args: argparse.Namespace, *, project: Project) -> int:
    from learner import check_gpu_worker, run_worker

    if args.device == "cuda":
        check_gpu_worker(project=project)
    count = run_worker(once=args.once, poll_s=args.poll, parent=args.parent, project=project)
    if args.once:
        print(f"{count} job(s) run")
    return 0


def _wait(job_id: int, as_json: bool, *, project: Project) -> int:
    from learner import FINISHED, JobStatus, get_job, worker_running

    if not worker_running(project=project):  # nobody would run it: run it here
        from learner import run_worker

        run_worker(once=True, project=project)
    shown = None
    while True:
        job = get_job(job_id, engine=project.engine)
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


def cmd_train(args: argparse.Namespace, *, project: Project) -> int:
    from learner import resolve

    return _queue(args, "train", {"strategy": resolve(args.strategy)} if args.strategy else {}, project=project)


def cmd_pretrain(args: argparse.Namespace, *, project: Project) -> int:
    return _queue(args, "pretrain", {"steps": args.steps}, project=project)


def cmd_score(args: argparse.Namespace, *, project: Project) -> int:
    return _queue(args, "score", {"strategy": args.strategy} if args.strategy else {}, project=project)


def _queue(args: argparse.Namespace, kind: str, params: dict[str, Any], *, project: Project) -> int:
    """Queue a job (or take the same one already waiting) and wait for it or say its id."""
    from learner import request

    job_id, new = request(kind, params, actor="cli", engine=project.engine)
    if args.wait:
        return _wait(job_id, args.json, project=project)
    if args.json:
        print_json({"job_id": job_id, "new": new})
    else:
        print(f"job {job_id} {'queued' if new else 'was queued already'}; `medal worker` runs it")
    return 0


def cmd_jobs(args: argparse.Namespace, *, project: Project) -> int:
    from learner import cancel, list_jobs

    if args.cancel is not None:
        job = cancel(args.cancel, actor="cli", engine=project.engine)
        print(f"job {job.id}: {job.status}")
        return 0
    items = list_jobs(args.limit, engine=project.engine)
    if args.json:
        print_json([job.as_json() for job in items])
        return 0
    for job in items:
        print(f"{job.id:>5}  {job.kind:6} {job.status:10} {job.progress:5.0%}  {job.error or job.message or ''}")
    return 0


def cmd_models(args: argparse.Namespace, *, project: Project) -> int:
    from learner import list_versions, version_json

    versions = [version_json(v) for v in list_versions(engine=project.engine)]
    if args.json:
        print_json(versions)
        return 0
    for v in versions:
        metrics = v["metrics"]
        print(f"{v['id']:>4} {'*' if v['active'] else ' '} {v['created_at'][:19]}  {v['labels']:>6} labels  "
              f"AUC {metrics.get('auc', float('nan')):.3f}  sens {metrics.get('sensitivity', float('nan')):.3f}  "
              f"spec {metrics.get('specificity', float('nan')):.3f}  ECE {metrics.get('ece', float('nan')):.3f}")
    return 0


def cmd_predictions(args: argparse.Namespace, *, project: Project) -> int:
    from learner import prediction_rows, with_outlines

    rows = prediction_rows(args.image, engine=project.engine)
    if args.json and not args.no_outlines:
        rows = with_outlines(rows, project=project)
    if args.json:
        print_json([row.as_json() for row in rows])
        return 0
    if not rows:
        print("No predictions yet: train a model (`medal train`), then the worker scores the pool.")
    for row in rows:
        peak = "-" if row.heatmap_peak is None else f"({row.heatmap_peak[0]:.0f}, {row.heatmap_peak[1]:.0f})"
        rank = "-" if row.queue_rank is None else str(row.queue_rank)
        print(f"{row.image_id:>6}  p {row.probability:.3f}  unsure {row.uncertainty:.3f}  utility "
              f"{row.strategy_utility:.4f}  rank {rank:>5}  peak {peak}  {len(row.proposals)} proposal(s)")
    return 0


def cmd_models_activate(args: argparse.Namespace, *, project: Project) -> int:
    from learner import activate

    version = activate(args.id, actor="cli", engine=project.engine)
    print(f"model version {version.id} is active")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from benchmarks import simulate

    try:
        data = simulate.load_data(Path(args.data))
    except (OSError, ValueError) as error:
        raise MedalError(f"Cannot use --data {args.data}: {error}") from error
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    log = None if args.json else (lambda s, k, n, auc: print(f"{s:17} seed {k}  {n:5} labels  AUC {auc:.4f}",
                                                             flush=True))
    results = simulate.simulate(data, strategies, args.seeds, args.initial, args.step, args.budget, on_step=log,
                                pretrain_steps=simulate.PRETRAIN_STEPS if args.pretrain_steps is None
                                else args.pretrain_steps)
    summary = simulate.summarise(results)
    if args.plot:
        simulate.plot(summary, Path(args.plot))
    if args.json:
        print_json(results)
        return 0
    target = summary.get("random_target_auc")
    for strategy in strategies:
        item = summary[strategy]
        reach = item.get("labels_to_reach_random")
        print(f"{strategy:17} AUC at budget {item['mean'][-1]:.4f} ± {item['std'][-1]:.4f}; "
              f"labels to reach random's {target or float('nan'):.4f}: {reach if reach else '-'}")
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                json_parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("worker", help="run training and scoring jobs")
    command.add_argument("--once", action="store_true", help="exit when no job is queued")
    command.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the jobs table")
    command.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    command.add_argument("--device", choices=("auto", "cuda"), default="auto",
                         help="cuda: a worker on a GPU node (the project on PostgreSQL); auto: a GPU if torch sees one")
    command.set_defaults(run=cmd_worker)

    command = commands.add_parser("train", parents=[json_parent], help="queue a training job (the worker runs it)")
    command.add_argument("--wait", action="store_true", help="wait and print the result")
    command.add_argument("--strategy", help="query strategy for the scoring after training")
    command.set_defaults(run=cmd_train)

    command = commands.add_parser("pretrain", parents=[json_parent],
                                  help="queue pre-training of the network's features on windows of the pool (no "
                                       "labels): later trainings start from them")
    command.add_argument("--steps", type=int, default=300, help="contrastive steps (300: ~2 minutes on 2 cores)")
    command.add_argument("--wait", action="store_true", help="wait and print the result")
    command.set_defaults(run=cmd_pretrain)

    command = commands.add_parser("score", parents=[json_parent],
                                  help="queue re-ranking of the pool with the active model")
    command.add_argument("--wait", action="store_true")
    command.add_argument("--strategy")
    command.set_defaults(run=cmd_score)

    command = commands.add_parser("jobs", parents=[json_parent], help="training and scoring jobs, newest first")
    command.add_argument("--limit", type=int, default=50)
    command.add_argument("--cancel", type=int, metavar="ID", help="cancel a queued or running job")
    command.set_defaults(run=cmd_jobs)

    command = commands.add_parser("models", parents=[json_parent],
                                  help="model versions; `models activate ID` rolls back")
    command.set_defaults(run=cmd_models)  # `medal models` alone lists
    actions = command.add_subparsers(dest="action")
    actions.add_parser("list", parents=[json_parent], help="list model versions (the default)")
    action = actions.add_parser("activate", help="make version ID the active model (roll back)")
    action.add_argument("id", type=int, metavar="ID", help="a version id from `medal models`")
    action.set_defaults(run=cmd_models_activate)

    command = commands.add_parser("predictions", parents=[json_parent],
                                  help="the active model's view of each scored image, in queue order")
    command.add_argument("--image", type=int, metavar="ID", help="one image only")
    command.add_argument("--no-outlines", action="store_true",
                         help="with --json: proposals' boxes only, without the outline Accept draws (faster)")
    command.set_defaults(run=cmd_predictions)

    command = commands.add_parser("simulate", parents=[json_parent],
                                  help="active-learning simulation against known labels")
    command.add_argument("--data", required=True,
                         help="a MedMNIST-style .npz, a folder with one sub-folder per class, or a Medal project "
                              "home with true labels (medal demo)")
    command.add_argument("--strategies", default="random,stratified-random,default",
                         help="comma-separated; stratified-random (random with each class at its pool share per "
                              "batch) is a simulation baseline only")
    command.add_argument("--initial", type=int, default=20)
    command.add_argument("--step", type=int, default=20)
    command.add_argument("--budget", type=int, default=300)
    command.add_argument("--seeds", type=int, default=5)
    command.add_argument("--plot", help="write the mean curves with bands to this PNG")
    command.add_argument("--pretrain-steps", type=int,
                         help="contrastive pre-training steps on the pool per seed before the first label "
                              "(default 1000; 0: every round trains from scratch)")
    command.set_defaults(run=cmd_simulate, own_project=True)
