"""The ``medal`` command line: a thin edge over labeling/, learner/ and storage/.

Every command reads arguments, calls one or two library functions, and prints the result; a
``MedalError`` becomes a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from labeling.cli_common import print_json, progress_bar
from labeling.cli_data import add_parsers as add_data_parsers
from labeling.cli_learning import add_parsers as add_learning_parsers
from labeling.errors import MedalError


def cmd_import(args: argparse.Namespace) -> int:
    from labeling.ingest import import_paths

    report = import_paths(args.paths, previews=not args.no_previews, workers=args.workers,
                          progress=progress_bar("Importing"))
    if args.json:
        print_json(report.as_dict())
        return 0
    print(f"Imported {report.imported} file(s): {report.images} new image(s), "
          f"{report.duplicates} already indexed, {len(report.rejected)} refused.")
    for item in report.rejected:
        print(f"  refused {item['path']}: {item['reason']}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from labeling.catalog import list_images

    images = list_images(modality=args.modality, status=args.status, limit=args.limit)
    if args.json:
        print_json([image.as_json() for image in images])
        return 0
    print(f"{'id':>6}  {'modality':8} {'size':>11}  {'patient':13} {'date':10}  {'status':9} path")
    for image in images:
        size = f"{image.rows}×{image.cols}"
        frame = f" [frame {image.frame}]" if image.frame else ""
        print(f"{image.id:>6}  {image.modality or '-':8} {size:>11}  {image.patient_key or '-':13} "
              f"{str(image.study_date or '-'):10}  {image.status:9} {image.path}{frame}")
    return 0


def cmd_problems(args: argparse.Namespace) -> int:
    from labeling.ingest import import_problems

    problems = import_problems(limit=args.limit)
    if args.json:
        print_json([{"path": p.path, "reason": p.reason, "detected_at": p.detected_at} for p in problems])
        return 0
    for problem in problems:
        print(f"{problem.path}: {problem.reason}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from labeling.catalog import write_png
    from labeling.render import Window

    window: Window | int | None = None
    if args.window:
        window = Window.parse(args.window)
    elif args.preset is not None:
        window = args.preset
    for image_id in args.ids:
        print(write_png(image_id, Path(args.out), window))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from labeling.demo import create_demo

    result = create_demo(labeled=args.labeled)
    if args.json:
        print_json(result)
    else:
        print(f"Demo project in {result['folder']}: {result['images']} new image(s), "
              f"{result['labeled']} labeled by demo-oracle.")
        print(f"Log in as {result['login']['username']!r} with password {result['login']['password']!r}.")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import get_engine
    from storage.migrate import current_revision, head_revision, upgrade_to_head

    engine = get_engine(upgrade=False)
    if args.action == "upgrade":
        print(f"Database at revision {upgrade_to_head(engine)}.")
    else:
        print(f"Database at revision {current_revision(engine)} (newest: {head_revision()}).")
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from labeling.accounts import add_user, list_users

    if args.action == "add":
        if not args.name or not args.password:
            raise MedalError("`medal user add NAME --password PW [--role ROLE]` needs a name and a password.")
        account = add_user(args.name, args.password, args.role)
        print(f"Added {account.name} ({account.role.value}).")
        return 0
    users = list_users()
    if args.json:
        print_json(users)
        return 0
    for user in users:
        state = "" if user["active"] else " (disabled)"
        state += "" if user["can_log_in"] else " (no password: annotations only)"
        print(f"{user['name']:24} {user['role']:10}{state}")
    return 0


def cmd_annotations(args: argparse.Namespace) -> int:
    from labeling.annotations import list_annotations

    annotations = list_annotations(annotator=args.annotator, image_id=args.image, include_history=args.history)
    if args.json:
        print_json([annotation.as_json() for annotation in annotations])
        return 0
    for a in annotations:
        current = "" if a.is_current else " (replaced)"
        print(f"{a.id:>6}  image {a.image_id:<6} {a.annotator:16} v{a.version}{current}  "
              f"{a.image_label or '-':11} {len(a.regions)} region(s)  {a.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    from labeling.queue import peek

    items = peek(args.user, args.n)
    if args.json:
        print_json([{"image_id": item.image_id, "priority": item.priority} for item in items])
        return 0
    for item in items:
        print(f"{item.image_id:>8}  priority {item.priority:.4f}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from learner.simulate import load_data, plot, simulate, summarise

    try:
        data = load_data(Path(args.data))
    except (OSError, ValueError) as error:
        raise MedalError(f"Cannot use --data {args.data}: {error}") from error
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    log = None if args.json else (lambda s, k, n, auc: print(f"{s:17} seed {k}  {n:5} labels  AUC {auc:.4f}",
                                                             flush=True))
    results = simulate(data, strategies, args.seeds, args.initial, args.step, args.budget, on_step=log)
    summary = summarise(results)
    if args.plot:
        plot(summary, Path(args.plot))
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


def cmd_bench(args: argparse.Namespace) -> int:
    from labeling.bench import bench_ingest, bench_next

    out = Path(args.out) if args.out else None
    if args.what == "loop":
        from learner.bench_loop import bench_loop

        result = bench_loop(labels=args.labels, pool=args.pool, out=out)
    elif args.what == "next":
        result = bench_next(images=args.images, saves=args.saves, out=out)
    else:
        result = bench_ingest(files=args.files, workers=args.workers, out=out)
    if args.json:
        print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medal", description="Medal: medical active labeling.")
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser("import", help="import DICOM/PNG/JPEG/TIFF files, folders and zip archives")
    command.add_argument("paths", nargs="+")
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.add_argument("--no-previews", action="store_true", help="index only; render previews on first view")
    command.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    command.set_defaults(run=cmd_import)

    command = commands.add_parser("images", help="list indexed images")
    command.add_argument("--json", action="store_true")
    command.add_argument("--modality")
    command.add_argument("--status", choices=["unlabeled", "labeled", "skipped"])
    command.add_argument("--limit", type=int)
    command.set_defaults(run=cmd_images)

    command = commands.add_parser("problems", help="list files that imports refused, with reasons")
    command.add_argument("--json", action="store_true")
    command.add_argument("--limit", type=int, default=1000)
    command.set_defaults(run=cmd_problems)

    command = commands.add_parser("render", help="write DIR/<id>.png as the UI shows it")
    command.add_argument("ids", nargs="+", type=int)
    command.add_argument("--out", required=True)
    group = command.add_mutually_exclusive_group()
    group.add_argument("--window", help="CENTER,WIDTH in the modality's units, e.g. 40,400")
    group.add_argument("--preset", type=int, help="index of a window stored in the file")
    command.set_defaults(run=cmd_render)

    command = commands.add_parser("demo", help="create and import the demo project")
    command.add_argument("--labeled", type=int, default=0, help="label N images from the truth")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_demo)

    command = commands.add_parser("db", help="database schema")
    command.add_argument("action", choices=["upgrade", "current"])
    command.set_defaults(run=cmd_db)

    command = commands.add_parser("user", help="accounts: `user add NAME --password PW --role ROLE`, `user list`")
    command.add_argument("action", choices=["add", "list"])
    command.add_argument("name", nargs="?")
    command.add_argument("--password")
    command.add_argument("--role", default="annotator", choices=["annotator", "reviewer", "scientist", "admin"])
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_user)

    command = commands.add_parser("annotations", help="list annotations, coordinates in image pixels")
    command.add_argument("--json", action="store_true")
    command.add_argument("--annotator")
    command.add_argument("--image", type=int)
    command.add_argument("--history", action="store_true", help="include replaced versions")
    command.set_defaults(run=cmd_annotations)

    command = commands.add_parser("next", help="the next images of the label queue for a user")
    command.add_argument("-n", type=int, default=10)
    command.add_argument("--user", default=os.environ.get("MEDAL_USER", "demo"))
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_next)

    command = commands.add_parser("simulate", help="active-learning simulation against known labels")
    command.add_argument("--data", required=True,
                         help="a MedMNIST-style .npz, a folder with one sub-folder per class, or a Medal project "
                              "home with true labels (medal demo)")
    command.add_argument("--strategies", default="random,default")
    command.add_argument("--initial", type=int, default=20)
    command.add_argument("--step", type=int, default=20)
    command.add_argument("--budget", type=int, default=300)
    command.add_argument("--seeds", type=int, default=5)
    command.add_argument("--plot", help="write the mean curves with bands to this PNG")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_simulate)

    command = commands.add_parser("bench", help="benchmarks that print numbers")
    command.add_argument("what", choices=["ingest", "next", "loop"])
    command.add_argument("--labels", type=int, default=1000, help="labeled images (`bench loop`)")
    command.add_argument("--pool", type=int, default=10_000, help="unlabeled images (`bench loop`)")
    command.add_argument("--files", type=int, default=2000)
    command.add_argument("--images", type=int, default=100_000)
    command.add_argument("--saves", type=int, default=300, help="steps timed by `bench next`")
    command.add_argument("--workers", type=int, default=None)
    command.add_argument("--out", help="also write the figures to this JSON file")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=cmd_bench)
    add_learning_parsers(commands)
    add_data_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MedalError as error:
        print(f"medal: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
