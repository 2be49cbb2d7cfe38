"""Label: the queue's next image in Medal's viewer (zoom, pan, window/level, the series' slices), regions
and an image label; save & next, skip, back and undo from the keyboard."""

import streamlit as st

from labeling.labels.annotations import undo_last_save
from labeling.labels.catalog import get_image
from labeling.labels.queue import SKIP_REASONS, lease, next_image
from labeling.labels.reading import series_slices
from labeling.labels.taxonomy import IMAGE_LABELS, list_classes
from labeling.ui.parts.panels import (
    header_panel,
    model_panel,
    region_summary,
    save_series,
    shortcut_help,
    undo_confirmed,
)
from labeling.ui.parts.reading_station import (
    SKIP_REASON_KEY,
    act_early,
    load_series,
    preset_names,
    reading_station,
    skip_image,
    viewer_data,
)
from labeling.ui.parts.session import require_account
from labeling.ui.parts.text import as_text, show_error
from labeling.ui.state import label_session
from storage.errors import MedalError

account, state = require_account(), label_session()


def show(image_id: int | None, *, remember: bool = True) -> None:
    state.show(image_id, remember=remember)
    st.rerun()


def show_next(done: int) -> None:
    item = next_image(account.name, exclude=(done,))
    show(item.image_id if item else None)


if state.open_request is not None:  # sent here from the Images page
    wanted, state.open_request = state.open_request, None
    show(wanted)
if not state.started:
    item = next_image(account.name)
    state.image_id, state.started = (item.image_id if item else None), True
act_early(state, account.name)  # an action key from the viewer: its next image is drawn in this run
if state.image_id is None:
    st.success("The queue is empty: every image is labeled or skipped. Import more on the Import page.")
    st.stop()
try:
    image = get_image(state.image_id)
    holder = lease(image.id, account.name)
    slices = series_slices(image.id)
    load_series(state, image, slices, account.name)
except MedalError as error:
    show_error(error)
    st.stop()
if flash := state.take_flash():
    st.toast(flash)
classes = list_classes()
if not classes:
    st.warning("There are no active label classes: add one in Settings.")
    st.stop()
if state.class_name not in {c.name for c in classes}:
    state.class_name = classes[0].name
# Nothing is ever drawn above the viewer that comes and goes (a banner would move it, and Streamlit would
# build it anew): messages go in the side panel.
view, side = st.columns([3.2, 1.3])
with side:
    st.markdown(f"#### Image {image.id} · {as_text(image.modality or 'image')} {image.cols}×{image.rows}")
    if holder:
        st.warning(f"{as_text(holder.name)} is labeling this image too (until {holder.until:%H:%M} UTC).")
    if error := state.take_error():
        show_error(error)
    heatmap, accepted = model_panel(image, classes, state.visit)
    if accepted:
        state.replace(image.id, state.regions_of(image.id) + accepted)
        st.rerun()
with view:
    action = reading_station(state, account.name, lambda: viewer_data(state, image, slices, account, classes, heatmap))
with side:
    region_summary(state, state.take_outline_error())
    label_key = f"image-label-{state.revision}"  # the state is the truth: the viewer's keys change it too
    st.session_state[label_key] = state.image_label
    st.radio("Image label", ["none", *IMAGE_LABELS], horizontal=True, key=label_key,
             on_change=lambda: setattr(state, "image_label", st.session_state[label_key]))
    if st.button("Save & next", type="primary", width="stretch") or action == "save":
        if saved := save_series(state, image.id, account.name):
            state.flash = saved
            show_next(image.id)
        st.rerun()  # refused: the reason shows beside the viewer
    # Radio buttons, not a select box: after a choice the keys go on working (the select box kept the focus and
    # typed them); none chosen until the reader chooses.
    st.radio("Skip reason", SKIP_REASONS, index=None, horizontal=True, key=SKIP_REASON_KEY)
    skip_column, back, undo = st.columns(3)
    if skip_column.button("Skip", width="stretch") or action == "skip":
        if skip_image(state, image.id, account.name):
            show_next(image.id)
        st.rerun()
    if (back.button("Back", width="stretch", disabled=not state.history) or action == "back") and state.history:
        show(state.history.pop(), remember=False)
    if undo_confirmed(state, undo.button("Undo", width="stretch")) or action == "undo":
        undone = undo_last_save(account.name)
        state.flash = f"Undid your last save on image {undone}." if undone else "Nothing to undo."
        show(undone) if undone is not None else st.rerun()
    shortcut_help(classes, preset_names(image))
header_panel(image, account)
