"""Log-in throttling that an attacker cannot turn against the real user (issue 22, finding 9): a browser
that logged in as a user before (its device token) is not slowed by other people's guesses at the name or
from the same address, and its own wrong guesses slow it down."""

from __future__ import annotations

import pytest

from labeling.access import LoginFailed, add_user, authenticate, device_token, unlock_login
from labeling.access.accounts import FREE_FAILURES
from storage import utcnow


def lock_out(name: str, project, now, client: str = "198.51.100.4") -> None:
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed, match="Wrong"):
            authenticate(name, "a guess", engine=project.engine, now=now, client=client)
    with pytest.raises(LoginFailed, match="for this name"):
        authenticate(name, "right-password", engine=project.engine, now=now, client=client)


def test_a_known_browser_logs_in_while_the_name_is_locked_by_guesses(project) -> None:
    ann = add_user("ann", "right-password", engine=project.engine)
    now = utcnow()
    lock_out("ann", project, now)  # someone guessing (a guess every few minutes keeps it locked)
    known = device_token(ann.id, engine=project.engine)
    assert authenticate("ann", "right-password", engine=project.engine, now=now, client="198.51.100.4",
                        device=known).name == "ann"
    with pytest.raises(LoginFailed, match="for this name"):  # the guesser, and any new browser, still wait
        authenticate("ann", "right-password", engine=project.engine, now=now, client="203.0.113.7")


def test_a_known_browser_is_not_slowed_by_a_spray_from_its_proxy(project) -> None:
    from labeling.access.accounts import CLIENT_FREE_FAILURES

    ann = add_user("ann", "right-password", engine=project.engine)
    now = utcnow()
    for number in range(CLIENT_FREE_FAILURES):  # every user behind one proxy shares its address
        with pytest.raises(LoginFailed):
            authenticate(f"user{number}", "guess", engine=project.engine, now=now, client="10.0.0.1")
    with pytest.raises(LoginFailed, match="for this computer"):
        authenticate("ann", "right-password", engine=project.engine, now=now, client="10.0.0.1")
    assert authenticate("ann", "right-password", engine=project.engine, now=now, client="10.0.0.1",
                        device=device_token(ann.id, engine=project.engine)).name == "ann"


def test_a_known_browser_slows_down_after_its_own_failures(project) -> None:
    ann = add_user("ann", "right-password", engine=project.engine)
    known, now = device_token(ann.id, engine=project.engine), utcnow()
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed, match="Wrong"):
            authenticate("ann", "a guess", engine=project.engine, now=now, device=known)
    with pytest.raises(LoginFailed, match="for this browser"):
        authenticate("ann", "right-password", engine=project.engine, now=now, device=known)
    assert authenticate("ann", "right-password", engine=project.engine,
                        now=now).name == "ann"  # the name was never charged


@pytest.mark.parametrize("forge", [
    lambda token, other, engine: token[:-1] + ("0" if token[-1] != "0" else "1"),  # a changed signature
    lambda token, other, engine: f"{other}.{token.split('.', 1)[1]}",  # another user's id under this signature
    lambda token, other, engine: device_token(other, engine=engine),  # a genuine token of another user
    lambda token, other, engine: "garbage",
])
def test_only_a_genuine_token_of_that_user_makes_a_browser_known(project, forge) -> None:
    ann = add_user("ann", "right-password", engine=project.engine)
    bob = add_user("bob", "bobs-password", engine=project.engine)
    now = utcnow()
    lock_out("ann", project, now)
    with pytest.raises(LoginFailed, match="for this name"):
        genuine = device_token(ann.id, engine=project.engine)
        authenticate("ann", "right-password", engine=project.engine, now=now,
                     device=forge(genuine, bob.id, project.engine))
    unlock_login("ann", engine=project.engine)
