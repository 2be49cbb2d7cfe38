"""Who may do what: accounts and passwords (``accounts``), the rights of each role (``rights``) and the
server-side browser sessions behind the log-in cookie (``browser_sessions``). The browser's half (the
log-in form, the tab's session and the cookie routes) is in ``labeling.ui.access``."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "accounts": ("CONSENSUS", "Account", "LoginFailed", "ROLE_NAMES", "add_user", "authenticate", "device_token",
                 "list_users", "unlock_login", "update_user"),
    "audit": ("AuditEntry", "audit_trail"),
    "browser_sessions": ("browser_sessions", "COOKIE_NAME", "DEVICE_COOKIE", "DEVICE_DAYS", "SessionEnded"),
    "rights": ("rights", "NotAllowed"),
    "sso": ("SignInRefused", "sign_in"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
