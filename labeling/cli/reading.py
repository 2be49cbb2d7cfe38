"""The team-reading commands of ``medal``: the reading plan, the review queue and adjudication, and how
readers agree (a thin edge over labeling.labels.reading_plan, .review and .agreement)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from labeling.cli.output import print_json

if TYPE_CHECKING:
    from storage import Project


def cmd_agreement(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import agreement_report

    readers = [name.strip() for name in args.readers.split(",") if name.strip()] if args.readers else None
    report = agreement_report(engine=project.engine, readers=readers)
    if args.json:
        print_json(report.as_json())
        return 0
    print(f"{len(report.readers)} reader(s), {report.images_read_twice} image(s) read by two or more "
          f"({report.readings} readings); Krippendorff's alpha on image labels: {report.alpha.as_text()}")
    for pair in report.pairs:
        findings = pair.findings
        print(f"{pair.first} / {pair.second}: {pair.images} image(s); image labels kappa {pair.label_kappa.as_text()}, "
              f"same label on {pair.label_agreement:.0%}; findings both {findings['both']}, only "
              f"{pair.first} {findings['only_first']}, only {pair.second} {findings['only_second']}, neither "
              f"{findings['neither']}; regions matched {pair.regions.matched} (Dice {pair.regions.dice.as_text()}), "
              f"unmatched {pair.regions.only_first} / {pair.regions.only_second}")
    return 0


def cmd_plan(args: argparse.Namespace, *, project: Project) -> int:
    from dataclasses import asdict, replace

    from labeling.labels import current_plan, set_reading_plan

    plan = current_plan(engine=project.engine)
    changes = {name: value for name, value in (
        ("readers", args.readers), ("qa_fraction", args.qa),
        ("blinded", None if args.blinded is None else args.blinded == "yes"),
        ("second_readings_first", None if args.second_first is None else args.second_first == "yes"),
        ("disagreeing", args.disagreeing))
        if value is not None}
    if changes:
        plan = set_reading_plan(replace(plan, **changes), engine=project.engine)
    if args.json:
        print_json(asdict(plan))
        return 0
    print(f"{plan.readers} reader{'s' if plan.readers > 1 else ''} per image, "
          f"{'blinded' if plan.blinded else 'not blinded'}; QA sample {plan.qa_fraction:.0%} of single-read images; "
          f"{'second readings before new images' if plan.second_readings_first else 'in priority order'}; "
          f"training takes disagreeing readings as: {plan.disagreeing}")
    return 0


def cmd_review(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import ReviewRules, review_queue

    queue = review_queue(engine=project.engine, rules=ReviewRules(dice_below=args.dice, sample_agreeing=args.sample))
    if args.json:
        print_json([{"image_id": item.image_id, "readers": item.readers, "reasons": item.reasons} for item in queue])
        return 0
    for item in queue:
        print(f"image {item.image_id:<7} {', '.join(item.readers)}: {'; '.join(item.reasons)}")
    print(f"{len(queue)} image(s) to review")
    return 0


def _took(take: list[str]) -> dict[str, list[int] | None]:
    """``--take ann:0,2 --take bob`` as {"ann": [0, 2], "bob": None} (None: every region)."""
    found: dict[str, list[int] | None] = {}
    for item in take:
        name, _, positions = item.partition(":")
        try:
            found[name] = [int(p) for p in positions.split(",")] if positions else None
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"--take wants NAME or NAME:0,2, not {item!r}") from error
    return found


def cmd_review_accept(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import accept_reading

    saved = accept_reading(args.image, args.reader, engine=project.engine, reason=args.reason)
    return _print_consensus(args, saved)


def cmd_review_merge(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import merge_readings

    saved = merge_readings(args.image, _took(args.take), label_from=args.label_from, engine=project.engine,
                           reason=args.reason)
    return _print_consensus(args, saved)


def _print_consensus(args: argparse.Namespace, saved) -> int:  # noqa: ANN001 (a SavedAnnotation)
    if args.json:
        print_json(saved.as_json())
    else:
        print(f"Saved the consensus of image {saved.image_id} (version {saved.version}): {len(saved.regions)} "
              f"region(s), image label {saved.image_label or 'none'}.")
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                json_parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("agreement", parents=[json_parent],
                                  help="how readers agree: kappa, findings and region Dice per pair of readers")
    command.add_argument("--readers", help="only these readers (comma-separated names)")
    command.set_defaults(run=cmd_agreement)

    command = commands.add_parser("plan", parents=[json_parent],
                                  help="show or set the reading plan: readers per image, blinding, QA sample")
    command.add_argument("--readers", type=int, help="different readers per image: 1, 2 or 3")
    command.add_argument("--qa", type=float, help="share of single-read images read twice anyway, e.g. 0.05")
    command.add_argument("--blinded", choices=("yes", "no"), help="readers see no other reading until it is done")
    command.add_argument("--second-first", choices=("yes", "no"),
                         help="an image waiting for its next reader comes before new images")
    command.add_argument("--disagreeing", choices=("each", "majority", "leave-out"),
                         help="what training learns from readings that disagree until a reviewer's consensus")
    command.set_defaults(run=cmd_plan)

    command = commands.add_parser("review", parents=[json_parent],
                                  help="images whose readings disagree; `review accept` / `review merge` adjudicate")
    command.add_argument("--dice", type=float, default=0.5, help="matched regions below this Dice disagree")
    command.add_argument("--sample", type=float, default=0.1, help="share of agreeing images reviewed anyway")
    command.set_defaults(run=cmd_review)
    actions = command.add_subparsers(dest="action")
    action = actions.add_parser("accept", parents=[json_parent], help="the consensus is one reader's reading")
    action.add_argument("image", type=int, metavar="IMAGE")
    action.add_argument("--reader", required=True)
    action.add_argument("--reason", required=True, help="why (stored with the consensus and audited)")
    action.set_defaults(run=cmd_review_accept)
    action = actions.add_parser("merge", parents=[json_parent],
                                help="the consensus takes regions from several readings")
    action.add_argument("image", type=int, metavar="IMAGE")
    action.add_argument("--take", action="append", required=True, metavar="NAME[:0,2]",
                        help="a reader's regions (all, or those at these positions); repeat for each reader")
    action.add_argument("--label-from", required=True, metavar="NAME", help="whose image label the consensus takes")
    action.add_argument("--reason", required=True, help="why (stored with the consensus and audited)")
    action.set_defaults(run=cmd_review_merge)
