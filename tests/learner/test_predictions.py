"""`medal predictions`: what the active model says about each scored image, in image pixels."""

from __future__ import annotations

import json

import numpy as np

from labeling.cli.main import main
from labeling.labels import get_image
from learner import jobs, prediction_for, run_worker
from learner.predictions import peak_cell

KEYS = {"image_id", "probability", "uncertainty", "strategy", "strategy_utility", "queue_rank", "heatmap_peak",
        "proposals"}


def test_predictions_list_every_scored_image_with_its_peak_and_proposals(project, make_demo, capsys) -> None:
    make_demo(40)
    assert main(["predictions"]) == 0 and "No predictions yet" in capsys.readouterr().out
    jobs.enqueue("train", {"config": {"max_epochs": 3, "min_steps": 10, "size": 32}}, engine=project.engine)
    run_worker(project=project, once=True)
    assert main(["predictions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(row) == KEYS for row in rows)
    ranks = [row["queue_rank"] for row in rows if row["queue_rank"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1  # queue order, the next image first
    assert all(0 <= row["probability"] <= 1 for row in rows)

    chosen = rows[0]["image_id"]
    image, prediction = get_image(chosen, engine=project.engine), prediction_for(chosen, engine=project.engine)
    heat = np.zeros((64, 64), np.float16)
    heat[16:24, 32:40] = 0.95  # a known hot area
    np.save(prediction.heatmap_path, heat)
    assert main(["predictions", "--json", "--image", str(chosen)]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    scale_x, scale_y = image.cols / 64, image.rows / 64
    assert row["heatmap_peak"] == [round(36.0 * scale_x, 1), round(20.0 * scale_y, 1)]  # the hot area's middle
    (proposal,) = row["proposals"]
    x, y, w, h = proposal["bbox"]  # sized by the version's windows, on the hot area's middle
    assert abs(x + w / 2 - 36 * scale_x) <= 0.1 and abs(y + h / 2 - 20 * scale_y) <= 0.1 and abs(w - h) <= 0.1
    assert 0 < w <= 8 * scale_x and abs(proposal["score"] - 0.95) < 0.01
    # The outline Accept draws for it comes with it: the region a reader who accepts gets (a reviewer scored the
    # boxes, a few pixels wide, against true masks), around the box, on the picture.
    outline = np.asarray(proposal["outline"])
    assert outline.ndim == 2 and outline.shape[1] == 2 and len(outline) >= 3
    assert (outline >= 0).all() and (outline[:, 0] <= image.cols - 1).all() and (outline[:, 1] <= image.rows - 1).all()
    assert outline[:, 0].min() < x + w / 2 < outline[:, 0].max()
    assert outline[:, 1].min() < y + h / 2 < outline[:, 1].max()
    assert main(["predictions", "--json", "--image", str(chosen), "--no-outlines"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert set(row["proposals"][0]) == {"bbox", "score"}

    assert main(["predictions", "--image", "999999"]) == 2
    assert "has not scored image 999999" in capsys.readouterr().err


def test_the_peak_of_a_plateau_is_its_middle_not_its_top_left_cell() -> None:
    """The border peaks of clinical pictures: a flat (or tied, in half floats) heatmap put its peak on the first
    hottest cell, the top-left corner."""
    assert peak_cell(np.full((48, 64), 0.5, np.float16)) == (23.5, 31.5)
    heat = np.zeros((64, 64), np.float16)
    heat[0:64, 40:50] = 0.7  # a hot column band from the top edge to the bottom one
    heat[30:34, 44:46] = 0.7004  # within the half float's tie of the band
    assert peak_cell(heat) == (31.5, 44.5)


def test_a_heatmap_that_varies_by_less_than_a_hundredth_has_its_peak_in_the_middle() -> None:
    """A lesion-free picture's heatmap at 0.000–0.002, a thousandth hotter where the windows overhang the
    picture's right edge (the slim CPU network): its "peak" was on that edge."""
    heat = np.full((64, 64), 0.0005, np.float32)
    heat[:, 62:] = 0.002
    assert peak_cell(heat) == (31.5, 31.5)
    heat[10:14, 20:24] = 0.5  # a real peak still wins
    assert peak_cell(heat) == (11.5, 21.5)
