"""``medal demo``: a realistic project with truth, and ``--labeled N`` annotations by demo-oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
from sqlmodel import Session, func, select

from labeling.intake import create_demo
from labeling.intake.demo import ORACLE
from storage import Annotation, AuditEvent, Image, ImageStatus, Patient, Region, Study, User


def test_demo_project(project) -> None:
    result = create_demo(labeled=12, project=project)
    assert result["images"] >= 300 and result["rejected"] == 0 and result["labeled"] == 12
    truth = json.loads(Path(result["truth"]).read_text())
    with Session(project.engine) as session:
        images = session.exec(select(Image)).all()
        assert session.exec(select(func.count()).select_from(Patient)).one() >= 12
        dates = session.exec(select(Study.patient_id, Study.study_date)).all()
        annotations = session.exec(select(Annotation)).all()
        oracle = session.exec(select(User).where(User.name == ORACLE)).one()
        regions = session.exec(select(Region)).all()
        audits = session.exec(select(AuditEvent).where(AuditEvent.action == "annotation.save")).all()
    assert {i.modality for i in images} == {"CT", "MG"}
    per_patient: dict[int, set] = {}
    for patient_id, study_date in dates:
        per_patient.setdefault(patient_id, set()).add(study_date)
    assert all(len(d) >= 2 for d in per_patient.values())
    assert {i.sop_instance_uid for i in images} == set(truth)
    labels = [truth[i.sop_instance_uid]["image_label"] for i in images]
    assert labels.count("cancerous") >= 50 and labels.count("healthy") >= 50
    assert len(annotations) == 12 and {a.user_id for a in annotations} == {oracle.id}
    assert len(audits) == 12 and {a.username for a in audits} == {ORACLE}
    assert sum(i.status == ImageStatus.LABELED for i in images) == 12
    labeled = {i.id: i for i in images}
    for annotation in annotations:
        image = labeled[annotation.image_id]
        expected = truth[image.sop_instance_uid]
        mine = [r for r in regions if r.annotation_id == annotation.id]
        assert annotation.image_label == expected["image_label"]
        assert sorted(r.points for r in mine) == sorted(r["points"] for r in expected["regions"])
        for region in mine:
            assert 0 <= region.x and region.x + region.w <= image.cols and region.y + region.h <= image.rows
    ct = next(i for i in images if i.modality == "CT")
    ds = pydicom.dcmread(ct.path)
    assert ds.FrameOfReferenceUID and ds.PixelSpacing and ds.RescaleIntercept == -1024
    assert [p["name"] for p in ct.windows] == ["SOFT TISSUE", "LUNG"]

    again = create_demo(labeled=0, project=project)  # idempotent
    assert again["images"] == 0 and again["duplicates"] >= 300


def test_every_demo_image_shows_its_anatomy_at_the_default_window(project, make_demo) -> None:
    """No black tiles: the default rendering of every demo image spreads over the grey levels (the
    MONOCHROME1 mammograms' stored window once missed their values, and they rendered black)."""
    import numpy as np

    from labeling.labels import get_image, list_images, render_frame

    make_demo(0)
    photometrics = set()
    for summary in list_images(engine=project.engine):
        image = get_image(summary.id, engine=project.engine)
        picture = render_frame(image, project=project).astype(np.float32)
        inside = picture[picture > 8]  # the body, not the air around it
        photometrics.add(image.photometric)
        assert picture.std() > 25 and inside.size > picture.size * 0.2, (image.id, image.photometric)
        assert 40 < inside.mean() < 215 and inside.std() > 8, (image.id, image.photometric, inside.mean())
    assert {"MONOCHROME1", "MONOCHROME2"} <= photometrics
