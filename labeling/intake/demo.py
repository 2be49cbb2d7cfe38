"""A demo project: synthetic but valid DICOM studies with lesion-like findings and their truth.

Fourteen patients, each examined on three dates: half of them by CT (a 12-slice chest series in
HU, with soft-tissue and lung windows), half by mammography (four views, 12-bit, MONOCHROME1 for
some). Findings grow between dates, so a patient's timeline shows change. Every finding's true
region is kept in ``$MEDAL_HOME/demo/truth.json`` (by SOPInstanceUID), and ``--labeled N`` turns
the truth of N images into annotations by the user ``demo-oracle``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.access import add_user, list_users
from labeling.intake.ingest import import_paths
from labeling.intake.synthetic import SeriesPlace, SyntheticPatient, uid, write_ct_slice, write_mammogram
from labeling.labels import RegionInput, save_annotation
from storage import Image, ImageStatus, Project, Role

ORACLE = "demo-oracle"
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
CT_SIZE = 256
CT_SLICES = 12
MG_ROWS, MG_COLS = 320, 256
PATIENTS = 14
DATES_PER_PATIENT = 3
CIRCLE_VERTICES = 16


@dataclass
class Finding:
    """A spherical (CT) or round (MG) lesion: centre in pixels, radius in pixels, contrast."""

    x: float
    y: float
    z: float
    radius: float
    contrast: float


def demo_folder(*, project: Project) -> Path:
    """Where the demo's files and truth live in a project."""
    return project.home / "demo"


def create_demo(labeled: int = 0, *, project: Project, seed: int = 7) -> dict[str, Any]:
    """Write the demo studies (once), import them, and label ``labeled`` images from the truth."""
    engine = project.engine
    folder = demo_folder(project=project)
    truth_path = folder / "truth.json"
    if not truth_path.exists():
        truth = _write_studies(folder / "dicom", np.random.default_rng(seed), seed)
        truth_path.write_text(json.dumps(truth, indent=1))
    truth = json.loads(truth_path.read_text())
    report = import_paths([folder / "dicom"], project=project)
    applied = apply_truth(labeled, truth, engine=engine) if labeled else 0
    if not any(user["name"] == DEMO_USER and user["can_log_in"] for user in list_users(engine=engine)):
        add_user(DEMO_USER, DEMO_PASSWORD, Role.ADMIN, engine=engine)
    return {"folder": str(folder), "images": report.images, "duplicates": report.duplicates,
            "rejected": len(report.rejected), "labeled": applied, "truth": str(truth_path),
            "login": {"username": DEMO_USER, "password": DEMO_PASSWORD}}


def apply_truth(count: int, truth: dict[str, Any], *, engine: Engine) -> int:
    """Annotate up to ``count`` unlabeled demo images with their true regions, in the queue's order (spread
    over patients and studies, as an annotator would get them)."""
    with Session(engine) as session:
        images = session.exec(select(Image).where(Image.status == ImageStatus.UNLABELED)
                              .order_by(Image.priority.desc(), Image.id)).all()
    candidates = [image for image in images if image.sop_instance_uid in truth]
    # Interleave positives and negatives so a small N still holds both classes.
    positives = [i for i in candidates if truth[i.sop_instance_uid]["image_label"] == "cancerous"]
    negatives = [i for i in candidates if truth[i.sop_instance_uid]["image_label"] != "cancerous"]
    order = [image for pair in zip(positives, negatives) for image in pair]
    order += positives[len(negatives):] + negatives[len(positives):]
    for image in order[:count]:
        entry = truth[image.sop_instance_uid]
        regions = [RegionInput(label=r["label"], shape="polygon", points=r["points"]) for r in entry["regions"]]
        save_annotation(image.id, ORACLE, regions, image_label=entry["image_label"], engine=engine)
    return min(count, len(order))


# --- writing the studies --------------------------------------------------------------------


def _write_studies(root: Path, rng: np.random.Generator, seed: int) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {}
    first_date = date(2024, 1, 8)
    for number in range(PATIENTS):
        patient = SyntheticPatient(f"DEMO{number:04d}", f"Demo^Patient{number:02d}",
                                   f"{1950 + number * 2}0{1 + number % 9}15", "FM"[number % 2])
        is_ct = number % 2 == 0
        has_disease = number % 3 != 1
        findings = _initial_findings(rng, is_ct) if has_disease else []
        start = first_date + timedelta(days=int(rng.integers(0, 200)))
        for visit in range(DATES_PER_PATIENT):
            study_date = start + timedelta(days=visit * int(rng.integers(90, 200)))
            grown = [Finding(f.x, f.y, f.z, f.radius * (1 + 0.25 * visit), f.contrast) for f in findings]
            uids = [seed, number, visit]
            writer = _write_ct_study if is_ct else _write_mg_study
            truth.update(writer(root / patient.patient_id / f"{study_date:%Y%m%d}", patient,
                                study_date, grown, rng, uids))
    return truth


def _initial_findings(rng: np.random.Generator, is_ct: bool) -> list[Finding]:
    if is_ct:
        return [Finding(float(rng.uniform(70, 110) if side else rng.uniform(146, 186)),
                        float(rng.uniform(100, 160)), float(rng.uniform(3, 8)),
                        float(rng.uniform(5, 9)), float(rng.uniform(700, 850)))
                for side in rng.permutation([0, 1])[: int(rng.integers(1, 3))]]
    return [Finding(float(rng.uniform(60, 170)), float(rng.uniform(90, 230)), 0.0,
                    float(rng.uniform(7, 13)), float(rng.uniform(500, 900)))]


