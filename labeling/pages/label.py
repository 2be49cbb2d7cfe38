"""Label: the queue's next image, window/level, regions and an image label; save & next from the keyboard."""

import streamlit as st

from labeling.annotations import current_annotation, save_annotation, undo_last_save
from labeling.canvas import display_scale, drawing_from_regions
from labeling.catalog import get_image, overlay_heatmap, render_frame
from labeling.errors import MedalError
from labeling.pages.parts.panels import header_panel, model_panel, region_list, shortcut_help
from labeling.pages.parts.session import require_account
from labeling.pages.parts.viewer import drawing_canvas, pick_tool_and_class, window_controls
from labeling.queue import SKIP_REASONS, lease, next_image, skip
from labeling.taxonomy import IMAGE_LABELS, class_styles, list_classes

account, state = require_account(), st.session_state


def show(image_id: int | None, *, remember: bool = True) -> None:
    if remember and state.get("label_image") is not None:
        state.setdefault("label_history", []).append(state["label_image"])
    state["label_image"], state["label_rev"] = image_id, 0
    state["label_visit"] = state.get("label_visit", 0) + 1
    st.rerun()


if "label_open" in state:  # sent here from the Images page
    show(state.pop("label_open"))
if "label_image" not in state:
    item = next_image(account.name)
    state["label_image"], state["label_rev"] = (item.image_id if item else None), 0
if state["label_image"] is None:
    st.success("The queue is empty: every image is labeled or skipped. Import more on the Import page.")
    st.stop()
try:
    image = get_image(state["label_image"])
    holder = lease(image.id, account.name)
except MedalError as error:
    st.error(str(error))
    st.stop()

if "label_flash" in state:
    st.toast(state.pop("label_flash"))
classes, visit = list_classes(), state.get("label_visit", 0)
styles = class_styles(classes)
st.subheader(f"Image {image.id} · {image.modality or 'image'} {image.cols}×{image.rows}")
if holder:
    st.warning(f"{holder.name} is labeling this image too (until {holder.until:%H:%M} UTC).")
view, side = st.columns([3, 1.3])
with side:
    tool, style = pick_tool_and_class(classes)
    window = window_controls(image)
    heatmap, accepted = model_panel(image, classes)
key = f"canvas-{visit}-{state['label_rev']}"
if key not in state.setdefault("label_initial", {}):
    saved = current_annotation(image.id, account.name)
    state["label_initial"] = {key: drawing_from_regions(saved.region_inputs() if saved else [],
                                                        display_scale(image.rows, image.cols), styles)}
    state["label_saved_label"] = saved.image_label if saved else None
try:
    picture = render_frame(image, window)
except MedalError as error:
    st.error(str(error))
    st.stop()
with view:
    picture = overlay_heatmap(picture, heatmap) if heatmap else picture
    regions = drawing_canvas(picture, image, tool, style, styles, state["label_initial"][key], key)
with side:
    doomed = region_list(regions, {s.name: s.color for s in styles})
    if doomed is not None or accepted:
        state["label_rev"] += 1
        kept = regions[:doomed] + regions[doomed + 1:] if doomed is not None else regions + accepted
        state["label_initial"] = {f"canvas-{visit}-{state['label_rev']}": drawing_from_regions(
            kept, display_scale(image.rows, image.cols), styles)}
        st.rerun()
    options, saved_label = ["none", *IMAGE_LABELS], state.get("label_saved_label")
    image_label = st.radio("Image label", options, horizontal=True, key=f"image-label-{visit}",
                           index=options.index(saved_label) if saved_label in options else 0)
    if st.button("Save & next", type="primary", shortcut="s", width="stretch"):
        if not regions and image_label == "none":
            st.error("Draw a region or choose an image label first (or skip the image).")
        else:
            save_annotation(image.id, account.name, regions,
                            image_label=None if image_label == "none" else image_label)
            state["label_flash"] = f"Saved image {image.id}: {len(regions)} region(s)."
            item = next_image(account.name, exclude=(image.id,))
            show(item.image_id if item else None)
    reason = st.selectbox("Skip reason", SKIP_REASONS, key="skip-reason")
    back, skip_column, undo = st.columns(3)
    if skip_column.button("Skip", shortcut="k", width="stretch"):
        skip(image.id, account.name, reason)
        item = next_image(account.name, exclude=(image.id,))
        show(item.image_id if item else None)
    if back.button("Back", shortcut="b", width="stretch", disabled=not state.get("label_history")):
        show(state["label_history"].pop(), remember=False)
    if undo.button("Undo", shortcut="u", width="stretch"):
        undone = undo_last_save(account.name)
        state["label_flash"] = f"Undid your last save on image {undone}." if undone else "Nothing to undo."
        show(undone) if undone is not None else st.rerun()
    shortcut_help(classes)
    header_panel(image, account)
