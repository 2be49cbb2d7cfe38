"""One-time download tickets in the server's memory: the Export page issues one for the tab's export,
bound to the browser session the tab is logged in with; Medal's download route redeems it once, within
``TICKET_SECONDS``, for the holder of that session's cookie."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

TICKET_SECONDS = 300.0
MAX_TICKETS = 1_000  # the oldest go first beyond this

_lock = threading.Lock()
_tickets: dict[str, _Ticket] = {}


@dataclass(frozen=True)
class _Ticket:
    name: str  # the export's folder name
    browser_session: int
    expires: float  # time.monotonic()


def issue(name: str, browser_session: int) -> str:
    """A fresh ticket for the export ``name``, for the browser session ``browser_session``."""
    ticket, now = secrets.token_urlsafe(32), time.monotonic()
    with _lock:
        for old in [key for key, held in _tickets.items() if held.expires <= now]:
            del _tickets[old]
        while len(_tickets) >= MAX_TICKETS:
            del _tickets[next(iter(_tickets))]
        _tickets[ticket] = _Ticket(name, browser_session, now + TICKET_SECONDS)
    return ticket


def pending(ticket: str, name: str) -> bool:
    """Whether ``ticket`` is for ``name`` and can still be redeemed."""
    with _lock:
        held = _tickets.get(ticket)
    return held is not None and held.name == name and held.expires > time.monotonic()


def redeem(ticket: str, browser_session: int) -> str | None:
    """The export name of ``ticket`` when it was issued to ``browser_session`` and is unused and unexpired;
    the ticket is spent. None otherwise (and a ticket shown by someone else's browser stays unspent)."""
    with _lock:
        held = _tickets.get(ticket)
        if held is None or held.browser_session != browser_session:
            return None
        del _tickets[ticket]
    return held.name if held.expires > time.monotonic() else None
