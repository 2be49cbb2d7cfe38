"""Page logic through Streamlit's AppTest, on a real project database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labeling.ingest import import_paths
from tests.conftest import pydicom_file

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    yield


def test_images_page_lists_and_shows_with_presets(project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "ct.dcm")
    import_paths([folder], engine=project, workers=1)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Images"
    assert "1 image(s)" in at.caption[0].value
    assert at.radio[0].options[0] == "Default" and at.radio[0].options[-1] == "Custom"
    assert len(at.get("image")) == 1
    at.radio[0].set_value("Custom").run()
    assert not at.exception and len(at.get("image")) == 1
    at.number_input[0].set_value(999).run()
    assert at.error and "no image 999" in at.error[0].value


def test_images_page_empty_project(project) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "No images yet" in at.info[0].value


def test_import_page_lists_refused_files(project, tmp_path: Path) -> None:
    (tmp_path / "bad.dcm").write_bytes(b"\x00" * 300)
    import_paths([tmp_path / "bad.dcm"], engine=project, workers=1)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.switch_page("labeling/pages/import_files.py").run()
    assert not at.exception
    assert at.title[0].value == "Import"
    table = at.dataframe[0].value
    assert list(table["reason"]) == ["Not a DICOM, PNG, JPEG or TIFF file."]
