"""The cookie routes Medal adds to Streamlit's server, called as the server calls them (ASGI requests)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from labeling.access import COOKIE_NAME, SessionEnded, add_user, browser_sessions
from labeling.ui.access.cookie_routes import clear_session_cookie, create_session_cookie


def _request(path: str, headers: dict[str, str], scheme: str = "http") -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in {"host": "medal.local:8501", **headers}.items()]
    return Request({"type": "http", "method": "POST", "path": path, "headers": raw, "scheme": scheme,
                    "query_string": b"", "server": ("medal.local", 8501)})


def _call(handler, project, request: Request):  # noqa: ANN001 (a route handler, the test's project)
    return asyncio.run(handler(request, project=project))


@pytest.fixture
def ticket(project) -> str:
    return browser_sessions.start(add_user("ann", "ann-password", "annotator", engine=project.engine),
                                  engine=project.engine)[1]


def test_a_ticket_is_exchanged_for_an_httponly_strict_cookie(ticket: str, project) -> None:
    response = _call(create_session_cookie, project, _request("/medal/session", {"x-medal": "1",
                                                                                 "x-medal-ticket": ticket}))
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    token = cookie.split(f"{COOKIE_NAME}=", 1)[1].split(";", 1)[0]
    assert browser_sessions.resume(token, engine=project.engine)[1].name == "ann"
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert any(flag.startswith("max-age=") for flag in flags) and "secure" not in flags  # plain http here


def test_the_cookie_is_secure_behind_a_tls_proxy(ticket: str, project) -> None:
    response = _call(create_session_cookie, project, _request(
        "/medal/session", {"x-medal": "1", "x-medal-ticket": ticket, "x-forwarded-proto": "https"}))
    assert "secure" in [part.strip().lower() for part in response.headers["set-cookie"].split(";")]


@pytest.mark.parametrize("headers", [
    {},  # a plain form post from anywhere: no custom header
    {"x-medal": "1", "origin": "https://evil.example"},  # a script on another site
])
def test_requests_not_from_medals_page_are_refused(ticket: str, headers: dict[str, str], project) -> None:
    response = _call(create_session_cookie, project, _request("/medal/session", {**headers, "x-medal-ticket": ticket}))
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert browser_sessions.redeem(ticket, engine=project.engine)  # the ticket was not spent by the refused request


def test_an_unknown_ticket_gets_no_cookie(project) -> None:
    response = _call(create_session_cookie, project, _request("/medal/session", {"x-medal": "1",
                                                                                 "x-medal-ticket": "guess"}))
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_log_out_ends_the_session_and_clears_the_cookie(ticket: str, project) -> None:
    token = browser_sessions.redeem(ticket, engine=project.engine).token
    response = _call(clear_session_cookie, project, _request(
        "/medal/logout", {"x-medal": "1", "origin": "http://medal.local:8501", "cookie": f"{COOKIE_NAME}={token}"}))
    assert response.status_code == 200
    cleared = response.headers["set-cookie"]
    assert f'{COOKIE_NAME}=""' in cleared and "max-age=0" in cleared.lower()
    with pytest.raises(SessionEnded):
        browser_sessions.resume(token, engine=project.engine)


def test_the_cookie_exchange_also_makes_the_browser_a_known_one(ticket: str, project) -> None:
    from labeling.access import DEVICE_COOKIE, LoginFailed, authenticate
    from labeling.access.accounts import FREE_FAILURES

    response = _call(create_session_cookie, project, _request("/medal/session", {"x-medal": "1",
                                                                                 "x-medal-ticket": ticket}))
    cookies = response.headers.getlist("set-cookie")
    (device_cookie,) = [c for c in cookies if c.startswith(f"{DEVICE_COOKIE}=")]
    flags = [part.strip().lower() for part in device_cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags
    device = device_cookie.split("=", 1)[1].split(";", 1)[0]
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed):
            authenticate("ann", "a guess", engine=project.engine)
    assert authenticate("ann", "ann-password", device=device,
                        engine=project.engine).name == "ann"  # not locked out by the guesses
