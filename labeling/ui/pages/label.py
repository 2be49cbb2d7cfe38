"""Label: the queue's next image, window/level, regions and an image label; save & next from the keyboard."""

import streamlit as st

from labeling.labels.annotations import current_annotation, undo_last_save
from labeling.labels.catalog import get_image
from labeling.labels.pictures import overlay_heatmap, render_frame
from labeling.labels.queue import SKIP_REASONS, lease, next_image, skip
from labeling.labels.taxonomy import IMAGE_LABELS, class_styles, list_classes
from labeling.ui.canvas import display_scale, drawing_from_regions
from labeling.ui.parts.panels import header_panel, model_panel, region_list, save_regions, shortcut_help
from labeling.ui.parts.session import require_account
from labeling.ui.parts.text import as_text, show_error
from labeling.ui.parts.viewer import drawing_canvas, pick_tool_and_class, window_controls
from labeling.ui.state import label_session
from storage.errors import MedalError

account, state = require_account(), label_session()


def show(image_id: int | None, *, remember: bool = True) -> None:
    state.show(image_id, remember=remember)
    st.rerun()


if state.open_request is not None:  # sent here from the Images page
    wanted, state.open_request = state.open_request, None
    show(wanted)
if not state.started:
    item = next_image(account.name)
    state.image_id, state.started = (item.image_id if item else None), True
if state.image_id is None:
    st.success("The queue is empty: every image is labeled or skipped. Import more on the Import page.")
    st.stop()
try:
    image = get_image(state.image_id)
    holder = lease(image.id, account.name)
except MedalError as error:
    show_error(error)
    st.stop()

if flash := state.take_flash():
    st.toast(flash)
classes, visit = list_classes(), state.visit
styles = class_styles(classes)
st.subheader(f"Image {image.id} · {as_text(image.modality or 'image')} {image.cols}×{image.rows}")
if holder:
    st.warning(f"{as_text(holder.name)} is labeling this image too (until {holder.until:%H:%M} UTC).")
view, side = st.columns([3, 1.3])
with side:
    tool, style = pick_tool_and_class(classes)
    window = window_controls(image)
    heatmap, accepted = model_panel(image, classes)
key = state.canvas_key
if key not in state.initial:
    saved = current_annotation(image.id, account.name)
    state.initial = {key: drawing_from_regions(saved.region_inputs() if saved else [],
                                               display_scale(image.rows, image.cols), styles)}
    state.saved_label = saved.image_label if saved else None
try:
    picture = render_frame(image, window)
except MedalError as error:
    show_error(error)
    st.stop()
with view:
    picture = overlay_heatmap(picture, heatmap) if heatmap else picture
    regions = drawing_canvas(picture, image, tool, style, styles, state.initial[key], key)
with side:
    doomed = region_list(regions)
    if doomed is not None or accepted:
        kept = regions[:doomed] + regions[doomed + 1:] if doomed is not None else regions + accepted
        state.redraw(drawing_from_regions(kept, display_scale(image.rows, image.cols), styles))
        st.rerun()
    options, saved_label = ["none", *IMAGE_LABELS], state.saved_label
    image_label = st.radio("Image label", options, horizontal=True, key=f"image-label-{visit}",
                           index=options.index(saved_label) if saved_label in options else 0)
    if st.button("Save & next", type="primary", shortcut="s", width="stretch"):
        saved_id = save_regions(image.id, account.name, regions, image_label)
        if saved_id is not None:
            state.flash = f"Saved image {image.id}: {len(regions)} region(s)."
            item = next_image(account.name, exclude=(image.id,))
            show(item.image_id if item else None)
    reason = st.selectbox("Skip reason", SKIP_REASONS, key="skip-reason")
    back, skip_column, undo = st.columns(3)
    if skip_column.button("Skip", shortcut="k", width="stretch"):
        skip(image.id, account.name, reason)
        item = next_image(account.name, exclude=(image.id,))
        show(item.image_id if item else None)
    if back.button("Back", shortcut="b", width="stretch", disabled=not state.history):
        show(state.history.pop(), remember=False)
    if undo.button("Undo", shortcut="u", width="stretch"):
        undone = undo_last_save(account.name)
        state.flash = f"Undid your last save on image {undone}." if undone else "Nothing to undo."
        show(undone) if undone is not None else st.rerun()
    shortcut_help(classes)
    header_panel(image, account)
