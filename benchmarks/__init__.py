"""Benchmarks and simulations that print numbers (``medal bench …``, ``medal simulate``): they build their
own projects with the product's own code and measure it. The top floor of the library: nothing in
``storage``, ``labeling`` or ``learner`` imports them; only the CLI (and tests) do."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "calibration": ("bench_calibration",),
    "ingest": ("bench_ingest", "bench_next"),
    "localise": ("bench_localise",),
    "loop": ("bench_loop",),
    "outline": ("bench_outline",),
    "real": ("bench_real",),
    "simulate": ("simulate",),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
