"""The network's dense pass: one fully convolutional pass gives what window-by-window passes give."""

from __future__ import annotations

import torch

from learner import TrainConfig
from learner.train import build_model, mixed_precision


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


def _trained_looking(model: torch.nn.Module) -> torch.nn.Module:
    """Batch-norm statistics and affine terms far from their initial 0/1, as training leaves them."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            for tensor, low, high in ((module.running_mean, -2, 2), (module.running_var, 0.2, 3),
                                      (module.weight.data, 0.3, 2), (module.bias.data, -1, 1)):
                tensor.copy_(torch.empty_like(tensor).uniform_(low, high, generator=generator))
    return model.eval()


def test_the_inference_copy_folds_batch_norm_into_the_convolutions_and_gives_the_same_outputs() -> None:
    torch.manual_seed(0)
    model = _trained_looking(build_model(TrainConfig(context=16)))
    fused = model.for_inference()
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in fused.modules())
    assert any(isinstance(module, torch.nn.BatchNorm2d) for module in model.modules())  # the original is kept
    images = torch.randn(2, 1, 96, 80)
    with torch.no_grad():
        assert torch.allclose(fused.dense_logits(images, 32), model.dense_logits(images, 32), atol=1e-4)
        assert torch.allclose(fused(images[..., :64, :64]), model(images[..., :64, :64]), atol=1e-4)
    assert (fused.window, fused.temperature) == (model.window, model.temperature)


def test_scoring_precision_moves_window_probabilities_by_less_than_a_hundredth() -> None:
    torch.manual_seed(0)
    model = _trained_looking(build_model(TrainConfig(context=16))).for_inference()
    pictures = torch.randn(2, 1, 128, 128)
    with torch.no_grad():
        exact = torch.softmax(model.dense_logits(pictures, 32), 1)
        with mixed_precision():
            fast = torch.softmax(model.dense_logits(pictures, 32).float(), 1)
    assert (fast - exact).abs().max() < 0.01
