"""Widgets and panels the pages share."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "consensus": ("consensus_saved", "consensus_station", "open_consensus"),
    "exports": ("CARD_KEY", "JOB_KEY", "NAME_KEY", "download_button", "export_job_failure", "export_job_progress",
                "past_exports"),
    "gallery": ("thumbnail_grid",),
    "model_charts": ("version_charts",),
    "pacs": ("dicomweb_import", "send_to_pacs"),
    "panels": ("header_panel", "model_panel", "region_summary", "shortcut_help", "undo_confirmed"),
    "reading_station": ("reading_station", "SKIP_REASON_KEY", "act_early", "image_label_radio", "load_series",
                        "on_button", "preset_names", "save_and_next", "skip_and_next", "viewer_data"),
    "team": ("agreement_tables", "dice_histogram", "kappa_matrix", "plan_form"),
    "text": ("as_text", "show_error"),
    "timeline": ("compare_buttons", "timeline_table"),
    "training": ("live_jobs", "start_worker_once"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
