"""The HTTP routes Medal adds to Streamlit's server: the log-in cookie is set and cleared here, because
only an HTTP response can set an ``HttpOnly`` cookie (a page's script cannot, and must not read it).

``POST /medal/session`` exchanges a one-time ticket (header ``X-Medal-Ticket``) for the session cookie;
``POST /medal/logout`` ends the cookie's session and clears it. Both ask for the header ``X-Medal: 1``:
a form on another site cannot send it, so no other site can log a browser in or out.

``GET /medal/pixels/{image_id}`` gives the viewer a frame's modality values (gzip-compressed raw array,
``X-Medal-Dtype`` and ``X-Medal-Shape`` headers), to the holder of a live session cookie whose account may
label; the browser does window/level itself.
"""

from __future__ import annotations

import gzip

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labeling.labels import browser_sessions
from labeling.labels.browser_sessions import COOKIE_NAME, SessionEnded
from labeling.labels.reading import for_browser, modality_values
from storage.errors import MedalError

SESSION_PATH = "/medal/session"
LOGOUT_PATH = "/medal/logout"
PIXELS_PATH = "/medal/pixels/{image_id:int}"
GZIP_LEVEL = 3  # a 512×512 CT slice: ~0.3 MB in a few ms


def _same_site_request(request: Request) -> bool:
    """Sent by Medal's own page: the custom header, and no Origin from elsewhere."""
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        return False
    return request.headers.get("x-medal") == "1"


def _is_https(request: Request) -> bool:
    """Served over TLS, directly or behind a proxy that says so: then the cookie is ``Secure``."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def create_session_cookie(request: Request) -> Response:
    if not _same_site_request(request):
        return JSONResponse({"error": "Not from Medal's page."}, status_code=403)
    ticket = request.headers.get("x-medal-ticket", "")
    try:
        cookie = await run_in_threadpool(browser_sessions.redeem, ticket)
    except SessionEnded as error:
        return JSONResponse({"error": str(error)}, status_code=403)
    response = JSONResponse({"ok": True})
    response.set_cookie(COOKIE_NAME, cookie.token, max_age=cookie.max_age_s, path="/", httponly=True,
                        samesite="strict", secure=_is_https(request))
    response.headers["Cache-Control"] = "no-store"
    return response


async def clear_session_cookie(request: Request) -> Response:
    if not _same_site_request(request):
        return JSONResponse({"error": "Not from Medal's page."}, status_code=403)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await run_in_threadpool(lambda: browser_sessions.end(token=token))
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=_is_https(request))
    return response


def _pixels_for(token: str | None, image_id: int) -> Response:
    if not token:
        return JSONResponse({"error": "Log in first."}, status_code=401)
    try:
        _, account = browser_sessions.resume(token)
        values = modality_values(image_id, actor=account.name)
    except SessionEnded as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    except MedalError as error:  # no right to label, an unknown image, a file gone: said, not a traceback
        return JSONResponse({"error": str(error)}, status_code=403)
    data, dtype, shape = for_browser(values)
    return Response(gzip.compress(data, GZIP_LEVEL), media_type="application/octet-stream", headers={
        "Content-Encoding": "gzip", "X-Medal-Dtype": dtype, "X-Medal-Shape": ",".join(map(str, shape)),
        "Cache-Control": "private, max-age=300"})


async def frame_pixels(request: Request) -> Response:
    token = request.cookies.get(COOKIE_NAME)
    return await run_in_threadpool(_pixels_for, token, int(request.path_params["image_id"]))


ROUTES = [
    Route(PIXELS_PATH, frame_pixels, methods=["GET"]),
    Route(SESSION_PATH, create_session_cookie, methods=["POST"]),
    Route(LOGOUT_PATH, clear_session_cookie, methods=["POST"]),
]
