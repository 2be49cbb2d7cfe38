"""Log in: the only page reachable without an account."""

import streamlit as st

from labeling.labels.accounts import LoginFailed, authenticate
from labeling.ui.parts.session import client_address, log_in, logout_reason
from labeling.ui.parts.text import as_text, show_error

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
        log_in(authenticate(username, password, client=client_address()))
    except LoginFailed as error:
        show_error(error)
    else:
        st.rerun()
