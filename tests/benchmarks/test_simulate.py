"""A short `medal simulate` run on a generated MedMNIST-style file, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from labeling.cli.main import main


def write_npz(path: Path, seed: int = 0) -> None:
    """Noise images; positives carry a bright blob somewhere."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        images = rng.normal(100, 20, (n, 16, 16))
        labels = rng.random(n) < 0.4
        for image, positive in zip(images, labels):
            if positive:
                y, x = rng.integers(3, 13, 2)
                image[y - 2:y + 2, x - 2:x + 2] += 90
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)[:, None]

    (train_x, train_y), (test_x, test_y) = split(240), split(120)
    np.savez(path, train_images=train_x, train_labels=train_y, test_images=test_x, test_labels=test_y)


def test_simulate_json_and_text(tmp_path: Path, capsys) -> None:
    data = tmp_path / "toy.npz"
    write_npz(data)
    args = ["simulate", "--data", str(data), "--strategies", "random,stratified-random,default", "--initial", "10",
            "--step", "10", "--budget", "30", "--seeds", "1", "--pretrain-steps", "0"]
    assert main([*args, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    results = output["results"]
    assert output["pretrain_steps"] == 0
    assert [(r["strategy"], r["seed"]) for r in results] == [("random", 0), ("stratified-random", 0), ("default", 0)]
    for result in results:
        assert [n for n, _ in result["curve"]] == [10, 20, 30]
        assert all(0 <= auc <= 1 for _, auc in result["curve"])
    assert results[0]["curve"][-1][1] > 0.7  # the blob is learnable from 30 labels
    assert main([*args, "--plot", str(tmp_path / "curves.png")]) == 0
    out = capsys.readouterr().out
    assert "labels to reach random's" in out and (tmp_path / "curves.png").stat().st_size > 1000


def test_simulate_on_a_folder_of_class_folders(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    for name, positive in (("healthy", False), ("cancerous", True)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for index in range(40):
            image = rng.normal(100, 20, (24, 24))
            if positive:
                y, x = rng.integers(4, 20, 2)
                image[y - 3:y + 3, x - 3:x + 3] += 100
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(tmp_path / "data" / name / f"{index}.png")
    assert main(["simulate", "--data", str(tmp_path / "data"), "--strategies", "random", "--initial", "10",
                 "--step", "10", "--budget", "20", "--seeds", "1", "--pretrain-steps", "0", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert [n for n, _ in result["curve"]] == [10, 20] and result["curve"][-1][1] > 0.7


def test_simulate_on_a_medal_demo_project(project, make_demo, capsys) -> None:
    from storage import current_project

    def medal_home() -> Path:
        return current_project().home

    make_demo(0)
    assert main(["simulate", "--data", str(medal_home()), "--strategies", "default", "--initial", "20",
                 "--step", "20", "--budget", "40", "--seeds", "1", "--pretrain-steps", "30", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    (result,) = output["results"]
    assert [n for n, _ in result["curve"]] == [20, 40] and output["pretrain_steps"] == 30
    assert main(["simulate", "--data", str(medal_home() / "nothing-here"), "--strategies", "random"]) == 2
    assert "Cannot use --data" in capsys.readouterr().err


def test_stratified_random_takes_each_class_at_its_pool_share() -> None:
    from benchmarks.simulate import stratified_picks

    labels = np.array([1] * 30 + [0] * 270)  # 10% positives
    for seed in range(5):
        picks = stratified_picks(labels, 20, np.random.default_rng(seed))
        assert len(picks) == 20 == len(set(picks.tolist()))
        assert labels[picks].sum() == 2  # exactly the pool's share, every batch (plain random varies 0–6)
    assert len(stratified_picks(labels[:5], 20, np.random.default_rng(0))) == 5  # a pool smaller than the batch
