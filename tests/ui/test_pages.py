"""Page logic through Streamlit's AppTest, on a real project database (the viewer, a custom component, is
driven through its session-state key as the browser would report edits, and its data read from its element)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labeling.access import add_user, update_user
from labeling.intake import import_paths
from labeling.labels import RegionInput, get_image, list_annotations, list_classes, list_images, save_annotation
from labeling.ui.access.session import SEEN_KEY
from labeling.ui.parts import NAME_KEY
from labeling.ui.parts.reading_station import VIEWER_KEY
from learner import jobs, prediction_for, registry, run_worker
from learner import settings as learning_settings
from storage import current_project
from tests.conftest import demo_lesion, pydicom_file
from tests.support.pages import (
    APP,
    ask_outline,
    button,
    draw_rect,
    follow_link,
    label_state,
    logged_in,
    rect,
    report_regions,
    viewer_data,
)

ROOT = Path(__file__).resolve().parents[2]
RED = "#e6194b"


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    yield


@pytest.mark.parametrize("role, manages", [("annotator", False), ("reviewer", False), ("scientist", True),
                                          ("admin", True)])
def test_navigation_offers_each_role_only_its_pages(project, role: str, manages: bool) -> None:
    at = logged_in("someone", role, project=project)
    for page in ("label.py", "images.py", "train.py"):
        at.switch_page(f"labeling/ui/pages/{page}").run()
        assert not at.exception, (role, page)
    for page in ("import_files.py", "export.py", "settings.py"):
        if manages:
            at.switch_page(f"labeling/ui/pages/{page}").run()
            assert not at.exception, (role, page)
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"labeling/ui/pages/{page}")
    for page, roles in (("team.py", {"reviewer", "scientist", "admin"}), ("review.py", {"reviewer", "admin"}),
                        ("audit.py", {"admin"})):
        if role in roles:
            at.switch_page(f"labeling/ui/pages/{page}").run()
            assert not at.exception, (role, page)
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"labeling/ui/pages/{page}")


def test_a_session_follows_the_account_as_it_is_now(project) -> None:
    at = logged_in("sam", "scientist", project=project)
    at.switch_page("labeling/ui/pages/export.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Export"]
    update_user("sam", role="annotator", actor="boss", engine=project.engine)  # demoted while the page is open
    at.run()
    assert not at.exception and "Export" not in [t.value for t in at.title]  # the page is gone with the role
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("labeling/ui/pages/export.py")
    update_user("sam", active=False, actor="boss", engine=project.engine)  # disabled: the next click ends the session
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"] and "account" not in at.session_state
    assert "has been disabled" in at.info[0].value


def test_an_idle_session_is_logged_out(project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAL_SESSION_IDLE_MINUTES", "30")
    at = logged_in(project=project)
    at.session_state[SEEN_KEY] = time.time() - 29 * 60
    at.run()
    assert "account" in at.session_state  # 29 minutes: still logged in
    at.session_state[SEEN_KEY] = time.time() - 31 * 60
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"] and "account" not in at.session_state
    assert "logged out after 30 minutes without activity" in at.info[0].value


def test_nothing_but_login_without_an_account(project) -> None:
    add_user("ann", "ann-password", "annotator", engine=project.engine)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    at.text_input[0].set_value("ann")
    at.text_input[1].set_value("wrong-password")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong username or password."
    at.text_input[0].set_value("nobody")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong username or password."
    assert "account" not in at.session_state


def test_label_saves_region_in_image_pixels_then_next(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    first = label_state(at).image_id
    data = viewer_data(at)
    assert data["image_id"] == first and data["slices"][data["slice_index"]]["url"] == f"/medal/pixels/{first}"
    draw_rect(at, 30, 40, 50, 20)
    assert "Cancerous rect at (30, 40) 50×20 px" in [c.value for c in at.caption]
    button(at, "Save & next").click().run()
    assert not at.exception
    (saved,) = list_annotations(engine=project.engine, annotator="ann")
    assert saved.image_id == first and saved.regions[0].bbox == pytest.approx([30, 40, 50, 20], abs=0.2)
    assert label_state(at).image_id != first

    button(at, "Back").click().run()
    assert label_state(at).image_id == first
    assert any("Regions (1)" in m.value for m in at.markdown)
    assert viewer_data(at)["regions"][str(first)][0]["points"][0] == [30, 40]  # the saved box is back on screen
    at.radio(key=f"image-label-{label_state(at).revision}-{label_state(at).label_version}").set_value("cancerous").run()
    button(at, "Save & next").click().run()
    versions = list_annotations(engine=project.engine, annotator="ann", include_history=True)
    assert [(a.version, a.is_current, a.image_label) for a in versions] == [(1, False, None), (2, True, "cancerous")]

    button(at, "Undo").click().run()
    assert label_state(at).image_id == first
    (current,) = list_annotations(engine=project.engine, annotator="ann")
    assert current.version == 1


def test_label_needs_a_region_or_label_and_skips_with_reason(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    first = label_state(at).image_id
    button(at, "Save & next").click().run()
    assert "Draw a region on any slice of the series or choose an image label" in at.error[0].value
    at.session_state["skip-reason"] = "artefact"
    at.run()
    button(at, "Skip").click().run()
    assert label_state(at).image_id != first
    skipped = get_image(first, engine=project.engine)
    assert skipped.status.value == "skipped" and skipped.skip_reason == "artefact"


def test_label_regions_deleted_or_reclassed_in_the_viewer_are_saved_so(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    image_id = label_state(at).image_id
    at.session_state[VIEWER_KEY] = {"ui": {"tool": "polygon", "class_name": "Healthy", "image_label": "none",
                                           "revision": label_state(at).revision, "image_id": image_id, "nonce": "1"}}
    at.run()
    assert (label_state(at).class_name, label_state(at).tool) == ("Healthy", "polygon")
    assert viewer_data(at)["class_name"] == "Healthy" and viewer_data(at)["tool"] == "polygon"
    report_regions(at, {image_id: [rect(10, 10, 60, 60, "Healthy"), rect(100, 100, 5, 5)]})
    assert any("Regions (2)" in m.value for m in at.markdown)
    report_regions(at, {image_id: [rect(10, 10, 60, 60, "Healthy")]})  # the second one deleted in the viewer
    assert any("Regions (1)" in m.value for m in at.markdown)
    button(at, "Save & next").click().run()
    (saved,) = list_annotations(engine=project.engine, annotator="ann")
    assert [(r.label, r.shape) for r in saved.regions] == [("Healthy", "rect")]


def test_label_outlines_a_nodule_from_a_rough_box_as_a_polygon_region(project, make_demo) -> None:
    from benchmarks.outline import dice

    make_demo(0)
    at = logged_in(project=project)
    image_id, truth = demo_lesion("CT", project)
    label_state(at).open_request = image_id
    at.run()
    image = get_image(image_id, engine=project.engine)
    draw_rect(at, 2, 2, 12, 10, "Healthy")  # drawn before: the outline joins it
    x, y, w, h = truth["bbox"]
    ask_outline(at, [x - 0.3 * w, y - 0.25 * h, 1.6 * w, 1.5 * h], "first")
    assert not at.exception and not at.error
    answer = viewer_data(at)["outline"]
    assert answer["nonce"] == "first" and answer["image_id"] == image_id
    region = answer["region"]
    assert (region["label"], region["shape"]) == ("Cancerous", "polygon") and 3 <= len(region["points"]) <= 48
    assert dice(region["points"], truth["points"], (image.rows, image.cols)) >= 0.8
    assert any("Regions (2)" in m.value for m in at.markdown)
    assert any("Cancerous polygon at" in c.value for c in at.caption)
    at.run()  # later runs see the same request and the older regions report again: added once, still there
    assert any("Regions (2)" in m.value for m in at.markdown)
    assert viewer_data(at)["outline"]["nonce"] == "first"
    button(at, "Save & next").click().run()
    assert not at.exception
    (saved,) = list_annotations(engine=project.engine, annotator="ann")
    assert saved.image_id == image_id and [(r.label, r.shape) for r in saved.regions] == [
        ("Healthy", "rect"), ("Cancerous", "polygon")]
    outline = saved.regions[1]
    assert dice(outline.points, truth["points"], (image.rows, image.cols)) >= 0.8
    assert 0.6 <= outline.bbox[2] * outline.bbox[3] / (w * h) <= 1.6  # its extent is the nodule's, not the box's
    assert viewer_data(at)["outline"] is None  # the next image starts without an answer


def test_label_a_box_that_cannot_be_outlined_shows_why(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    ask_outline(at, [10, 10, 0, 20], "flat")
    assert not at.exception
    assert len(at.error) == 1 and "has no area" in at.error[0].value
    assert viewer_data(at)["outline"]["error"] == at.error[0].value.replace("\\", "")
    assert any("Regions (0)" in m.value for m in at.markdown)
    at.run()  # shown once
    assert not at.error
    ask_outline(at, ["left", 1, 2, 3], "words")
    assert "is not four numbers" in at.error[0].value and not at.exception


def test_label_shows_the_series_and_saves_regions_drawn_on_other_slices(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    ct = list_images(engine=project.engine, modality="CT")[0]
    label_state(at).open_request = ct.id
    at.run()
    data = viewer_data(at)
    slices = data["slices"]
    assert len(slices) > 1 and slices[data["slice_index"]]["image_id"] == ct.id
    positions = [s["position"] for s in slices]
    assert positions == sorted(positions, reverse=True)  # head to feet along the normal
    # the demo's file has LUNG (-600/1500), the standard Lung: offered once (issue 21)
    assert data["units"] == "HU" and [p["name"] for p in data["standard_presets"]] == ["Mediastinum", "Bone", "Brain"]
    assert data["overlay"]["patient"] and data["overlay"]["study_date"] == ""  # no date for annotators
    other = next(s["image_id"] for s in slices if s["image_id"] != ct.id)
    report_regions(at, {ct.id: [rect(5, 5, 20, 20)], other: [rect(50, 60, 10, 12)]})
    button(at, "Save & next").click().run()
    assert not at.exception
    saved = {a.image_id: a for a in list_annotations(engine=project.engine, annotator="ann")}
    assert set(saved) == {ct.id, other}
    assert saved[other].regions[0].bbox == pytest.approx([50, 60, 10, 12], abs=0.01)


def test_label_remembers_the_window_per_modality(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    first, second = (image.id for image in list_images(engine=project.engine, modality="CT")[:2])
    label_state(at).open_request = first
    at.run()
    assert viewer_data(at)["window"] is None  # the file's own window to begin with
    at.session_state[VIEWER_KEY] = {"window": {"modality": "CT", "center": -600, "width": 1500}}
    at.run()
    label_state(at).open_request = second
    at.run()
    assert viewer_data(at)["window"] == {"center": -600.0, "width": 1500.0}


def test_header_shows_annotators_only_what_a_reader_needs(project, tmp_path: Path) -> None:
    shutil.copy(pydicom_file("CT_small.dcm"), tmp_path / "ct.dcm")
    import_paths([tmp_path], project=project, workers=1)
    annotator = logged_in(project=project)
    names = {row["name"]: row["value"] for row in annotator.dataframe[0].value.to_dict("records")}
    assert "Patient's Name" not in names and "Patient ID" not in names and "Study Date" not in names
    assert names["Modality"] == "CT"
    button(annotator, "Log out").click().run()  # gives the image back
    assert annotator.text_input[0].label == "Username"
    admin = logged_in("boss", "admin", project=project)
    rows = admin.dataframe[0].value.to_dict("records")
    names = {row["name"]: row["value"] for row in rows}
    assert names["Patient's Name"] == "CompressedSamples^CT1"
    assert rows[0]["name"] == "Modality"  # what a reader looks at first comes first, whatever the tag order


def test_images_page_filters_thumbnails_open_and_timeline(project, make_demo) -> None:
    make_demo(4)
    at = logged_in("boss", "admin",
                   project=project)  # every account in the annotator filter, study dates in the timeline
    at.switch_page("labeling/ui/pages/images.py").run()
    assert not at.exception and at.title[0].value == "Images"
    assert at.caption[0].value == "336 image(s)"
    at.selectbox[0].set_value("MG").run()
    assert at.caption[0].value == "84 image(s)"
    at.selectbox[0].set_value("All")
    at.selectbox[2].set_value("demo-oracle").run()
    assert at.caption[0].value == "4 image(s)"
    assert len(at.get("image")) == 4
    timeline = at.dataframe[-1].value
    assert len(timeline) == 3 and list(timeline["study"]) == sorted(timeline["study"])
    wanted = follow_link(at, "Open in Label")
    assert label_state(at).image_id == wanted


def test_import_page_lists_refused_files_and_folder_is_admin_only(project, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "bad.dcm").write_bytes(b"\x00" * 300)
    at = logged_in("sam", "scientist", project=project)
    at.switch_page("labeling/ui/pages/import_files.py").run()
    assert at.text_input[0].disabled
    admin = logged_in("boss", "admin", project=project)
    admin.switch_page("labeling/ui/pages/import_files.py").run()
    admin.text_input[0].set_value("/etc/ssl").run()  # not among the folders the server allows
    button(admin, "Import").click().run()
    assert "is not inside a folder this server imports from" in admin.error[0].value
    monkeypatch.setenv("MEDAL_IMPORT_FOLDERS", str(tmp_path))
    admin.text_input[0].set_value(str(folder)).run()
    button(admin, "Import").click().run()
    assert not admin.exception
    assert "1 refused" in admin.success[0].value
    assert list(admin.dataframe[0].value["reason"]) == ["Not a DICOM, PNG, JPEG or TIFF file."]


def test_settings_taxonomy_and_users(project) -> None:
    at = logged_in("sci", "scientist", project=project)
    at.switch_page("labeling/ui/pages/settings.py").run()
    assert [h.value for h in at.subheader] == ["Label classes"]
    at.text_input[0].set_value("Benign")
    at.color_picker[0].set_value("#e6194b")
    button(at, "Save class").click().run()
    assert "Cancerous has colour #e6194b already" in at.error[0].value
    at.color_picker[0].set_value("#4363d8")
    at.text_input[1].set_value("3")
    button(at, "Save class").click().run()
    assert [c.name for c in list_classes(engine=project.engine)] == ["Cancerous", "Healthy", "Benign"]

    admin = logged_in("boss", "admin", project=project)
    admin.switch_page("labeling/ui/pages/settings.py").run()
    assert "Users" in [h.value for h in admin.subheader]
    form_inputs = [t for t in admin.text_input if t.label in ("User name", "Initial password")]
    form_inputs[0].set_value("carol")
    form_inputs[1].set_value("carol-password")
    button(admin, "Add user").click().run()
    assert "carol" in list(admin.dataframe[1].value["name"])


def test_export_page_lets_admins_delete_past_exports_and_sweeps_old_zips(project) -> None:
    import_paths([str(pydicom_file("CT_small.dcm"))], project=project)
    for image in list_images(engine=project.engine):
        save_annotation(image.id, "ann", [RegionInput("Cancerous", "rect", [[4, 4], [20, 4], [20, 20], [4, 20]])],
                        image_label="cancerous", engine=project.engine)
    exports = current_project().folder("exports")
    stale, recent = exports / "medal-export-stale.zip", exports / "medal-export-recent.zip"
    for archive, age in ((stale, 2 * 3600), (recent, 60)):
        archive.write_bytes(b"PK")
        os.utime(archive, (time.time() - age, time.time() - age))
    at = logged_in("boss", "admin", project=project)
    at.switch_page("labeling/ui/pages/export.py").run()
    assert not stale.exists() and recent.exists()  # opening the page sweeps zips past their retention
    assert "None on the server." in [c.value for c in at.caption]
    at.toggle[0].set_value(False)  # an admin may keep identity
    at.button[0].click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    name = at.session_state[NAME_KEY]
    assert "Past exports" in [s.value for s in at.subheader]
    assert any(m.value.startswith(f"{name} · ") and "1 image(s)" in m.value and "keeps identity" in m.value
               for m in at.markdown)
    button(at, "Delete").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert not (exports / name).exists() and NAME_KEY not in at.session_state and not at.success
    assert "None on the server." in [c.value for c in at.caption]


def test_train_page_trains_shows_versions_and_rolls_back(project, make_demo) -> None:
    make_demo(40)
    annotator = logged_in(project=project)
    annotator.switch_page("labeling/ui/pages/train.py").run()
    assert "No model yet" in annotator.info[0].value
    assert "Train now" not in [b.label for b in annotator.button]  # annotators only watch

    at = logged_in("sam", "scientist", project=project)
    at.switch_page("labeling/ui/pages/train.py").run()
    strategy_box = next(s for s in at.selectbox if s.label == "Query strategy")
    assert strategy_box.value == "default" and "bald" in strategy_box.options
    strategy_box.set_value("least_confidence").run()
    assert learning_settings.strategy(engine=project.engine) == "least_confidence"
    button(at, "Train now").click().run()
    (job,) = jobs.list_jobs(engine=project.engine)
    assert job.kind == "train" and job.status == "queued"
    bars = at.get("progress")
    assert len(bars) == 1 and f"Job {job.id} · train · queued" in bars[0].proto.text
    assert "No worker is running" in at.warning[0].value  # MEDAL_WORKER=off in tests: nobody would run it
    for _ in range(2):  # two versions to compare (small, quick ones)
        jobs.enqueue("train", {"config": {"max_epochs": 3, "min_steps": 10, "size": 32}}, engine=project.engine)
    jobs.cancel(job.id, engine=project.engine)
    run_worker(project=project, once=True)
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "Active: version 2"
    table = at.dataframe[0].value
    assert list(table["version"]) == [2, 1] and list(table["active"]) == [True, False]
    assert {"auc", "sensitivity", "specificity", "ece", "labels"} <= set(table.columns)
    next(s for s in at.selectbox if s.label == "Version").set_value(1).run()
    button(at, "Activate this version (roll back)").click().run()
    assert registry.active_version(engine=project.engine).id == 1
    assert "Version 1 is active" in at.success[-1].value
    assert jobs.pending("score", engine=project.engine) is not None  # the queue is re-ranked with it


def test_label_shows_the_model_and_accepts_proposals(project, make_demo) -> None:
    """Proposals are drawn (dashed) before the reader decides, as the quick outline of the lesion each coarse
    heatmap box points at (issue 21: 4×4 to 20×12 px boxes on 13–28 px lesions; issue 23: the reader saw the box
    and got the outline only on Accept); accepted, those outlines are added."""
    from skimage.draw import polygon as fill_polygon

    from tests.conftest import lesion_truth

    make_demo(40)
    jobs.enqueue("train", {"config": {"max_epochs": 3, "min_steps": 10, "size": 32}}, engine=project.engine)
    run_worker(project=project, once=True)
    at = logged_in(project=project)
    image, truth = next((image, truth) for image in (get_image(s.id, engine=project.engine) for s in
                                                     list_images(engine=project.engine, modality="CT",
                                                                 status="unlabeled"))
                        if (truth := lesion_truth(image.id, project)) and prediction_for(image.id, engine=project.engine))
    prediction = prediction_for(image.id, engine=project.engine)
    heat = np.zeros((64, 64), np.float16)
    x, y, w, h = truth["bbox"]
    cx, cy = int((x + w / 2) * 64 / image.cols), int((y + h / 2) * 64 / image.rows)
    heat[cy - 1:cy + 1, cx - 1:cx + 1] = 0.95  # a coarse hot spot on the lesion: a 2×2-cell box, as a heatmap gives
    np.save(prediction.heatmap_path, heat)
    label_state(at).open_request = image.id
    at.run()
    assert "probability cancerous" in at.metric[0].label
    assert any("Proposed: 1 region(s)" in c.value for c in at.caption)
    (pending,) = viewer_data(at)["proposals"]["regions"]  # drawn before the reader decides

    def mask(points: list[list[float]]) -> np.ndarray:
        out = np.zeros((image.rows, image.cols), bool)
        rr, cc = fill_polygon([p[1] for p in points], [p[0] for p in points], out.shape)
        out[rr, cc] = True
        return out

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        return float((a & b).sum() / (a | b).sum())

    button(at, "Accept").click().run()
    assert not at.exception
    (accepted,) = viewer_data(at)["regions"][str(image.id)]
    lesion = mask(truth["points"])
    assert accepted["shape"] == "polygon" and viewer_data(at)["proposals"] is None
    assert iou(mask(accepted["points"]), lesion) >= 0.7 and accepted["points"] == pending["points"]
    assert not any(b.label == "Accept" for b in at.button)  # accepted once: not offered again
    label_state(at).open_request = image.id  # reopen: the proposal can be rejected instead
    at.run()
    button(at, "Reject").click().run()
    assert not any("Proposed:" in c.value for c in at.caption) and viewer_data(at)["proposals"] is None


def test_a_deleted_cache_does_not_break_the_label_page(project, make_demo) -> None:
    from sqlmodel import Session

    from storage import ModelVersion, Prediction

    make_demo(0)
    at = logged_in(project=project)
    image_id = label_state(at).image_id
    with Session(project.engine) as session:
        version = ModelVersion(checkpoint_path="v1.pt", metrics={"threshold": 0.5}, config={}, active=True)
        session.add(version)
        session.flush()
        session.add(Prediction(model_version_id=version.id, image_id=image_id, probability=0.9, uncertainty=0.3,
                               heatmap_path=str(ROOT / "no-such-cache" / f"{image_id}.npy")))  # deleted with the cache
        session.commit()
    at.run()
    assert not at.exception and "probability cancerous" in at.metric[0].label
    assert at.metric[0].value == "0.90" and "Model sure." in [c.value for c in at.caption]  # one number, in words
    assert "0.3" not in " ".join(c.value for c in at.caption)  # no second, contradicting number
    assert "Show heatmap" not in [t.label for t in at.toggle] and not any("Proposed" in c.value for c in at.caption)


def test_the_label_page_says_when_the_quick_outline_is_the_one_learnt_for_this_modality(project, make_demo) -> None:
    """The reader is told the quick outline was learnt from the project's outlines of the image's modality, and how
    it did, only where the active version uses it for that modality; the modality, DICOM text, shown as text."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sqlmodel import Session

    from labeling.labels import OutlineModel, outline_file, save_outline_models
    from storage import Image, ModelVersion, Prediction

    make_demo(0)
    at = logged_in(project=project)
    image_id = label_state(at).image_id
    classifier = HistGradientBoostingClassifier(max_iter=2).fit(np.arange(20.0)[:, None], np.arange(20) % 2)
    checkpoint = project.folder("models") / "v1.pt"
    with Session(project.engine) as session:
        image = session.get(Image, image_id)
        image.modality = "CT *bold*"
        session.add(image)
        version = ModelVersion(checkpoint_path=str(checkpoint), metrics={"threshold": 0.5}, config={}, active=True)
        session.add(version)
        session.flush()
        session.add(Prediction(model_version_id=version.id, image_id=image_id, probability=0.9, uncertainty=0.3))
        session.commit()
    save_outline_models({"MR": OutlineModel(classifier, 40, 0.81, 0.70, 10)}, outline_file(checkpoint))
    at.run()
    assert not at.exception and not any("Quick outline (o) learnt" in c.value for c in at.caption)  # not for CT
    save_outline_models({"CT *bold*": OutlineModel(classifier, 40, 0.81, 0.70, 10)}, outline_file(checkpoint))
    at.run()
    (note,) = [c.value for c in at.caption if "Quick outline (o) learnt" in c.value]
    assert "40 outlines of CT \\*bold\\* in this project" in note  # as text, not Markdown
    assert "Dice 0.81" in note and "classic outline 0.70" in note


