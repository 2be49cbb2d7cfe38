"""Images from a real PACS (Orthanc with its DICOMweb plug-in) over QIDO-RS and WADO-RS: the same images as a
file import of the same files, only what is new on a second run, filters, credentials, size refusals, and a
rerun after ``kill -9`` that finishes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, func, select

from labeling.dicom import DicomwebUnavailable, client_for
from labeling.intake import (
    DicomwebQuery,
    SeriesPlace,
    SyntheticPatient,
    import_dicomweb,
    import_paths,
    uid,
    write_ct_slice,
)
from storage import Image, Project, config
from tests.conftest import pydicom_file
from tests.support.orthanc import PASSWORD, USER, Orthanc, orthanc  # noqa: F401 (the fixture)

FILES = ["CT_small.dcm", "693_J2KI.dcm", "MR_small.dcm", "examples_ybr_color.dcm", "examples_palette.dcm",
         "SC_rgb_jpeg_dcmtk.dcm"]


@pytest.fixture
def pacs(orthanc: Orthanc, monkeypatch: pytest.MonkeyPatch) -> Orthanc:  # noqa: F811
    """The PACS, emptied, and Medal's credentials for it in the environment."""
    orthanc.clear()
    monkeypatch.setenv("MEDAL_DICOMWEB_USER", USER)
    monkeypatch.setenv("MEDAL_DICOMWEB_PASSWORD", PASSWORD)
    return orthanc


def _images(project: Project) -> list[tuple]:
    with Session(project.engine) as session:
        return sorted((image.sop_instance_uid, image.frame, image.rows, image.cols, image.modality)
                      for image in session.exec(select(Image)).all())


def test_dicomweb_gives_the_images_a_file_import_gives_and_only_new_ones_the_second_time(
        pacs: Orthanc, project: Project, tmp_path: Path) -> None:
    files = [pydicom_file(name) for name in FILES]
    pacs.upload(*files[:-1])
    first = import_dicomweb(pacs.dicomweb, project=project)
    assert (first.found, first.retrieved, first.refused) == (5, 5, [])
    pacs.upload(files[-1])
    second = import_dicomweb(pacs.dicomweb, project=project)
    assert (second.found, second.retrieved, second.already_held) == (6, 1, 5)
    assert import_dicomweb(pacs.dicomweb, project=project).retrieved == 0

    by_file = Project.open(tmp_path / "files")
    try:
        import_paths(files, project=by_file)
        assert _images(project) == _images(by_file)
    finally:
        by_file.close()
    assert len(_images(project)) == 5 + 30  # the 30-frame ultrasound is 30 images
    stored = sorted(path.name for path in (project.home / "dicomweb").rglob("*.dcm"))
    assert len(stored) == 6 and not list((project.home / "dicomweb").rglob("*.part"))


def test_filters_narrow_the_search(pacs: Orthanc, project: Project) -> None:
    pacs.upload(*(pydicom_file(name) for name in FILES))
    report = import_dicomweb(pacs.dicomweb, DicomwebQuery(modality="mr"), project=project)
    assert report.retrieved == 1 and {row[4] for row in _images(project)} == {"MR"}
    missing = import_dicomweb(pacs.dicomweb, DicomwebQuery(accession_number="NO-SUCH-ACCESSION"), project=project)
    assert missing.found == 0


