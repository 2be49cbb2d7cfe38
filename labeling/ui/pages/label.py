"""Label: the queue's next image in Medal's viewer (zoom, pan, window/level, the series' slices), regions
and an image label; save & next, skip, back and undo from the keyboard."""

import streamlit as st

from labeling.labels import SKIP_REASONS, get_image, lease, list_classes, next_image, series_slices, undo_last_save
from labeling.ui import label_session, take_open_request, the_project
from labeling.ui.access import require_account
from labeling.ui.parts import (
    SKIP_REASON_KEY,
    act_early,
    as_text,
    header_panel,
    image_label_radio,
    load_series,
    model_panel,
    on_button,
    preset_names,
    reading_station,
    region_summary,
    save_and_next,
    shortcut_help,
    show_error,
    skip_and_next,
    undo_confirmed,
    viewer_data,
)
from storage import MedalError

project = the_project()
account, state = require_account(project=project), label_session()


def show(image_id: int | None, *, remember: bool = True) -> None:
    state.show(image_id, remember=remember)
    st.rerun()


if (wanted := take_open_request(state)) is not None:  # sent here from the Images page
    state.show(wanted)  # drawn in this run (no second one)
if not state.started:
    item = next_image(account.name, engine=project.engine)
    state.image_id, state.started = (item.image_id if item else None), True
act_early(state, account.name, project=project)  # an action key from the viewer: its next image comes in this run
if state.image_id is None:
    st.success("The queue is empty: every image is labeled or skipped. Import more on the Import page.")
    st.stop()
try:
    image = get_image(state.image_id, engine=project.engine)
    holder = lease(image.id, account.name, engine=project.engine)
    slices = series_slices(image.id, engine=project.engine)
    load_series(state, image, slices, account.name, project=project)
except MedalError as error:
    show_error(error)
    st.stop()
classes = list_classes(engine=project.engine)
if not classes:
    st.warning("There are no active label classes: add one in Settings.")
    st.stop()
state.class_name = state.class_name if state.class_name in {c.name for c in classes} else classes[0].name
# Messages go beside the viewer, never above it (it would move); the decisions stay on screen at 1280×800.
view, side = st.columns([3.2, 1.3])
with side:
    st.markdown(f"##### Image {image.id} · {as_text(image.modality or 'image')} {image.cols}×{image.rows}")
    if holder:
        st.warning(f"{as_text(holder.name)} is labeling this image too (until {holder.until:%H:%M} UTC).")
    if error := state.take_error():
        show_error(error)
    controls, model_box = st.container(), st.container()
with model_box:
    model = model_panel(image, classes, state, account.name, project=project)
    if model.accepted:
        state.replace(image.id, state.regions_of(image.id) + model.accepted)
        st.rerun()
with view:
    action = reading_station.reading_station(state, account.name, lambda: viewer_data(
        state, image, slices, account, classes, model, project=project), project=project)
with side:
    region_summary(state, state.take_outline_error())
    shortcut_help(classes, preset_names(image))
with controls:
    image_label_radio(state)
    st.button("Save & next", type="primary", width="stretch", on_click=on_button,
              args=(state, account.name, save_and_next, project))
    if action == "save":  # a key pressed while this run drew the page
        save_and_next(state, account.name, project=project)
        st.rerun()
    st.radio("Skip reason", SKIP_REASONS, index=None, horizontal=True, key=SKIP_REASON_KEY)  # radios keep no focus
    skip_column, back, undo = st.columns(3)
    skip_column.button("Skip", width="stretch", on_click=on_button, args=(state, account.name, skip_and_next, project))
    if action == "skip":
        skip_and_next(state, account.name, project=project)
        st.rerun()
    if (back.button("Back", width="stretch", disabled=not state.history) or action == "back") and state.history:
        show(state.history.pop(), remember=False)
    if undo_confirmed(state, undo.button("Undo", width="stretch")) or action == "undo":
        undone = undo_last_save(account.name, engine=project.engine)
        state.flash = f"Undid your last save on image {undone}." if undone else "Nothing to undo."
        show(undone) if undone is not None else st.rerun()
header_panel(image, account)
