"""The training loop's pieces that must hold on any device."""

from __future__ import annotations

import torch

from learner.train import augment


def test_augment_keeps_the_batch_on_its_device() -> None:
    # On a GPU the flips and jitter were drawn on the CPU and torch.where refused to mix devices, so
    # training never ran on CUDA. The meta device stands in for a GPU on a machine without one.
    batch = torch.zeros(4, 1, 8, 8, device="meta")
    assert augment(batch, torch.Generator().manual_seed(0)).device == batch.device


def test_augment_is_reproducible_from_the_seed() -> None:
    batch = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    first = augment(batch, torch.Generator().manual_seed(3))
    assert torch.equal(first, augment(batch, torch.Generator().manual_seed(3))) and first.shape == batch.shape