def _write_ct_study(folder: Path, patient: SyntheticPatient, study_date: date, findings: list[Finding],
                    rng: np.random.Generator, uids: list[object]) -> dict[str, Any]:
    place = SeriesPlace(patient, study_date, uid(*uids, "study"), uid(*uids, "ct"), uid(*uids, "for"))
    spacing, thickness = 1.4, 5.0
    yy, xx = np.mgrid[0:CT_SIZE, 0:CT_SIZE].astype(np.float32)
    body = ((xx - 128) / 110) ** 2 + ((yy - 132) / 85) ** 2 <= 1
    lungs = (((xx - 90) / 38) ** 2 + ((yy - 128) / 55) ** 2 <= 1) | (((xx - 166) / 38) ** 2 + ((yy - 128) / 55) ** 2 <= 1)
    truth: dict[str, Any] = {}
    for index in range(CT_SLICES):
        hu = np.full((CT_SIZE, CT_SIZE), -1000.0, dtype=np.float32)
        hu[body] = 40.0
        hu[lungs] = -820.0
        hu[((xx - 128) / 12) ** 2 + ((yy - 190) / 12) ** 2 <= 1] = 700.0  # spine
        vessel_x, vessel_y = 90 + 30 * np.sin(index / 3), 110 + 4 * index
        hu[(xx - vessel_x) ** 2 + (yy - vessel_y) ** 2 <= 9] = 30.0  # a vessel in the lung: healthy
        regions = []
        for finding in findings:
            dz = (index - finding.z) * thickness / spacing
            if abs(dz) >= finding.radius:
                continue
            radius = float(np.sqrt(finding.radius**2 - dz**2))
            if radius < 2:
                continue
            lesion = (xx - finding.x) ** 2 + (yy - finding.y) ** 2 <= radius**2
            hu[lesion] = -820.0 + finding.contrast
            regions.append({"label": "Cancerous", **_circle(finding.x, finding.y, radius + 1)})
        if not regions:
            regions.append({"label": "Healthy", **_box(vessel_x - 12, vessel_y - 12, 24, 24)})
        hu += rng.normal(0, 12, hu.shape).astype(np.float32)
        sop_uid = write_ct_slice(folder / f"CT{index + 1:03d}.dcm", hu, place, index=index,
                                 sop_uid=uid(*uids, "ct", index), spacing=spacing, thickness=thickness)
        label = "cancerous" if any(r["label"] == "Cancerous" for r in regions) else "healthy"
        truth[sop_uid] = {"image_label": label, "regions": regions}
    return truth


def _write_mg_study(folder: Path, patient: SyntheticPatient, study_date: date, findings: list[Finding],
                    rng: np.random.Generator, uids: list[object]) -> dict[str, Any]:
    study_uid, frame_uid = uid(*uids, "study"), uid(*uids, "for")
    yy, xx = np.mgrid[0:MG_ROWS, 0:MG_COLS].astype(np.float32)
    truth: dict[str, Any] = {}
    monochrome1 = int(str(uids[1])) % 4 == 1
    for index, (laterality, view) in enumerate([("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]):
        radius = np.sqrt((xx / 200) ** 2 + ((yy - MG_ROWS / 2) / 150) ** 2)
        breast, radius = (radius <= 1), radius
        if laterality == "R":
            breast, radius = breast[:, ::-1], radius[:, ::-1]
        tissue = np.where(breast, _breast_tissue(radius, rng), 80.0)
        regions = []
        if laterality == "L":
            for finding in findings:
                lesion = ((xx - finding.x) ** 2 + (yy - finding.y) ** 2) <= finding.radius**2
                tissue[lesion & breast] += finding.contrast
                regions.append({"label": "Cancerous", **_circle(finding.x, finding.y, finding.radius + 1)})
        if not regions:
            x0 = 40 if laterality == "L" else MG_COLS - 80
            regions.append({"label": "Healthy", **_box(x0, MG_ROWS / 2 - 20, 40, 40)})
        tissue += rng.normal(0, 25, tissue.shape)
        stored = np.clip(np.round(tissue), 0, 4095).astype(np.uint16)
        if monochrome1:
            stored = (4095 - stored).astype(np.uint16)
        place = SeriesPlace(patient, study_date, study_uid, uid(*uids, "mg-series", laterality, view), frame_uid)
        sop_uid = write_mammogram(folder / f"MG_{laterality}{view}.dcm", stored, place, index=index,
                                  sop_uid=uid(*uids, "mg", index), laterality=laterality, view=view,
                                  monochrome1=monochrome1)
        label = "cancerous" if any(r["label"] == "Cancerous" for r in regions) else "healthy"
        truth[sop_uid] = {"image_label": label, "regions": regions}
    return truth


def _breast_tissue(radius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stored values of a breast phantom: fat thinning towards the skin line, and fibroglandular tissue in
    soft, smoothed clumps (brighter) near the chest wall and the centre — not pixel noise."""
    fat = 900 + 500 * np.sqrt(np.clip(1 - radius**2, 0, 1))
    clumps = ndimage.gaussian_filter(rng.normal(0, 1, radius.shape), 6)
    clumps = np.clip(clumps / (clumps.std() + 1e-6), 0, None) * 450 * np.clip(1.2 - radius, 0, 1)
    strands = ndimage.gaussian_filter(rng.normal(0, 1, radius.shape), (1.0, 3.0)) * 60
    return fat + clumps + strands


def _circle(x: float, y: float, radius: float) -> dict[str, Any]:
    angles = np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
    points = [[round(float(x + radius * np.cos(a)), 1), round(float(y + radius * np.sin(a)), 1)] for a in angles]
    return {"points": points, "bbox": [round(x - radius, 1), round(y - radius, 1), round(2 * radius, 1),
                                       round(2 * radius, 1)]}


def _box(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    x, y = round(float(x), 1), round(float(y), 1)
    return {"points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], "bbox": [x, y, w, h]}

