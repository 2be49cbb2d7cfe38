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

from labeling.access.accounts import Account
from storage import AuditEvent, BrowserSession, MedalError, User, as_utc, config, utcnow, write_session

COOKIE_NAME = "medal_session"
DEVICE_COOKIE = "medal_device"  # marks a browser that logged in as a user before (``accounts.device_token``)
DEVICE_DAYS = 90  # how long a browser stays known without a log-in
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
    user_id: int  # whose session it is


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(account: Account, now: datetime | None = None, *, engine: Engine) -> tuple[int, str]:
    """A new session for a just-authenticated ``account``: ``(session id, ticket)``. The page keeps the id
    (server-side) and gives the browser only the ticket, which ``redeem`` exchanges for the cookie once."""
    now = now or utcnow()
    ticket = secrets.token_urlsafe(32)
    with write_session(engine=engine) as session:
        row = BrowserSession(token_hash=_digest(secrets.token_urlsafe(32)), ticket_hash=_digest(ticket),
                             ticket_until=now + timedelta(seconds=TICKET_SECONDS), user_id=account.id,
                             created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=MAX_SESSION_HOURS))
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id, ticket


def redeem(ticket: str, now: datetime | None = None, *, engine: Engine) -> Cookie:
    """The cookie for a ticket from ``start``: a fresh token, of which only the hash is kept. A ticket works
    once, for ``TICKET_SECONDS``, and only while its session is live."""
    now = now or utcnow()
    with write_session(engine=engine) as session:
        row = session.exec(select(BrowserSession).where(BrowserSession.ticket_hash == _digest(ticket))).first()
        if row is None or row.ticket_until is None or as_utc(row.ticket_until) < now:
            raise SessionEnded("This log-in ticket is unknown, used or expired; log in again.")
        reason = _ending_reason(row, session.get(User, row.user_id), now)
        token = secrets.token_urlsafe(32)
        row.token_hash, row.ticket_hash, row.ticket_until = _digest(token), None, None
        row.ended_at = row.ended_at or (now if reason else None)
        session.add(row)
        session.commit()
    if reason is not None:
        raise SessionEnded(reason)
    return Cookie(token, max(int((as_utc(row.expires_at) - now).total_seconds()), 0), row.user_id)


def resume(token: str, now: datetime | None = None, *, engine: Engine) -> tuple[int, Account]:
    """``(session id, account as it is now)`` for a cookie's token; :class:`SessionEnded` with the reason
    when the session is unknown or over. Being asked counts as activity."""
    return _verified(engine, now or utcnow(), token_hash=_digest(token))


def live(session_id: int, now: datetime | None = None, *, engine: Engine) -> Account:
    """The account of a live session, as it is now (asked on every click of a logged-in tab, so a log-out
    in another tab, the idle time or a disabled account ends this tab too); :class:`SessionEnded`."""
    return _verified(engine, now or utcnow(), session_id=session_id)[1]


def _verified(engine: Engine, now: datetime, *, session_id: int | None = None,
              token_hash: str | None = None) -> tuple[int, Account]:
    """The session and its account after checking both. Every click and every pixel request asks, so this
    reads only; it writes (briefly) only to end a session that is over or to move ``last_seen_at`` on once
    it is ``TOUCH_EVERY_S`` old."""
    with Session(engine) as session:
        row = (session.get(BrowserSession, session_id) if session_id is not None else
               session.exec(select(BrowserSession).where(BrowserSession.token_hash == token_hash)).first())
        if row is None or row.id is None:
            raise SessionEnded("Your session has ended; log in again.")
        user = session.get(User, row.user_id)
        reason = _ending_reason(row, user, now)
        stale = (now - as_utc(row.last_seen_at)).total_seconds() >= TOUCH_EVERY_S
        row_id, already_ended = row.id, row.ended_at is not None
    if (reason is not None and not already_ended) or (reason is None and stale):
        with write_session(engine=engine) as session:
            stored = session.get(BrowserSession, row_id)
            if reason is not None:
                stored.ended_at = stored.ended_at or now
            else:
                stored.last_seen_at = now
            session.add(stored)
            session.commit()
    if reason is not None:
        raise SessionEnded(reason)
    assert user is not None and user.id is not None
    return row_id, Account(user.id, user.name, user.role)


def _ending_reason(row: BrowserSession, user: User | None, now: datetime) -> str | None:
    """Why the session is over (the account disabled first, then log-out, age, idle time), or None."""
    idle_minutes = config().session_idle_minutes
    if user is None or not user.active or not user.password_hash:
        return "Your account has been disabled; ask an admin."
    if row.ended_at is not None:
        return "Your session has ended; log in again."
    if as_utc(row.expires_at) <= now:
        return f"You were logged out: a log-in lasts at most {MAX_SESSION_HOURS:g} hours."
    if as_utc(row.last_seen_at) + timedelta(minutes=idle_minutes) < now:
        return f"You were logged out after {idle_minutes:g} minutes without activity."
    return None


def end(session_id: int | None = None, *, engine: Engine, token: str | None = None,
        now: datetime | None = None) -> None:
    """Log-out of the session with this id (the tab) or cookie ``token`` (the server's log-out route): its
    cookie is worthless from now on. An unknown or ended session is left as it is."""
    now = now or utcnow()
    with write_session(engine=engine) as session:
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
