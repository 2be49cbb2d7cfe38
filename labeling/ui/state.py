"""The Label page's memory between reruns, as one typed object in Streamlit's session state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

LABEL_KEY = "label"
CONSENSUS_KEY = "consensus-station"  # not "consensus": the Review page's form has that key


@dataclass
class LabelSession:
    """What the Label page keeps for one browser session (small ids and the canvas's start drawing)."""

    image_id: int | None = None  # the image on screen; None once the queue is empty
    started: bool = False  # whether an image was asked of the queue yet
    visit: int = 0  # counts images shown, so each gets fresh widgets
    rev: int = 0  # bumped when regions change outside the canvas (delete, accepted proposals)
    history: list[int] = field(default_factory=list)  # images shown before, for Back
    open_request: int | None = None  # an image another page asked to open here
    prior_beside: int | None = None  # the image to show with its prior study beside it (the timeline asked)
    flash: str | None = None  # a message for the next run (after a save or undo)
    loaded_for: int | None = None  # the image whose series' saved regions are in ``saved``
    loaded_modality: str = ""  # its modality (the viewer's window reports are per modality)
    saved: dict[int, list[Any]] = field(default_factory=dict)  # slice image id → its saved regions
    edits: dict[int, list[Any]] = field(default_factory=dict)  # slice image id → the viewer's regions now
    revision: int = 0  # bumped whenever ``saved`` replaces what the viewer shows (new image, proposals)
    saved_label: str | None = None  # the image label of the annotation being edited
    image_label: str = "none"  # the image label chosen now
    windows: dict[str, dict[str, float]] = field(default_factory=dict)  # modality → the window chosen last
    action_nonce: str | None = None  # the viewer's last action key press already taken
    confirm_undo: bool = False  # Undo was clicked with unsaved drawing: ask first
    folded: tuple[int, Any] | None = None  # (revision, regions) of the viewer's last regions report taken
    outline_nonce: str | None = None  # the viewer's last quick-outline request already answered
    outline: dict[str, Any] | None = None  # the answer to it, for the viewer (CONTRACT.md: data.outline)
    outline_error: str | None = None  # why it could not be outlined, shown once
    label_version: int = 0  # bumped when the image label changes other than by the page's radio (a viewer key)
    message: dict[str, str] | None = None  # the last flash as the viewer shows it once: {"nonce", "text"}
    next_up: dict[str, Any] | None = None  # the queue's next image outside the series, fetched ahead by the viewer
    ui_nonce: str | None = None  # the viewer's last tool/class/label report already taken
    slice_numbers: dict[int, int] = field(default_factory=dict)  # slice image id → its number in the series (1-based)
    error: str | None = None  # why the last action was refused, shown once beside the viewer (never above it)
    tool: str = "box"
    class_name: str | None = None

    def show(self, image_id: int | None, *, remember: bool = True) -> None:
        """Put ``image_id`` on screen next (remembering the current one for Back unless told not to)."""
        if remember and self.image_id is not None:
            self.history.append(self.image_id)
        self.image_id, self.started, self.loaded_for = image_id, True, None
        self.visit += 1

    def load(self, image_id: int, saved: dict[int, list[Any]], saved_label: str | None) -> None:
        """Start editing ``image_id``'s series from what is saved."""
        self.loaded_for, self.saved, self.edits = image_id, saved, {}
        self.saved_label, self.image_label = saved_label, saved_label or "none"
        self.outline = None
        self.revision += 1

    def replace(self, image_id: int, regions: list[Any]) -> None:
        """Put ``regions`` on the viewer for ``image_id`` (accepted proposals), keeping the other slices' edits."""
        self.saved = {**self.saved, **self.edits, image_id: regions}
        self.edits = {}
        self.revision += 1

    def regions_of(self, image_id: int) -> list[Any]:
        """The regions of a slice as the viewer has them now."""
        return self.edits.get(image_id, self.saved.get(image_id, []))

    def take_flash(self) -> str | None:
        flash, self.flash = self.flash, None
        return flash

    def viewer_message(self) -> dict[str, str] | None:
        """The flash for the viewer to show over the image (once per nonce: a rerun does not show it again)."""
        if flash := self.take_flash():
            self.message = {"nonce": uuid.uuid4().hex, "text": flash}
        return self.message

    def unsaved_slices(self) -> dict[int, list[Any]]:
        """The slices whose regions the viewer changed since they were loaded (emptied ones included)."""
        return {image_id: regions for image_id, regions in self.edits.items()
                if regions != self.saved.get(image_id, [])}

    def take_error(self) -> str | None:
        error, self.error = self.error, None
        return error

    def take_outline_error(self) -> str | None:
        error, self.outline_error = self.outline_error, None
        return error


@dataclass
class ConsensusSession(LabelSession):
    """The Review page's reading station: a reviewer edits the consensus of ``image_id``, starting from what
    ``labeling.labels.consensus_start`` gave, beside every reader's regions; no queue, no lease."""

    sources: list[int] = field(default_factory=list)  # the readings shown (annotation ids): the consensus's sources
    start: tuple[list[Any], str | None] | None = None  # (regions, image label) to load when the viewer opens


def consensus_session() -> ConsensusSession:
    """This browser session's consensus editor (created on first use; closed until a reviewer opens it)."""
    if not isinstance(st.session_state.get(CONSENSUS_KEY), ConsensusSession):
        st.session_state[CONSENSUS_KEY] = ConsensusSession()
    return st.session_state[CONSENSUS_KEY]


def label_session() -> LabelSession:
    """This browser session's Label-page state (created on first use)."""
    if not isinstance(st.session_state.get(LABEL_KEY), LabelSession):
        st.session_state[LABEL_KEY] = LabelSession()
    return st.session_state[LABEL_KEY]


def open_in_label(image_id: int, *, with_prior: bool = False) -> None:
    """Ask the Label page to open ``image_id`` on its next run (from Images), with the prior study beside it
    when asked (the patient timeline's comparison)."""
    state = label_session()
    state.open_request, state.prior_beside = image_id, (image_id if with_prior else None)


OPEN_PARAM, PRIOR_PARAM = "open", "prior"  # /label?open=12[&prior=1]: the Images page's links


def label_link(image_id: int, *, with_prior: bool = False) -> dict[str, str]:
    """The query parameters of a link that opens ``image_id`` on the Label page (a link is one script run of
    the Label page; a button would rerun the Images page first)."""
    return {OPEN_PARAM: str(image_id), **({PRIOR_PARAM: "1"} if with_prior else {})}


def take_open_request(state: LabelSession) -> int | None:
    """The image the Label page was asked to open (a link's parameters, else ``open_in_label``), once; the
    parameters leave the address so that a reload does not open it again."""
    wanted = st.query_params.get(OPEN_PARAM)
    if wanted is not None:
        with_prior = st.query_params.get(PRIOR_PARAM) == "1"
        for name in (OPEN_PARAM, PRIOR_PARAM):
            st.query_params.pop(name, None)
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= 18:
            state.prior_beside = int(wanted) if with_prior else None
            return int(wanted)
    requested, state.open_request = state.open_request, None
    return requested
