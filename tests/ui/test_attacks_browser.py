"""Issue 22's attacks against a real server, as the attacker makes them: raw HTTP and a raw websocket next
to a logged-in Chromium (uploads without a log-in, a tab taken over by its session id, the export zip
without a cookie, pixels, metrics, framing)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from labeling.access import COOKIE_NAME, add_user
from labeling.intake import create_demo
from storage import Annotation, AuditEvent, Image, Project
from tests.support.app_server import CHROMIUM, served, submit_log_in

playwright_api = pytest.importorskip("playwright.sync_api")
websockets_client = pytest.importorskip("websockets.sync.client")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")
PASSWORDS = {"alice": "alice-password", "sam": "sam-password", "boss": "boss-password"}
SESSION_CAP_MB = 1  # MEDAL_UPLOAD_SESSION_MB for this server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Project]]:
    home = tmp_path_factory.mktemp("attacks") / "medal-home"
    project = Project.open(home)
    create_demo(labeled=4, project=project)
    add_user("boss", PASSWORDS["boss"], "admin", engine=project.engine)
    add_user("alice", PASSWORDS["alice"], "annotator", engine=project.engine, actor="boss")
    add_user("sam", PASSWORDS["sam"], "scientist", engine=project.engine, actor="boss")
    with served(home, MEDAL_WORKER="off", MEDAL_UPLOAD_SESSION_MB=str(SESSION_CAP_MB)) as url:
        yield url, project
    project.close()


def settled(page: object) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def heading(page: object, title: str) -> None:
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
    settled(page)


def cookie_of(context: object) -> str:
    for _ in range(50):
        found = [c["value"] for c in context.cookies() if c["name"] == COOKIE_NAME]
        if found:
            return found[0]
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("the browser got no session cookie")


def logged_in(chromium: object, url: str, name: str, path: str = "") -> tuple[object, object, list[str]]:
    """A context logged in as ``name`` on ``path``, and the Streamlit session ids its websocket was given."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    tabs: list[str] = []

    def frames(socket: object) -> None:
        def received(payload: object) -> None:
            if isinstance(payload, (bytes, bytearray)):
                message = ForwardMsg()
                message.ParseFromString(bytes(payload))
                if message.HasField("new_session") and message.new_session.initialize.session_id:
                    tabs.append(message.new_session.initialize.session_id)
        socket.on("framereceived", received)

    page.on("websocket", frames)
    page.goto(f"{url}/{path}")
    heading(page, "Medal")
    submit_log_in(page, name, PASSWORDS[name])
    page.get_by_role("button", name="Log out").wait_for(timeout=30_000)
    settled(page)
    cookie_of(context)
    return context, page, tabs


