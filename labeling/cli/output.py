"""What every ``medal`` command module shares: JSON output and a terminal progress bar."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=None, default=str))


def progress_bar(total_label: str, unit: str = "file") -> Callable[[int, int], None] | None:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(desc=total_label, unit=unit, file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update
