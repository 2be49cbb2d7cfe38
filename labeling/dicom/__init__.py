"""Pixels without a database: sources, header read/validate, frames, display pipeline, header rows."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "display": ("Window", "default_voi_lut", "frame_view", "to_display", "to_modality", "window_presets"),
    "frames": ("FrameCache", "cache_key", "dicom_header", "dicom_stored_frame", "encode_png", "modality_frame",
               "open_raster", "raster_frame", "raster_pages", "raster_view", "render_source_frame"),
    "pacs": ("DicomwebUnavailable", "client_for", "unavailable"),
    "header": ("InstanceFacts", "PARSE_ERRORS", "describe", "read_header", "transfer_syntax_of"),
    "sources": ("Content", "Source", "sniff", "walk"),
    "tags": ("header_rows",),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