def identifying_ct(folder: Path) -> Path:
    """CT_small with identity in free text: image comments, a private tag and the sending station."""
    import pydicom

    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.ImageComments = "Follow-up for Jane Doe, MRN 12345"
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "Jane Doe 12345")
    ds.StationName = "JANE-DOE-WARD"
    path = folder / "identity.dcm"
    ds.save_as(path)
    return path


@pytest.mark.parametrize("role, sees", [("annotator", False), ("scientist", False), ("reviewer", True),
                                        ("admin", True)])
def test_roles_without_identity_see_no_identity(project, tmp_path: Path, role: str, sees: bool) -> None:
    import_paths([str(identifying_ct(tmp_path))], project=project)
    (tmp_path / "bad.dcm").write_bytes(b"\x00" * 300)
    import_paths([str(tmp_path / "bad.dcm")], project=project)
    at = logged_in("someone", role, project=project)
    header = at.dataframe[0].value
    shown = " ".join(str(v) for v in header["value"]) + " " + " ".join(header["name"])
    assert "Modality" in set(header["name"]) and "CT" in set(header["value"])
    assert ("Jane Doe" in shown) is sees and ("JANE-DOE-WARD" in shown) is sees and ("Patient's Name" in shown) is sees
    at.switch_page("labeling/ui/pages/images.py").run()
    assert ("path" in at.dataframe[0].value.columns) is sees
    if role in ("scientist", "admin"):  # the roles that import
        at.switch_page("labeling/ui/pages/import_files.py").run()
        assert ("file" in at.dataframe[0].value.columns) is sees and "reason" in at.dataframe[0].value.columns


