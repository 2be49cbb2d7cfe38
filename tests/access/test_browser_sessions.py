"""Server-side browser sessions behind the log-in cookie: tickets work once, tokens are only stored hashed,
and a session ends with log-out, idle time, age, a disabled account or a new password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from labeling.access import SessionEnded, add_user, browser_sessions, update_user
from labeling.access.browser_sessions import MAX_SESSION_HOURS, TICKET_SECONDS
from storage import utcnow


@pytest.fixture
def ann(project):
    return add_user("ann", "ann-password", "annotator", engine=project.engine)


def test_a_ticket_buys_one_cookie_and_the_cookie_brings_the_account_back(ann, project) -> None:
    session_id, ticket = browser_sessions.start(ann, engine=project.engine)
    cookie = browser_sessions.redeem(ticket, engine=project.engine)
    assert abs(cookie.max_age_s - MAX_SESSION_HOURS * 3600) < 5
    assert browser_sessions.resume(cookie.token, engine=project.engine) == (session_id, ann)
    with pytest.raises(SessionEnded, match="unknown, used or expired"):
        browser_sessions.redeem(ticket, engine=project.engine)  # a ticket works once
    with pytest.raises(SessionEnded):
        browser_sessions.resume("forged-" + cookie.token, engine=project.engine)
    with project.engine.connect() as connection:  # neither the token nor the ticket is stored, only their hashes
        stored = " ".join(str(value) for row in connection.execute(text("SELECT * FROM browser_session"))
                          for value in row)
    assert cookie.token not in stored and ticket not in stored


def test_a_ticket_expires(ann, project) -> None:
    _, ticket = browser_sessions.start(ann, now=utcnow() - timedelta(seconds=TICKET_SECONDS + 1), engine=project.engine)
    with pytest.raises(SessionEnded, match="expired"):
        browser_sessions.redeem(ticket, engine=project.engine)


def test_log_out_ends_the_cookie_wherever_it_is(ann, project) -> None:
    session_id, ticket = browser_sessions.start(ann, engine=project.engine)
    token = browser_sessions.redeem(ticket, engine=project.engine).token
    browser_sessions.end(token=token, engine=project.engine)  # the server's log-out route
    with pytest.raises(SessionEnded, match="has ended"):
        browser_sessions.resume(token, engine=project.engine)
    with pytest.raises(SessionEnded, match="has ended"):
        browser_sessions.live(session_id, engine=project.engine)  # another tab of the same browser


def test_an_idle_session_ends_and_activity_keeps_it(ann, monkeypatch: pytest.MonkeyPatch, project) -> None:
    monkeypatch.setenv("MEDAL_SESSION_IDLE_MINUTES", "30")
    start = utcnow()
    session_id, _ = browser_sessions.start(ann, now=start, engine=project.engine)
    assert browser_sessions.live(session_id, now=start + timedelta(minutes=29),
                                 engine=project.engine) == ann  # activity…
    assert browser_sessions.live(session_id, now=start + timedelta(minutes=58),
                                 engine=project.engine) == ann  # …keeps it alive
    with pytest.raises(SessionEnded, match="after 30 minutes without activity"):
        browser_sessions.live(session_id, now=start + timedelta(minutes=89), engine=project.engine)
    with pytest.raises(SessionEnded):  # and it stays ended
        browser_sessions.live(session_id, now=start + timedelta(minutes=90), engine=project.engine)


def test_a_session_lasts_at_most_a_working_day(ann, monkeypatch: pytest.MonkeyPatch, project) -> None:
    monkeypatch.setenv("MEDAL_SESSION_IDLE_MINUTES", "600")
    start = utcnow()
    session_id, _ = browser_sessions.start(ann, now=start, engine=project.engine)
    for hour in range(1, int(MAX_SESSION_HOURS)):
        browser_sessions.live(session_id, now=start + timedelta(hours=hour), engine=project.engine)
    with pytest.raises(SessionEnded, match="at most"):
        browser_sessions.live(session_id, now=start + timedelta(hours=MAX_SESSION_HOURS, seconds=1),
                              engine=project.engine)


@pytest.mark.parametrize("change", [{"active": False}, {"password": "a-new-password"}])
def test_disabling_an_account_or_changing_its_password_ends_its_sessions(ann, change, project) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    session_id, ticket = browser_sessions.start(ann, engine=project.engine)
    token = browser_sessions.redeem(ticket, engine=project.engine).token
    update_user("ann", actor="boss", **change, engine=project.engine)
    with pytest.raises(SessionEnded):
        browser_sessions.resume(token, engine=project.engine)
    with pytest.raises(SessionEnded):
        browser_sessions.live(session_id, engine=project.engine)


def test_a_disabled_account_is_named_as_the_reason(ann, project) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    session_id, _ = browser_sessions.start(ann, engine=project.engine)
    update_user("ann", active=False, actor="boss", engine=project.engine)
    with pytest.raises(SessionEnded, match="has been disabled"):
        browser_sessions.live(session_id, engine=project.engine)
