"""What every ``medal`` command module shares: JSON output, a terminal progress bar and date arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
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


def fraction_bar(total_label: str) -> Callable[[float, str], None] | None:
    """``progress_bar`` for library calls that report a fraction done and a message (DICOMweb, STOW)."""
    bar = progress_bar(total_label, "‰")
    return (lambda fraction, message: bar(round(fraction * 1000), 1000)) if bar else None


def iso_date(text: str) -> date:
    """A command-line date such as 2026-01-31 (argparse reports anything else as the option's error)."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-31") from error