def test_label_offers_the_patients_prior_study_beside_the_image(project, make_demo) -> None:
    from labeling.labels import prior_for, series_slices

    make_demo(0)
    at = logged_in(project=project)
    followed = next(image for image in (get_image(s.id,
                                                  engine=project.engine) for s in list_images(engine=project.engine,
                                                                                              modality="CT"))
                    if prior_for(image, sees_identity=False, engine=project.engine) is not None)
    label_state(at).open_request = followed.id
    at.run()
    prior = viewer_data(at)["prior"]
    assert prior is not None and "month(s) earlier" in prior["label"]  # no date for an annotator
    current_ids = {s.id for s in series_slices(followed.id, engine=project.engine)}
    prior_ids = [s["image_id"] for s in prior["slices"]]
    assert not current_ids & set(prior_ids)  # another study's series
    nearest = prior["slices"][prior["slice_index"]]
    assert abs(nearest["position"] - followed.slice_position) == min(
        abs(s["position"] - followed.slice_position) for s in prior["slices"])
    first_visit = next(image for image in (get_image(s.id, engine=project.engine)
                                           for s in list_images(engine=project.engine, modality="CT"))
                       if prior_for(image, sees_identity=False, engine=project.engine) is None)
    label_state(at).open_request = first_visit.id  # a patient's first study has nothing to compare with
    at.run()
    assert viewer_data(at)["prior"] is None


