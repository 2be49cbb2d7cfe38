"""Single sign-on in a real browser against a real OpenID Connect provider (issue 26): oidc-provider-mock on a
free loopback port, the app's own Streamlit server configured for it in a secrets.toml, Debian's Chromium
signing in on the provider's page. Password log-in is off on this server."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import Session, select

from labeling.access import COOKIE_NAME, update_user
from labeling.ui.access.sso_login import BUTTON
from storage import AuditEvent, Project
from tests.support.app_server import CHROMIUM, free_port, served

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
pytest.importorskip("authlib")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")
SAM, EVE = "sam@hospital.example", "eve@hospital.example"


def put_identity(provider: str, sub: str, claims: dict[str, object]) -> None:
    """What the provider will vouch for when ``sub`` signs in (its claims in the identity token)."""
    request = urllib.request.Request(f"{provider}/users/{quote(sub)}", data=json.dumps(claims).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Project]]:
    folder = tmp_path_factory.mktemp("sso")
    project = Project.open(folder / "medal-home")
    port = free_port()
    with oidc_provider_mock.run_server_in_thread() as server:
        provider = f"http://localhost:{server.server_port}"
        put_identity(provider, SAM, {"email": SAM, "groups": ["staff", "radiology-ai"]})
        put_identity(provider, EVE, {"email": EVE, "groups": ["visitors"]})
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(f'''[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "medal"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
''')
        with served(folder / "medal-home", port=port, MEDAL_WORKER="off", MEDAL_PASSWORD_LOGIN="off",
                    MEDAL_SSO_ROLES="radiology-ai=scientist", STREAMLIT_SECRETS_FILES=str(secrets_file)) as url:
            yield url, project
    project.close()


def settled(page: object) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def sign_in(page: object, url: str, sub: str) -> None:
    """From the app's log-in page through the provider's authorize page and back."""
    page.goto(url)
    page.get_by_role("heading", name="Medal", exact=True).wait_for()
    page.get_by_role("button", name=BUTTON).click()
    page.get_by_placeholder("sub").fill(sub)  # the provider's page
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")


def identity_dropped(page: object, context: object) -> None:
    """Wait (5 s at most) until the browser holds Medal's session cookie and no identity cookie of st.login."""
    for _ in range(50):
        names = {cookie["name"] for cookie in context.cookies()}
        if COOKIE_NAME in names and not any(name.startswith("_streamlit_user") for name in names):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the browser's cookies are {sorted(names)}")


def audit(project: Project, action: str) -> list[AuditEvent]:
    with Session(project.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_sign_in_maps_the_group_and_a_disabled_account_is_cut(app, chromium) -> None:
    url, project = app
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.get_by_role("button", name=BUTTON).wait_for()
    settled(page)
    assert page.get_by_role("textbox").count() == 0  # password log-in is off: no form at all
    assert page.get_by_role("button", name="Log in").count() == 0
    sign_in(page, url, SAM)
    page.get_by_text(f"Logged in as {SAM} (scientist)").wait_for()  # the group's role
    for link in ("Label", "Train", "Import", "Export"):  # a scientist's pages, and not an admin's
        page.get_by_role("link", name=link, exact=True).wait_for()
    settled(page)
    assert page.get_by_role("link", name="Audit").count() == 0
    login = [event for event in audit(project, "user.login") if event.username == SAM]
    assert len(login) == 1 and login[0].detail["via"] == "sso" and login[0].detail["from"] == "groups"
    identity_dropped(page, context)  # the identity is used up: the browser no longer holds it
    page.get_by_role("button", name="Log out").click()  # a Medal log-out leaves nothing that logs back in
    page.get_by_role("button", name=BUTTON).wait_for()
    page.reload()
    page.get_by_role("button", name=BUTTON).wait_for()
    settled(page)
    assert page.get_by_role("button", name="Log out").count() == 0
    sign_in(page, url, SAM)
    page.get_by_text(f"Logged in as {SAM} (scientist)").wait_for()
    settled(page)
    update_user(SAM, active=False, engine=project.engine)  # an admin, elsewhere
    page.get_by_role("link", name="Train").click()  # the open tab's next run
    page.get_by_text("Your account has been disabled; ask an admin.").wait_for()
    page.get_by_role("button", name=BUTTON).wait_for()
    assert page.get_by_role("link", name="Train").count() == 0
    page.reload()  # and nothing left in the browser logs it back in
    page.get_by_role("button", name=BUTTON).wait_for()
    settled(page)
    assert page.get_by_role("button", name="Log out").count() == 0
    context.close()


def test_an_identity_without_account_or_mapped_group_is_refused(app, chromium) -> None:
    url, project = app
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, url, EVE)
    page.get_by_role("heading", name="Access refused").wait_for()
    page.get_by_text(f"You signed in as '{EVE}', but no Medal account has that name").wait_for()
    settled(page)
    assert page.get_by_role("button", name="Log out").count() == 0
    assert page.get_by_role("link", name="Label").count() == 0
    refused = [event for event in audit(project, "user.login_failed") if event.username == EVE]
    assert len(refused) == 1 and refused[0].detail["via"] == "sso"
    with Session(project.engine) as session:
        assert not [event for event in session.exec(select(AuditEvent)) if event.username == EVE
                    and event.action != "user.login_failed"]
    context.close()
