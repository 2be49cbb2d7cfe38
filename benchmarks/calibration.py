"""``medal bench calibration``: how well the calibrated probabilities mean what they say, on real data.

For each seed, ``labels`` images drawn at random from a MedMNIST-style training split (PneumoniaMNIST in
``../shared/data``) are split into training and validation (a fifth, both classes, as the simulation
does), the product's recipe trains on them and fits its temperature on the validation part; the expected
calibration error (10 bins) is measured on that validation part and on the untouched test split, before
and after calibration. Medians over seeds are reported with every seed's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.simulate import ArrayDataset, load_data, validation_holdout
from learner import TrainConfig, binary_metrics, fit, predict_logits, softmax_positive


def bench_calibration(data_path: Path, labels: int = 300, seeds: int = 5, out: Path | None = None) -> dict[str, Any]:
    data = load_data(data_path)
    runs = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(data.train_y), labels, replace=False))
        train, val = validation_holdout(chosen, data.train_y, seed)
        result = fit(ArrayDataset(data.train_x[train], data.train_y[train]), data.train_y[train],
                     ArrayDataset(data.train_x[val], data.train_y[val]),
                     TrainConfig(in_channels=data.train_x.shape[1], seed=seed))
        logits = predict_logits(result.model, ArrayDataset(data.test_x, data.test_y))
        temperature, bias = result.config.temperature, result.config.bias
        calibrated = softmax_positive(logits, temperature, bias)
        runs.append({"seed": seed, "temperature": round(temperature, 3), "bias": round(bias, 3),
                     "epochs": result.epochs,
                     "val_ece": round(result.metrics["ece"], 4),
                     "val_ece_uncalibrated": round(result.metrics["ece_uncalibrated"], 4),
                     "test_ece": round(binary_metrics(data.test_y, calibrated)["ece"], 4),
                     "test_ece_uncalibrated": round(binary_metrics(data.test_y, softmax_positive(logits))["ece"], 4),
                     "test_auc": round(binary_metrics(data.test_y, calibrated)["auc"], 4)})
    report: dict[str, Any] = {"data": str(data_path), "labels": labels, "seeds": seeds,
                              **{f"median_{key}": float(np.median([run[key] for run in runs]))
                                 for key in ("val_ece", "val_ece_uncalibrated", "test_ece", "test_ece_uncalibrated",
                                             "test_auc")},
                              "runs": runs}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    return report
