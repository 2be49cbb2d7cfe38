"""The Train page in a real browser follows a training job to its end: once the job finishes, the new
version shows without navigating away (it kept saying "No model yet" until the user left and came back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.access import add_user
from labeling.intake import create_demo
from learner import jobs, run_worker
from storage import Project
from tests.support.app_server import CHROMIUM, served, submit_log_in

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is missing: the README's test command installs it")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, Project]]:
    home = tmp_path / "medal-home"
    project = Project.open(home)
    create_demo(labeled=40, project=project)
    add_user("sam", "sam-password", "scientist", engine=project.engine)
    with served(home, MEDAL_WORKER="off") as url:  # this test runs the worker itself
        yield url, project
    project.close()


def test_the_train_page_shows_the_new_version_when_its_job_ends(app, chromium) -> None:
    url, project = app
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/train")
    submit_log_in(page, "sam", "sam-password")
    page.get_by_text("No model yet").wait_for()
    job = jobs.enqueue("train", {"config": {"max_epochs": 3, "min_steps": 10, "size": 32}}, engine=project.engine)
    page.get_by_text(f"Job {job} · train").first.wait_for()  # the page watches it
    run_worker(project=project, once=True)
    page.get_by_role("heading", name="Active: version 1").wait_for()  # no navigation
    assert not page.get_by_text("No model yet").is_visible()
    page.close()
