"""The logged-in account in session state, and the sidebar that shows it with a Log out button."""

from __future__ import annotations

import streamlit as st

from labeling.labels.accounts import Account
from labeling.labels.queue import release
from labeling.ui.parts.text import as_text

ACCOUNT_KEY = "account"


def current_account() -> Account | None:
    account = st.session_state.get(ACCOUNT_KEY)
    return account if isinstance(account, Account) else None


def require_account() -> Account:
    """The account, or stop the page (pages are only routed after log-in; this is a second lock)."""
    account = current_account()
    if account is None:
        st.error("Please log in.")
        st.stop()
    return account


def sidebar_account() -> Account:
    """The logged-in account in the sidebar, with Log out; returns the account."""
    account = require_account()
    st.sidebar.caption(f"Logged in as **{as_text(account.name)}** ({account.role.value})")
    if st.sidebar.button("Log out"):
        release(account.name)
        st.session_state.clear()
        st.rerun()
    return account
