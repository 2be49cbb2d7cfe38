"""Past exports: admins list and delete them, names cannot leave the exports folder, download zips do not
stay on disk (deleted once read, swept after ``ZIP_RETENTION``)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, select

from labeling.access import NotAllowed, add_user, update_user
from labeling.cli.main import main
from labeling.export import ExportOptions, delete_export, export_dataset, list_exports, new_export_folder, sweep_zips
from labeling.export.retention import ZIP_RETENTION, ExportNotFound, InvalidExportName, exports_folder, zip_for_download
from labeling.export.run import zip_folder
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_images, save_annotation
from storage import AuditEvent, Project
from tests.conftest import pydicom_file

BOX = [[4, 4], [20, 4], [20, 20], [4, 20]]


def made_export(project: Project, *, deidentify: bool = False) -> Path:
    """One labeled CT exported the way the Export page does it, into the project's exports folder."""
    if not list_images(engine=project.engine):
        import_paths([str(pydicom_file("CT_small.dcm"))], project=project)
        for image in list_images(engine=project.engine):
            save_annotation(image.id, "ann", [RegionInput("Cancerous", "rect", BOX)], image_label="cancerous",
                            engine=project.engine)
    return export_dataset(new_export_folder(project=project), ExportOptions(formats=["coco"], deidentify=deidentify),
                          project=project).out


def aged(path: Path, seconds: float) -> Path:
    """``path`` last written ``seconds`` ago."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))
    return path


def test_an_admin_lists_then_deletes_an_export_with_its_zip(project) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    out = made_export(project)
    legacy_zip = zip_folder(out, out.with_suffix(".zip"))  # what the Export page used to leave for good
    (entry,) = list_exports(actor="boss", project=project)
    assert (entry.name, entry.images, entry.deidentified, entry.zips) == (out.name, 1, False, 1)
    assert entry.size > legacy_zip.stat().st_size and entry.created.tzinfo is not None
    assert json.loads(json.dumps(entry.as_json()))["name"] == out.name

    deleted = delete_export(out.name, actor="boss", project=project)
    assert deleted.name == out.name and not out.exists() and not legacy_zip.exists()
    assert list_exports(actor="boss", project=project) == [] and exports_folder(project=project).is_dir()
    with Session(project.engine) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "export.delete")).all()
    assert event.username == "boss" and event.detail["name"] == out.name
    with pytest.raises(ExportNotFound, match="No past export is named"):
        delete_export(out.name, actor="boss", project=project)


@pytest.mark.parametrize("role, active", [("scientist", True), ("annotator", True), ("reviewer", True),
                                          ("admin", False)])
def test_only_an_active_admin_lists_or_deletes(project, role: str, active: bool) -> None:
    add_user("someone", "someone-password", role, engine=project.engine)
    if not active:
        update_user("someone", active=False, engine=project.engine)
    out = made_export(project)
    with pytest.raises(NotAllowed, match="disabled" if not active else "Only admins may list or delete"):
        list_exports(actor="someone", project=project)
    with pytest.raises(NotAllowed):
        delete_export(out.name, actor="someone", project=project)
    assert (out / "dataset_card.json").is_file()


@pytest.mark.parametrize("name", ["..", ".", "", "../outside", "/etc", "a/b", "a\\b", "exports/../outside"])
def test_names_that_leave_the_exports_folder_are_refused(project, tmp_path: Path, name: str) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    outside = tmp_path / "medal-home" / "outside"
    outside.mkdir(parents=True)
    (outside / "keep.txt").write_text("not an export")
    with pytest.raises(InvalidExportName, match="not the name of an export"):
        delete_export(name, actor="boss", project=project)
    with pytest.raises(InvalidExportName):
        zip_for_download(name, actor="boss", project=project)
    assert (outside / "keep.txt").is_file()


def test_an_absolute_path_to_an_export_is_refused(project) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    out = made_export(project)
    with pytest.raises(InvalidExportName):
        delete_export(str(out), actor="boss", project=project)
    assert out.is_dir()


def test_links_in_the_exports_folder_are_neither_listed_nor_followed(project, tmp_path: Path) -> None:
    add_user("boss", "boss-password", "admin", engine=project.engine)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "dataset_card.json").write_text("{}")
    (tmp_path / "precious.zip").write_bytes(b"not ours")
    exports = exports_folder(project=project)
    (exports / "link").symlink_to(outside, target_is_directory=True)
    aged(tmp_path / "precious.zip", 3 * 3600)
    (exports / "old.zip").symlink_to(tmp_path / "precious.zip")
    assert list_exports(actor="boss", project=project) == []
    with pytest.raises(InvalidExportName, match="is a link"):
        delete_export("link", actor="boss", project=project)
    assert sweep_zips(project=project) == []
    assert (outside / "dataset_card.json").is_file() and (tmp_path / "precious.zip").read_bytes() == b"not ours"


def test_a_download_zip_is_deleted_once_read(project) -> None:
    add_user("sci", "sci-password", "scientist", engine=project.engine)
    out = made_export(project, deidentify=True)
    data = zip_for_download(out.name, actor="sci", project=project)
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        assert {"coco.json", "dataset_card.json"} <= set(bundle.namelist())
    assert sorted(p.name for p in exports_folder(project=project).iterdir()) == [out.name]  # no zip left on disk


def test_a_download_checks_the_account_as_it_is_now(project) -> None:
    add_user("sci", "sci-password", "scientist", engine=project.engine)
    add_user("boss", "boss-password", "admin", engine=project.engine)
    kept = made_export(project)  # keeps identity
    with pytest.raises(NotAllowed, match="keep patient identity"):
        zip_for_download(kept.name, actor="sci", project=project)
    assert zip_for_download(kept.name, actor="boss", project=project)
    update_user("boss", active=False, engine=project.engine)
    with pytest.raises(NotAllowed, match="disabled"):
        zip_for_download(kept.name, actor="boss", project=project)
    assert sorted(p.name for p in exports_folder(project=project).iterdir()) == [kept.name]


def test_zips_older_than_the_retention_are_swept(project) -> None:
    exports = exports_folder(project=project)
    retention = ZIP_RETENTION.total_seconds()
    (exports / "medal-export-folder").mkdir()
    folder = aged(exports / "medal-export-folder", 10 * 24 * 3600)
    for name in ("medal-export-old.zip", "medal-export-x.download-abc.zip", "medal-export-new.zip"):
        (exports / name).write_bytes(b"PK")
    old, crashed = aged(exports / "medal-export-old.zip", retention + 60), aged(
        exports / "medal-export-x.download-abc.zip", retention + 60)
    fresh = aged(exports / "medal-export-new.zip", retention - 60)
    assert sweep_zips(project=project) == ["medal-export-old.zip", "medal-export-x.download-abc.zip"]
    assert fresh.is_file() and not old.exists() and not crashed.exists() and folder.is_dir()


def test_cli_lists_and_deletes_exports(project, capsys) -> None:
    out = made_export(project)
    assert main(["exports", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["images"], row["deidentified"]) == (out.name, 1, False)
    assert main(["exports", "list"]) == 0 and out.name in capsys.readouterr().out
    assert main(["exports", "delete", "../medal.db"]) == 2
    assert "not the name of an export" in capsys.readouterr().err
    assert main(["exports", "delete", out.name]) == 0 and not out.exists()
    assert main(["exports", "delete", out.name]) == 2 and "No past export" in capsys.readouterr().err
