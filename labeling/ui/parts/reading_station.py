"""The Label page's viewer: what it is given (the series, windows, regions, corners) and what it reports
(edits, the window, tool/class/image label, action keys, quick-outline requests), kept in the page's session
object."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from labeling.access import Account
from labeling.labels import (
    IMAGE_LABELS,
    OutlineError,
    RegionInput,
    corners,
    current_annotations,
    get_image,
    heatmap_png,
    next_image,
    outline_region,
    peek,
    prior_for,
    skip,
    undo_last_save,
    voi_lut,
)
from labeling.ui import LabelSession
from labeling.ui.parts.panels import ModelHelp, save_series
from labeling.ui.viewer import ViewerEvents, data_url, parse_events, show_viewer, standard_presets
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project

VIEWER_KEY = "viewer"
SKIP_REASON_KEY = "skip-reason"
NO_REASON = "no reason given"


def load_series(state: LabelSession, image: Any, slices: list[Any], user: str, *, project: Project) -> None:
    """When a new image opens: every slice's saved regions (the user's current annotation) and the label."""
    if state.loaded_for == image.id:
        return
    found = current_annotations([item.id for item in slices], user,
                                engine=project.engine)  # one query for the whole series
    saved = {image_id: annotation.region_inputs() for image_id, annotation in found.items()}
    label = found[image.id].image_label if image.id in found else None
    state.load(image.id, saved, label)
    state.loaded_modality = image.modality or ""
    state.slice_numbers = {item.id: number for number, item in enumerate(slices, start=1)}
    state.next_up = _next_up(user, slices, project=project)  # once per opened image, not on every run


def _slice(item: Any, heatmap: str | None) -> dict[str, Any]:
    windows = [w for w in item.windows or [] if "center" in w and "width" in w]
    return {"image_id": item.id, "url": f"/medal/pixels/{item.id}", "rows": item.rows, "cols": item.cols,
            "samples": item.samples_per_pixel, "photometric": item.photometric or "MONOCHROME2",
            "spacing": item.pixel_spacing, "position": item.slice_position,
            "default_window": {"center": windows[0]["center"], "width": windows[0]["width"]} if windows else None,
            "presets": [{"name": w.get("name") or "", "center": w["center"], "width": w["width"]} for w in windows],
            "heatmap": heatmap, "voi_lut": voi_lut(item)}


def preset_names(image: Any) -> list[str]:
    """The window presets Shift+1…9 choose, in order: the file's, then the standard CT ones."""
    return [w.get("name") or f"C {w['center']:g} / W {w['width']:g}" for w in image.windows or []
            if "center" in w and "width" in w] + [p["name"] for p in standard_presets(image.modality, image.windows)]


def viewer_data(state: LabelSession, image: Any, slices: list[Any], account: Account, classes: list[Any],
                model: ModelHelp, *, project: Project) -> dict[str, Any]:
    """The viewer's ``data`` (CONTRACT.md): everything as plain JSON; text is shown by the JS as text."""
    heatmap = data_url(heatmap_png(model.heatmap)) if model.heatmap else None
    corner = corners(image, sees_identity=account.sees_identity, engine=project.engine)
    return {
        "image_id": image.id, "slice_index": next(i for i, s in enumerate(slices) if s.id == image.id),
        "slices": [_slice(item, heatmap if item.id == image.id else None) for item in slices],
        "modality": image.modality or "", "units": "HU" if image.modality == "CT" else "",
        "window": state.windows.get(image.modality or ""),
        "standard_presets": standard_presets(image.modality, image.windows),
        "overlay": {"patient": corner.patient, "study_date": corner.study_date, "series": corner.series,
                    "view": corner.view},
        "classes": [{"name": c.name, "color": c.color, "key": c.key or "", "description": c.description or ""}
                    for c in classes],
        "class_name": state.class_name if any(c.name == state.class_name for c in classes) else classes[0].name,
        "tool": state.tool, "image_label": state.image_label, "saved_label": state.saved_label or "none",
        # what the reader has now (a viewer mounted afresh shows it) and what is saved (unsaved = the difference)
        "regions": _regions_json({i: state.regions_of(i) for i in {*state.saved, *state.edits}}),
        "saved_regions": _regions_json(state.saved),
        "revision": state.revision,
        "draft_key": draft_key(account.name, image.id),
        "prior": _prior(image, slices, account, project=project),
        "show_prior": state.prior_beside == image.id,  # the viewer opens the prior pane for this image at once
        "proposals": {"image_id": image.id, "regions": [{"label": r.label, "points": r.points} for r in model.pending]}
        if model.pending else None,
        "message": state.viewer_message(),  # "Saved 2 regions on slices 8, 9": over the image, once
        "next_up": state.next_up,
    }


