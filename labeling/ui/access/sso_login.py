"""The browser's half of single sign-on: Streamlit's ``st.login`` (OpenID Connect, configured in
``.streamlit/secrets.toml``'s ``[auth]`` section) and the identity it leaves in ``st.user``.

Streamlit keeps the identity in its own cookie for 30 days; Medal uses it once. The first script run that
sees it hands its claims to ``labeling.access.sign_in`` (which maps them to an account and audits), forgets
it on this connection, and has the browser drop the cookie (Medal's cookie routes delete it with the log-in
cookie's answer). From then on the tab is logged in like a password log-in — a server-side session behind
Medal's cookie — so log-out, the idle time, a disabled account and a changed role end or change it the same
way, and a Medal log-out leaves no identity behind that would log the browser straight back in.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

REFUSED_KEY = "sso_refused"  # why the provider's identity was not let in, for the log-in page
BUTTON = "Sign in with your hospital account"


def provider() -> tuple[bool, str | None]:
    """``(configured, provider name)``: whether ``secrets.toml`` has an ``[auth]`` section, and the name to
    give ``st.login`` (None for a provider configured in ``[auth]`` itself, else its first ``[auth.NAME]``)."""
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return False, None
    auth = st.secrets["auth"]
    if "client_id" in auth:
        return True, None
    names = [name for name, value in auth.items() if isinstance(value, Mapping)]
    return bool(names), names[0] if names else None


def sign_in_button() -> None:
    """The button that sends the browser to the identity provider (when one is configured)."""
    configured, name = provider()
    if configured and st.button(BUTTON, type="primary", icon=":material/badge:"):
        st.login(name) if name else st.login()


def identity() -> dict[str, object] | None:
    """The claims of the identity Streamlit's cookie brought to this connection, or None."""
    if not st.user.get("is_logged_in"):  # (st.user.is_logged_in raises where no auth is configured)
        return None
    return {key: value for key, value in st.user.to_dict().items() if key not in ("is_logged_in", "tokens")}


def forget_identity() -> None:
    """This connection no longer carries the identity (what ``st.logout`` does, without its redirect)."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        ctx.user_info.clear()


def refusal() -> str | None:
    """Why the last identity was refused (once), for the log-in page."""
    return st.session_state.pop(REFUSED_KEY, None)
