"""Pre-training on a project's own pool: windows of its pictures, kept in its models folder, and training that
starts from them where their architecture is the one being trained."""

from __future__ import annotations

import json
from dataclasses import replace

import torch

from labeling.cli.main import main
from learner import PROJECT_CONFIG, loop, registry, train_and_publish
from learner.pretrain import WINDOW_FRACTIONS, pool_windows, pretrain_project, pretrained_features, window_examples
from learner.train import TrainConfig, fit

SLIM = TrainConfig(context=16, width=8, multipliers=(1, 2, 3, 4), first_convs=1, max_epochs=2, min_steps=10)


def test_windows_lie_inside_their_picture_at_the_scales_lesions_come_in() -> None:
    shapes = {1: (100, 200), 2: (300, 50)}
    examples = window_examples(shapes, per_image=50, seed=3)
    assert len(examples) == 100
    for example in examples:
        rows, cols = shapes[example.image_id]
        x, y, side = example.box
        assert 0 <= x <= cols - side and 0 <= y <= rows - side
        short = min(rows, cols)
        assert WINDOW_FRACTIONS[0] * short - 1 <= side <= WINDOW_FRACTIONS[1] * short + 1
    assert len({example.box[2] for example in examples}) > 20  # many scales, not one
    assert window_examples(shapes, per_image=50, seed=3) == examples
    assert window_examples(shapes, per_image=50, seed=4) != examples


def test_training_starts_from_the_projects_pre_trained_features(project, make_demo, monkeypatch) -> None:
    make_demo(40)
    starts, recording_fit_configs = [], []

    def recording_fit(*args, start_from=None, **options):
        starts.append(start_from)
        recording_fit_configs.append(args[3])
        return fit(*args, start_from=start_from, **options)

    monkeypatch.setattr(loop, "fit", recording_fit)
    windows = pool_windows(SLIM, 0, project=project, per_image=2, max_images=5)
    assert windows.shape == (10, 1, 64, 64) and windows.dtype == torch.float32 and windows.std() > 0.1
    assert pretrained_features(SLIM, project=project) is None
    pretrain_project(SLIM, 3, project=project, max_images=12)
    start = pretrained_features(SLIM, project=project)
    assert start is not None
    assert pretrained_features(replace(SLIM, width=16), project=project) is None  # another network: not used
    assert pretrained_features(replace(SLIM, max_epochs=5), project=project) is not None  # the schedule is no matter

    result = train_and_publish(project, lambda fraction, message: None, strategy_name="default", config=SLIM)
    version = registry.get_version(result["model_version"], engine=project.engine)
    assert version.config["data"]["pretrained"] is True
    first = starts[0]  # the first round starts from the kept features
    assert first is not None and torch.equal(first.features[0][0].weight, start.features[0][0].weight)
    assert recording_fit_configs[0].feature_lr == 1.0  # at the head's rate: a tenth of it localised worse


def test_medal_pretrain_runs_as_a_job_and_keeps_the_features_for_the_next_training(project, make_demo,
                                                                                   capsys) -> None:
    assert main(["pretrain", "--steps", "2", "--wait"]) == 1  # an empty project: nothing to learn from
    assert "import images first" in capsys.readouterr().out
    make_demo(0)
    assert main(["pretrain", "--steps", "0", "--wait"]) == 1
    assert "1 to 100000 steps, not 0" in capsys.readouterr().out
    assert main(["pretrain", "--steps", "3", "--wait", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["kind"] == "pretrain" and job["status"] == "succeeded" and job["result"] == {"steps": 3}
    assert pretrained_features(PROJECT_CONFIG, project=project) is not None
