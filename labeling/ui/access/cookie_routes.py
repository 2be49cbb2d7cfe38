"""The log-in cookie's HTTP routes: only an HTTP response can set an ``HttpOnly`` cookie (a page's script
cannot, and must not read it).

``POST /medal/session`` exchanges a one-time ticket (header ``X-Medal-Ticket``) for the session cookie
(and the device cookie that makes the browser a known one for the user's next log-ins);
``POST /medal/logout`` ends the cookie's session and clears it. Both ask for the header ``X-Medal: 1``:
a form on another site cannot send it, so no other site can log a browser in or out. Both also delete
Streamlit's single sign-on identity cookie: an identity logs in once (``labeling.ui.access.sso_login``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labeling.access import COOKIE_NAME, DEVICE_COOKIE, DEVICE_DAYS, SessionEnded, browser_sessions, device_token

if TYPE_CHECKING:
    from storage import Project

SESSION_PATH = "/medal/session"
IDENTITY_COOKIE = "_streamlit_user"  # st.login's identity cookie; its tokens and chunks add "_..." to the name
LOGOUT_PATH = "/medal/logout"


def _same_site_request(request: Request) -> bool:
    """Sent by Medal's own page: the custom header, and no Origin from elsewhere."""
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        return False
    return request.headers.get("x-medal") == "1"


def _is_https(request: Request) -> bool:
    """Served over TLS, directly or behind a proxy that says so: then the cookie is ``Secure``."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def create_session_cookie(request: Request, *, project: Project) -> Response:
    if not _same_site_request(request):
        return JSONResponse({"error": "Not from Medal's page."}, status_code=403)
    ticket = request.headers.get("x-medal-ticket", "")
    try:
        cookie = await run_in_threadpool(lambda: browser_sessions.redeem(ticket, engine=project.engine))
    except SessionEnded as error:
        return JSONResponse({"error": str(error)}, status_code=403)
    device = await run_in_threadpool(lambda: device_token(cookie.user_id, engine=project.engine))
    response = JSONResponse({"ok": True})
    response.set_cookie(COOKIE_NAME, cookie.token, max_age=cookie.max_age_s, path="/", httponly=True,
                        samesite="strict", secure=_is_https(request))
    # a known browser for this user from now on: its own log-ins are not slowed by others' guesses
    response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_DAYS * 86400, path="/", httponly=True,
                        samesite="strict", secure=_is_https(request))
    response.headers["Cache-Control"] = "no-store"
    _drop_identity(request, response)
    return response


async def clear_session_cookie(request: Request, *, project: Project) -> Response:
    if not _same_site_request(request):
        return JSONResponse({"error": "Not from Medal's page."}, status_code=403)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await run_in_threadpool(lambda: browser_sessions.end(token=token, engine=project.engine))
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=_is_https(request))
    _drop_identity(request, response)
    return response


def _drop_identity(request: Request, response: Response) -> None:
    """Delete Streamlit's identity cookies (``st.login``'s), whose identity was used or refused already."""
    for name in request.cookies:
        if name == IDENTITY_COOKIE or name.startswith(f"{IDENTITY_COOKIE}_"):
            response.delete_cookie(name, path="/")


def cookie_routes(project: Project) -> list[Route]:
    """The log-in cookie's two routes, for ``project``."""
    return [Route(SESSION_PATH, serving(create_session_cookie, project), methods=["POST"]),
            Route(LOGOUT_PATH, serving(clear_session_cookie, project), methods=["POST"])]


def serving(handler: Callable[..., Awaitable[Response]], project: Project) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that answers with ``handler(request, project=project)``."""
    async def endpoint(request: Request) -> Response:
        return await handler(request, project=project)

    endpoint.__name__ = handler.__name__
    return endpoint
