"""Label page panels: the region list, the save, the model's view, the DICOM header, and the shortcut list."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labeling.dicom.tags import header_rows
from labeling.labels.accounts import Account
from labeling.labels.annotations import RegionInput, save_annotation
from labeling.labels.proposals import proposals_for
from labeling.ui.parts.text import as_text, show_error
from learner.registry import active_metrics, prediction_for
from storage.errors import MedalError

SHORTCUTS = [("s", "Save & next"), ("k", "Skip (with the reason chosen)"), ("b", "Back to the previous image"),
             ("u", "Undo your last save"), ("x / p / f", "Box / polygon / freehand tool")]


def region_list(regions: list[RegionInput]) -> int | None:
    """The regions with a delete button each; returns the index to delete, if one was pressed."""
    st.markdown(f"**Regions ({len(regions)})**")
    if not regions:
        st.caption("None yet: draw on the image.")
    for index, region in enumerate(regions):
        x, y, w, h = region.bbox()
        left, right = st.columns([4, 1])
        left.markdown(f"{as_text(region.label)} {region.shape} at ({x:.0f}, {y:.0f}) {w:.0f}×{h:.0f} px")
        if right.button("✕", key=f"delete-region-{index}", help="Delete this region"):
            return index
    return None


def save_regions(image_id: int, user: str, regions: list[RegionInput], image_label: str) -> int | None:
    """Save the drawing (``image_label`` "none" for no image label); the image id, or None after showing why
    not (nothing drawn, or a refused save: a full disk, a lease someone else holds — nothing half-saved)."""
    if not regions and image_label == "none":
        st.error("Draw a region or choose an image label first (or skip the image).")
        return None
    try:
        save_annotation(image_id, user, regions, image_label=None if image_label == "none" else image_label)
    except MedalError as error:
        show_error(error)
        return None
    return image_id


def model_panel(image: Any, classes: list[Any]) -> tuple[str | None, list[RegionInput]]:
    """The active model's probability and proposals. Returns the heatmap path when the user wants it
    overlaid, and the proposed regions on the run where the user accepts them."""
    prediction = prediction_for(image.id)
    if prediction is None:
        st.caption("Model: no prediction yet (train a model on the Train page).")
        return None, []
    st.metric("Model: probability cancerous", f"{prediction.probability:.2f}",
              help=f"uncertainty {prediction.uncertainty:.3f} ({prediction.strategy or 'default'})")
    heatmap = prediction.heatmap_path if prediction.heatmap_path and st.toggle("Show heatmap", key="show-heatmap") \
        else None
    proposals, rejected = proposals_for(image, prediction, classes, active_metrics()), f"proposals-rejected-{image.id}"
    if proposals is None or not proposals.regions or st.session_state.get(rejected):
        return heatmap, []
    st.caption(f"Proposed: {len(proposals.regions)} region(s) where the heatmap is ≥ {proposals.threshold:.2f}. "
               "Accept to put them on the image, then edit or delete them like your own.")
    accept, reject = st.columns(2)
    if reject.button("Reject proposals", key=f"reject-{image.id}", width="stretch"):
        st.session_state[rejected] = True
        st.rerun()
    return heatmap, proposals.regions if accept.button("Accept proposals", key=f"accept-{image.id}",
                                                       width="stretch") else []


def header_panel(image: Any, account: Account) -> None:
    with st.expander("DICOM header"):
        try:
            rows = header_rows(image, reveal_identity=account.sees_identity)
        except MedalError as error:
            show_error(error)
            return
        if not account.sees_identity:
            st.caption("Your role sees the attributes a reader needs; identity, dates and free text are left out.")
        st.dataframe(rows, hide_index=True, height=320) if rows else st.caption("Not a DICOM file.")


def shortcut_help(classes: list[Any]) -> None:
    with st.expander("Keyboard shortcuts"):
        rows = SHORTCUTS + [(c.key, f"Class {c.name}") for c in classes if c.key]
        st.markdown("\n".join(f"- {as_text(key)} — {as_text(action)}" for key, action in rows))
