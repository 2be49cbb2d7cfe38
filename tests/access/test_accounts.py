"""Accounts: argon2 hashes, one message for every wrong log-in, slower after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from labeling.access import LoginFailed, add_user, authenticate, list_users, update_user
from labeling.access.accounts import FREE_FAILURES, WRONG_LOGIN, AccountError
from storage import AuditEvent, User, utcnow


def test_hashes_are_salted_argon2(project) -> None:
    add_user("ann", "same-password", engine=project.engine)
    add_user("bob", "same-password", engine=project.engine)
    with Session(project.engine) as session:
        hashes = [u.password_hash for u in session.exec(select(User)).all()]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]
    assert "same-password" not in "".join(hashes)


def test_login_and_generic_failures(project) -> None:
    add_user("ann", "right-password", "reviewer", engine=project.engine)
    account = authenticate("ann", "right-password", engine=project.engine)
    assert account.name == "ann" and account.sees_identity
    for name, password in (("ann", "wrong-password"), ("nobody", "right-password")):
        with pytest.raises(LoginFailed) as error:
            authenticate(name, password, engine=project.engine)
        assert str(error.value) == WRONG_LOGIN
    update_user("ann", active=False, engine=project.engine)
    with pytest.raises(LoginFailed, match="Wrong username or password"):
        authenticate("ann", "right-password", engine=project.engine)


def test_repeated_failures_slow_down_and_success_resets(project) -> None:
    add_user("ann", "right-password", engine=project.engine)
    now = utcnow()
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed, match="Wrong"):
            authenticate("ann", "bad-password", engine=project.engine, now=now)
    with pytest.raises(LoginFailed, match="try again in"):  # even the right password waits
        authenticate("ann", "right-password", engine=project.engine, now=now)
    later = now + timedelta(seconds=3)
    assert authenticate("ann", "right-password", engine=project.engine, now=later).name == "ann"
    with pytest.raises(LoginFailed, match="Wrong"):  # the count started again
        authenticate("ann", "bad-password", engine=project.engine, now=later)
    with Session(project.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.username == "ann")).all()]
    assert actions.count("user.login_failed") == FREE_FAILURES + 1 and "user.login" in actions


def test_account_rules(project) -> None:
    with pytest.raises(AccountError, match="at least 8"):
        add_user("ann", "short", engine=project.engine)
    with pytest.raises(AccountError, match="Unknown role"):
        add_user("ann", "long-enough", "surgeon", engine=project.engine)
    add_user("ann", "long-enough", engine=project.engine)
    with pytest.raises(AccountError, match="exists already"):
        add_user("ann", "long-enough", engine=project.engine)
    assert [u["name"] for u in list_users(engine=project.engine)] == ["ann"]


def test_parallel_guesses_are_counted_before_they_are_checked(project) -> None:
    from concurrent.futures import ThreadPoolExecutor

    add_user("ann", "right-password", engine=project.engine)
    guesses = ["bad-password"] * 23 + ["right-password"]

    def guess(password: str) -> str:
        try:
            return authenticate("ann", password, engine=project.engine).name
        except LoginFailed as error:
            return str(error)

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(guess, guesses))
    checked = [a for a in answers if not a.startswith("Too many failed log-ins")]
    assert len(checked) <= FREE_FAILURES, answers  # the rest waited without their password being checked
    assert all(a in (WRONG_LOGIN, "ann") for a in checked)


def test_a_spray_of_names_from_one_client_slows_down_and_an_admin_unlocks(project) -> None:
    from labeling.access import unlock_login
    from labeling.access.accounts import CLIENT_FREE_FAILURES

    add_user("ann", "right-password", engine=project.engine)
    now = utcnow()
    for number in range(CLIENT_FREE_FAILURES):  # each name fails once only: the per-name count never trips
        with pytest.raises(LoginFailed, match="Wrong"):
            authenticate(f"user{number}", "guess", engine=project.engine, now=now, client="203.0.113.9")
    with pytest.raises(LoginFailed, match="for this computer"):  # the right password too, from there
        authenticate("ann", "right-password", engine=project.engine, now=now, client="203.0.113.9")
    assert authenticate("ann", "right-password", engine=project.engine, now=now, client="198.51.100.4").name == "ann"
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed):
            authenticate("ann", "bad-password", engine=project.engine, now=now, client="198.51.100.4")
    with pytest.raises(LoginFailed, match="for this name"):
        authenticate("ann", "right-password", engine=project.engine, now=now, client="198.51.100.4")
    unlock_login("ann", engine=project.engine)
    assert authenticate("ann", "right-password", engine=project.engine, now=now, client="198.51.100.4").name == "ann"


def test_changing_only_the_role_leaves_a_disabled_account_disabled(project) -> None:
    """Issue 22 (10): the Settings page relies on ``active=None`` meaning "as it is" (a guard: the library was
    right, the page passed True)."""
    add_user("ann", "right-password", "annotator", engine=project.engine)
    update_user("ann", active=False, engine=project.engine)
    update_user("ann", role="reviewer", engine=project.engine)
    assert [(u["role"], u["active"]) for u in list_users(engine=project.engine)] == [("reviewer", False)]
    with pytest.raises(LoginFailed):
        authenticate("ann", "right-password", engine=project.engine)
    update_user("ann", active=True, engine=project.engine)
    assert authenticate("ann", "right-password", engine=project.engine).name == "ann"
