"""The logged-in account in session state: log-in, log-out, and the account re-read on every script run
(a disabled account is logged out at once, a changed role takes effect, an idle session ends)."""

from __future__ import annotations

import time

import streamlit as st

from labeling.labels.accounts import Account, refresh_account
from labeling.labels.queue import release
from labeling.ui.parts.text import as_text
from storage.config import config
from storage.rights import NotAllowed

ACCOUNT_KEY = "account"
SEEN_KEY = "account_seen"  # time.time() of the session's last script run
REASON_KEY = "logout_reason"  # why the session was ended, for the log-in page


def client_address() -> str | None:
    """The browser's address as the server sees it (None when unknown, e.g. in AppTest)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def log_in(account: Account) -> None:
    st.session_state[ACCOUNT_KEY], st.session_state[SEEN_KEY] = account, time.time()


def log_out(account: Account, reason: str | None = None) -> None:
    """End the session: give back the user's leases and forget everything but the reason."""
    release(account.name)
    st.session_state.clear()
    if reason:
        st.session_state[REASON_KEY] = reason


def current_account() -> Account | None:
    """The logged-in account as it is in the database now, or None (never logged in, disabled meanwhile,
    or idle past ``MEDAL_SESSION_IDLE_MINUTES``: then the session ends with the reason)."""
    account = st.session_state.get(ACCOUNT_KEY)
    if not isinstance(account, Account):
        return None
    now, idle_minutes = time.time(), config().session_idle_minutes
    if now - st.session_state.get(SEEN_KEY, now) > idle_minutes * 60:
        log_out(account, f"You were logged out after {idle_minutes:g} minutes without activity.")
        return None
    try:
        fresh = refresh_account(account)
    except NotAllowed as error:
        log_out(account, str(error))
        return None
    log_in(fresh)
    return fresh


def logout_reason() -> str | None:
    """Why the last session ended (once), for the log-in page."""
    return st.session_state.pop(REASON_KEY, None)


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
        log_out(account)
        st.rerun()
    return account
