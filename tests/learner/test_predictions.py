"""`medal predictions`: what the active model says about each scored image, in image pixels."""

from __future__ import annotations

import json

import numpy as np

from labeling.cli.main import main
from labeling.labels.catalog import get_image
from learner import jobs
from learner.registry import prediction_for
from learner.worker import run_worker

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
    assert row["heatmap_peak"] == [round(32.5 * scale_x, 1), round(16.5 * scale_y, 1)]  # first hottest cell
    (proposal,) = row["proposals"]
    assert proposal["bbox"] == [round(32 * scale_x, 1), round(16 * scale_y, 1), round(8 * scale_x, 1),
                                round(8 * scale_y, 1)] and abs(proposal["score"] - 0.95) < 0.01

    assert main(["predictions", "--image", "999999"]) == 2
    assert "has not scored image 999999" in capsys.readouterr().err
