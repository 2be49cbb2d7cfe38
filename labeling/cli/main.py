"""The ``medal`` entry point: parse the command line, run the command, report a ``MedalError`` briefly.

Every command reads arguments, calls one or two library functions, and prints the result; a
``MedalError`` becomes a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from labeling.cli.parser import build_parser
from storage.errors import MedalError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MedalError as error:
        print(f"medal: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
