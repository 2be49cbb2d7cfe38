"""Contrastive pre-training on unlabeled images, and training from its features at their own learning rate."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from learner import TrainConfig, fit
from learner.pretrain import contrastive_pretrain, nt_xent, views


def two_kinds(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Standardised 16×16 pictures of two kinds, anywhere and at any brightness: a bright disc, or bars."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16]
    images, kinds = [], rng.integers(0, 2, n)
    for kind in kinds:
        picture = rng.normal(0, 0.3, (16, 16))
        if kind:
            y, x = rng.integers(4, 12, 2)
            picture += rng.uniform(1, 2) * (((yy - y) ** 2 + (xx - x) ** 2) < 9)
        else:
            picture += rng.uniform(1, 2) * ((yy + rng.integers(0, 4)) % 4 < 2)
        images.append((picture - picture.mean()) / picture.std())
    return torch.tensor(np.asarray(images)[:, None], dtype=torch.float32), kinds


def embeddings(model: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval().features(images).numpy()


def test_views_are_seeded_altered_copies() -> None:
    images, _ = two_kinds(8, 0)
    first = views(images, torch.Generator().manual_seed(1))
    assert first.shape == images.shape
    assert torch.equal(first, views(images, torch.Generator().manual_seed(1)))
    assert not torch.allclose(first, images, atol=0.1)


def test_nt_xent_rewards_matching_views() -> None:
    partners = torch.nn.functional.one_hot(torch.arange(8), 16).float() * 10
    agree = torch.cat([partners, partners])  # each view's partner is the same vector, the rest orthogonal
    assert float(nt_xent(agree)) < 0.1  # log(1 + 14 e^(-1/0.2))
    assert float(nt_xent(torch.randn(16, 16, generator=torch.Generator().manual_seed(0)))) > 2


def test_pre_training_learns_what_tells_the_pictures_apart_without_labels() -> None:
    """The loss falls, and the features do not collapse (a collapsed network gives every picture one embedding
    and the probe 50%): ten labels tell the kinds apart on pictures it never saw."""
    images, kinds = two_kinds(120, 0)
    losses: list[float] = []
    config = TrainConfig(size=16, width=8, multipliers=(1, 2, 4))
    model = contrastive_pretrain(images, config, steps=60, seed=0,
                                 progress=lambda step, steps, loss: losses.append(loss))
    assert losses[-1] < losses[0] - 0.5
    held_out, truth = two_kinds(200, 1)
    labeled = np.concatenate([np.flatnonzero(kinds == 0)[:5], np.flatnonzero(kinds == 1)[:5]])  # ten labels
    probe = LogisticRegression(max_iter=2000).fit(embeddings(model, images)[labeled], kinds[labeled])
    assert probe.score(embeddings(model, held_out), truth) >= 0.9


def test_training_from_pre_trained_features_moves_them_at_their_own_rate() -> None:
    images, kinds = two_kinds(64, 2)
    data = list(zip(images, kinds.tolist()))
    config = TrainConfig(size=16, width=8, multipliers=(1, 2, 4), min_steps=20, max_epochs=2)
    start = contrastive_pretrain(images, config, steps=5, seed=0)
    weight = next(start.features.parameters()).detach().clone()
    frozen = fit(data, kinds, None, TrainConfig(**{**config.__dict__, "feature_lr": 0.0}), start_from=start)
    assert torch.equal(next(frozen.model.features.parameters()).detach(), weight)
    moved = fit(data, kinds, None, config, start_from=start)
    assert not torch.allclose(next(moved.model.features.parameters()).detach(), weight)
    assert not torch.equal(next(frozen.model.head.parameters()).detach(), next(start.head.parameters()).detach())


def test_views_of_clinical_windows_keep_their_grey_levels() -> None:
    """Pre-training on CT and MR windows: contrast and brightness changes teach the network to ignore the grey
    level a lesion differs by; with ``intensity`` off a view moves pixels, never their level (noise aside)."""
    flat = torch.full((64, 1, 16, 16), 1.5)
    kept = views(flat, torch.Generator().manual_seed(0), intensity=False)
    assert (kept.mean(dim=(1, 2, 3)) - 1.5).abs().max() < 0.05
    changed = views(flat, torch.Generator().manual_seed(0))
    assert (changed.mean(dim=(1, 2, 3)) - 1.5).abs().max() > 0.2
