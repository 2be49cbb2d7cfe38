"""Widgets and panels the pages share."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "exports": ("CARD_KEY", "NAME_KEY", "download_button", "past_exports"),
    "gallery": ("thumbnail_grid",),
    "model_charts": ("version_charts",),
    "panels": ("header_panel", "model_panel", "region_summary", "shortcut_help", "undo_confirmed"),
    "reading_station": ("reading_station", "SKIP_REASON_KEY", "act_early", "image_label_radio", "load_series",
                        "on_button", "preset_names", "save_and_next", "skip_and_next", "viewer_data"),
    "text": ("as_text", "show_error"),
    "timeline": ("compare_buttons", "timeline_table"),
    "training": ("live_jobs", "start_worker_once"),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
