"""The ``medal`` command line, in-process and through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from labeling.cli.main import main
from labeling.dicom import Window
from labeling.labels import render_image
from storage import head_revision
from tests.conftest import pydicom_file


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_json_images_and_render(project, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "ct.dcm")
    (folder / "junk.dcm").write_bytes(b"junk" * 100)
    code, out, _ = run(capsys, "import", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["imported"] == 1 and report["images"] == 1 and report["duplicates"] == 0
    assert report["rejected"] == [{"path": str(folder / "junk.dcm"), "reason": "Not a DICOM, PNG, JPEG or TIFF file."}]

    code, out, _ = run(capsys, "images", "--json")
    (row,) = json.loads(out)
    assert set(row) == {"id", "path", "frame", "sop_instance_uid", "modality", "rows", "cols",
                        "patient_key", "study_date", "status", "probability", "uncertainty"}
    assert (row["path"], row["modality"], row["rows"], row["status"]) == (str(folder / "ct.dcm"), "CT", 128,
                                                                          "unlabeled")
    assert row["patient_key"].startswith("P") and "1CT1" not in row["patient_key"]  # not the PatientID

    code, out, _ = run(capsys, "render", "--out", str(tmp_path / "png"), str(row["id"]), "--window", "40,400")
    assert code == 0
    written = np.asarray(PILImage.open(tmp_path / "png" / f"{row['id']}.png"))
    assert np.array_equal(written, render_image(row["id"], Window(40, 400), project=project))

    code, _, err = run(capsys, "render", "--out", str(tmp_path / "png"), "99999")
    assert code == 2 and "no image 99999" in err
    code, _, err = run(capsys, "render", "--out", str(tmp_path / "png"), str(row["id"]), "--window", "40,0")
    assert code == 2 and "at least 1" in err

    code, out, _ = run(capsys, "import", str(folder), "--json")
    assert json.loads(out)["duplicates"] == 1 and json.loads(out)["images"] == 0
    code, out, _ = run(capsys, "problems", "--json")
    assert [p["path"] for p in json.loads(out)] == [str(folder / "junk.dcm")]


def test_console_script_is_installed(tmp_path: Path) -> None:
    medal = Path(sys.executable).with_name("medal")
    assert medal.exists(), "install the project (pip install -e .) to get the medal command"
    env = {"MEDAL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(medal), "import", "--json", str(pydicom_file("MR_small.dcm"))],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"] == 1
    assert "Traceback" not in result.stderr
    result = subprocess.run([str(medal), "db", "current"], capture_output=True, text=True, env=env, timeout=60)
    assert f"revision {head_revision()}" in result.stdout


def test_users_annotations_and_next(project, make_demo, capsys) -> None:
    make_demo(3)
    assert run(capsys, "user", "add", "ann", "--password", "ann-password", "--role", "reviewer")[0] == 0
    code, _, err = run(capsys, "user", "add", "ann", "--password", "ann-password")
    assert code == 2 and "exists already" in err
    code, out, _ = run(capsys, "user", "list", "--json")
    users = {u["name"]: u for u in json.loads(out)}
    assert users["ann"]["role"] == "reviewer" and users["demo"]["role"] == "admin"
    assert not users["demo-oracle"]["can_log_in"]

    code, out, _ = run(capsys, "annotations", "--json")
    annotations = json.loads(out)
    assert code == 0 and len(annotations) == 3
    first = annotations[0]
    assert set(first) >= {"id", "image_id", "annotator", "image_label", "created_at", "version", "regions"}
    assert first["annotator"] == "demo-oracle" and first["version"] == 1
    for region in first["regions"]:
        assert set(region) == {"label", "shape", "bbox", "points"} and len(region["bbox"]) == 4
        xs = [p[0] for p in region["points"]]
        assert region["bbox"][0] == min(xs)

    code, out, _ = run(capsys, "next", "-n", "5", "--user", "ann", "--json")
    queue = json.loads(out)
    assert code == 0 and len(queue) == 5 and set(queue[0]) == {"image_id", "priority"}
    labeled = {a["image_id"] for a in annotations}
    assert not labeled & {item["image_id"] for item in queue}
    code, _, err = run(capsys, "next", "--user", "mallory")
    assert code == 2 and "no user 'mallory'" in err


def test_bench_next_prints_figures(project, tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "bench", "next", "--images", "1000", "--saves", "20", "--json",
                       "--out", str(tmp_path / "next.json"))
    result = json.loads(out)
    assert code == 0 and result["images"] == 1000 and 0 < result["p50_ms"] <= result["p95_ms"]
    assert json.loads((tmp_path / "next.json").read_text()) == result
    code, out, _ = run(capsys, "bench", "next", "--images", "1000", "--saves", "20", "--readers", "2", "--json")
    assert code == 0 and json.loads(out)["readers"] == 2


def test_bench_next_runs_on_postgresql(postgres_url: str, capsys) -> None:
    code, out, _ = run(capsys, "bench", "next", "--images", "1000", "--saves", "20", "--readers", "2", "--json",
                       "--database-url", postgres_url)
    result = json.loads(out)
    assert code == 0 and (result["database"], result["images"], result["readers"]) == ("postgresql", 1000, 2)


def test_mistakes_in_learning_commands_are_one_line(project, capsys) -> None:
    code, _, err = run(capsys, "train", "--strategy", "nonsense")  # was a ValueError traceback
    assert code == 2 and err.strip() == ("medal: Unknown strategy 'nonsense'; choose from default, random, "
                                         "least_confidence, margin, entropy, bald, diverse, uncertain-diverse.")
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "models", "activate", "7")
    assert code == 2 and "There is no model version 7" in err and len(err.strip().splitlines()) == 1


def test_train_and_score_reuse_the_job_already_waiting(project, capsys) -> None:
    from learner import jobs

    first = json.loads(run(capsys, "train", "--json")[1])
    again = json.loads(run(capsys, "train", "--json")[1])  # twelve of these piled up twelve jobs
    assert first == {"job_id": again["job_id"], "new": True} and again["new"] is False
    other = json.loads(run(capsys, "train", "--strategy", "random", "--json")[1])
    score = json.loads(run(capsys, "score", "--json")[1])
    assert other["new"] and score["new"] and len({first["job_id"], other["job_id"], score["job_id"]}) == 3
    assert len(jobs.list_jobs(engine=project.engine)) == 3


def test_user_add_reads_the_password_instead_of_taking_it_on_the_command_line(project, capsys, monkeypatch) -> None:
    import io

    from labeling.access import authenticate

    monkeypatch.setattr("sys.stdin", io.StringIO("zoe-password\n"))
    code, out, _ = run(capsys, "user", "add", "zoe", "--role", "scientist")
    assert code == 0 and "Added zoe (scientist)" in out
    assert authenticate("zoe", "zoe-password", engine=project.engine).role.value == "scientist"


def test_the_browser_is_shown_no_tracebacks() -> None:
    from streamlit import config as streamlit_config

    streamlit_config.get_config_options(force_reparse=True)  # reads ./.streamlit/config.toml
    assert streamlit_config.get_option("client.showErrorDetails") == "none"


def test_user_unlock_clears_failed_log_ins(project, capsys) -> None:
    from labeling.access import LoginFailed, add_user, authenticate
    from labeling.access.accounts import FREE_FAILURES

    add_user("ann", "ann-password", engine=project.engine)
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginFailed):
            authenticate("ann", "wrong", engine=project.engine)
    with pytest.raises(LoginFailed, match="try again"):
        authenticate("ann", "ann-password", engine=project.engine)
    assert run(capsys, "user", "unlock", "ann")[0] == 0
    assert authenticate("ann", "ann-password", engine=project.engine).name == "ann"
