"""The project a Streamlit script run works on: ``app.py`` opens it at the start of every run and hands it
to the page through here, so pages and their parts pass it down to the library and never read ``MEDAL_HOME``
themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from storage import Project

PROJECT_KEY = "medal.project"


def hand_over(project: Project) -> None:
    """Give ``project`` to the page this run shows (``app.py``, before the page runs)."""
    st.session_state[PROJECT_KEY] = project


def the_project() -> Project:
    """The project ``app.py`` opened for this run."""
    project = st.session_state.get(PROJECT_KEY)
    if project is None:
        raise RuntimeError("A Medal page runs through app.py, which opens the project first (`streamlit run app.py`).")
    return project
