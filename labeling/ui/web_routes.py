"""The HTTP routes Medal adds to Streamlit's server: the log-in cookie's (``labeling.ui.access.cookie_routes``),
the viewer's code and pixels, and export downloads.

``GET /medal/viewer/{name}.js`` serves the viewer's ES modules (``labeling/ui/viewer/modules/`` and its
``tools/``, read once when the server starts): code, no data, so no log-in is asked; only those files, by
name; ``no-cache`` with an ETag, so an upgraded Medal is picked up at once and an unchanged file costs a 304.

``GET /medal/pixels/{image_id}`` gives the viewer a frame's modality values (gzip-compressed raw array,
``X-Medal-Dtype`` and ``X-Medal-Shape`` headers), to the holder of a live session cookie whose account may
label; the browser does window/level itself. Pixels are never stored by the browser (``no-store``: they
must not outlive the log-out), and an error names the image and what to do, never a server path (the
server's log keeps the detail).

``GET /medal/export/{ticket}`` serves the zip of an export once: the ticket is one the Export page issued
to the tab (``labeling.ui.download_tickets``), good once and for minutes, for the holder of the cookie of
the browser session the tab is logged in with; the rights to export (and to keep identity) are checked
again, and the download is audited.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labeling.access import COOKIE_NAME, NotAllowed, SessionEnded, browser_sessions
from labeling.export import ExportError, download_zip
from labeling.labels import for_browser, modality_values
from labeling.ui import download_tickets
from labeling.ui.access import cookie_routes, serving
from storage import ImageNotFound, MedalError

if TYPE_CHECKING:
    from storage import Project

PIXELS_PATH = "/medal/pixels/{image_id}"
VIEWER_PATH = "/medal/viewer/{name:path}"
VIEWER_MODULES = Path(__file__).parent / "viewer" / "modules"
EXPORT_PREFIX = "/medal/export/"
EXPORT_PATH = EXPORT_PREFIX + "{ticket}"
GZIP_LEVEL = 3  # a 512×512 CT slice: ~0.3 MB in a few ms
IMAGE_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("²" is a digit to str.isdigit)
MAX_ID = 2**63 - 1  # the largest id a database integer holds
_LOG = logging.getLogger(__name__)


def _load_modules() -> dict[str, tuple[bytes, str]]:
    """Each viewer module (``tools/box.js`` for the tools) with its ETag: the only names the route answers."""
    modules = {}
    for path in sorted(VIEWER_MODULES.rglob("*.js")):
        code = path.read_bytes()
        modules[path.relative_to(VIEWER_MODULES).as_posix()] = (code, f'"{hashlib.sha256(code).hexdigest()[:32]}"')
    return modules


_MODULES = _load_modules()


async def viewer_module(request: Request) -> Response:
    module = _MODULES.get(request.path_params["name"])
    if module is None:
        return _error(404, "No such viewer file.")
    code, etag = module
    headers = {"Cache-Control": "no-cache", "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(code, media_type="text/javascript", headers=headers)


def _error(status: int, sentence: str) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status, headers={"Cache-Control": "no-store"})


def _no_image(image_id: str) -> JSONResponse:
    return _error(404, f"There is no image {image_id} in this project; open images from the Label or Images page.")


def _pixels_for(token: str | None, image_id: int, *, project: Project) -> Response:
    """The frame's pixels for the cookie's account; the right to label is checked before the image is
    looked up, so an id tells a visitor or an account without the right nothing."""
    if not token:
        return _error(401, "Log in first.")
    try:
        _, account = browser_sessions.resume(token, engine=project.engine)
        values = modality_values(image_id, actor=account.name, project=project)
    except SessionEnded as error:  # fixed sentences, no path
        return _error(401, str(error))
    except NotAllowed:
        return _error(403, "Your account may not view images; ask an admin.")
    except ImageNotFound:
        return _no_image(str(image_id))
    except MedalError as error:  # a file gone or unreadable: its path may name the patient, so the log keeps it
        _LOG.warning("Pixels of image %s: %s %s", image_id, error, getattr(error, "path", ""))
        return _error(404, f"Image {image_id} cannot be read on the server (its file may have moved or be "
                           f"damaged); ask an admin to check the import of image {image_id}.")
    data, dtype, shape = for_browser(values)
    return Response(gzip.compress(data, GZIP_LEVEL), media_type="application/octet-stream", headers={
        "Content-Encoding": "gzip", "X-Medal-Dtype": dtype, "X-Medal-Shape": ",".join(map(str, shape)),
        "Cache-Control": "no-store"})


async def frame_pixels(request: Request, *, project: Project) -> Response:
    text = request.path_params["image_id"]
    if not IMAGE_ID.fullmatch(text) or not 0 < int(text) <= MAX_ID:
        return _no_image(text[:20] if text.isascii() and text.isalnum() else "with that id")
    return await run_in_threadpool(_pixels_for, request.cookies.get(COOKIE_NAME), int(text), project=project)


def _export_for(token: str | None, ticket: str, *, project: Project) -> Response:
    if not token:
        return _error(401, "Log in first, then download the export from the Export page.")
    try:
        browser_session, account = browser_sessions.resume(token, engine=project.engine)
    except SessionEnded as error:
        return _error(401, str(error))
    name = download_tickets.redeem(ticket, browser_session)
    if name is None:
        return _error(404, "This download link was used already or has expired; download again from the Export page.")
    try:
        data = download_zip(name, actor=account.name, project=project)
    except NotAllowed:
        return _error(403, "Your account may no longer download this export; ask an admin.")
    except ExportError as error:  # gone, or a name that is no export: the message names only the export
        return _error(404, str(error))
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{safe}.zip"', "Cache-Control": "no-store"})


async def export_zip(request: Request, *, project: Project) -> Response:
    return await run_in_threadpool(_export_for, request.cookies.get(COOKIE_NAME), request.path_params["ticket"],
                                   project=project)


def routes(project: Project) -> list[Route]:
    """Medal's routes beside Streamlit's, serving ``project`` (app.py opens it once, when the server starts)."""
    return [
        Route(EXPORT_PATH, serving(export_zip, project), methods=["GET"]),
        Route(PIXELS_PATH, serving(frame_pixels, project), methods=["GET"]),
        Route(VIEWER_PATH, viewer_module, methods=["GET"]),
        *cookie_routes.cookie_routes(project),
    ]
