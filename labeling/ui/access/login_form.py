"""The log-in form: the only thing shown to a browser that is not logged in, whatever page it asked for.
It offers the hospital's identity provider (single sign-on, when ``secrets.toml`` configures one) and the
password form (unless ``MEDAL_PASSWORD_LOGIN`` is off)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from labeling.access import DEVICE_COOKIE, LoginFailed, authenticate
from labeling.ui.access.session import client_address, log_in, logout_reason
from labeling.ui.access.sso_login import provider, refusal, sign_in_button
from labeling.ui.parts import as_text, show_error
from storage import config

if TYPE_CHECKING:
    from storage import Project


def show_login(*, project: Project) -> None:
    """Ask for user name and password, or offer single sign-on; on success log the tab in and run the app
    again (the page the address names then opens: a deep link survives the log-in)."""
    st.title("Medal")
    if refused := refusal():
        st.subheader("Access refused")
        show_error(refused)
    st.caption("Medical active labeling — log in to continue.")
    if reason := logout_reason():
        st.info(as_text(reason))
    sign_in_button()
    if not config().password_login:
        if not provider()[0]:
            st.error("Password log-in is off (MEDAL_PASSWORD_LOGIN) and no identity provider is configured in "
                     ".streamlit/secrets.toml's [auth] section; ask IT to configure one.")
        return
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
