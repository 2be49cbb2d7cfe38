"""The browser's half of logging in: the log-in form, the tab's logged-in account (re-read on every run),
the cookie routes and the tiny component that asks for them, and which tab is logged in with which
browser session. The accounts, rights and browser sessions themselves are in ``labeling.access``."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "cookie_bridge": ("run_pending",),
    "cookie_routes": ("cookie_routes", "serving"),
    "login_form": ("show_login",),
    "session": ("BROWSER_SESSION_KEY", "current_account", "require_account", "sidebar_account"),
    "sso_login": ("sign_in_button",),
    "tab_logins": ("browser_session_of",),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
