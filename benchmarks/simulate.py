"""The oracle simulation: the product's own training and query code against known labels.

Each run starts from the same cold-start batch for a given seed (spread over simple image features),
trains, scores the pool, asks the strategy for the next ``step`` images, reveals their labels, and
records the test AUC, until the budget is spent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image as PILImage
from sklearn.metrics import roc_auc_score
from torch.utils.data import Dataset

from labeling.labels import cold_start, list_images, render_image, simple_features, standardise
from learner import (
    PRETRAINED_FEATURE_LR,
    STRATEGIES,
    CompactCNN,
    TooFewLabels,
    TrainConfig,
    contrastive_pretrain,
    fit,
    pool_classifier,
    predict_proba,
    resolve,
)
from storage import Project


class ArrayDataset(Dataset):
    """Images (n, C, H, W) float32, standardised per image, with integer labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.images[index]), int(self.labels[index])


@dataclass
class SimulationData:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def load_npz(path: Path) -> SimulationData:
    """A MedMNIST-style .npz (train_images/labels, test_images/labels); labels > 0 count as positive."""
    with np.load(path) as data:
        missing = {"train_images", "train_labels", "test_images", "test_labels"} - set(data.files)
        if missing:
            raise ValueError(f"{path} lacks {', '.join(sorted(missing))}; it is not a MedMNIST-style file.")
        return SimulationData(standardise(data["train_images"]), (data["train_labels"].ravel() > 0).astype(int),
                              standardise(data["test_images"]), (data["test_labels"].ravel() > 0).astype(int))