def http(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def xsrf_pair(url: str) -> str:
    """The XSRF cookie any visitor gets from the health check (and may send back as the header)."""
    _, headers, _ = http(f"{url}/_stcore/health")
    return headers["set-cookie"].split("_streamlit_xsrf=", 1)[1].split(";", 1)[0]


def delete_upload(url: str, tab: str, file_id: str, cookie: str | None) -> int:
    xsrf = xsrf_pair(url)
    cookies = f"_streamlit_xsrf={xsrf}" + (f"; {COOKIE_NAME}={cookie}" if cookie else "")
    return http(f"{url}/_stcore/upload_file/{tab}/{file_id}", "DELETE", None,
                {"X-Xsrftoken": xsrf, "Cookie": cookies})[0]


def claimed_upload(url: str, tab: str, size: int, cookie: str) -> int:
    """A PUT that only says it will send ``size`` bytes: answered before any of them is read."""
    import http.client

    xsrf, host = xsrf_pair(url), url.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.putrequest("PUT", f"/_stcore/upload_file/{tab}/{uuid.uuid4()}")
    for name, value in {"Content-Length": str(size), "X-Xsrftoken": xsrf,
                        "Cookie": f"_streamlit_xsrf={xsrf}; {COOKIE_NAME}={cookie}",
                        "Content-Type": "multipart/form-data; boundary=x"}.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def put_upload(url: str, tab: str, size: int, cookie: str | None) -> int:
    """A raw ``PUT /_stcore/upload_file/<tab>/<file>`` of ``size`` bytes, as a script makes it."""
    xsrf, boundary = xsrf_pair(url), uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.dcm\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    cookies = f"_streamlit_xsrf={xsrf}" + (f"; {COOKIE_NAME}={cookie}" if cookie else "")
    status, _, _ = http(f"{url}/_stcore/upload_file/{tab}/{uuid.uuid4()}", "PUT", body, {
        "X-Xsrftoken": xsrf, "Cookie": cookies, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    return status


def test_uploads_need_an_importer_logged_in_on_that_tab_and_are_bounded(app, chromium) -> None:
    url, _ = app
    context, page, tabs = logged_in(chromium, url, "sam", "import_files")
    heading(page, "Import")
    with page.expect_response(lambda r: "/_stcore/upload_file/" in r.url and r.request.method == "PUT") as put:
        page.locator('input[type="file"]').set_input_files(
            {"name": "small.dcm", "mimeType": "application/dicom", "buffer": b"\0" * 1000})
    assert put.value.status == 204  # the importer's own upload, through the page
    tab = put.value.url.split("/_stcore/upload_file/", 1)[1].split("/", 1)[0]
    assert tab in tabs
    assert put_upload(url, tab, 1000, cookie=None) == 401  # a visitor who only knows the tab's id
    alice, _, _ = logged_in(chromium, url, "alice")
    assert put_upload(url, tab, 1000, cookie=cookie_of(alice)) == 403  # an annotator: no right to import
    alice.close()
    sam = cookie_of(context)
    assert put_upload(url, tab, 1000, cookie=sam) == 204  # the importer, raw
    assert put_upload(url, tab, SESSION_CAP_MB * 1024 * 1024, cookie=sam) == 413  # past what one tab may hold
    assert put_upload(url, "not-a-tab-of-sam", 1000, cookie=sam) == 403  # another tab than the cookie's
    assert claimed_upload(url, tab, 600 * 1024 * 1024, cookie=sam) == 413  # past server.maxUploadSize, unread
    file_id = put.value.url.rsplit("/", 1)[1]
    assert delete_upload(url, tab, file_id, cookie=None) == 401  # nor may a visitor remove the importer's file
    assert delete_upload(url, tab, file_id, cookie=sam) == 204
    context.close()


def _reconnect(url: str, tab: str) -> str:
    """Open Streamlit's websocket as a script would, naming ``tab``'s session id and bringing no cookie; run
    the app once; everything the server sent, as text."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    seen: list[str] = []
    with websockets_client.connect(ws_url, origin=url, subprotocols=["streamlit", "no-xsrf-token", tab],
                                   max_size=None) as socket:
        rerun = BackMsg(rerun_script=ClientState(query_string="", page_name=""))
        socket.send(rerun.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(socket.recv(timeout=30))
            seen.append(str(message))
            if message.HasField("script_finished"):
                break
    return "\n".join(seen)


def test_a_session_id_alone_does_not_take_over_a_logged_in_tab(app, chromium) -> None:
    url, _ = app
    context, page, tabs = logged_in(chromium, url, "sam", "export")
    heading(page, "Export")
    assert tabs
    context.close()  # the tab is closed; its session waits for a reconnect, its id in a proxy's log
    seen = _reconnect(url, tabs[-1])
    assert "Logged in as" not in seen and "Formats" not in seen
    assert "Username" in seen  # the log-in form instead


def test_the_export_zip_is_served_once_to_its_cookie_and_to_nobody_without_one(app, chromium) -> None:
    url, _ = app
    context, page, _ = logged_in(chromium, url, "sam", "export")
    heading(page, "Export")
    page.get_by_role("button", name="Export", exact=True).click()
    download = page.get_by_text("Download medal-export-", exact=False)
    download.wait_for(timeout=120_000)
    settled(page)
    with context.expect_event("response", lambda r: "zip" in r.headers.get("content-type", "")
                              or r.url.endswith(".zip")) as zipped, context.expect_event("download") as got:
        download.click()
    served_at = zipped.value.url
    with zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())) as archive:
        assert "dataset_card.json" in archive.namelist()
    status, _, _ = http(served_at)  # the address alone (a log, a shared screen, a proxy)
    assert status in (401, 403, 404)
    again = context.request.get(served_at)  # the same browser, cookie and all: the link worked once
    assert again.status == 404
    context.close()


def test_pixels_are_not_kept_and_odd_ids_are_not_found(app, chromium) -> None:
    url, _ = app
    assert http(f"{url}/medal/pixels/1")[0] == 401
    context, _, _ = logged_in(chromium, url, "alice")
    cookie = {"Cookie": f"{COOKIE_NAME}={cookie_of(context)}"}
    status, headers, _ = http(f"{url}/medal/pixels/1", headers=cookie)
    assert status == 200 and headers["cache-control"] == "no-store"  # gone from the browser with the log-out
    for odd in ("99999999999999999999999", "0", "%C2%B2"):  # past any database integer, none, "²"
        status, _, body = http(f"{url}/medal/pixels/{odd}", headers=cookie)
        assert status == 404 and "no image" in json.loads(body)["error"]
    context.close()


def test_a_pixel_error_names_the_image_never_its_path(app, chromium) -> None:
    url, project = app
    with Session(project.engine) as session:
        labeled = set(session.exec(select(Annotation.image_id)).all())
        image = session.exec(select(Image).where(Image.id.not_in(labeled)).order_by(Image.id.desc())).first()
    source = Path(image.path)
    assert source.is_file()
    context, _, _ = logged_in(chromium, url, "alice")
    moved = source.with_name(source.name + ".moved")
    source.rename(moved)
    try:
        status, _, body = http(f"{url}/medal/pixels/{image.id}",
                               headers={"Cookie": f"{COOKIE_NAME}={cookie_of(context)}"})
    finally:
        moved.rename(source)
    error = json.loads(body)["error"]
    assert status == 404 and f"image {image.id}" in error.lower()
    assert str(project.home) not in error and source.name not in error and source.stem not in error
    context.close()


def test_metrics_are_for_logged_in_admins_only(app, chromium) -> None:
    url, _ = app
    assert http(f"{url}/_stcore/metrics")[0] == 403
    alice, _, _ = logged_in(chromium, url, "alice")
    assert http(f"{url}/_stcore/metrics", headers={"Cookie": f"{COOKIE_NAME}={cookie_of(alice)}"})[0] == 403
    alice.close()
    boss, _, _ = logged_in(chromium, url, "boss")
    assert http(f"{url}/_stcore/metrics", headers={"Cookie": f"{COOKIE_NAME}={cookie_of(boss)}"})[0] == 200
    boss.close()


def test_streamlits_agent_api_is_not_served(app) -> None:
    url, _ = app
    for path in ("/_stcore/agent/openapi.json", "/_stcore/agent/interact"):
        assert http(f"{url}{path}", "POST" if path.endswith("interact") else "GET",
                    b"" if "interact" in path else None)[0] == 404


@pytest.mark.parametrize("path", ["/", "/medal/pixels/1", "/_stcore/health"])
def test_no_page_of_medal_may_be_framed(app, path: str) -> None:
    url, _ = app
    _, headers, _ = http(f"{url}{path}")
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_a_forwarded_for_header_does_not_choose_the_address_the_throttle_counts(app, chromium) -> None:
    url, project = app
    for number in (1, 2):  # a guesser rotating the header, on loopback where the README's proxy would be
        context = chromium.new_context(extra_http_headers={"X-Forwarded-For": f"203.0.113.{number}"})
        page = context.new_page()
        page.goto(url)
        heading(page, "Medal")
        submit_log_in(page, f"guess-{number}", "a wrong password")
        page.get_by_text("Wrong username or password.").wait_for(timeout=30_000)
        context.close()
    with Session(project.engine) as session:
        failed = session.exec(select(AuditEvent).where(AuditEvent.action == "user.login_failed",
                                                       AuditEvent.username.startswith("guess-"))).all()
    assert sorted(event.detail["client"] for event in failed) == ["127.0.0.1", "127.0.0.1"]  # the proxy's address
