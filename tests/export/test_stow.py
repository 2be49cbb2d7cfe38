"""Results back to a real PACS (Orthanc with its DICOMweb plug-in): images imported from it over DICOMweb and
labeled in Medal go back as DICOM SEGs with STOW-RS, sit in the PACS's own study (QIDO-RS finds the SEG
series), reference the original instances (read back with highdicom), and a second send of the same reading
adds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from sqlmodel import Session, select

from labeling.access import add_user
from labeling.dicom import DicomwebUnavailable, client_for
from labeling.export import stow_segs
from labeling.intake import SeriesPlace, SyntheticPatient, import_dicomweb, uid, write_ct_slice
from labeling.labels import RegionInput, region_mask, save_annotation
from storage import Image, Project
from tests.support.orthanc import PASSWORD, USER, Orthanc, orthanc  # noqa: F401 (the fixture)

SQUARE = [[20.0, 20.0], [44.0, 20.0], [44.0, 40.0], [20.0, 40.0]]


@pytest.fixture
def labeled(orthanc: Orthanc, project: Project, tmp_path: Path,  # noqa: F811
            monkeypatch: pytest.MonkeyPatch) -> tuple[Orthanc, Project, list[Image]]:
    """Three CT slices in the PACS, imported by DICOMweb; the first two labeled by a reader."""
    orthanc.clear()
    monkeypatch.setenv("MEDAL_DICOMWEB_USER", USER)
    monkeypatch.setenv("MEDAL_DICOMWEB_PASSWORD", PASSWORD)
    place = SeriesPlace(SyntheticPatient("STOW01", "Stow^Test"), date(2025, 3, 1), uid(11, "study", 0),
                        uid(11, "series", 0), uid(11, "for", 0))
    rng = np.random.default_rng(1)
    for index in range(3):
        write_ct_slice(tmp_path / f"{index}.dcm", rng.normal(40, 20, (64, 64)), place, index=index)
    orthanc.upload(*sorted(tmp_path.glob("*.dcm")))
    assert import_dicomweb(orthanc.dicomweb, project=project).retrieved == 3
    add_user("reader", "reader-password", engine=project.engine)
    with Session(project.engine) as session:
        images = list(session.exec(select(Image).order_by(Image.instance_number)).all())
    for image in images[:2]:
        save_annotation(image.id, "reader", [RegionInput("Cancerous", "polygon", SQUARE)], engine=project.engine)
    return orthanc, project, images


def test_segs_go_back_to_the_source_study_and_a_second_send_adds_nothing(labeled) -> None:
    pacs, project, images = labeled
    before = pacs.instances()
    report = stow_segs(pacs.dicomweb, project=project)
    assert (len(report.stored), report.refused, report.not_sent) == (2, [], [])
    assert pacs.instances() == before + 2

    client, original = client_for(pacs.dicomweb), pydicom.dcmread(images[0].path, stop_before_pixels=True)
    study = str(original.StudyInstanceUID)
    segs = client.search_for_series(study, search_filters={"Modality": "SEG"}, limit=10, offset=0)
    assert len(segs) == 1  # one SEG series per reader and study, in the PACS's own study
    series_uid = segs[0]["0020000E"]["Value"][0]
    by_source = {}
    for dataset in client.iter_series(study, series_uid):
        seg = hd.seg.Segmentation.from_dataset(dataset)
        (source,) = [item.ReferencedSOPInstanceUID
                     for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
        by_source[source] = seg
        assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == original.SeriesInstanceUID
        assert seg.StudyInstanceUID == study and seg.PatientID == original.PatientID  # identities kept
    assert set(by_source) == {image.sop_instance_uid for image in images[:2]}  # the originals' UIDs
    for image in images[:2]:
        mask = by_source[image.sop_instance_uid].get_pixels_by_source_instance([image.sop_instance_uid])[0, :, :, 0]
        assert np.array_equal(mask.astype(bool), region_mask(SQUARE, image.rows, image.cols))

    again = stow_segs(pacs.dicomweb, project=project)
    assert sorted(again.stored) == sorted(report.stored) and pacs.instances() == before + 2

    save_annotation(images[0].id, "reader", [RegionInput("Cancerous", "polygon", SQUARE[:3])], engine=project.engine)
    edited = stow_segs(pacs.dicomweb, project=project)
    assert len(set(edited.stored) - set(report.stored)) == 1  # the edited reading is a new object
    assert pacs.instances() == before + 3


def test_the_command_sends_and_wrong_credentials_are_one_sentence(labeled, monkeypatch: pytest.MonkeyPatch) -> None:
    pacs, project, _ = labeled
    environment = {**os.environ, "MEDAL_HOME": str(project.home)}
    sent = subprocess.run([sys.executable, "-m", "labeling.cli.main", "export", "--stow", pacs.dicomweb, "--json"],
                          env=environment, capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["stored"] == 2
    monkeypatch.setenv("MEDAL_DICOMWEB_PASSWORD", "not-the-password")
    with pytest.raises(DicomwebUnavailable, match="refused Medal's credentials") as refused:
        stow_segs(pacs.dicomweb, project=project)
    assert "not-the-password" not in str(refused.value)
