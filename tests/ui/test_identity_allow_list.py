"""Issue 22 (6): one allow-list of what a role without identity rights sees, on every page, overlay and
download. A crafted patient (ZEBRA^JANE, ID 4711-0815, born 1961-02-03, in every free-text field, two CT
studies a year apart) is opened by an annotator on the Label page (header panel, viewer corners, the prior's
label) and on the Images page (filters, table and its CSV, thumbnails, timeline, compare buttons): none of
the name, the ID, the birth date, the study dates, the original UIDs or another account's name shows. An
admin, who may see identity, does see them (so the walk reads what is on the page)."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from streamlit.testing.v1 import AppTest

from labeling.access import add_user
from labeling.intake import import_paths
from labeling.labels import list_images
from tests.conftest import pydicom_file
from tests.support.pages import label_state, logged_in, viewer_data

NAME = "ZEBRA^JANE"
STUDY_DATES = ("20240115", "20250120")
UIDS: list[str] = []


def crafted_studies(folder: Path) -> list[Path]:
    """CT_small twice, as two studies of one patient, with identity in every free-text field."""
    paths = []
    for number, study_date in enumerate(STUDY_DATES, 1):
        ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = NAME, "4711-0815", "19610203"
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study_date
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        UIDS.append(ds.SOPInstanceUID)
        ds.SeriesNumber = number
        for keyword in ("StudyDescription", "SeriesDescription", "ProtocolName", "ContrastBolusAgent",
                        "ImageComments", "WindowCenterWidthExplanation"):
            setattr(ds, keyword, f"ZEBRA JANE 4711-0815 1961-02-03 {keyword}")
        path = folder / f"study{number}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


def shown_text(at: AppTest) -> str:
    """Everything the page sent: every element's message (labels, options, captions, the viewer's data, the
    tables' bytes) and every table as CSV."""
    parts = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(parts)


FORBIDDEN = ("ZEBRA", "JANE", "4711", "1961", "2024-01-15", "2025-01-20", "20240115", "20250120")


@pytest.mark.parametrize("role", ["annotator", "scientist", "admin"])
def test_a_role_without_identity_rights_sees_none_of_it_anywhere(project, tmp_path: Path, role: str) -> None:
    UIDS.clear()
    import_paths([str(p) for p in crafted_studies(tmp_path)], project=project)
    add_user("boss", "boss-password", "admin", engine=project.engine)
    at = logged_in("someone", role, project=project)
    later = max(list_images(engine=project.engine), key=lambda image: image.study_date)
    label_state(at).open_request = later.id
    at.run()
    assert not at.exception, at.exception
    data = viewer_data(at)
    assert data["prior"] is not None  # the earlier study is offered beside it
    label_page = shown_text(at) + json.dumps(data)
    at.switch_page("labeling/ui/pages/images.py").run()
    assert not at.exception, at.exception
    images_page = shown_text(at)
    seen = label_page + images_page
    if role == "admin":  # identity roles see it: the walk reads the page
        assert NAME in label_page and "2025-01-20" in data["overlay"]["study_date"]
        assert "2024-01-15" in images_page and "boss" in images_page and UIDS[0] in images_page
        return
    leaked = [word for word in (*FORBIDDEN, *UIDS, "boss") if word.lower() in seen.lower()]
    assert not leaked, leaked
    assert data["overlay"]["series"] == "#2 CT" and data["prior"]["label"] == "Prior · 12 month(s) earlier · #1 CT"
    assert "+12 month(s)" in images_page and "baseline" in images_page  # the timeline, by interval


def test_a_moved_file_is_named_by_its_image_never_by_its_path(project, tmp_path: Path) -> None:
    """Issue 22 (7): with a source file moved, the Label page said "Cannot read /…/ZEBRA_JANE_19610203/ZEBRA^JANE
    4711-0815.dcm …" to an annotator. Errors a browser shows name the image id and what to do."""
    import shutil

    folder = tmp_path / "ZEBRA_JANE_19610203"
    folder.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "ZEBRA^JANE 4711-0815.dcm")
    import_paths([str(folder)], project=project)
    (image,) = list_images(engine=project.engine)
    shutil.rmtree(folder)
    at = logged_in("someone", "annotator", project=project)
    label_state(at).open_request = image.id
    at.run()
    assert not at.exception, at.exception
    label_page = shown_text(at)
    at.switch_page("labeling/ui/pages/images.py").run()
    images_page = shown_text(at)
    assert not [word for word in ("ZEBRA", "4711", str(tmp_path)) if word in label_page + images_page]
    assert f"Image {image.id}: Cannot read the file" in label_page.replace("\\", "")
