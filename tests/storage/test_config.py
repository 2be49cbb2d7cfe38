"""Settings come from one place (storage.config), and work on another project never touches the configured one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labeling.intake import import_paths
from labeling.labels import list_images
from storage import Project, current_project
from storage.config import Config, InvalidConfig
from tests.conftest import pydicom_file

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_any_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Config.from_environ({})
    assert settings.home == tmp_path / "medal-data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'medal-data' / 'medal.db'}"
    assert (settings.lease_minutes, settings.heartbeat_timeout_s, settings.worker, settings.user) == (15, 30, "auto",
                                                                                                      "demo")


@pytest.mark.parametrize("name, value", [("MEDAL_LEASE_MINUTES", "soon"), ("MEDAL_LEASE_MINUTES", "0"),
                                         ("MEDAL_HEARTBEAT_TIMEOUT_S", "-3"), ("MEDAL_WORKER", "sometimes"),
                                         ("MEDAL_MAX_MEGAPIXELS", "lots")])
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(InvalidConfig, match=name):
        Config.from_environ({name: value})


def test_values_are_read_and_worker_off_has_synonyms() -> None:
    settings = Config.from_environ({"MEDAL_LEASE_MINUTES": "2.5", "MEDAL_WORKER": "external", "MEDAL_USER": "ann",
                                    "MEDAL_DATABASE_URL": "postgresql+psycopg://u@h/medal"})
    assert (settings.lease_minutes, settings.worker, settings.user) == (2.5, "off", "ann")
    assert settings.database_url == "postgresql+psycopg://u@h/medal"


def test_the_readme_documents_every_setting() -> None:
    read = set(re.findall(r'"(MEDAL_[A-Z_]+)"', (ROOT / "storage" / "config.py").read_text()))
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(MEDAL_[A-Z_]+)`", table, re.M))
    assert len(read) >= 6 and read == documented


def test_another_project_is_passed_down_not_switched_to(project, tmp_path: Path) -> None:
    other = Project.open(tmp_path / "other")
    try:
        report = import_paths([str(pydicom_file("CT_small.dcm"))], project=other)
        assert report.images == 1 and len(list_images(engine=other.engine)) == 1
        configured = current_project()
        assert configured.home != other.home and list_images(engine=configured.engine) == []
        assert not any(configured.cache_dir.rglob("*.png")) and any(other.cache_dir.rglob("*.png"))
    finally:
        other.close()


def test_project_files_are_owner_only(tmp_path: Path) -> None:
    import stat

    from labeling.export.run import zip_folder

    home = tmp_path / "home-made-by-an-older-medal"
    home.mkdir()
    home.chmod(0o755)
    project = Project.open(home)
    try:
        modes = {path.name: stat.S_IMODE(path.stat().st_mode)
                 for path in (home, home / "medal.db", project.cache_dir, project.folder("exports"))}
        assert modes == {home.name: 0o700, "medal.db": 0o600, "cache": 0o700, "exports": 0o700}
        (project.folder("exports", "one") / "card.json").write_text("{}")
        archive = zip_folder(home / "exports" / "one", home / "exports" / "one.zip")
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    finally:
        project.close()


def test_the_readme_states_the_upload_limit_the_server_enforces() -> None:
    """The Import page's upload limit is Streamlit's server.maxUploadSize: what the README says is what runs."""
    import tomllib

    limit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    table = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert f"`server.maxUploadSize` ({limit} MB" in table and limit <= 1024