def test_wrong_credentials_and_no_service_are_one_sentence_that_holds_no_secret(
        pacs: Orthanc, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    pacs.upload(pydicom_file("CT_small.dcm"))
    monkeypatch.setenv("MEDAL_DICOMWEB_PASSWORD", "wrong-password-9431")
    with pytest.raises(DicomwebUnavailable, match="refused Medal's credentials") as refused:
        import_dicomweb(pacs.dicomweb, project=project)
    assert "wrong-password-9431" not in str(refused.value)
    assert "wrong-password-9431" not in repr(config())
    with pytest.raises(DicomwebUnavailable, match="cannot be reached"):
        import_dicomweb("http://127.0.0.1:9/dicom-web", project=project)
    with pytest.raises(DicomwebUnavailable, match="not a DICOMweb address"):
        import_dicomweb("file:///etc/passwd", project=project)


def test_a_bearer_token_goes_in_the_authorization_header(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t0ken-123\n")
    monkeypatch.setenv("MEDAL_DICOMWEB_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("MEDAL_DICOMWEB_USER", "ignored")
    client = client_for("https://pacs.example.org/dicom-web/")
    assert client._session.headers["Authorization"] == "Bearer t0ken-123" and client._session.auth is None
    assert "t0ken-123" not in repr(config()) and "t0ken-123" not in str(config())


def test_an_instance_over_the_size_limits_is_refused_before_it_is_fetched(
        pacs: Orthanc, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    pacs.upload(*(pydicom_file(name) for name in ("CT_small.dcm", "693_J2KI.dcm", "examples_ybr_color.dcm")))
    monkeypatch.setenv("MEDAL_MAX_MEGAPIXELS", "0.2")  # 693_J2KI: 512×512
    monkeypatch.setenv("MEDAL_MAX_FILE_MB", "5")  # examples_ybr_color: 30 frames of 320×240 RGB, 6.6 MB
    report = import_dicomweb(pacs.dicomweb, project=project)
    assert (report.retrieved, report.found) == (1, 3)
    reasons = " | ".join(item["reason"] for item in report.refused)
    assert len(report.refused) == 2 and "MEDAL_MAX_FILE_MB" in reasons and "MEDAL_MAX_MEGAPIXELS" in reasons
    assert len(list((project.home / "dicomweb").rglob("*.dcm"))) == 1  # the refused ones were never fetched
    monkeypatch.delenv("MEDAL_MAX_MEGAPIXELS")
    monkeypatch.delenv("MEDAL_MAX_FILE_MB")
    assert import_dicomweb(pacs.dicomweb, project=project).retrieved == 2  # a refusal is not remembered as held


def test_killed_mid_import_a_rerun_finishes_without_duplicates(pacs: Orthanc, project: Project,
                                                                tmp_path: Path) -> None:
    count, rng = 150, np.random.default_rng(0)
    place = SeriesPlace(SyntheticPatient("KILL01", "Kill^Test"), date(2025, 1, 1), uid(7, "study", 0),
                        uid(7, "series", 0), uid(7, "for", 0))
    for index in range(count):
        write_ct_slice(tmp_path / f"{index:04d}.dcm", rng.normal(40, 20, (64, 64)), place, index=index)
    pacs.upload(*sorted(tmp_path.glob("*.dcm")))
    command = [sys.executable, "-m", "labeling.cli.main", "import", "--dicomweb", pacs.dicomweb, "--json"]
    environment = {**os.environ, "MEDAL_HOME": str(project.home)}
    running = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = project.home / "dicomweb"
    deadline = time.monotonic() + 60
    while len(list(folder.rglob("*.dcm"))) < 20 and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    running.send_signal(signal.SIGKILL)
    running.wait()
    written = len(list(folder.rglob("*.dcm")))
    assert written < count, "the import ended before it could be killed"

    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["retrieved"] == count - written  # what the killed run wrote is not fetched
    with Session(project.engine) as session:
        rows = session.exec(select(func.count()).select_from(Image)).one()
        distinct = session.exec(select(func.count(func.distinct(Image.sop_instance_uid)))).one()
    assert rows == distinct == count
    assert len(list(folder.rglob("*.dcm"))) == count and not list(folder.rglob("*.part"))


def test_the_queue_is_ranked_once_per_import_not_once_per_batch(pacs: Orthanc, project: Project,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking the cold-start queue reads up to 500 previews and clusters them (~0.7 s): after every batch of 64
    it was 43% of a 1,000-instance import (`medal bench dicomweb`, py-spy)."""
    from labeling.intake import dicomweb, ingest

    calls: list[str] = []
    monkeypatch.setattr(ingest, "refresh_cold_start", lambda **kwargs: calls.append("batch"))
    monkeypatch.setattr(dicomweb, "refresh_cold_start", lambda **kwargs: calls.append("import"))
    monkeypatch.setattr(dicomweb, "IMPORT_BATCH", 2)
    pacs.upload(*(pydicom_file(name) for name in FILES))
    assert import_dicomweb(pacs.dicomweb, project=project).retrieved == 6
    assert calls == ["import"]


def test_a_series_held_whole_is_not_even_asked_for_its_metadata(pacs: Orthanc, project: Project,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A second run over 10,000 instances took 11.6 s reading every series' metadata (Orthanc reads each stored
    file to answer); a series whose instance count (QIDO's NumberOfSeriesRelatedInstances) the project holds
    already is skipped without it."""
    from dicomweb_client import DICOMwebClient

    pacs.upload(*(pydicom_file(name) for name in FILES[:3]))
    assert import_dicomweb(pacs.dicomweb, project=project).retrieved == 3
    asked: list[str] = []
    metadata = DICOMwebClient.retrieve_series_metadata
    monkeypatch.setattr(DICOMwebClient, "retrieve_series_metadata",
                        lambda self, study, series, **kwargs: asked.append(series) or metadata(self, study, series,
                                                                                                 **kwargs))
    pacs.upload(pydicom_file(FILES[3]))
    again = import_dicomweb(pacs.dicomweb, project=project)
    assert (again.found, again.already_held, again.retrieved) == (4, 3, 1)
    assert len(asked) == 1  # only the new series' metadata was read
