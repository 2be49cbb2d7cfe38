"""Streamlit only: the pages, their parts and the Label page's canvas geometry."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "context": ("hand_over", "the_project"),
    "download_tickets": ("download_tickets",),
    "state": ("ConsensusSession", "LabelSession", "consensus_session", "label_link", "label_session", "open_in_label",
              "take_open_request"),
    "web_guard": ("CLIENT_HEADER", "MedalGuard"),
    "web_routes": ("EXPORT_PREFIX", "routes"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
