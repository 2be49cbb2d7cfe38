"""Log-ins in a real browser: reload and deep links keep them (HttpOnly cookie), log-out and a disabled or
demoted account end them at once (issue 12, finding 2 and "reload keeps the log-in")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.access import COOKIE_NAME, add_user, update_user
from labeling.intake import create_demo
from storage import Project
from tests.support.app_server import CHROMIUM, served, submit_log_in

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")
PASSWORDS = {"alice": "alice-password", "sam": "sam-password", "boss": "boss-password"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Project]]:
    home = tmp_path_factory.mktemp("sessions") / "medal-home"
    project = Project.open(home)
    create_demo(labeled=0, project=project)
    add_user("boss", PASSWORDS["boss"], "admin", engine=project.engine)
    add_user("alice", PASSWORDS["alice"], "annotator", engine=project.engine, actor="boss")
    add_user("sam", PASSWORDS["sam"], "scientist", engine=project.engine, actor="boss")
    with served(home, MEDAL_WORKER="off") as url:
        yield url, project
    project.close()


def settled(page: object) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def heading(page: object, title: str) -> None:
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
    settled(page)


def log_in(page: object, name: str) -> None:
    submit_log_in(page, name, PASSWORDS[name])


def session_cookie(context: object) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE_NAME), None)


def wait_for_cookie(page: object, context: object, present: bool = True) -> None:
    for _ in range(50):
        if (session_cookie(context) is not None) == present:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the session cookie is {'missing' if present else 'still there'}")


def test_a_deep_link_survives_the_log_in_and_reload_keeps_it(app, chromium) -> None:
    url, _ = app
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/train")  # a deep link, not logged in yet: the log-in form, the address kept
    heading(page, "Medal")
    log_in(page, "alice")
    heading(page, "Train")  # the page the link asked for, not the default one
    wait_for_cookie(page, context)
    cookie = session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    assert COOKIE_NAME not in page.evaluate("document.cookie")  # no script can read it
    page.reload()  # F5
    heading(page, "Train")
    page.goto(f"{url}/images")  # a deep link while logged in
    heading(page, "Images")
    second = context.new_page()  # a second tab of the same browser
    second.goto(f"{url}/train")
    heading(second, "Train")
    context.close()


def test_log_out_ends_the_cookie_even_where_a_copy_survives(app, chromium) -> None:
    url, _ = app
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url)
    log_in(page, "alice")
    page.get_by_role("button", name="Log out").wait_for()
    wait_for_cookie(page, context)
    stolen = session_cookie(context)
    settled(page)
    page.get_by_role("button", name="Log out").click()
    heading(page, "Medal")
    wait_for_cookie(page, context, present=False)
    page.reload()
    heading(page, "Medal")
    other = chromium.new_context()  # a copy of the cookie (another browser) is worthless too
    other.add_cookies([stolen])
    replay = other.new_page()
    replay.goto(f"{url}/images")
    heading(replay, "Medal")
    replay.get_by_text("Your session has ended; log in again.").wait_for()
    replay.get_by_role("textbox", name="Username").wait_for()
    wait_for_cookie(replay, other, present=False)  # and that browser was told to forget it
    other.close()
    context.close()


def test_a_disabled_account_is_logged_out_on_its_next_click_and_stays_out(app, chromium) -> None:
    url, project = app
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/images")
    log_in(page, "alice")
    heading(page, "Images")
    wait_for_cookie(page, context)
    update_user("alice", active=False, actor="boss", engine=project.engine)  # an admin, elsewhere
    page.get_by_role("link", name="Train").click()
    heading(page, "Medal")
    page.get_by_text("Your account has been disabled; ask an admin.").wait_for()
    page.reload()  # the cookie no longer lets anyone in
    heading(page, "Medal")
    update_user("alice", active=True, actor="boss", engine=project.engine)
    context.close()


def test_a_demoted_scientist_cannot_export_from_an_open_page(app, chromium) -> None:
    url, project = app
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/export")
    log_in(page, "sam")
    heading(page, "Export")
    exports = project.folder("exports")
    before = sorted(exports.iterdir())
    update_user("sam", role="annotator", actor="boss", engine=project.engine)
    page.get_by_role("button", name="Export").click()  # the form still on screen
    settled(page)
    page.wait_for_timeout(500)
    assert sorted(exports.iterdir()) == before  # nothing was exported
    # the page goes (on a busy machine the rerun that replaces it can take longer than the wait above)
    page.get_by_role("heading", name="Export", exact=True).wait_for(state="hidden", timeout=15_000)
    assert not page.get_by_role("link", name="Export").is_visible()  # and the page left the navigation
    update_user("sam", role="scientist", actor="boss", engine=project.engine)
    context.close()
