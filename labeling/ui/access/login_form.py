"""The log-in form: the only thing shown to a browser that is not logged in, whatever page it asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from labeling.access import DEVICE_COOKIE, LoginFailed, authenticate
from labeling.ui.access.session import client_address, log_in, logout_reason
from labeling.ui.parts import as_text, show_error

if TYPE_CHECKING:
    from storage import Project


def show_login(*, project: Project) -> None:
    """Ask for user name and password; on success log the tab in and run the app again (the page the
    address names then opens: a deep link survives the log-in)."""
    st.title("Medal")
    st.caption("Medical active labeling — log in to continue.")
    if reason := logout_reason():
        st.info(as_text(reason))
    with st.form("login"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            log_in(authenticate(username, password, client=client_address(),
                                device=st.context.cookies.get(DEVICE_COOKIE), engine=project.engine), project=project)
        except LoginFailed as error:
            show_error(error)
        else:
            st.rerun()
