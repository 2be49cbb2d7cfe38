"""The schema comes from Alembic migrations; an old database upgrades with its data intact."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from storage import Image, LabelClass, Patient, current_revision, head_revision, upgrade_to_head
from storage.db import make_engine
from storage.migrate import alembic_config


def test_first_migration_upgrades_to_head_with_data_intact(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_to_head(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        assert "label_class" not in sa.inspect(connection).get_table_names()
        connection.execute(sa.text(
            "INSERT INTO patient (id, key, patient_id, name, created_at) VALUES (1, 'PKEY', 'ID1', 'Doe^J', '2025-01-01')"))
        connection.execute(sa.text(
            "INSERT INTO study (id, patient_id, study_instance_uid, study_date, created_at)"
            " VALUES (1, 1, '1.2.3', '2025-01-01', '2025-01-01')"))
        connection.execute(sa.text(
            "INSERT INTO series (id, study_id, series_instance_uid, modality, created_at)"
            " VALUES (1, 1, '1.2.3.4', 'CT', '2025-01-01')"))
        connection.execute(sa.text(
            "INSERT INTO image (id, series_id, kind, path, frame, number_of_frames, sop_instance_uid, rows, cols,"
            " samples_per_pixel, windows, cache_key, status, priority, file_size, imported_at)"
            " VALUES (7, 1, 'DICOM', '/data/a.dcm', 0, 1, '1.2.3.4.5', 512, 512, 1, '[]', 'k', 'UNLABELED', 0.5, 10,"
            " '2025-01-01')"))
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    with Session(engine) as session:
        image = session.get(Image, 7)
        assert (image.path, image.rows, image.priority, image.status.value) == ("/data/a.dcm", 512, 0.5, "unlabeled")
        assert session.exec(select(Patient.name)).one() == "Doe^J"
        classes = session.exec(select(LabelClass).order_by(LabelClass.position)).all()
    assert [(c.name, c.type_code, c.category_code) for c in classes] == [
        ("Cancerous", "108369006", "49755003"), ("Healthy", "17621005", "85756007")]


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    upgrade_to_head(engine)
    command.check(alembic_config(engine))  # raises when a model changed without a migration


def test_sqlite_is_opened_with_wal_and_busy_timeout(project) -> None:
    with project.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 5000
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_a_project_at_0005_gets_class_descriptions_and_keeps_its_own(tmp_path: Path) -> None:
    """Issue 21: the Label page did not say what a Healthy region means. The default classes get a
    description; a class the site added keeps an empty one until an editor writes it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_to_head(engine, "0005")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO label_class (name, color, key, position, category_code, category_meaning, type_code,"
            " type_meaning, coding_scheme, active) VALUES ('Benign', '#4363d8', '3', 3, '', '', '', '', 'SCT', 1)"))
    upgrade_to_head(engine)
    with Session(engine) as session:
        described = {c.name: c.description for c in session.exec(select(LabelClass)).all()}
    assert "outline the lesion" in described["Cancerous"] and "not a finding" in described["Healthy"]
    assert described["Benign"] == ""
