"""The browser's half of the log-in cookie: a tiny component that posts to Medal's own routes.

A page script cannot set an ``HttpOnly`` cookie; the browser must ask the server for it. After a log-in
the page queues the one-time ticket (``ask_browser("login", ticket)``), after a log-out a "logout";
``run_pending`` (called on every script run by ``app.py``) keeps this component mounted for
``KEEP_SECONDS`` after it first showed it, and the browser posts once per request. The component does
not answer (an answer would cost every log-in a second script run); a request the browser could not
make only costs the reload: the tab itself stays logged in. The script never sees the cookie.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

import streamlit as st

from labeling.ui.access.cookie_routes import LOGOUT_PATH, SESSION_PATH

PENDING_KEY = "cookie_request"
KEEP_SECONDS = 10.0
_JS = """
const handled = (window.__medalCookieRequests ||= new Set());
export default function (component) {
  const { data } = component;
  if (!data || !data.nonce || handled.has(data.nonce)) return;
  handled.add(data.nonce);
  const headers = { "X-Medal": "1" };
  if (data.ticket) headers["X-Medal-Ticket"] = data.ticket;
  fetch(data.url, { method: "POST", headers, credentials: "same-origin", cache: "no-store" }).catch(() => {});
}
"""
_bridge = st.components.v2.component("medal.cookie_bridge", js=_JS)


def ask_browser(action: Literal["login", "logout"], ticket: str | None = None) -> None:
    """Queue a request for the browser: store the cookie for ``ticket``, or clear the cookie."""
    url = SESSION_PATH if action == "login" else LOGOUT_PATH
    st.session_state[PENDING_KEY] = {"url": url, "ticket": ticket, "nonce": uuid.uuid4().hex}


def run_pending() -> None:
    """Mount the component while a request is queued, for ``KEEP_SECONDS`` after its first showing."""
    pending = st.session_state.get(PENDING_KEY)
    if not pending:
        return
    shown = pending.setdefault("shown_at", time.time())
    if time.time() - shown > KEEP_SECONDS:
        st.session_state.pop(PENDING_KEY, None)
        return
    _bridge(data={key: pending[key] for key in ("url", "ticket", "nonce")}, key="cookie_bridge", height=0)
