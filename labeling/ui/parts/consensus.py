"""The Review page's reading station: a reviewer edits regions into the consensus of an image in Medal's viewer,
beside every reader's regions (read-only, dashed in their colours, each reader shown or hidden by a toggle in the
viewer's toolbar), and saves it with a reason (``labeling.labels.adjudicate``). No queue, no lease, nothing saved
under the reviewer's name; the library checks the right to review on every run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from labeling.access import CONSENSUS, Account
from labeling.labels import (
    adjudicate,
    consensus_start,
    get_image,
    list_classes,
    reader_colours,
    readings_of,
    series_slices,
)
from labeling.ui import ConsensusSession, consensus_session
from labeling.ui.parts.panels import ModelHelp, region_summary
from labeling.ui.parts.reading_station import draft_key, image_label_radio, reading_station, take_reports, viewer_data
from labeling.ui.parts.text import as_text, show_error
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project

CONSENSUS_VIEWER_KEY = "consensus-viewer"  # not the Label page's viewer: its reports stay apart
REASON_KEY = "consensus-reason"
RADIO_PREFIX = "consensus-label"


def open_consensus(image_id: int, account: Account, *, take: dict[str, list[int] | None] | None = None,
                   label_from: str | None = None, reason: str = "", project: Project) -> None:
    """Open the viewer on ``image_id`` to edit its consensus (``labeling.labels.consensus_start``: the current
    consensus, else the regions ``take`` picks, every reader's when None); MedalError when the account may not
    review or the choice names no reading."""
    start = consensus_start(image_id, engine=project.engine, take=take, label_from=label_from, actor=account.name)
    state = consensus_session()
    state.show(image_id, remember=False)
    state.sources, state.start = start.sources, (start.regions, start.image_label)
    st.session_state[REASON_KEY] = reason


def consensus_saved() -> None:
    """The toast of a consensus just saved from the viewer (once)."""
    if flash := consensus_session().take_flash():
        st.toast(as_text(flash))


def consensus_station(image_id: int, account: Account, *, project: Project) -> bool:
    """The viewer editing the consensus of ``image_id`` with its side panel, when it is open for that image
    (True: the page shows nothing else); False when it is not."""
    state = consensus_session()
    if state.image_id != image_id:
        return False
    try:
        readings = readings_of(image_id, engine=project.engine, actor=account.name)  # the right as it is now
        image = get_image(image_id, engine=project.engine)
        slices = series_slices(image.id, engine=project.engine)
    except MedalError as error:
        show_error(error)
        return True
    if state.loaded_for != image.id:
        regions, label = state.start or ([], None)
        state.load(image.id, {image.id: list(regions)} if regions else {}, label)
        state.loaded_modality = image.modality or ""
        state.slice_numbers = {item.id: number for number, item in enumerate(slices, start=1)}
    classes = list_classes(engine=project.engine)
    if not classes:
        st.warning("There are no active label classes: add one in Settings.")
        return True
    state.class_name = state.class_name if state.class_name in {c.name for c in classes} else classes[0].name
    readers = sorted(set(readings) - {CONSENSUS})
    colours = reader_colours(readers)
    view, side = st.columns([3.2, 1.3])
    with side:
        st.markdown(f"##### Consensus of image {image.id}")
        st.caption("What you draw here becomes the consensus. Each reader's regions are dashed in their colour; "
                   "the toolbar's reader buttons show or hide them.")
        for name in readers:  # names are user text: plain text
            st.text(f"{name} ({colours[name]}): {len(readings[name].regions)} region(s), "
                    f"image label {readings[name].image_label or 'none'}")
        if error := state.take_error():
            show_error(error)
        controls = st.container()
    with view:
        action = reading_station(state, account.name, lambda: consensus_data(
            state, image, slices, account, classes, readings, project=project), project=project,
            key=CONSENSUS_VIEWER_KEY)
    with side:
        region_summary(state, state.take_outline_error())
    with controls:
        image_label_radio(state, RADIO_PREFIX)
        st.text_input("Why this is the consensus", key=REASON_KEY, max_chars=1000)
        save, close = st.columns(2)
        save.button("Save the consensus", type="primary", width="stretch", on_click=_on_save,
                    args=(state, account.name, project))
        if action == "save":  # `s` in the viewer
            save_consensus(state, account.name, project=project)
            st.rerun()
        if close.button("Close the viewer", width="stretch"):
            state.show(None, remember=False)
            st.rerun()
    return True


def consensus_data(state: ConsensusSession, image: Any, slices: list[Any], account: Account, classes: list[Any],
                   readings: dict[str, Any], *, project: Project) -> dict[str, Any]:
    """The viewer's data (CONTRACT.md) for the consensus: the Label page's, with every reader's regions as
    read-only overlays, only the save key, nothing fetched ahead, and a draft of its own in the tab."""
    data = viewer_data(state, image, slices, account, classes, ModelHelp(), project=project)
    readers = sorted(set(readings) - {CONSENSUS})
    colours = reader_colours(readers)
    data.update(draft_key=draft_key(f"consensus\n{account.name}", image.id), next_up=None, actions=["save"],
                readers=[{"name": name, "color": colours[name], "regions": {str(image.id): [
                    {"label": r.label, "shape": r.shape, "points": r.points}
                    for r in readings[name].region_inputs()]}} for name in readers])
    return data


def _on_save(state: ConsensusSession, user: str, project: Project) -> None:
    if state.image_id is not None and state.loaded_for == state.image_id:
        take_reports(state, CONSENSUS_VIEWER_KEY)  # the viewer's last edits first
        save_consensus(state, user, project=project)


def save_consensus(state: ConsensusSession, user: str, *, project: Project) -> bool:
    """Store the regions and label on screen as the consensus of the image (``adjudicate``: the reason asked for,
    the sources the readings shown) and close the viewer; else say why in ``state.error``."""
    image_id = state.image_id
    elsewhere = sorted(state.slice_numbers.get(i, 0) for i, regions in state.edits.items() if i != image_id and regions)
    if image_id is None or elsewhere:
        state.error = (f"The consensus is of image {image_id} (slice {state.slice_numbers.get(image_id)}): remove "
                       f"the regions on slice(s) {', '.join(map(str, elsewhere))}, or draw them on that slice.")
        return False
    label = state.image_label
    try:
        saved = adjudicate(image_id, engine=project.engine, regions=state.regions_of(image_id),
                           image_label=None if label == "none" else label, sources=state.sources,
                           reason=str(st.session_state.get(REASON_KEY) or ""), actor=user)
    except MedalError as error:
        state.error = str(error)
        return False
    state.show(None, remember=False)
    state.flash = (f"Saved the consensus of image {saved.image_id}: {len(saved.regions)} region(s), image label "
                   f"{saved.image_label or 'none'}.")
    return True
