"""The browser's half of the log-in cookie: a tiny component that posts to Medal's own routes.

A page script cannot set an ``HttpOnly`` cookie; the browser must ask the server for it. After a log-in
the page queues the one-time ticket (``ask_browser("login", ticket)``), after a log-out a "logout";
``run_pending`` (called on every script run by ``app.py``) mounts this component until the browser
reports the request done. The script only posts; it never sees the cookie.
"""

from __future__ import annotations

import uuid
from typing import Literal

import streamlit as st

from labeling.ui.web_routes import LOGOUT_PATH, SESSION_PATH

PENDING_KEY = "cookie_request"
_JS = """
const handled = (window.__medalCookieRequests ||= new Set());
export default function (component) {
  const { data, setStateValue } = component;
  if (!data || !data.nonce || handled.has(data.nonce)) return;
  handled.add(data.nonce);
  const headers = { "X-Medal": "1" };
  if (data.ticket) headers["X-Medal-Ticket"] = data.ticket;
  const done = (ok) => setStateValue("done", { nonce: data.nonce, ok });
  fetch(data.url, { method: "POST", headers, credentials: "same-origin", cache: "no-store" })
    .then((response) => done(response.ok), () => done(false));
}
"""
_bridge = st.components.v2.component("medal.cookie_bridge", js=_JS)


def ask_browser(action: Literal["login", "logout"], ticket: str | None = None) -> None:
    """Queue a request for the browser: store the cookie for ``ticket``, or clear the cookie."""
    url = SESSION_PATH if action == "login" else LOGOUT_PATH
    st.session_state[PENDING_KEY] = {"url": url, "ticket": ticket, "nonce": uuid.uuid4().hex}


def run_pending() -> None:
    """Mount the component while a request is queued; forget the request once the browser answered."""
    pending = st.session_state.get(PENDING_KEY)
    if not pending:
        return
    result = _bridge(data=pending, key="cookie_bridge", on_done_change=lambda: None, height=0)
    done = result.get("done") if result else None
    if isinstance(done, dict) and done.get("nonce") == pending["nonce"]:
        st.session_state.pop(PENDING_KEY, None)
