"""The PACS on the Import and Export pages (AppTest against a real Orthanc): a scientist imports from the configured
DICOMweb service with a filter, an admin sends the SEGs back (a scientist cannot), and no page takes an address of
its own (annotators have no Import or Export page: tests/ui/test_pages.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from labeling.labels import RegionInput, list_images, save_annotation
from storage import Project
from tests.conftest import pydicom_file
from tests.support.orthanc import PASSWORD, USER, Orthanc, orthanc  # noqa: F401 (the fixture)
from tests.support.pages import button, logged_in

SQUARE = [[20.0, 20.0], [44.0, 20.0], [44.0, 40.0], [20.0, 40.0]]


@pytest.fixture
def pacs(orthanc: Orthanc, monkeypatch: pytest.MonkeyPatch) -> Orthanc:  # noqa: F811
    orthanc.clear()
    orthanc.upload(pydicom_file("CT_small.dcm"), pydicom_file("MR_small.dcm"))
    for name, value in (("URL", orthanc.dicomweb), ("USER", USER), ("PASSWORD", PASSWORD)):
        monkeypatch.setenv(f"MEDAL_DICOMWEB_{name}", value)
    return orthanc


def _import_page(at: AppTest) -> AppTest:
    return at.switch_page("labeling/ui/pages/import_files.py").run()


def test_a_scientist_imports_from_the_configured_pacs_and_an_admin_sends_the_segs_back(
        pacs: Orthanc, project: Project) -> None:
    scientist = _import_page(logged_in("sam", "scientist", project=project))
    assert not [t for t in scientist.text_input if "address" in t.label.lower() or "url" in t.label.lower()]
    next(t for t in scientist.text_input if t.label.startswith("Modality")).set_value("CT")
    button(scientist, "Import from the PACS").click().run()
    assert not scientist.exception and not scientist.error
    assert "1 retrieved" in scientist.success[-1].value
    assert [image.modality for image in list_images(engine=project.engine)] == ["CT"]

    (image,) = list_images(engine=project.engine)
    save_annotation(image.id, "sam", [RegionInput("Cancerous", "polygon", SQUARE)], engine=project.engine)
    assert not [b for b in scientist.switch_page("labeling/ui/pages/export.py").run().button
                if b.label == "Send SEGs to the PACS"]  # admins only
    admin = logged_in("boss", "admin", project=project).switch_page("labeling/ui/pages/export.py").run()
    before = pacs.instances()
    button(admin, "Send SEGs to the PACS").click().run()
    assert not admin.exception and not admin.error
    assert "The PACS stored 1 SEG(s)" in admin.success[-1].value and pacs.instances() == before + 1


def test_without_a_configured_pacs_the_page_says_how(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAL_DICOMWEB_URL", raising=False)
    scientist = _import_page(logged_in("sam", "scientist", project=project))
    assert any("MEDAL_DICOMWEB_URL" in caption.value for caption in scientist.caption)
    assert not [b for b in scientist.button if b.label == "Import from the PACS"]


def test_an_unreachable_pacs_is_one_error_line(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAL_DICOMWEB_URL", "http://127.0.0.1:9/dicom-web")
    scientist = _import_page(logged_in("sam", "scientist", project=project))
    button(scientist, "Import from the PACS").click().run()
    assert not scientist.exception
    assert "cannot be reached" in scientist.error[0].value
