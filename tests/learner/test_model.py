"""The network's dense pass: one fully convolutional pass gives what window-by-window passes give."""

from __future__ import annotations

import torch

from learner.train import TrainConfig, build_model


def test_the_dense_pass_gives_each_window_the_logits_a_window_sized_input_gets() -> None:
    torch.manual_seed(0)
    model = build_model(TrainConfig()).eval()
    images = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.dense_logits(images, 32)[:, :, 0, 0], model(images), atol=1e-5)
        picture = torch.randn(1, 1, 96, 80)
        dense = model.dense_logits(picture, 32)
    assert dense.shape == (1, 2, 5, 4)  # windows every 16 pixels: (96 - 32) / 16 + 1 rows, (80 - 32) / 16 + 1 cols


def test_with_context_the_model_judges_the_centre_window_as_the_dense_pass_does() -> None:
    torch.manual_seed(0)
    model = build_model(TrainConfig(context=16)).eval()
    assert model.window == 32
    with torch.no_grad():
        patch = torch.randn(3, 1, 64, 64)  # a 32-pixel window with 16 pixels of context around it
        assert torch.allclose(model(patch), model.dense_logits(patch, 32)[:, :, 1, 1], atol=1e-5)
        assert model(torch.randn(3, 1, 32, 32)).shape == (3, 2)  # without context: the whole input
