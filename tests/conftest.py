"""Shared fixtures: a fresh project (MEDAL_HOME + SQLite file) per test, the demo project built once
per session and copied into a test's project, and DICOM helpers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest

from labeling.intake import create_demo, demo_folder
from labeling.intake.demo import apply_truth
from storage import Project, current_project, fix_patient_key_secret
from storage.db import dispose_engines

pytest_plugins = ("tests.support.postgres",)  # the postgres_url fixture: a throw-away PostgreSQL server

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A new, migrated project in a temporary MEDAL_HOME (what the app, the CLI and the worker of the test open
    too); yields it."""
    home = tmp_path / "medal-home"
    monkeypatch.setenv("MEDAL_HOME", str(home))
    monkeypatch.delenv("MEDAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDAL_WORKER", "off")  # tests run workers themselves when they need one
    dispose_engines()
    yield current_project()
    dispose_engines()


def pydicom_file(name: str) -> Path:
    return TEST_FILES / name


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project (336 images, no labels), built once per session; tests get copies of it."""
    template = Project.open(tmp_path_factory.mktemp("demo-template") / "medal-home")
    fix_patient_key_secret(template.engine, bytes(32))  # fixed patient keys: the cold-start order and the split repeat
    create_demo(project=template)
    template.close()
    return template.home


@pytest.fixture
def make_demo(project: Project, demo_template: Path) -> Callable[[int], int]:
    """``make_demo(labeled=N)``: the test's project becomes the demo (as ``medal demo --labeled N`` makes it)
    from a copy of the session's template; returns how many images were labeled. The images are the
    template's files, which no test changes."""
    def make(labeled: int = 0) -> int:
        home = project.home
        project.engine.dispose()  # its connections close; the engine (the one the app opens too) stays
        for suffix in ("", "-wal", "-shm"):
            (home / f"medal.db{suffix}").unlink(missing_ok=True)
            if (demo_template / f"medal.db{suffix}").exists():
                shutil.copy2(demo_template / f"medal.db{suffix}", home / f"medal.db{suffix}")
        shutil.copytree(demo_template / "cache", home / "cache", dirs_exist_ok=True)
        demo_folder(project=project).mkdir(parents=True, exist_ok=True)
        shutil.copy2(demo_template / "demo" / "truth.json", demo_folder(project=project) / "truth.json")
        truth = json.loads((demo_folder(project=project) / "truth.json").read_text())
        return apply_truth(labeled, truth, engine=project.engine) if labeled else 0

    return make


def lesion_truth(image_id: int, project: Project) -> dict | None:
    """The largest Cancerous true region of a demo image (``{"label", "bbox": [x, y, w, h], "points": [[x, y],
    ...]}``, image pixels), or None when it has none."""
    from labeling.labels import get_image

    truth = json.loads((demo_folder(project=project) / "truth.json").read_text())
    uid = get_image(image_id, engine=project.engine).sop_instance_uid
    regions = [r for r in truth.get(uid, {}).get("regions", []) if r["label"] == "Cancerous"]
    return max(regions, key=lambda r: r["bbox"][2] * r["bbox"][3]) if regions else None


def demo_lesion(modality: str, project: Project) -> tuple[int, dict]:
    """The first image of ``modality`` in a demo project with a Cancerous true region, and that region."""
    from labeling.labels import list_images

    for summary in list_images(engine=project.engine, modality=modality):
        if (region := lesion_truth(summary.id, project)) is not None:
            return summary.id, region
    raise AssertionError(f"no {modality} lesion in the demo")
