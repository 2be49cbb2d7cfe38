"""The ``medal`` entry point: parse the command line, run the command, report a ``MedalError`` briefly.

Every command reads arguments, calls one or two library functions, and prints the result; a
``MedalError`` becomes a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from labeling.cli.parser import build_parser
from storage import MedalError, current_project


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; the configured project is opened here, once, and handed to the command
    (``medal db``, the benchmarks and the simulation open their own)."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "own_project", False):
            return args.run(args)
        return args.run(args, project=current_project())
    except MedalError as error:
        print(f"medal: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