def test_undo_with_unsaved_drawing_asks_first(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    first = label_state(at).image_id
    at.radio(key=f"image-label-{label_state(at).revision}-{label_state(at).label_version}").set_value("healthy").run()
    button(at, "Save & next").click().run()
    draw_rect(at, 10, 10, 20, 20)  # unsaved drawing on the next image
    second = label_state(at).image_id
    button(at, "Undo").click().run()
    assert "unsaved drawing on this image will be lost" in at.warning[0].value
    assert label_state(at).image_id == second and len(list_annotations(engine=project.engine, annotator="ann")) == 1
    button(at, "Keep drawing").click().run()
    assert not at.warning and label_state(at).regions_of(second)  # the drawing is still there
    button(at, "Undo").click().run()
    button(at, "Undo anyway").click().run()
    assert label_state(at).image_id == first and list_annotations(engine=project.engine, annotator="ann") == []


def test_the_timeline_opens_a_follow_up_with_its_prior(project, make_demo) -> None:
    from labeling.labels import patient_keys, patient_timeline

    make_demo(0)
    at = logged_in(project=project)
    at.switch_page("labeling/ui/pages/images.py").run()
    followed = next(key for key in patient_keys(engine=project.engine)
                    if len(patient_timeline(key, engine=project.engine)) > 1)
    patient = next(s for s in at.selectbox if s.label == "Patient key")
    patient.set_value(followed).run()
    follow_link(at, "Compare")
    assert not at.exception
    data = viewer_data(at)
    assert data["show_prior"] is True and data["prior"] is not None
    button(at, "Skip").click().run()  # the next image opens without the prior pane forced
    assert viewer_data(at)["show_prior"] is False


def test_label_refuses_an_action_for_another_image_than_the_page_shows(project, make_demo) -> None:
    """Bug 4 of issue 21: a save names the image the viewer shows; when it is not the page's, nothing is saved and
    the page says why (the regions went to whichever image the page had)."""
    make_demo(0)
    at = logged_in(project=project)
    first = label_state(at).image_id
    draw_rect(at, 30, 40, 50, 20)
    state = label_state(at)
    regions = at.session_state[VIEWER_KEY]["regions"]
    at.session_state[VIEWER_KEY] = {"regions": regions,
                                    "action": {"type": "save", "nonce": "n1", "image_id": first + 1,
                                               "revision": state.revision}}
    at.run()
    assert label_state(at).image_id == first and not list_annotations(engine=project.engine, annotator="ann")
    assert any(f"still showing image {first + 1}, not image {first}" in e.value for e in at.error)
    at.session_state[VIEWER_KEY] = {"regions": regions,
                                    "action": {"type": "save", "nonce": "n2", "image_id": first,
                                               "revision": state.revision}}
    at.run()
    (saved,) = list_annotations(engine=project.engine, annotator="ann")
    assert saved.image_id == first and label_state(at).image_id != first
