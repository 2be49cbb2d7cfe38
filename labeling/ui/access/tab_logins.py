"""Which Medal browser session each Streamlit session (a tab) is logged in with, kept in the server's
memory so the HTTP guard (``labeling.ui.web_guard``) can tell whether an upload into a tab comes from the
browser that logged that tab in. Written by ``labeling.ui.access.session`` on every script run."""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_TABS = 10_000  # the oldest entries go first beyond this (a tab that never ran again)

_lock = threading.Lock()
_tabs: OrderedDict[str, int] = OrderedDict()


def record(tab: str, browser_session: int | None) -> None:
    """Tab ``tab`` (a Streamlit session id) is logged in with ``browser_session`` now (None: logged out)."""
    with _lock:
        _tabs.pop(tab, None)
        if browser_session is not None:
            _tabs[tab] = browser_session
            while len(_tabs) > MAX_TABS:
                _tabs.popitem(last=False)


def browser_session_of(tab: str) -> int | None:
    """The browser session tab ``tab`` is logged in with, or None."""
    with _lock:
        return _tabs.get(tab)