def _next_up(user: str, slices: list[Any], *, project: Project) -> dict[str, Any] | None:
    """The queue's next image for ``user`` outside the series on screen (its pixels are fetched ahead, so Save &
    next draws it at once); None when the queue has nothing else."""
    series = {item.id for item in slices}
    upcoming = next((item.image_id for item in peek(user, len(series) + 1,
                                                    engine=project.engine) if item.image_id not in series), None)
    if upcoming is None:
        return None
    image = get_image(upcoming, engine=project.engine)
    return {"image_id": image.id, "url": f"/medal/pixels/{image.id}", "rows": image.rows, "cols": image.cols,
            "samples": image.samples_per_pixel}


def _regions_json(by_slice: dict[int, list[RegionInput]]) -> dict[str, list[dict[str, Any]]]:
    return {str(i): [{"label": r.label, "shape": r.shape, "points": r.points} for r in regions]
            for i, regions in by_slice.items()}


def draft_key(user: str, image_id: int) -> str:
    """Where the viewer keeps this reader's unsaved drawing of this image in the tab (sessionStorage): the
    name is hashed so that nothing readable is stored under it."""
    return hashlib.sha256(f"{user}\n{image_id}".encode()).hexdigest()[:24]


def _prior(image: Any, slices: list[Any], account: Account, *, project: Project) -> dict[str, Any] | None:
    prior = prior_for(image, sees_identity=account.sees_identity, current=slices, engine=project.engine)
    if prior is None:
        return None
    return {"label": prior.label, "slice_index": prior.slice_index,
            "slices": [_slice(item, None) for item in prior.slices]}


def early_action(state: LabelSession) -> str | None:
    """An action key pressed in the viewer, taken at the start of the script run (before anything is drawn),
    so that Save & next draws the next image in this same run instead of a second one. Each key press is
    taken once."""
    events = parse_events(st.session_state.get(VIEWER_KEY))
    return _take(state, events)


def act_early(state: LabelSession, user: str, *, project: Project) -> None:
    """Carry out an action key pressed in the viewer before the page draws anything: Save & next, Skip,
    Back and Undo then show their next image in this same script run (one run instead of two: the
    next image is drawn sooner). A refused save is shown and the image stays."""
    if state.image_id is None or state.loaded_for != state.image_id:
        return
    action = early_action(state)
    if action == "save":
        save_and_next(state, user, project=project)
    elif action == "skip":
        skip_and_next(state, user, project=project)
    elif action == "back" and state.history:
        state.show(state.history.pop(), remember=False)
    elif action == "undo":
        undone = undo_last_save(user, engine=project.engine)
        state.flash = f"Undid your last save on image {undone}." if undone else "Nothing to undo."
        if undone is not None:
            state.show(undone)


def on_button(state: LabelSession, user: str, act: Callable[..., None], project: Project) -> None:
    """A side-panel button's callback: it runs before the script, so the next image is drawn in the same run
    (no second run); the viewer's last reports are taken first."""
    if state.image_id is None or state.loaded_for != state.image_id:
        return
    _fold(state, parse_events(st.session_state.get(VIEWER_KEY)), state.loaded_modality)
    act(state, user, project=project)


def take_reports(state: LabelSession, key: str = VIEWER_KEY) -> None:
    """Fold the viewer's last reports (regions, window, tool, class, label) into ``state``: what a button's
    callback does first, since it runs before the viewer is drawn."""
    _fold(state, parse_events(st.session_state.get(key)), state.loaded_modality)


def save_and_next(state: LabelSession, user: str, *, project: Project) -> None:
    """Save & next: the next image of the queue on success; else the reason is in ``state.error``."""
    image_id = state.image_id
    if saved := save_series(state, image_id, user, project=project):
        state.flash = saved
        _show_next(state, user, image_id, project=project)


def skip_and_next(state: LabelSession, user: str, *, project: Project) -> None:
    image_id = state.image_id
    if skip_image(state, image_id, user, project=project):
        _show_next(state, user, image_id, project=project)


def _show_next(state: LabelSession, user: str, done: int, *, project: Project) -> None:
    item = next_image(user, exclude=(done,), engine=project.engine)
    state.show(item.image_id if item else None)


def image_label_radio(state: LabelSession, prefix: str = "image-label") -> None:
    """The image label's radio. One image label: the state; the viewer's keys change it too, and then the radio
    is a new one showing it (setting the old radio's value would race with the value the browser still reports
    for it). A report from a radio that is no longer on the page is not taken: the last action wins."""
    key, labels = label_radio_key(state, prefix), ["none", *IMAGE_LABELS]
    st.radio("Image label", labels, index=labels.index(state.image_label), horizontal=True, key=key,
             on_change=_take_radio, args=(state, key, prefix))


def label_radio_key(state: LabelSession, prefix: str = "image-label") -> str:
    return f"{prefix}-{state.revision}-{state.label_version}"


