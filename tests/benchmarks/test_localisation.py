"""Heatmaps and proposals point at findings: the product's loop on the demo with 100 labels, measured against
the demo's truth (the full figures: `medal bench localise`)."""

from __future__ import annotations

import pytest
import torch
from sqlmodel import Session, col, select

from benchmarks.localise import distance_to_polygon, localisation_figures
from labeling.labels import MIN_OUTLINES, outline_file, project_outline_model
from learner import PROJECT_CONFIG, loop, registry, train_and_publish
from learner.dataset import split_by_patient
from storage import Image, ImageStatus, current_project

SQUARE = [[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]]


def test_distance_to_a_polygon_is_zero_inside_and_to_the_nearest_edge_outside() -> None:
    assert distance_to_polygon((15, 15), SQUARE) == 0
    assert distance_to_polygon((25, 15), SQUARE) == pytest.approx(5)
    assert distance_to_polygon((23, 24), SQUARE) == pytest.approx(5)  # to the corner (20, 20)


def test_heatmap_peaks_fall_on_findings_normal_images_get_no_proposals_and_the_top_is_diverse(
        project, make_demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """One trained demo model (100 labels), three checks: where the heatmaps point, how rarely normal images
    get a proposal, and that the queue's top 20 (the default strategy's batch) spans at least 10 series. The
    validation split was told each labeled image's modality."""
    make_demo(100)
    splits = []

    def recorded(*args, **kwargs):  # the real split, its arguments kept
        splits.append(kwargs)
        return split_by_patient(*args, **kwargs)

    monkeypatch.setattr(loop, "split_by_patient", recorded)
    threads = torch.get_num_threads()
    result = train_and_publish(current_project(), lambda fraction, message: None, strategy_name="default",
                               config=PROJECT_CONFIG)
    assert torch.get_num_threads() == threads  # the dense pass's one thread per network worker is undone
    assert set(splits[0]["strata"].values()) == {"CT", "MG"} and len(splits[0]["strata"]) == 100
    assert result["heatmaps"] == result["scored"]  # one pass per image gives every heatmap
    # the image AUC of the validation images, by the image probability the Label page shows (the patch AUC
    # is over drawn regions and normal patches of the same images, and overstates it on real pictures)
    assert 0.8 <= result["metrics"]["image_auc"] <= 1.0 and result["metrics"]["auc"] >= 0.8, result["metrics"]
    # the windows a proposal's size lies between (labeling.labels.proposals), as fractions of the short side
    assert 0 < result["metrics"]["proposal_window_min"] <= result["metrics"]["proposal_window_mid"] <= 1
    # the training learnt the quick outline from the cancerous outlines, per modality with enough of them, and
    # the Train page's versions table says which outline each modality uses
    learnt = result["outline_model"]
    assert learnt and set(learnt) <= {"CT", "MG"}, learnt
    assert all(found["outlines"] >= MIN_OUTLINES and 0 <= found["learned_dice"] <= 1 for found in learnt.values())
    summary = registry.history(engine=project.engine)[-1]["quick outline"]
    assert all(f"{modality}: " in summary for modality in learnt) and "fitted in " in summary, summary
    # kept beside the version's checkpoint, and what the quick outline of the active version uses
    active = registry.active_version(engine=project.engine)
    assert outline_file(active.checkpoint_path).is_file()
    assert registry.version_json(active)["quick_outline"] == learnt  # `medal models --json` says it too
    assert all((project_outline_model(project, modality) is not None) == found["used"]
               for modality, found in learnt.items())
    figures = localisation_figures(current_project())
    assert figures["images_with_finding"] >= 50 and figures["images_without_finding"] >= 100
    assert figures["peak_in_finding"] >= 0.7, figures
    assert figures["proposals_without_finding"] <= 0.1, figures

    with Session(project.engine) as session:
        top = session.exec(select(Image.series_id).where(Image.status == ImageStatus.UNLABELED)
                           .order_by(col(Image.priority).desc(), Image.id).limit(20)).all()
    assert len(set(top)) >= 10 and max(top.count(series) for series in set(top)) <= 2, top
