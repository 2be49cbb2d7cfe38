"""The Label page's memory between reruns, as one typed object in Streamlit's session state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

LABEL_KEY = "label"


@dataclass
class LabelSession:
    """What the Label page keeps for one browser session (small ids and the canvas's start drawing)."""

    image_id: int | None = None  # the image on screen; None once the queue is empty
    started: bool = False  # whether an image was asked of the queue yet
    visit: int = 0  # counts images shown, so each gets fresh widgets
    rev: int = 0  # bumped when regions change outside the canvas (delete, accepted proposals)
    history: list[int] = field(default_factory=list)  # images shown before, for Back
    open_request: int | None = None  # an image another page asked to open here
    flash: str | None = None  # a message for the next run (after a save or undo)
    initial: dict[str, Any] = field(default_factory=dict)  # canvas key → the drawing it starts with
    saved_label: str | None = None  # the image label of the annotation being edited
    tool: str = "box"
    class_name: str | None = None

    @property
    def canvas_key(self) -> str:
        return f"canvas-{self.visit}-{self.rev}"

    def show(self, image_id: int | None, *, remember: bool = True) -> None:
        """Put ``image_id`` on screen next (remembering the current one for Back unless told not to)."""
        if remember and self.image_id is not None:
            self.history.append(self.image_id)
        self.image_id, self.started, self.rev = image_id, True, 0
        self.visit += 1

    def redraw(self, drawing: dict[str, Any]) -> None:
        """Restart the canvas with ``drawing`` (after regions changed outside it)."""
        self.rev += 1
        self.initial = {self.canvas_key: drawing}

    def take_flash(self) -> str | None:
        flash, self.flash = self.flash, None
        return flash


def label_session() -> LabelSession:
    """This browser session's Label-page state (created on first use)."""
    if not isinstance(st.session_state.get(LABEL_KEY), LabelSession):
        st.session_state[LABEL_KEY] = LabelSession()
    return st.session_state[LABEL_KEY]


def open_in_label(image_id: int) -> None:
    """Ask the Label page to open ``image_id`` on its next run (from Images)."""
    label_session().open_request = image_id
