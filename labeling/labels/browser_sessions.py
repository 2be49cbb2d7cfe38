"""Log-ins that survive a reload: server-side browser sessions behind an HttpOnly cookie.

After the log-in form accepts a password, ``start`` records a session and returns a one-time ticket
(valid ``TICKET_SECONDS``). The page hands the ticket to the browser, which exchanges it
(``redeem``, at the server's ``/medal/session`` route) for a cookie holding the session's random
token: ``HttpOnly`` (no script can read it), ``SameSite=Strict``, expiring with the session. A
reload or a deep link brings the cookie; ``resume`` turns it back into the account as it is now.

The token is random (256 bits) and the database keeps only its SHA-256, so a cookie cannot be forged
or recovered from a copy of the database, and ending a session (log-out, idle past
``MEDAL_SESSION_IDLE_MINUTES``, older than ``MAX_SESSION_HOURS``, account disabled) makes its
cookie worthless at once, whatever the browser still holds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.labels.accounts import Account
from storage.config import config
from storage.db import write_session
from storage.errors import MedalError
from storage.models import AuditEvent, BrowserSession, User, as_utc, utcnow

COOKIE_NAME = "medal_session"
TICKET_SECONDS = 60
MAX_SESSION_HOURS = 12.0  # a log-in lasts at most a working day, however active
TOUCH_EVERY_S = 30  # last_seen_at is written at most this often (every click would be a write)


class SessionEnded(MedalError):
    """A browser session (or its ticket) that is unknown, used, expired, ended or whose account is disabled."""


@dataclass(frozen=True)
class Cookie:
    """What the server sets in the browser: the token and how long the browser may keep it."""

    token: str
    max_age_s: int


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(account: Account, engine: Engine | None = None, now: datetime | None = None) -> tuple[int, str]:
    """A new session for a just-authenticated ``account``: ``(session id, ticket)``. The page keeps the id
    (server-side) and gives the browser only the ticket, which ``redeem`` exchanges for the cookie once."""
    now = now or utcnow()
    ticket = secrets.token_urlsafe(32)
    with write_session(engine) as session:
        row = BrowserSession(token_hash=_digest(secrets.token_urlsafe(32)), ticket_hash=_digest(ticket),
                             ticket_until=now + timedelta(seconds=TICKET_SECONDS), user_id=account.id,
                             created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=MAX_SESSION_HOURS))
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id, ticket


def redeem(ticket: str, engine: Engine | None = None, now: datetime | None = None) -> Cookie:
    """The cookie for a ticket from ``start``: a fresh token, of which only the hash is kept. A ticket works
    once, for ``TICKET_SECONDS``, and only while its session is live."""
    now = now or utcnow()
    with write_session(engine) as session:
        row = session.exec(select(BrowserSession).where(BrowserSession.ticket_hash == _digest(ticket))).first()
        if row is None or row.ticket_until is None or as_utc(row.ticket_until) < now:
            raise SessionEnded("This log-in ticket is unknown, used or expired; log in again.")
        token = secrets.token_urlsafe(32)
        row.token_hash, row.ticket_hash, row.ticket_until = _digest(token), None, None
        session.add(row)
        _check(row, session, now)  # commits
        return Cookie(token, max(int((as_utc(row.expires_at) - now).total_seconds()), 0))


def resume(token: str, engine: Engine | None = None, now: datetime | None = None) -> tuple[int, Account]:
    """``(session id, account as it is now)`` for a cookie's token; :class:`SessionEnded` with the reason
    when the session is unknown or over. Being asked counts as activity."""
    with write_session(engine) as session:
        row = session.exec(select(BrowserSession).where(BrowserSession.token_hash == _digest(token))).first()
        if row is None:
            raise SessionEnded("Your session has ended; log in again.")
        account = _check(row, session, now or utcnow())
        assert row.id is not None
        return row.id, account


def live(session_id: int, engine: Engine | None = None, now: datetime | None = None) -> Account:
    """The account of a live session, as it is now (asked on every click of a logged-in tab, so a log-out
    in another tab, the idle time or a disabled account ends this tab too); :class:`SessionEnded`."""
    with write_session(engine) as session:
        row = session.get(BrowserSession, session_id)
        if row is None:
            raise SessionEnded("Your session has ended; log in again.")
        return _check(row, session, now or utcnow())


def _check(row: BrowserSession, session: Session, now: datetime) -> Account:
    """The session's account, after ending the session (and raising) if it is over; commits."""
    reason, idle_minutes = None, config().session_idle_minutes
    user = session.get(User, row.user_id)
    if user is None or not user.active or not user.password_hash:
        reason = "Your account has been disabled; ask an admin."
    elif row.ended_at is not None:
        reason = "Your session has ended; log in again."
    elif as_utc(row.expires_at) <= now:
        reason = f"You were logged out: a log-in lasts at most {MAX_SESSION_HOURS:g} hours."
    elif as_utc(row.last_seen_at) + timedelta(minutes=idle_minutes) < now:
        reason = f"You were logged out after {idle_minutes:g} minutes without activity."
    if reason is not None:
        row.ended_at = row.ended_at or now
        session.add(row)
        session.commit()
        raise SessionEnded(reason)
    if (now - as_utc(row.last_seen_at)).total_seconds() >= TOUCH_EVERY_S:
        row.last_seen_at = now
        session.add(row)
    session.commit()
    assert user is not None and user.id is not None
    return Account(user.id, user.name, user.role)


def end(session_id: int | None = None, *, token: str | None = None, engine: Engine | None = None,
        now: datetime | None = None) -> None:
    """Log-out of the session with this id (the tab) or cookie ``token`` (the server's log-out route): its
    cookie is worthless from now on. An unknown or ended session is left as it is."""
    now = now or utcnow()
    with write_session(engine) as session:
        if session_id is not None:
            row = session.get(BrowserSession, session_id)
        else:
            row = session.exec(select(BrowserSession).where(BrowserSession.token_hash == _digest(token or ""))).first()
        if row is None or row.ended_at is not None:
            return
        row.ended_at = now
        session.add(row)
        user = session.get(User, row.user_id)
        session.add(AuditEvent(user_id=row.user_id, username=user.name if user else None, action="user.logout",
                               entity="user", entity_id=row.user_id, detail={}))
        session.commit()
