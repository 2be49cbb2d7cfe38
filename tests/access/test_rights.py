"""Rights are checked in the library against the account as it is now, not as it was at log-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.access import NotAllowed, add_user, update_user
from labeling.export import ExportOptions, export_dataset
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_images, save_annotation, save_class, skip, undo_last_save
from learner import jobs, set_auto_retrain_every
from tests.conftest import pydicom_file

BOX = [RegionInput("Cancerous", "rect", [[4, 4], [20, 4], [20, 20], [4, 20]])]


@pytest.fixture
def images(project) -> list[int]:
    import_paths([str(pydicom_file("CT_small.dcm")), str(pydicom_file("MR_small.dcm"))], project=project)
    return [image.id for image in list_images(engine=project.engine)]


def test_a_disabled_annotator_can_no_longer_label(project, images: list[int]) -> None:
    add_user("ann", "ann-password", "annotator", engine=project.engine)
    save_annotation(images[0], "ann", BOX, image_label="cancerous", engine=project.engine)
    update_user("ann", active=False, actor="boss", engine=project.engine)
    for action in (lambda: save_annotation(images[1], "ann", BOX, image_label="cancerous", engine=project.engine),
                   lambda: skip(images[1], "ann", "not sure", engine=project.engine),
                   lambda: undo_last_save("ann", engine=project.engine)):
        with pytest.raises(NotAllowed, match="disabled"):
            action()
    save_annotation(images[1], "demo-oracle", BOX,
                    engine=project.engine)  # a name that is no account (an importer, the oracle) still can


def test_a_demoted_scientist_can_no_longer_export_train_or_edit(project, images: list[int], tmp_path: Path) -> None:
    add_user("sam", "sam-password", "scientist", engine=project.engine)
    save_annotation(images[0], "sam", BOX, image_label="cancerous", engine=project.engine)
    assert export_dataset(tmp_path / "ok", ExportOptions(["csv"], deidentify=True), actor="sam",
                          project=project).images == 1
    assert jobs.enqueue("train", actor="sam", engine=project.engine) > 0
    update_user("sam", role="annotator", engine=project.engine)
    for action in (lambda: export_dataset(tmp_path / "no", ExportOptions(["csv"], deidentify=True), actor="sam",
                                          project=project),
                   lambda: jobs.enqueue("train", actor="sam",
                                        engine=project.engine), lambda: set_auto_retrain_every(50, actor="sam",
                                                                                               engine=project.engine),
                   lambda: save_class("Benign", "#4363d8", actor="sam", engine=project.engine),
                   lambda: add_user("eve", "eve-password", "admin", actor="sam", engine=project.engine)):
        with pytest.raises(NotAllowed, match="is now an annotator"):
            action()
    assert not (tmp_path / "no").exists()


def test_only_admins_export_identity(project, images: list[int], tmp_path: Path) -> None:
    add_user("sam", "sam-password", "scientist", engine=project.engine)
    add_user("boss", "boss-password", "admin", engine=project.engine)
    save_annotation(images[0], "sam", BOX, image_label="cancerous", engine=project.engine)
    with pytest.raises(NotAllowed, match="keep patient identity"):
        export_dataset(tmp_path / "sam", ExportOptions(["csv"], deidentify=False), actor="sam", project=project)
    assert export_dataset(tmp_path / "boss", ExportOptions(["csv"], deidentify=False), actor="boss",
                          project=project).images == 1


def test_only_importers_import_and_server_folders_are_an_allow_list(project, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from labeling.intake import save_uploads, server_folder
    from labeling.intake.ingest import FolderNotAllowed

    for name, role in (("ann", "annotator"), ("sam", "scientist"), ("boss", "admin")):
        add_user(name, f"{name}-password", role, engine=project.engine)
    with pytest.raises(NotAllowed, match="import images"):
        save_uploads([("a.dcm", b"x")], actor="ann", project=project)
    with pytest.raises(NotAllowed, match="import images"):
        import_paths([str(pydicom_file("CT_small.dcm"))], actor="ann", project=project)
    assert import_paths([str(pydicom_file("CT_small.dcm"))], actor="sam", project=project).images == 1
    allowed = tmp_path / "pacs"
    (allowed / "today").mkdir(parents=True)
    with pytest.raises(NotAllowed, match="folders on the server"):
        server_folder(str(allowed), actor="sam", engine=project.engine)
    with pytest.raises(FolderNotAllowed, match="none is set"):
        server_folder(str(allowed), actor="boss", engine=project.engine)
    monkeypatch.setenv("MEDAL_IMPORT_FOLDERS", str(allowed))
    assert server_folder(str(allowed / "today"), actor="boss", engine=project.engine) == allowed / "today"
    for outside in ("/etc/ssl", str(allowed / ".." / "elsewhere"), str(tmp_path / "pacs-copy")):
        with pytest.raises(FolderNotAllowed):
            server_folder(outside, actor="boss", engine=project.engine)
