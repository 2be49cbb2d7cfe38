"""The Export page's download (issue 22, finding 8): a link to Medal's own route, which serves the zip once,
to the cookie of the browser session that made the export, with the rights checked again and audited.
(Moved here from test_pages.py, which checked Streamlit's download button, now gone.)"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from labeling.access import authenticate, browser_sessions, update_user
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_images, save_annotation
from labeling.ui import EXPORT_PREFIX
from labeling.ui.access import BROWSER_SESSION_KEY
from labeling.ui.access.session import ACCOUNT_KEY
from labeling.ui.context import PROJECT_KEY
from labeling.ui.parts import NAME_KEY
from labeling.ui.web_routes import _export_for
from storage import AuditEvent, Project, current_project
from tests.conftest import pydicom_file
from tests.support.pages import logged_in

ROOT = Path(__file__).resolve().parents[2]


def cookie_token(browser_session: int, *, project: Project) -> str:
    """The cookie the browser gets for a tab's browser session (what ``/medal/session`` hands out)."""
    from storage import BrowserSession, write_session

    ticket = "test-ticket-" + str(browser_session)
    with write_session(engine=project.engine) as session:  # give the session a ticket as log-in does, then redeem it
        row = session.get(BrowserSession, browser_session)
        row.ticket_hash, row.ticket_until = browser_sessions._digest(ticket), browser_sessions.utcnow().replace(
            year=browser_sessions.utcnow().year + 1)
        session.add(row)
        session.commit()
    return browser_sessions.redeem(ticket, engine=project.engine).token


def test_export_page_exports_a_deidentified_zip_served_once_by_medals_route(project) -> None:
    import_paths([str(pydicom_file("CT_small.dcm")), str(pydicom_file("MR_small.dcm"))], project=project)
    for image in list_images(engine=project.engine):
        save_annotation(image.id, "ann", [RegionInput("Cancerous", "rect", [[4, 4], [20, 4], [20, 20], [4, 20]])],
                        image_label="cancerous", engine=project.engine)
    reader = logged_in("ann", "annotator", project=project)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        reader.switch_page("labeling/ui/pages/export.py")  # not offered to annotators
    page = AppTest.from_file(str(ROOT / "labeling/ui/pages/export.py"), default_timeout=60)
    account = authenticate("ann", "ann-password", engine=project.engine)
    page.session_state[ACCOUNT_KEY] = account
    page.session_state[PROJECT_KEY] = project  # what app.py hands a page
    page.session_state[BROWSER_SESSION_KEY] = browser_sessions.start(account, engine=project.engine)[0]
    page.run()  # and the page itself still refuses: hiding it is not the protection
    assert "ask one of them" in page.info[0].value and not page.button

    at = logged_in("sci", "scientist", project=project)
    at.switch_page("labeling/ui/pages/export.py").run()
    assert not at.exception, at.exception
    assert at.toggle[0].value is True and at.toggle[0].disabled  # a scientist cannot keep identities
    at.multiselect[0].set_value(["coco", "seg"])
    at.text_input[0].set_value("50,50,0")
    at.button[0].click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert "Exported 2 image(s): coco, seg · de-identified" in at.success[0].value
    assert "Past exports" not in [s.value for s in at.subheader]  # a scientist does not see past exports
    assert not at.get("download_button")  # nothing in Streamlit's media store, which has no log-in
    exports = current_project().home / "exports"
    (name,) = [p.name for p in exports.iterdir()]  # the export's folder, and no zip waiting on disk
    assert at.session_state[NAME_KEY] == name
    (link,) = at.get("link_button")
    assert link.proto.label == f"Download {name}.zip" and link.proto.url.startswith(EXPORT_PREFIX)
    ticket = link.proto.url.removeprefix(EXPORT_PREFIX)

    assert _export_for(None, ticket, project=project).status_code == 401  # no cookie
    other = browser_sessions.start(authenticate("sci", "sci-password", engine=project.engine),
                                   engine=project.engine)[0]  # the same user, another browser
    assert _export_for(cookie_token(other, project=project), ticket, project=project).status_code == 404
    token = cookie_token(at.session_state[BROWSER_SESSION_KEY], project=project)
    served = _export_for(token, ticket, project=project)
    assert served.status_code == 200 and served.headers["cache-control"] == "no-store"
    assert served.headers["content-disposition"] == f'attachment; filename="{name}.zip"'
    with zipfile.ZipFile(io.BytesIO(served.body)) as bundle:  # the zip is made when the link is followed
        names = bundle.namelist()
        card = json.loads(bundle.read("dataset_card.json"))
    assert {"coco.json", "dataset_card.json"} <= set(names) and len([n for n in names if n.startswith("seg/")]) == 2
    assert card["deidentified"] and card["split"]["shares"]["train"] == 0.5
    assert [p.name for p in exports.iterdir()] == [name]  # ... and deleted once read into the download
    assert _export_for(token, ticket, project=project).status_code == 404  # once
    with Session(project.engine) as session:
        (audit,) = session.exec(select(AuditEvent).where(AuditEvent.action == "export.download")).all()
    assert audit.username == "sci" and audit.detail["name"] == name

    at.run()  # the page offers a fresh link; a scientist demoted meanwhile gets nothing from it
    fresh = at.get("link_button")[0].proto.url.removeprefix(EXPORT_PREFIX)
    assert fresh != ticket
    update_user("sci", role="annotator", actor=None, engine=project.engine)
    assert _export_for(token, fresh, project=project).status_code == 403
