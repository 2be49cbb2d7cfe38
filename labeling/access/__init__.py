"""Who may do what: accounts and passwords (``accounts``), the rights of each role (``rights``) and the
server-side browser sessions behind the log-in cookie (``browser_sessions``). The browser's half (the
log-in form, the tab's session and the cookie routes) is in ``labeling.ui.access``."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "accounts": ("Account", "LoginFailed", "ROLE_NAMES", "add_user", "authenticate", "device_token", "list_users",
                 "unlock_login", "update_user"),
    "browser_sessions": ("browser_sessions", "COOKIE_NAME", "DEVICE_COOKIE", "DEVICE_DAYS", "SessionEnded"),
    "rights": ("rights", "NotAllowed"),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
