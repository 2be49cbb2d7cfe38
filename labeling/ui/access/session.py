"""The logged-in account in session state: log-in, log-out, and the account re-read on every script run
(a disabled account is logged out at once, a changed role takes effect, an idle session ends).

Each log-in is also a server-side browser session (``labeling.access.browser_sessions``) whose
``HttpOnly`` cookie brings a reloaded tab, a deep link or a second tab back in without a password,
and whose end (log-out, idle time, disabled account) ends every tab that uses it.

A tab's log-in is bound to the browser connection (the websocket) it was made on. Streamlit lets any
connection that names a session id take that session over (the id travels in upload URLs, which proxies
log), so a script run on another connection than the one the log-in was made or last checked on must
bring the log-in's cookie; without it the tab is logged out (the browser session itself lives on: the
cookie's holder is not logged out by someone who only knows a session id).
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from labeling.access import COOKIE_NAME, Account, SessionEnded, SignInRefused, browser_sessions, sign_in
from labeling.labels import release
from labeling.ui import CLIENT_HEADER
from labeling.ui.access.cookie_bridge import ask_browser
from labeling.ui.access.sso_login import REFUSED_KEY, forget_identity, identity
from labeling.ui.access.tab_logins import record
from labeling.ui.parts import as_text
from storage import config

if TYPE_CHECKING:
    from storage import Project

ACCOUNT_KEY = "account"
SEEN_KEY = "account_seen"  # time.time() of the session's last script run
BROWSER_SESSION_KEY = "browser_session"  # the id of the server-side session behind the cookie
CONNECTION_KEY = "login_connection"  # (a weak reference to) the connection the log-in was made or checked on
COOKIE_READ_KEY = "cookie_read"  # the connection whose cookie (as it was when it opened) was consulted already
REASON_KEY = "logout_reason"  # why the session was ended, for the log-in page
RECONNECTED = "This tab reconnected without your log-in's cookie; log in again."


def client_address() -> str | None:
    """The browser's address as Medal's HTTP guard determined it (``X-Forwarded-For`` believed only from
    ``MEDAL_TRUSTED_PROXIES``; the proxy's own address otherwise); None when unknown (AppTest)."""
    address = st.context.headers.get(CLIENT_HEADER)
    return address if isinstance(address, str) and address else None


def _connection() -> object | None:
    """The browser connection (Streamlit's websocket client) this script run serves; None without a server
    (AppTest)."""
    ctx = get_script_run_ctx()
    server = runtime.get_instance() if runtime.exists() else None
    if ctx is None or not issubclass(type(server), runtime.Runtime):  # AppTest's runtime is a stand-in (a mock)
        return None
    return server.get_client(ctx.session_id)


def _remember_connection(key: str) -> None:
    connection = _connection()
    st.session_state[key] = weakref.ref(connection) if connection is not None else None


def _on_remembered_connection(key: str) -> bool:
    """Whether this run's connection is the one remembered under ``key`` (a new websocket is another
    object, whoever opened it)."""
    remembered, connection = st.session_state.get(key), _connection()
    if connection is None:
        return remembered is None
    return isinstance(remembered, weakref.ref) and remembered() is connection


def _record_tab(browser_session: int | None) -> None:
    ctx = get_script_run_ctx()
    if ctx is not None:
        record(ctx.session_id, browser_session)


def log_in(account: Account, browser_session: int | None = None, *, project: Project) -> None:
    """Log this tab in. A fresh log-in (no ``browser_session`` yet) starts a server-side session and asks
    the browser to store its cookie."""
    if browser_session is None:
        browser_session, ticket = browser_sessions.start(account, engine=project.engine)
        ask_browser("login", ticket)  # (the route also drops a single sign-on identity's cookie)
    forget_identity()  # an identity this connection still carries logs nobody in after this log-in ends
    st.session_state[ACCOUNT_KEY], st.session_state[SEEN_KEY] = account, time.time()
    st.session_state[BROWSER_SESSION_KEY] = browser_session
    _remember_connection(CONNECTION_KEY)
    _record_tab(browser_session)


def log_out(account: Account, reason: str | None = None, *, project: Project) -> None:
    """End the session (here and for the cookie): give back the user's leases and forget everything but
    the reason."""
    browser_sessions.end(st.session_state.get(BROWSER_SESSION_KEY), engine=project.engine)
    release(account.name, engine=project.engine)
    _forget(reason)
    ask_browser("logout")


def _forget(reason: str | None, cookie_stale: bool = True) -> None:
    """Forget this tab's log-in (and everything else in it) but the reason; with ``cookie_stale`` the
    connection's cookie, as it was when the connection opened, is not consulted again."""
    st.session_state.clear()
    if cookie_stale:
        _remember_connection(COOKIE_READ_KEY)
    _record_tab(None)
    if reason:
        st.session_state[REASON_KEY] = reason


def current_account(*, project: Project) -> Account | None:
    """The logged-in account as it is in the database now, or None (never logged in, disabled meanwhile,
    or idle past ``MEDAL_SESSION_IDLE_MINUTES``: then the session ends with the reason). A tab that is not
    logged in yet is let in by a live session cookie (a reload, a deep link, another tab)."""
    account = st.session_state.get(ACCOUNT_KEY)
    if not isinstance(account, Account):
        return _from_cookie(project=project) or _from_identity(project=project)
    if not _on_remembered_connection(CONNECTION_KEY) and not _cookie_is(st.session_state.get(BROWSER_SESSION_KEY),
                                                                        project=project):
        _forget(RECONNECTED, cookie_stale=False)  # a session id alone is no log-in; a live cookie may be
        return _from_cookie(project=project)
    now, idle_minutes = time.time(), config().session_idle_minutes
    if now - st.session_state.get(SEEN_KEY, now) > idle_minutes * 60:
        log_out(account, f"You were logged out after {idle_minutes:g} minutes without activity.", project=project)
        return None
    try:
        fresh = browser_sessions.live(st.session_state[BROWSER_SESSION_KEY], engine=project.engine)
    except (SessionEnded, KeyError) as error:
        log_out(account, str(error) if isinstance(error, SessionEnded) else None, project=project)
        return None
    log_in(fresh, st.session_state[BROWSER_SESSION_KEY], project=project)
    return fresh


def _cookie_is(browser_session: object, *, project: Project) -> bool:
    """Whether this connection brought the cookie of ``browser_session``, still live."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not isinstance(token, str) or not token or not isinstance(browser_session, int):
        return False
    try:
        return browser_sessions.resume(token, engine=project.engine)[0] == browser_session
    except SessionEnded:
        return False


def _from_cookie(*, project: Project) -> Account | None:
    """The account of the session cookie this connection opened with, once per connection (Streamlit shows
    a script the cookies of its connection's first request, so after a log-out here they are stale)."""
    if COOKIE_READ_KEY in st.session_state and _on_remembered_connection(COOKIE_READ_KEY):
        return None
    _remember_connection(COOKIE_READ_KEY)
    token = st.context.cookies.get(COOKIE_NAME)
    if not isinstance(token, str) or not token:  # (AppTest has no cookies)
        return None
    try:
        browser_session, account = browser_sessions.resume(token, engine=project.engine)
    except SessionEnded as error:
        st.session_state[REASON_KEY] = str(error)
        ask_browser("logout")  # a dead cookie: let the browser forget it
        return None
    log_in(account, browser_session, project=project)
    return account


def _from_identity(*, project: Project) -> Account | None:
    """The account of the identity provider's sign-in this connection brought (``st.login``), used once: the
    library maps and audits it, and the tab is logged in through the same session as a password log-in."""
    claims = identity()
    if claims is None:
        return None
    forget_identity()
    try:
        account = sign_in(claims, engine=project.engine, client=client_address())
    except SignInRefused as error:
        st.session_state[REFUSED_KEY] = str(error)
        ask_browser("logout")  # the browser drops the identity's cookie too
        return None
    log_in(account, project=project)
    st.session_state.pop(REASON_KEY, None)  # (a stale cookie's reason, from this same run)
    return account


def logout_reason() -> str | None:
    """Why the last session ended (once), for the log-in page."""
    return st.session_state.pop(REASON_KEY, None)


def require_account(*, project: Project) -> Account:
    """The account, or stop the page (pages are only routed after log-in; this is a second lock)."""
    account = current_account(project=project)
    if account is None:
        st.error("Please log in.")
        st.stop()
    return account


def sidebar_account(*, project: Project) -> Account:
    """The logged-in account in the sidebar, with Log out; returns the account."""
    account = require_account(project=project)
    st.sidebar.caption(f"Logged in as **{as_text(account.name)}** ({account.role.value})")
    if st.sidebar.button("Log out"):
        log_out(account, project=project)
        st.rerun()
    return account