POSITIVE_NAMES = {"cancerous", "positive", "abnormal", "malignant", "finding", "pneumonia", "tumor", "tumour", "1"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
SIDE = 32
PRETRAIN_STEPS = 1000  # contrastive steps on the pool before the first label (~3 min for 3,882 images of 28² here)


def _grey(path: Path) -> np.ndarray:
    with PILImage.open(path) as picture:
        return np.asarray(picture.convert("L").resize((SIDE, SIDE), PILImage.Resampling.BILINEAR))


def _split(x: np.ndarray, y: np.ndarray, groups: list[str], test_fraction: float = 0.2) -> SimulationData:
    """Train/test by group (patient), a fixed hash deciding, so a patient is never on both sides."""
    test = np.array([int(hashlib.sha1(g.encode()).hexdigest(), 16) % 1000 < test_fraction * 1000 for g in groups])
    if test.all() or not test.any() or len(set(y[test])) < 2 or len(set(y[~test])) < 2:
        raise ValueError("The data cannot be split into train and test with both classes on each side; "
                         "it needs more images of each class (and of more patients).")
    x = standardise(x)
    return SimulationData(x[~test], y[~test], x[test], y[test])


def load_folder(path: Path) -> SimulationData:
    """A folder with one sub-folder per class (two classes; the positive one is named like cancerous,
    positive, abnormal, malignant, pneumonia or 1, else it is the second alphabetically)."""
    classes = sorted(p for p in path.iterdir() if p.is_dir())
    if len(classes) != 2:
        raise ValueError(f"{path} needs exactly two class sub-folders; it has {len(classes)}.")
    positive = next((c for c in classes if c.name.lower() in POSITIVE_NAMES), classes[1])
    files = [(f,
              int(c == positive)) for c in classes for f in sorted(c.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
    x = np.stack([_grey(f) for f, _ in files])
    return _split(x, np.array([label for _, label in files]), [f.name for f, _ in files])


def load_project(home: Path) -> SimulationData:
    """A Medal project with true labels (``medal demo``'s ``demo/truth.json``): each image's default
    rendering and its true image label, split by patient."""
    truth = json.loads((home / "demo" / "truth.json").read_text())
    project = Project.open(home)
    images = [s for s in list_images(engine=project.engine) if s.sop_instance_uid in truth]
    x = np.stack([np.asarray(PILImage.fromarray(render_image(s.id, project=project))
                             .convert("L").resize((SIDE, SIDE))) for s in images])
    labels = np.array([int(truth[s.sop_instance_uid]["image_label"] == "cancerous") for s in images])
    return _split(x, labels, [s.patient_key or str(s.id) for s in images])


def load_data(path: Path) -> SimulationData:
    """``--data``: a MedMNIST-style .npz, a folder of class sub-folders, or a Medal project home with truth."""
    if path.is_file() and path.suffix == ".npz":
        return load_npz(path)
    if (path / "demo" / "truth.json").is_file():
        return load_project(path)
    if path.is_dir():
        return load_folder(path)
    raise ValueError(f"{path} is neither a .npz file, a folder of class sub-folders, nor a Medal project.")


def validation_holdout(labeled: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A validation fifth of the labeled images (each image is its own patient here), both classes kept."""
    rng = np.random.default_rng(seed)
    val = []
    for cls in (0, 1):
        members = labeled[y[labeled] == cls]
        take = len(members) // 5
        val.extend(rng.choice(members, take, replace=False).tolist() if take else [])
    val = np.asarray(sorted(val), dtype=int)
    return np.setdiff1d(labeled, val), val


STRATIFIED_RANDOM = "stratified-random"  # a simulation baseline: it needs the truth, so it is no product strategy


def stratified_picks(pool_labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random pool positions with each class at its share of the pool (rounded; the rest random):
    the baseline published benchmarks say is hard to beat, unlike plain random."""
    n = min(n, len(pool_labels))
    picks: list[int] = []
    for cls in np.unique(pool_labels):
        members = np.flatnonzero(pool_labels == cls)
        take = min(len(members), int(round(n * len(members) / len(pool_labels))))
        picks.extend(rng.choice(members, take, replace=False).tolist())
    rest = np.setdiff1d(np.arange(len(pool_labels)), picks)
    if len(picks) < n:
        picks.extend(rng.choice(rest, n - len(picks), replace=False).tolist())
    return np.asarray(picks[:n], dtype=int)


def run(data: SimulationData, strategy: str, seed: int, initial: int, step: int, budget: int,
        config: TrainConfig | None = None, on_step: Callable[[int, float], None] | None = None,
        features: np.ndarray | None = None, pretrained: CompactCNN | None = None) -> list[list[float]]:
    """One learning curve ``[[labels, test AUC], ...]`` for a strategy and seed; every round trains from
    ``pretrained``'s features when given (``pretrain_on_pool``), else from scratch."""
    name = STRATIFIED_RANDOM if strategy == STRATIFIED_RANDOM else resolve(strategy)
    rng = np.random.default_rng(seed)
    config = config or simulation_config(data, seed)
    features = simple_features(data.train_x) if features is None else features
    spread = cold_start(features, budget, seed)  # cold start, and the fallback while a class is missing
    labeled = spread[:initial]
    test = ArrayDataset(data.test_x, data.test_y)
    curve = []
    while True:
        train_idx, val_idx = validation_holdout(labeled, data.train_y, seed)
        try:
            result = fit(ArrayDataset(data.train_x[train_idx], data.train_y[train_idx]), data.train_y[train_idx],
                         ArrayDataset(data.train_x[val_idx], data.train_y[val_idx]) if len(val_idx) else None,
                         config, start_from=pretrained)
        except TooFewLabels:  # as in the product: no model yet, keep labeling the spread-out images
            result = None
        auc = 0.5 if result is None else float(roc_auc_score(data.test_y, predict_proba(result.model, test)[:, 1]))
        curve.append([int(len(labeled)), round(auc, 4)])
        if on_step:
            on_step(len(labeled), auc)
        if len(labeled) >= budget:
            return curve
        if result is None:
            labeled = np.concatenate([labeled, np.setdiff1d(spread, labeled, assume_unique=True)[:step]])
            continue
        pool = np.setdiff1d(np.arange(len(data.train_y)), labeled)
        if name == STRATIFIED_RANDOM:
            picks = stratified_picks(data.train_y[pool], min(step, budget - len(labeled)), rng)
            labeled = np.concatenate([labeled, pool[picks]])
            continue
        pool_data = ArrayDataset(data.train_x[pool], data.train_y[pool])
        classifier = pool_classifier(result.model, pool_data,
                                     ArrayDataset(data.train_x[labeled], data.train_y[labeled]), name, seed)
        picks = STRATEGIES[name](classifier, classifier.embeddings, min(step, budget - len(labeled)))
        labeled = np.concatenate([labeled, pool[picks]])


def simulation_config(data: SimulationData, seed: int) -> TrainConfig:
    """The network and recipe every strategy trains with: the product's defaults for whole images."""
    return TrainConfig(in_channels=data.train_x.shape[1], seed=seed, feature_lr=PRETRAINED_FEATURE_LR)


def pretrain_on_pool(data: SimulationData, seed: int, steps: int = PRETRAIN_STEPS,
                     progress: Callable[[int, int, float], None] | None = None) -> CompactCNN:
    """The features contrastively pre-trained on every training image, labels unseen (``learner.pretrain``): what
    a project can learn from its pool before anyone labels; shared by all strategies of a seed."""
    return contrastive_pretrain(torch.from_numpy(data.train_x), simulation_config(data, seed), steps, seed, progress)


def simulate(data: SimulationData, strategies: list[str], seeds: int, initial: int, step: int, budget: int,
             on_step: Callable[[str, int, int, float], None] | None = None,
             pretrain_steps: int = PRETRAIN_STEPS) -> dict[str, Any]:
    """Every strategy's curve for each seed; with ``pretrain_steps`` > 0 every round of a seed trains from one
    pre-training of the features on the pool (the seed's), else from scratch."""
    results, features = [], simple_features(data.train_x)
    pretrained = {seed: pretrain_on_pool(data, seed, pretrain_steps) if pretrain_steps > 0 else None
                  for seed in range(seeds)}
    for strategy in strategies:
        for seed in range(seeds):
            curve = run(data, strategy, seed, initial, step, budget, features=features, pretrained=pretrained[seed],
                        on_step=(lambda n, auc, s=strategy, k=seed: on_step(s, k, n, auc)) if on_step else None)
            results.append({"strategy": strategy, "seed": seed, "curve": curve})
    return {"results": results, "pretrain_steps": pretrain_steps}


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Mean and spread of each strategy's curve over seeds, and the labels each needs to reach
    random sampling's mean AUC at the budget."""
    by_strategy: dict[str, list[list[list[float]]]] = {}
    for item in results["results"]:
        by_strategy.setdefault(item["strategy"], []).append(item["curve"])
    summary: dict[str, Any] = {}
    for strategy, curves in by_strategy.items():
        labels = [point[0] for point in curves[0]]
        aucs = np.array([[point[1] for point in curve] for curve in curves])
        summary[strategy] = {"labels": labels, "mean": aucs.mean(axis=0).round(4).tolist(),
                             "std": aucs.std(axis=0).round(4).tolist()}
    if "random" in summary:
        target = summary["random"]["mean"][-1]
        for item in summary.values():
            reached = [n for n, auc in zip(item["labels"], item["mean"]) if auc >= target]
            item["labels_to_reach_random"] = reached[0] if reached else None
        summary["random_target_auc"] = target
    return summary


def plot(summary: dict[str, Any], path: Path) -> None:
    """Mean curves with a ±1 s.d. band over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for strategy, item in summary.items():
        if not isinstance(item, dict):
            continue
        mean, std = np.array(item["mean"]), np.array(item["std"])
        axes.plot(item["labels"], mean, label=strategy)
        axes.fill_between(item["labels"], mean - std, mean + std, alpha=0.15)
    if "random_target_auc" in summary:
        axes.axhline(summary["random_target_auc"], color="grey", linestyle=":", label="random at budget")
    axes.set_xlabel("labels")
    axes.set_ylabel("test ROC AUC")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
