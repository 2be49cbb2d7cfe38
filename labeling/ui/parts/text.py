"""User and DICOM text on a page: shown as typed, never as Markdown or HTML that could fetch or run anything."""

from __future__ import annotations

import re

import streamlit as st

# Characters that start Markdown links and images, raw HTML and autolinks, code, Streamlit's icon,
# colour and emoji directives, LaTeX, emphasis and tables. A backslash makes each one literal.
_ACTIVE = re.compile(r"([\\`*_\[\]<>!:$~|{}])")


def as_text(value: object) -> str:
    """``value`` escaped for any Streamlit element that renders Markdown (captions, labels, alerts)."""
    return _ACTIVE.sub(r"\\\1", str(value))


def show_error(error: BaseException | str) -> None:
    """A library error's message as an error box; the message may quote user text, so it is escaped."""
    st.error(as_text(error))
