"""The export writers: COCO, PNG masks, DICOM SEG, CSV, the dataset card, de-identification and label import."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "downloads": ("download_zip",),
    "label_import": ("import_labels",),
    "retention": ("delete_export", "list_exports", "sweep_zips"),
    "run": ("ExportOptions", "FORMATS", "export_dataset", "new_export_folder"),
    "selection": ("ExportError",),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
