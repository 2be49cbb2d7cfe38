"""Labels and what surrounds them: catalog queries, pictures, the queue, annotations, taxonomy, accounts, proposals."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "annotations": ("RegionInput", "SHAPES", "SavedAnnotation", "add_annotation", "current_annotations",
                    "list_annotations", "save_annotation", "save_reading", "undo_last_save", "user_named"),
    "catalog": ("ORDERS", "TimelineStudy", "get_image", "list_images", "patient_keys", "patient_timeline"),
    "identity": ("identity", "annotator_choices", "image_caption", "image_row", "study_name", "timeline_rows"),
    "outline": ("OutlineError", "outline_in_box"),
    "pictures": ("heatmap_png", "render_frame", "render_image", "thumbnail_png", "write_png"),
    "proposals": ("MIN_THRESHOLD", "SURE", "as_outlines", "images_with_proposals", "proposal_threshold",
                  "proposals_for"),
    "queue": ("SKIP_REASONS", "lease", "next_image", "peek", "refresh_cold_start", "release", "set_priorities", "skip",
              "write_priorities"),
    "reading": ("corners", "for_browser", "modality_values", "outline_region", "prior_for", "series_slices", "voi_lut"),
    "spread": ("cold_start", "simple_features", "standardise"),
    "taxonomy": ("IMAGE_LABELS", "NORMAL_CODE", "list_classes", "save_class"),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
