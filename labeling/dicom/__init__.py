"""Pixels without a database: sources, header read/validate, frames, display pipeline, header rows."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "display": ("Window", "default_voi_lut", "frame_view", "to_display", "to_modality", "window_presets"),
    "frames": ("FrameCache", "cache_key", "dicom_header", "dicom_stored_frame", "encode_png", "modality_frame",
               "open_raster", "raster_frame", "raster_pages", "raster_view", "render_source_frame"),
    "header": ("InstanceFacts", "PARSE_ERRORS", "describe", "read_header", "transfer_syntax_of"),
    "sources": ("Content", "Source", "sniff", "walk"),
    "tags": ("header_rows",),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
