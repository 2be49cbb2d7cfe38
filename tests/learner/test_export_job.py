"""Export as a background job: the worker writes it with progress on the job, checks the asker's right as it is
when the job starts, leaves nothing half-written when it fails, and the Export page follows it to a download."""

from __future__ import annotations

import json

import pytest

from labeling.access import NotAllowed, add_user, update_user
from labeling.export import ExportOptions
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_images, save_annotation
from learner import export_job, get_job, queue_export, run_worker
from storage import Project
from tests.conftest import pydicom_file
from tests.support.pages import button, logged_in

SQUARE = [[4.0, 4.0], [20.0, 4.0], [20.0, 20.0], [4.0, 20.0]]


@pytest.fixture
def labeled(project: Project) -> Project:
    import_paths([str(pydicom_file(name)) for name in ("CT_small.dcm", "MR_small.dcm")], project=project)
    for image in list_images(engine=project.engine):
        save_annotation(image.id, "ann", [RegionInput("Cancerous", "rect", SQUARE)], image_label="cancerous",
                        engine=project.engine)
    return project


def _export_folders(project: Project) -> list[str]:
    return sorted(path.name for path in project.folder("exports").iterdir() if path.is_dir())


def test_the_worker_writes_a_queued_export(labeled: Project) -> None:
    add_user("boss", "boss-password", "admin", engine=labeled.engine)
    job_id = queue_export(ExportOptions(deidentify=False), actor="boss", engine=labeled.engine)
    assert run_worker(project=labeled, once=True) == 1
    job = get_job(job_id, engine=labeled.engine)
    assert job.status == "succeeded" and job.progress == 1.0, job.error
    assert job.result["images"] == 2 and job.result["deidentified"] is False
    card = json.loads((labeled.folder("exports") / job.result["name"] / "dataset_card.json").read_text())
    assert card["files"]["seg"]["written"] == 2


def test_the_right_is_checked_when_asked_and_again_when_the_job_starts(labeled: Project) -> None:
    add_user("sam", "sam-password", "scientist", engine=labeled.engine)
    with pytest.raises(NotAllowed):
        queue_export(ExportOptions(deidentify=False), actor="sam", engine=labeled.engine)  # identity: admins only
    job_id = queue_export(ExportOptions(deidentify=True), actor="sam", engine=labeled.engine)
    update_user("sam", role="annotator", engine=labeled.engine)  # demoted before a worker took the job
    run_worker(project=labeled, once=True)
    job = get_job(job_id, engine=labeled.engine)
    assert job.status == "failed" and "export datasets" in job.error
    assert _export_folders(labeled) == []  # nothing half-written left behind


def test_the_export_page_follows_a_background_export_to_its_download(labeled: Project,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_job, "BACKGROUND_EXPORT_IMAGES", 1)  # 2 labeled images: a "large" export
    admin = logged_in("boss", "admin", project=labeled).switch_page("labeling/ui/pages/export.py").run()
    button(admin, "Export").click().run()
    assert not admin.exception and not admin.error
    assert any("Exporting in the background" in bar.proto.text for bar in admin.get("progress"))
    assert not admin.get("link_button") and _export_folders(labeled) == []  # the page did not export itself
    run_worker(project=labeled, once=True)
    admin.run()
    assert not admin.exception and not admin.error
    assert "Exported 2 image(s)" in admin.success[0].value
    (link,) = admin.get("link_button")
    assert _export_folders(labeled)[0] in link.proto.label


def test_the_export_page_s_job_helpers_load_no_torch() -> None:
    """The Export page asks whether an export goes to the worker: that must not import torch into the page (it
    did through learner.loop, ~1 s and ~300 MB on the page's first run)."""
    import subprocess
    import sys

    probe = "import sys, learner; learner.export_in_background, learner.queue_export; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
