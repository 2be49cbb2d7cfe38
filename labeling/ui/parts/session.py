"""The logged-in account in session state: log-in, log-out, and the account re-read on every script run
(a disabled account is logged out at once, a changed role takes effect, an idle session ends).

Each log-in is also a server-side browser session (``labeling.labels.browser_sessions``) whose
``HttpOnly`` cookie brings a reloaded tab, a deep link or a second tab back in without a password,
and whose end (log-out, idle time, disabled account) ends every tab that uses it.
"""

from __future__ import annotations

import time

import streamlit as st

from labeling.labels import browser_sessions
from labeling.labels.accounts import Account
from labeling.labels.browser_sessions import COOKIE_NAME, SessionEnded
from labeling.labels.queue import release
from labeling.ui.parts.cookie_bridge import ask_browser
from labeling.ui.parts.text import as_text
from storage.config import config

ACCOUNT_KEY = "account"
SEEN_KEY = "account_seen"  # time.time() of the session's last script run
BROWSER_SESSION_KEY = "browser_session"  # the id of the server-side session behind the cookie
COOKIE_READ_KEY = "cookie_read"  # the tab's cookie (as it was when the tab opened) was consulted already
REASON_KEY = "logout_reason"  # why the session was ended, for the log-in page


def client_address() -> str | None:
    """The browser's address as the server sees it (None when unknown, e.g. in AppTest)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def log_in(account: Account, browser_session: int | None = None) -> None:
    """Log this tab in. A fresh log-in (no ``browser_session`` yet) starts a server-side session and asks
    the browser to store its cookie."""
    if browser_session is None:
        browser_session, ticket = browser_sessions.start(account)
        ask_browser("login", ticket)
    st.session_state[ACCOUNT_KEY], st.session_state[SEEN_KEY] = account, time.time()
    st.session_state[BROWSER_SESSION_KEY] = browser_session


def log_out(account: Account, reason: str | None = None) -> None:
    """End the session (here and for the cookie): give back the user's leases and forget everything but
    the reason."""
    browser_sessions.end(st.session_state.get(BROWSER_SESSION_KEY))
    release(account.name)
    st.session_state.clear()
    st.session_state[COOKIE_READ_KEY] = True  # the tab still sees the old cookie: never use it again
    ask_browser("logout")
    if reason:
        st.session_state[REASON_KEY] = reason


def current_account() -> Account | None:
    """The logged-in account as it is in the database now, or None (never logged in, disabled meanwhile,
    or idle past ``MEDAL_SESSION_IDLE_MINUTES``: then the session ends with the reason). A tab that is not
    logged in yet is let in by a live session cookie (a reload, a deep link, another tab)."""
    account = st.session_state.get(ACCOUNT_KEY)
    if not isinstance(account, Account):
        return _from_cookie()
    now, idle_minutes = time.time(), config().session_idle_minutes
    if now - st.session_state.get(SEEN_KEY, now) > idle_minutes * 60:
        log_out(account, f"You were logged out after {idle_minutes:g} minutes without activity.")
        return None
    try:
        fresh = browser_sessions.live(st.session_state[BROWSER_SESSION_KEY])
    except (SessionEnded, KeyError) as error:
        log_out(account, str(error) if isinstance(error, SessionEnded) else None)
        return None
    log_in(fresh, st.session_state[BROWSER_SESSION_KEY])
    return fresh


def _from_cookie() -> Account | None:
    """The account of the session cookie the tab opened with, once per tab (Streamlit shows a tab the
    cookies of its first request only, so after a log-out here they are stale)."""
    if st.session_state.get(COOKIE_READ_KEY):
        return None
    st.session_state[COOKIE_READ_KEY] = True
    token = st.context.cookies.get(COOKIE_NAME)
    if not isinstance(token, str) or not token:  # (AppTest has no cookies)
        return None
    try:
        browser_session, account = browser_sessions.resume(token)
    except SessionEnded as error:
        st.session_state[REASON_KEY] = str(error)
        ask_browser("logout")  # a dead cookie: let the browser forget it
        return None
    log_in(account, browser_session)
    return account


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