def _take_radio(state: LabelSession, key: str, prefix: str = "image-label") -> None:
    if key == label_radio_key(state, prefix) and st.session_state.get(key) in ("none", *IMAGE_LABELS):
        state.image_label = st.session_state[key]


def skip_image(state: LabelSession, image_id: int, user: str, *, project: Project) -> bool:
    """Skip the image with the reason the reader chose (or, with none chosen, say so: no reason is made up).
    False after recording why not (another reader's lease)."""
    try:
        skip(image_id, user, st.session_state.get(SKIP_REASON_KEY) or NO_REASON, engine=project.engine)
    except MedalError as error:
        state.error = str(error)
        return False
    return True


def _take(state: LabelSession, events: ViewerEvents) -> str | None:
    """The action key pressed in the viewer, once; refused (and said) when the viewer showed another image
    than the page's — a save always goes to the image the reader sees."""
    if events.action is None or events.action_nonce == state.action_nonce:
        return None
    state.action_nonce = events.action_nonce
    if events.action_image_id != state.image_id:
        state.error = (f"The viewer was still showing image {events.action_image_id}, not image {state.image_id}: "
                       f"nothing was done. Look at the image and press {events.action.capitalize()} again.")
        return None
    _fold(state, events, state.loaded_modality)
    return events.action


def reading_station(state: LabelSession, user: str, build_data: Callable[[], dict[str, Any]], *,
                    project: Project, key: str = VIEWER_KEY) -> str | None:
    """Show the viewer and fold what it reported into ``state``; returns an action key pressed in it (one not
    taken by ``early_action``). What the browser reported is folded in before the data is built, so the
    viewer is never sent back the tool, class or label it has just left; a quick-outline request is answered
    in the data of this same run."""
    modality = state.loaded_modality
    events = parse_events(st.session_state.get(key))
    _fold(state, events, modality)
    data = build_data()
    answer_outline(state, events.outline, data, user, project=project)
    data["outline"] = state.outline  # the answer to the last quick-outline request (this run's, if any)
    events = show_viewer(data, key)
    _fold(state, events, data["modality"])
    return _take(state, events)


def answer_outline(state: LabelSession, request: dict[str, Any] | None, data: dict[str, Any], user: str, *,
                   project: Project) -> None:
    """A box drawn with the viewer's Outline tool: the lesion's outline in it becomes a polygon region of the
    slice it was drawn on, in the class chosen then — added to the edits here (listed and saved like any
    region) and sent to the viewer as ``data.outline``, which adds it once as an edit of its own. Each
    request is answered once; one from before the regions were replaced (another image) is dropped."""
    if request is None or request["nonce"] == state.outline_nonce:
        return
    state.outline_nonce = request["nonce"]
    if request["revision"] != state.revision:
        return
    image_id = request["image_id"]
    answer: dict[str, Any] = {"nonce": request["nonce"], "image_id": image_id, "revision": state.revision}
    try:
        if image_id not in {s["image_id"] for s in data["slices"]}:
            raise OutlineError("The box was drawn on an image that is no longer on screen: draw it again.")
        points = outline_region(image_id, request["box"], actor=user, window=request["window"], project=project)
    except MedalError as error:
        state.outline, state.outline_error = {**answer, "error": str(error)}, str(error)
        return
    names = [c["name"] for c in data["classes"]]
    region = RegionInput(request["label"] if request["label"] in names else data["class_name"], "polygon", points)
    state.edits = {**state.edits, image_id: [*state.regions_of(image_id), region]}
    state.outline = {**answer, "region": {"label": region.label, "shape": region.shape, "points": region.points}}


def _fold(state: LabelSession, events: ViewerEvents, modality: str) -> None:
    # The viewer's last report stays in its state on every later run: take each one once, so that regions
    # added here since (a quick outline) are not undone by an older report.
    if events.regions is not None and events.revision == state.revision \
            and events.regions_image_id == state.image_id and state.folded != (state.revision, events.regions):
        state.edits, state.folded = dict(events.regions), (state.revision, events.regions)
    if events.window and events.window.get("modality") == modality:
        state.windows[modality] = {"center": float(events.window["center"]), "width": float(events.window["width"])}
    # Tool, class and image label: each report once (it stays in the component's state on every later run, and
    # must not undo a later choice made on the page, e.g. the image-label radio: the last action wins).
    ui = events.ui
    if not ui or ui.get("nonce") == state.ui_nonce:
        return
    state.ui_nonce = ui.get("nonce")
    if ui.get("tool"):
        state.tool = str(ui["tool"])
    if ui.get("class_name"):
        state.class_name = str(ui["class_name"])
    if ui.get("image_label") in ("none", *IMAGE_LABELS) and ui.get("revision") == state.revision \
            and ui.get("image_id") == state.image_id and ui["image_label"] != state.image_label:
        state.image_label = ui["image_label"]
        state.label_version += 1  # a radio of its own: the old one's value, still in the browser, is not taken
