"""Medal's guard in front of Streamlit's server (an ASGI middleware, the outermost one the app has).

- Every HTTP answer says it may not be framed by another page (``X-Frame-Options: DENY``, CSP
  ``frame-ancestors 'none'``), and is not to be sniffed as another type.
- The client's address is decided here, once: ``X-Forwarded-For`` is believed only from the proxies in
  ``MEDAL_TRUSTED_PROXIES``; from anywhere else the connecting address is the client. The result is
  handed on in the ``X-Medal-Client`` header (a client's own header of that name is dropped), which the
  log-in form reads for its per-client throttling.
- Uploads (``PUT /_stcore/upload_file/<tab>/<file>``): Streamlit keeps each uploaded file in the
  server's memory and takes one from any tab that names its session id. Here an upload (or its removal,
  ``DELETE``) needs the live Medal session cookie of the browser that logged that tab in and an account
  that may import; an upload also a declared ``Content-Length`` within ``server.maxUploadSize`` and room
  under what one tab (``MEDAL_UPLOAD_SESSION_MB``) and every tab together (``MEDAL_UPLOAD_TOTAL_MB``) may
  hold. All of it is checked before a byte of the body is read.
- ``/_stcore/metrics`` (what every tab holds, cache sizes) answers logged-in admins only; Streamlit's
  agent API (``/_stcore/agent/``, a way to drive the app without a browser) is refused whatever the
  configuration says.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import _TrustedHosts  # to recognise what uvicorn did, exactly as it does

from labeling.access import COOKIE_NAME, Account, SessionEnded, browser_sessions
from labeling.ui.access import browser_session_of
from storage import config

if TYPE_CHECKING:
    from storage import Project

CLIENT_HEADER = "x-medal-client"
SECURITY_HEADERS = ((b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
UPLOAD = re.compile(r"/_stcore/upload_file/(?P<tab>[^/]+)/[^/]+$")
METRICS = re.compile(r"/_stcore/metrics$")
AGENT = re.compile(r"/_stcore/agent(/|$)")  # Streamlit's API for clients without a browser: Medal has none
MB = 1024 * 1024

Networks = Iterable[IPv4Network | IPv6Network]


def client_of(peer: str | None, forwarded_for: list[str], trusted: Networks) -> str | None:
    """The client's address: ``peer`` (who connected) unless it is a trusted proxy; then the nearest
    address in ``X-Forwarded-For`` (read from the right) that is not a trusted proxy itself."""
    trusted = tuple(trusted)

    def is_trusted(address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in trusted)

    client = peer
    if client is None or not is_trusted(client):
        return client
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return client  # a garbled entry: what the nearest trusted proxy saw is all that is known
        client = hop
        if not is_trusted(hop):
            return client
    return client


@functools.lru_cache(maxsize=8)
def _uvicorn_trust(setting: str) -> _TrustedHosts:
    return _TrustedHosts(setting)


def client_from_scope(client: tuple[str, int] | None, forwarded_for: list[str], trusted: Networks) -> str | None:
    """``client_of`` for what the server hands the app. Uvicorn (Streamlit's server) has already replaced
    the connecting address by one from ``X-Forwarded-For`` when it came from an address uvicorn trusts
    (``FORWARDED_ALLOW_IPS``, loopback unless set; read before Medal can change it). Such a replacement is
    recognised (the address is exactly what uvicorn makes of the header) and undone: the peer was one of
    uvicorn's trusted addresses, which Medal believes only where ``MEDAL_TRUSTED_PROXIES`` covers them all;
    otherwise the client is that proxy's address."""
    trusted = tuple(trusted)
    if client is None or not forwarded_for:
        return client_of(client[0] if client else None, [], trusted)
    uvicorn = _uvicorn_trust(os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
    if tuple(client) != uvicorn.get_trusted_client_address(", ".join(forwarded_for)):
        return client_of(client[0], forwarded_for, trusted)  # not replaced: who connected
    hosts = [ip_network(host) for host in sorted(map(str, uvicorn.trusted_hosts))] + sorted(
        uvicorn.trusted_networks, key=str)
    if uvicorn.always_trust or not hosts:  # the deployment told uvicorn to believe anyone: so be it
        return client[0]
    loopback_trusted = any(net.network_address.is_loopback for net in trusted)  # one host, whichever address

    def covered(host: IPv4Network | IPv6Network) -> bool:
        return (loopback_trusted and host.network_address.is_loopback and host.broadcast_address.is_loopback) or any(
            host.version == net.version and host.subnet_of(net) for net in trusted)

    if all(covered(host) for host in hosts):
        return client_of(str(hosts[0].network_address), forwarded_for, trusted)  # a proxy Medal trusts
    return str(hosts[0].network_address)  # a proxy Medal does not trust: count it, not what it was told


def _refusal(status: int, sentence: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": sentence}).encode()


class _Uploads:
    """Bytes of uploads under way, per tab (they are not in Streamlit's upload store until read whole)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._under_way: dict[str, int] = {}

    def reserve(self, tab: str, size: int, held: tuple[int, int], limits: tuple[int, int]) -> str | None:
        """Reserve ``size`` bytes for tab ``tab`` given what the tab and everyone hold (``held``); the reason
        when it would pass a limit."""
        with self._lock:
            tab_held = held[0] + self._under_way.get(tab, 0)
            total_held = held[1] + sum(self._under_way.values())
            if tab_held + size > limits[0]:
                return (f"This tab already holds {tab_held / MB:.0f} MB of uploads (at most {limits[0] / MB:.0f} MB): "
                        f"import them and remove them from the upload list, or reload the page, then upload the rest.")
            if total_held + size > limits[1]:
                return ("The server holds as many uploads as it may right now; try again in a few minutes, or "
                        "ask an admin to import large sets from a server folder.")
            self._under_way[tab] = self._under_way.get(tab, 0) + size
            return None

    def release(self, tab: str, size: int) -> None:
        with self._lock:
            self._under_way[tab] -= size
            if self._under_way[tab] <= 0:
                del self._under_way[tab]


def _held(tab: str) -> tuple[int, int]:
    """Bytes Streamlit's upload store holds for ``tab`` and in all."""
    from streamlit import runtime

    if not runtime.exists():
        return 0, 0
    store = runtime.get_instance().uploaded_file_mgr
    files = getattr(store, "file_storage", {})
    lock = getattr(store, "_lock", None)
    if lock is not None:
        with lock:
            mine = sum(len(record.data) for record in files.get(tab, {}).values())
            total = sum(len(record.data) for per_tab in files.values() for record in per_tab.values())
    else:  # another store (not in memory): nothing it holds is in this process
        mine = total = 0
    return mine, total


def _max_file_bytes() -> int:
    from streamlit import config as streamlit_config

    return int(float(streamlit_config.get_option("server.maxUploadSize")) * MB)


def _account(token: str | None, *, project: Project) -> tuple[int, Account] | None:
    if not token:
        return None
    try:
        return browser_sessions.resume(token, engine=project.engine)
    except SessionEnded:
        return None


def _upload_refusal(request: Request, tab: str, *, project: Project) -> tuple[int, bytes] | int:
    """The refusal of an upload (or of removing one), or the number of bytes it may send."""
    found = _account(request.cookies.get(COOKIE_NAME), project=project)
    if found is None:
        return _refusal(401, "Log in to upload files.")
    browser_session, account = found
    if not account.imports_data:
        return _refusal(403, "Your role does not import files; ask a data scientist or an admin.")
    if browser_session_of(tab) != browser_session:
        return _refusal(403, "This upload is not for a page you are logged in on; reload the page and upload again.")
    if request.method == "DELETE":
        return 0
    try:
        size = int(request.headers.get("content-length", ""))
    except ValueError:
        return _refusal(411, "An upload must say its size (Content-Length).")
    if size < 0:
        return _refusal(400, "An upload must say its size (Content-Length).")
    if size > _max_file_bytes():
        return _refusal(413, f"A file may have at most {_max_file_bytes() / MB:.0f} MB here; larger sets are "
                             f"imported from a server folder by an admin, or with `medal import`.")
    return size


def _is_admin(request: Request, *, project: Project) -> bool:
    found = _account(request.cookies.get(COOKIE_NAME), project=project)
    return found is not None and found[1].is_admin


class MedalGuard:
    """The ASGI middleware described in the module's docstring."""

    def __init__(self, app: ASGIApp, project: Project) -> None:
        self.app, self.project = app, project
        self.uploads = _Uploads()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = self._with_client(scope)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path, method = scope["path"], scope["method"]
        request = Request(scope)
        if AGENT.search(path):
            await _answer(send, *_refusal(404, "Medal offers no agent API; use the browser or the `medal` command."))
            return
        if METRICS.search(path) and not await run_in_threadpool(_is_admin, request, project=self.project):
            await _answer(send, *_refusal(403, "Only a logged-in admin sees the server's metrics."))
            return
        upload = UPLOAD.search(path)
        if upload is None or method not in ("PUT", "DELETE"):
            await self.app(scope, receive, send)
            return
        tab = upload.group("tab")
        decided = await run_in_threadpool(_upload_refusal, request, tab, project=self.project)
        if isinstance(decided, tuple):
            await _answer(send, *decided)
            return
        if method == "DELETE":
            await self.app(scope, receive, send)
            return
        settings = config()
        limits = (int(settings.upload_session_mb * MB), int(settings.upload_total_mb * MB))
        reason = self.uploads.reserve(tab, decided, await run_in_threadpool(_held, tab), limits)
        if reason is not None:
            await _answer(send, *_refusal(413, reason))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.uploads.release(tab, decided)

    @staticmethod
    def _with_client(scope: Scope) -> Scope:
        headers = [(name, value) for name, value in scope.get("headers", []) if name != CLIENT_HEADER.encode()]
        forwarded = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
        client = client_from_scope(scope.get("client"), forwarded, config().trusted_proxies)
        if client:
            headers.append((CLIENT_HEADER.encode(), client.encode("latin-1")))
        return {**scope, "headers": headers}


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message = {**message, "headers": [*message.get("headers", []),
                                              *(pair for pair in SECURITY_HEADERS if pair[0] not in present)]}
        await send(message)

    return sending


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
