"""Label page panels: the region list, the save, the model's view, the DICOM header, and the shortcut list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from labeling.access import Account
from labeling.labels import SURE, RegionInput, as_outlines, identity, proposals_for, quick_outline_note, save_reading
from labeling.ui import LabelSession
from labeling.ui.parts.text import as_text, show_error
from learner import active_metrics, prediction_for
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project

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


def region_summary(state: LabelSession, outline_error: str | None = None) -> None:
    """The regions of the series as the viewer has them now, slice by slice, in image pixels (select one in the
    viewer and press Delete to remove it), after why a quick outline just asked for could not be made."""
    if outline_error:
        show_error(outline_error)
    by_slice = {number: state.regions_of(image_id) for image_id, number in state.slice_numbers.items()}
    by_slice = {number: regions for number, regions in sorted(by_slice.items()) if regions}
    total = sum(len(regions) for regions in by_slice.values())
    where = f" on slice{'s' if len(by_slice) > 1 else ''} {', '.join(map(str, by_slice))}" \
        if by_slice and len(state.slice_numbers) > 1 else ""
    st.markdown(f"**Regions ({total}){where}**")
    if not total:
        st.caption("None yet: draw on the image (any slice of the series).")
    for number, regions in by_slice.items():
        for region in regions:
            x, y, w, h = region.bbox()
            on_slice = f"slice {number}: " if len(state.slice_numbers) > 1 else ""
            st.caption(f"{on_slice}{as_text(region.label)} {region.shape} at ({x:.0f}, {y:.0f}) {w:.0f}×{h:.0f} px")


def save_series(state: LabelSession, image_id: int, user: str, *, project: Project) -> str | None:
    """Save what the reader did on the series of ``image_id``: the regions of every slice drawn on (any slice is
    a valid save), each as that slice's annotation, and the image label with the image on screen. Returns the
    confirmation to show; None after recording in ``state.error`` why not (nothing drawn or labeled, or a
    refused save: a full disk, a lease someone else holds)."""
    label, changed = state.image_label, state.unsaved_slices()
    drawn = any(state.regions_of(slice_id) for slice_id in state.slice_numbers)
    if not drawn and label == "none" and not changed:
        state.error = "Draw a region on any slice of the series or choose an image label first (or skip the image)."
        return None
    keep_image = bool(state.regions_of(image_id)) or label != "none" or image_id in changed \
        or label != (state.saved_label or "none")
    to_save = {slice_id: regions for slice_id, regions in changed.items() if slice_id != image_id}
    if keep_image:
        to_save[image_id] = state.regions_of(image_id)
    try:
        save_reading(image_id, user, to_save, image_label=None if label == "none" else label, engine=project.engine)
    except MedalError as error:
        state.error = str(error)
        return None
    return saved_message({state.slice_numbers.get(i, 1): len(r) for i, r in to_save.items()},
                         label if keep_image else "none", len(state.slice_numbers) > 1)


def saved_message(regions_by_number: dict[int, int], label: str, series: bool) -> str:
    """"Saved 2 regions on slices 8, 9" (and the image label, and slices whose regions were removed)."""
    with_regions = sorted(n for n, count in regions_by_number.items() if count)
    emptied = sorted(n for n, count in regions_by_number.items() if not count)
    total = sum(regions_by_number.values())
    parts = []
    if total:
        where = f" on slice{'s' if len(with_regions) > 1 else ''} {', '.join(map(str, with_regions))}" if series else ""
        parts.append(f"{total} region{'s' if total != 1 else ''}{where}")
    if label != "none":
        parts.append(f"image label {label}")
    if emptied:
        parts.append(f"regions removed on slice{'s' if len(emptied) > 1 else ''} {', '.join(map(str, emptied))}"
                     if series else "regions removed")
    return "Saved " + (", ".join(parts) if parts else "the image") + "."


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


@dataclass
class ModelHelp:
    """What the model panel gives the viewer: the heatmap to overlay (when the reader wants it), the proposals
    to draw until the reader decides, and, on the run the reader accepts them, the regions to add."""

    heatmap: str | None = None
    pending: list[RegionInput] = field(default_factory=list)
    accepted: list[RegionInput] = field(default_factory=list)


def model_panel(image: Any, classes: list[Any], state: LabelSession, user: str, *, project: Project) -> ModelHelp:
    """The active model's probability and proposals (each the quick outline of what it points at, in the reader's
    window, drawn dashed on the image before the reader decides; accepted, those outlines are added)."""
    prediction = prediction_for(image.id, engine=project.engine)
    if prediction is None:
        st.caption("Model: no prediction yet (train a model on the Train page).")
        return ModelHelp()
    st.metric("Model: probability cancerous", f"{prediction.probability:.2f}",
              help="Calibrated on the validation split: of images given 0.8, about eight in ten are cancerous.")
    st.caption(how_sure(prediction.probability))
    if note := quick_outline_note(project, image.modality):
        st.caption(as_text(note))  # the modality is DICOM text
    heatmap = prediction.heatmap_path if prediction.heatmap_path and st.toggle("Show heatmap", key="show-heatmap") \
        else None
    # accepted or rejected once per visit of the image: a second click cannot add them twice
    proposals, done = proposals_for(image, prediction, classes,
                                    active_metrics(engine=project.engine)), f"proposals-{image.id}-{state.visit}"
    if proposals is None or not proposals.regions or st.session_state.get(done):
        return ModelHelp(heatmap)
    outlined = proposal_outlines(image, proposals.regions, state, user, project=project)
    st.caption(f"Proposed: {len(proposals.regions)} region(s), outlined dashed on the image (heatmap ≥ "
               f"{proposals.threshold:.2f}). Accept keeps them, to edit or delete like your own.")
    accept, reject = st.columns(2)
    if reject.button("Reject", key=f"reject-{image.id}", width="stretch", help="Reject the proposals"):
        st.session_state[done] = True
        st.rerun()
    if accept.button("Accept", key=f"accept-{image.id}", width="stretch", help="Accept the proposals as outlines"):
        st.session_state[done] = True
        return ModelHelp(heatmap, accepted=outlined)
    return ModelHelp(heatmap, pending=outlined)


OUTLINED_KEY = "proposal-outlines"


def proposal_outlines(image: Any, regions: list[RegionInput], state: LabelSession, user: str, *,
                      project: Project) -> list[RegionInput]:
    """The proposals as Accept keeps them — each box's quick outline on the picture under the reader's window
    (``as_outlines``) — worked out once per image, visit and window (~65 ms a proposal), so the reader decides on
    the outline they will get, not on the model's box."""
    window = state.windows.get(image.modality or "")
    chosen = (window["center"], window["width"]) if window else None
    key = (image.id, state.visit, chosen, tuple(tuple(map(tuple, region.points)) for region in regions))
    kept = st.session_state.get(OUTLINED_KEY)
    if kept is None or kept[0] != key:
        kept = (key, as_outlines(image, regions, actor=user, window=chosen, project=project))
        st.session_state[OUTLINED_KEY] = kept
    return kept[1]


def header_panel(image: Any, account: Account) -> None:
    with st.expander("DICOM header"):
        try:
            rows = identity.header(image, sees_identity=account.sees_identity)
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
        rows = SHORTCUTS + [(c.key or "—", f"Class {c.name}" + (f": {c.description}" if c.description else ""))
                            for c in classes]
        rows += [(f"Shift+{n}", f"Window {name}") for n, name in enumerate(presets[:9], start=1)]
        st.markdown("\n".join(f"- {as_text(key)} — {as_text(action)}" for key, action in rows))