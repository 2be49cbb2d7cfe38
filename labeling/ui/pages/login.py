"""Log in: the only page reachable without an account."""

import streamlit as st

from labeling.labels.accounts import LoginFailed, authenticate
from labeling.ui.parts.session import ACCOUNT_KEY
from labeling.ui.parts.text import show_error

st.title("Medal")
st.caption("Medical active labeling — log in to continue.")
with st.form("login"):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in", type="primary")
if submitted:
    try:
        st.session_state[ACCOUNT_KEY] = authenticate(username, password)
    except LoginFailed as error:
        show_error(error)
    else:
        st.rerun()
