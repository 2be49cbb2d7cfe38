"""The patient-key secret can live outside the database (MEDAL_PATIENT_KEY_FILE), and patient keys stay the same."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from labeling.cli.main import main
from labeling.intake import import_paths
from storage import Patient, Project
from storage.patient_key import PatientKeyUnavailable
from tests.conftest import pydicom_file


def _keys(project: Project) -> set[str]:
    with Session(project.engine) as session:
        return {patient.key for patient in session.exec(select(Patient))}


def _import(project: Project, tmp_path: Path, name: str) -> None:
    folder = tmp_path / f"import-{len(list(tmp_path.glob('import-*')))}"
    folder.mkdir(parents=True)
    shutil.copy(pydicom_file(name), folder / name)
    report = import_paths([folder], project=project, workers=1)
    assert report.images >= 1, report.rejected


def test_the_secret_moves_out_and_keys_stay_the_same(project, tmp_path: Path, monkeypatch, capsys) -> None:
    _import(project, tmp_path, "CT_small.dcm")
    before = _keys(project)
    with project.engine.connect() as connection:
        secret = connection.execute(text("SELECT value FROM project_setting WHERE key = 'patient_key_secret'")).scalar()
    key_file = tmp_path / "keys" / "patient-key"
    key_file.parent.mkdir()
    assert main(["secret", "move-out", str(key_file)]) == 0
    assert "MEDAL_PATIENT_KEY_FILE=" in capsys.readouterr().out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and key_file.read_text().strip() == secret
    with project.engine.connect() as connection:  # the database alone no longer holds it
        stored = connection.execute(text("SELECT value FROM project_setting WHERE key = 'patient_key_secret'")).scalar()
    assert secret not in stored

    # a process without the setting stops
    with pytest.raises(PatientKeyUnavailable, match="set MEDAL_PATIENT_KEY_FILE"):
        _import(project, tmp_path, "MR_small.dcm")
    assert main(["import", str(pydicom_file("MR_small.dcm"))]) == 2
    assert "MEDAL_PATIENT_KEY_FILE" in capsys.readouterr().err

    monkeypatch.setenv("MEDAL_PATIENT_KEY_FILE", str(key_file))
    copy = tmp_path / "again"
    copy.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), copy / "renamed.dcm")  # the same patient again: the same key
    report = import_paths([copy, pydicom_file("MR_small.dcm")], project=project, workers=1)
    assert not report.rejected
    assert before <= _keys(project) and len(_keys(project)) == len(before) + 1


def test_a_key_file_others_can_read_or_another_secret_is_refused(project, tmp_path: Path, monkeypatch) -> None:
    _import(project, tmp_path, "CT_small.dcm")  # the project made its own secret
    key_file = tmp_path / "other-key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o600)
    monkeypatch.setenv("MEDAL_PATIENT_KEY_FILE", str(key_file))
    with pytest.raises(PatientKeyUnavailable, match="another secret"):
        _import(project, tmp_path, "MR_small.dcm")
    key_file.chmod(0o644)
    with pytest.raises(PatientKeyUnavailable, match="chmod 600"):
        _import(project, tmp_path, "MR_small.dcm")


def test_a_benchmark_project_fixes_its_secret_and_its_patient_keys_repeat(tmp_path: Path) -> None:
    """`medal bench real` builds a new project per seed: with a random secret a DICOM patient's key, hence the
    patient-level validation split and every figure, changed from run to run of one seed."""
    from benchmarks.ingest import fresh_project
    from storage import fix_patient_key_secret
    from storage.errors import MedalError

    keys = []
    for run in range(3):
        with fresh_project() as project:
            if run < 2:
                fix_patient_key_secret(project.engine, b"\x01" * 32)
            _import(project, tmp_path / f"run-{run}", "CT_small.dcm")
            keys.append(_keys(project))
            if run == 0:
                with pytest.raises(MedalError, match="already has a patient-key secret"):
                    fix_patient_key_secret(project.engine, b"\x02" * 32)  # keys made with the first would not match
    assert keys[0] == keys[1] and keys[2] != keys[0]
