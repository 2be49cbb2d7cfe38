"""Temperature scaling: probabilities that mean what they say, kept with the version."""

from __future__ import annotations

import numpy as np
import torch

from learner.calibration import fit_temperature, softmax_positive
from learner.simulate import ArrayDataset
from learner.train import TrainConfig, binary_metrics, fit, predict_proba


def _overconfident(seed: int = 0, n: int = 600, scale: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a calibrated model (true probability p), multiplied by ``scale``: far too sure."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    labels = (rng.random(n) < p).astype(int)
    margin = np.log(p / (1 - p))
    return np.stack([np.zeros(n), margin * scale], axis=1), labels


def test_the_temperature_undoes_overconfidence() -> None:
    logits, labels = _overconfident()
    temperature = fit_temperature(logits, labels)
    assert 4.5 < temperature < 8  # the logits were scaled by 6
    raw = binary_metrics(labels, softmax_positive(logits))["ece"]
    calibrated = binary_metrics(labels, softmax_positive(logits, temperature))["ece"]
    assert raw > 0.15 and calibrated < 0.06 and calibrated < raw / 3
    assert fit_temperature(logits[:1], labels[:1]) == 1.0  # nothing to fit on


def test_training_records_both_eces_and_keeps_the_temperature_with_the_model() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (160, 1, 32, 32)).astype(np.float32)
    labels = (rng.random(160) < 0.5).astype(int)
    images[labels == 1, :, 12:20, 12:20] += 1.5
    train, val = ArrayDataset(images[:100], labels[:100]), ArrayDataset(images[100:], labels[100:])
    result = fit(train, labels[:100], val, TrainConfig(max_epochs=6, min_steps=20))
    metrics = result.metrics
    assert {"ece", "ece_uncalibrated", "temperature"} <= set(metrics)
    assert result.config.temperature == result.model.temperature
    assert abs(result.config.temperature - metrics["temperature"]) < 1e-3
    assert result.checkpoint()["config"]["temperature"] == result.config.temperature
    probabilities = predict_proba(result.model, val)[:, 1]  # what scoring shows: the calibrated probability
    assert abs(binary_metrics(labels[100:], probabilities)["ece"] - metrics["ece"]) < 1e-5
