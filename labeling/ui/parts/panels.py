"""Label page panels: the region list, the save, the model's view, the DICOM header, and the shortcut list."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labeling.dicom.tags import header_rows
from labeling.labels.accounts import Account
from labeling.labels.annotations import RegionInput, save_annotation
from labeling.labels.proposals import SURE, proposals_for
from labeling.ui.parts.text import as_text, show_error
from labeling.ui.state import LabelSession
from learner.registry import active_metrics, prediction_for
from storage.errors import MedalError

SHORTCUTS = [("s", "Save & next"), ("k", "Skip (with the reason chosen)"), ("b", "Back to the previous image"),
             ("u", "Undo your last save (asks first when you have unsaved drawing)"),
             ("x / p / f / e / l / m / w", "Box / polygon / freehand / brush (Shift erases, [ ] size) / length / "
                                           "pan / window-level tool"),
             ("o", "Quick outline: drag a rough box around a lesion, get its outline as a polygon to edit"),
             ("y", "The prior study beside the image"),
             ("n / h / c", "Image label no finding / healthy / cancerous (again: none)"),
             ("wheel, ↑ ↓, PgUp PgDn", "Previous / next slice of the series"),
             ("Ctrl+wheel, + − 0", "Zoom in / out / fit"), ("right drag", "Window/level"),
             ("middle drag, Space+drag", "Pan"), ("r, Shift+1…9", "Default window, window presets"),
             ("Delete, Ctrl+Z, Ctrl+Shift+Z", "Delete the selected region, undo, redo"),
             ("Esc", "Cancel a polygon, deselect")]


def region_summary(regions: list[RegionInput], outline_error: str | None = None) -> None:
    """The regions of the image on screen, in image pixels (select one in the viewer and press Delete to remove
    it), after why a quick outline just asked for could not be made."""
    if outline_error:
        show_error(outline_error)
    st.markdown(f"**Regions ({len(regions)})**")
    if not regions:
        st.caption("None yet: draw on the image.")
    for region in regions:
        x, y, w, h = region.bbox()
        st.caption(f"{as_text(region.label)} {region.shape} at ({x:.0f}, {y:.0f}) {w:.0f}×{h:.0f} px")


def save_series(state: LabelSession, image_id: int, user: str) -> bool:
    """Save the image on screen (its regions and image label) and every other slice of its series whose regions
    were edited in the viewer, each as that slice's annotation. False after showing why not (nothing drawn or
    labeled, or a refused save: a full disk, a lease someone else holds — that slice is not half-saved)."""
    regions, label = state.regions_of(image_id), state.image_label
    if not regions and label == "none":
        st.error("Draw a region or choose an image label first (or skip the image).")
        return False
    try:
        for slice_id, slice_regions in state.edits.items():
            if slice_id != image_id and slice_regions and slice_regions != state.saved.get(slice_id):
                save_annotation(slice_id, user, slice_regions)
        save_annotation(image_id, user, regions, image_label=None if label == "none" else label)
    except MedalError as error:
        show_error(error)
        return False
    return True


def undo_confirmed(state: LabelSession, clicked: bool) -> bool:
    """Whether to undo the last save now: at once when nothing is unsaved, else after the user confirms (a
    click on Undo with unsaved drawing only asks; the viewer's `u` key asks in the viewer itself)."""
    unsaved = any(regions != state.saved.get(image_id, []) for image_id, regions in state.edits.items()) \
        or state.image_label != (state.saved_label or "none")
    if clicked and not unsaved:
        return True
    if clicked:
        state.confirm_undo = True
    if not state.confirm_undo:
        return False
    st.warning("Undo your last save? Your unsaved drawing on this image will be lost.")
    yes, no = st.columns(2)
    if no.button("Keep drawing", width="stretch"):
        state.confirm_undo = False
        st.rerun()
    if yes.button("Undo anyway", width="stretch"):
        state.confirm_undo = False
        return True
    return False


def how_sure(probability: float) -> str:
    """The model's confidence in words, from its calibrated probability (one number on screen, not two)."""
    distance = abs(probability - 0.5)
    if distance < 0.15:
        return "Model unsure: this image is why it asks for your label."
    if distance < SURE - 0.5:
        return "Model fairly sure."
    return "Model sure."


def model_panel(image: Any, classes: list[Any], visit: int = 0) -> tuple[str | None, list[RegionInput]]:
    """The active model's probability and proposals. Returns the heatmap path when the user wants it
    overlaid, and the proposed regions on the run where the user accepts them."""
    prediction = prediction_for(image.id)
    if prediction is None:
        st.caption("Model: no prediction yet (train a model on the Train page).")
        return None, []
    st.metric("Model: probability cancerous", f"{prediction.probability:.2f}",
              help="Calibrated on the validation split: of images given 0.8, about eight in ten are cancerous.")
    st.caption(how_sure(prediction.probability))
    heatmap = prediction.heatmap_path if prediction.heatmap_path and st.toggle("Show heatmap", key="show-heatmap") \
        else None
    # accepted or rejected once per visit of the image: a second click cannot add them twice
    proposals, done = proposals_for(image, prediction, classes, active_metrics()), f"proposals-{image.id}-{visit}"
    if proposals is None or not proposals.regions or st.session_state.get(done):
        return heatmap, []
    st.caption(f"Proposed: {len(proposals.regions)} region(s) where the heatmap is ≥ {proposals.threshold:.2f}. "
               "Accept to put them on the image, then edit or delete them like your own.")
    accept, reject = st.columns(2)
    if reject.button("Reject proposals", key=f"reject-{image.id}", width="stretch"):
        st.session_state[done] = True
        st.rerun()
    if accept.button("Accept proposals", key=f"accept-{image.id}", width="stretch"):
        st.session_state[done] = True
        return heatmap, proposals.regions
    return heatmap, []


def header_panel(image: Any, account: Account) -> None:
    with st.expander("DICOM header"):
        try:
            rows = header_rows(image, reveal_identity=account.sees_identity)
        except MedalError as error:
            show_error(error)
            return
        if not account.sees_identity:
            st.caption("Your role sees the attributes a reader needs; identity, dates and free text are left out.")
        if not rows:
            st.caption("Not a DICOM file.")
            return
        st.dataframe(rows, hide_index=True, height=360, width="stretch", column_config={
            "tag": st.column_config.TextColumn(width="small"), "VR": st.column_config.TextColumn(width="small"),
            "name": st.column_config.TextColumn(width="medium"), "value": st.column_config.TextColumn(width="large")})


def shortcut_help(classes: list[Any], presets: list[str]) -> None:
    """The keys: the viewer's own, each class's, and this image's window presets (Shift+1…9)."""
    with st.expander("Keyboard shortcuts"):
        rows = SHORTCUTS + [(c.key or "—", f"Class {c.name}") for c in classes]
        rows += [(f"Shift+{n}", f"Window {name}") for n, name in enumerate(presets[:9], start=1)]
        st.markdown("\n".join(f"- {as_text(key)} — {as_text(action)}" for key, action in rows))