"""The training loop, on one page: config, seeds, device once, train/eval, early stopping, metrics.

``fit`` takes any indexable dataset of ``(image tensor C×H×W float32, label int)`` pairs (the
project's label-derived patches stream from the cache; the simulation wraps arrays), so memory is
bounded by the batch size, not by the dataset.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, Dataset

from learner.allocator import keep_freed_memory
from learner.calibration import fit_calibration, softmax_positive
from learner.model import CompactCNN
from storage import MedalError

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # chosen once
# On a GPU: bfloat16 mixed precision, pinned host memory, a wider network (learner.loop.project_config)
ON_GPU = DEVICE.type == "cuda"
# A CPU with native bfloat16 instructions (AVX-512 BF16, AMX) trains and scores in bfloat16 (mixed_precision)
CPU_BFLOAT16 = DEVICE.type == "cpu" and bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
MIN_EPOCHS = 3  # large label sets: at least this many passes, then validation decides
MIN_IMAGES_PER_CLASS = 5  # fewer labeled images of a class than this make a model worth nothing

Movable = TypeVar("Movable", torch.Tensor, nn.Module)


class TooFewLabels(MedalError, ValueError):
    """Not enough labels of some class to train a model worth having."""


def require_both_classes(labels: Sequence[int], minimum: int, what: str = "training examples") -> None:
    """The one "too few labels" rule: at least ``minimum`` of ``what`` with a finding (label 1) and as
    many without (label 0), else :class:`TooFewLabels` saying what to label."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if counts.min() < minimum:
        raise TooFewLabels(f"Training needs at least {minimum} {what} with a finding and {minimum} without; "
                           f"there are {counts[1]} and {counts[0]}. Label more images (both cancerous and "
                           "healthy, of more patients) and train again.")


def to_device(item: Movable) -> Movable:
    """A batch of images or a network on the training device, in channels-last layout (faster convolutions)."""
    if isinstance(item, nn.Module):
        return item.to(DEVICE).to(memory_format=torch.channels_last)
    return item.to(DEVICE, non_blocking=ON_GPU).contiguous(memory_format=torch.channels_last)


def mixed_precision() -> torch.autocast:
    """bfloat16 autocast (weights stay float32; no loss scaling needed) on a GPU and on a CPU with native bfloat16
    instructions (AVX-512 BF16, AMX): there a training step is ~1.6× and the dense pass ~1.7× faster than in
    float32 (2 cores). Full precision on other CPUs."""
    return torch.autocast(device_type=DEVICE.type, dtype=torch.bfloat16, enabled=ON_GPU or CPU_BFLOAT16)


def loader(data: Dataset, batch_size: int, **options: Any) -> DataLoader:
    """Batches of ``data``; in pinned host memory when they go to a GPU (faster, asynchronous copies)."""
    return DataLoader(data, batch_size=batch_size, pin_memory=ON_GPU, **options)


@dataclass(frozen=True)
class TrainConfig:
    size: int = 32  # images/patches are resized to size×size before they reach the network
    context: int = 0  # pixels of the picture around each patch (a multiple of 16): trained as the dense pass sees it
    in_channels: int = 1
    width: int = 16  # channels of the first conv block …
    multipliers: tuple[int, ...] = (1, 2, 4, 6)  # … and of each block, as multiples of it
    first_convs: int = 2  # convolutions in the first block (full resolution: the costliest)
    dropout: float = 0.3  # in the head; also what BALD samples
    batch_size: int = 32
    max_epochs: int = 200
    min_steps: int = 400  # small label sets still get enough optimiser steps to converge …
    min_steps_before_stopping: int = 300  # … but stop after this many once validation stops improving
    small_set_steps: int = 0  # a small training set gets up to this many steps (0: min_steps for all; planned_steps)
    small_set_examples: int = 400  # … up to this many examples, the extra falling as 1/n beyond
    patience: int = 8  # epochs without a better (smoothed) validation loss before stopping
    min_val_for_stopping: int = 8  # fewer validation examples than this: run the whole schedule
    ema_decay: float = 0.98  # the model kept is an exponential moving average of the weights (steadier)
    lr: float = 1e-3  # peak of the one-cycle schedule
    feature_lr: float = 1.0  # the features' peak as a share of ``lr`` when training starts from pre-trained weights
    weight_decay: float = 1e-4
    augment: bool = True  # flips, small shifts, contrast jitter
    class_weighting: bool = True  # inverse class frequency in the loss, for rare findings
    min_per_class: int = 2
    seed: int = 0
    temperature: float = 1.0  # fitted on the validation split after training (learner/calibration.py) …
    bias: float = 0.0  # … with the bias added to the finding's logit


@dataclass
class TrainResult:
    model: CompactCNN
    config: TrainConfig
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: int = 0
    curves: dict[str, list[float]] = field(default_factory=dict)  # train_loss, val_loss per epoch
    reliability: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # calibrated, uncalibrated

    def checkpoint(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "state_dict": self.model.state_dict(), "metrics": self.metrics}


def build_model(config: TrainConfig) -> CompactCNN:
    """The network ``config`` describes (untrained)."""
    model = CompactCNN(config.in_channels, 2, config.width, config.dropout, tuple(config.multipliers),
                       config.first_convs)
    model.window = config.size if config.context else 0
    return model


def set_seeds(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips, shifts of up to 1/8 of the side, and contrast/brightness jitter. The
    random numbers come from ``generator`` (on the CPU, so a seed gives the same run on any device) and
    go to the batch's device."""
    n, _, h, w = batch.shape
    flip = (torch.rand(n, generator=generator) < 0.5).to(batch.device)
    batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
    pad = max(1, h // 8)
    padded = nn.functional.pad(batch, (pad, pad, pad, pad), mode="replicate")
    dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
    batch = padded[:, :, dy:dy + h, dx:dx + w]
    scale = (1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)).to(batch.device)
    shift = (0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)).to(batch.device)
    return batch * scale + shift


def planned_steps(config: TrainConfig, examples: int) -> int:
    """The optimiser steps ``fit`` plans for ``examples`` training examples, at least (``max_epochs`` and early
    stopping still bound them): ``min_steps``; with ``small_set_steps`` set, that many up to ``small_set_examples``
    examples, falling as 1/n beyond, so that a large set trains as it would with ``min_steps`` alone."""
    if not config.small_set_steps:
        return config.min_steps
    shrunk = round(config.small_set_steps * config.small_set_examples / max(examples, 1))
    return max(config.min_steps, min(config.small_set_steps, shrunk))


def fit(train: Dataset, labels: Sequence[int], val: Dataset | None, config: TrainConfig = TrainConfig(),
        progress: Callable[[int, int, float, float], None] | None = None,
        start_from: CompactCNN | None = None) -> TrainResult:
    """Train a CompactCNN (from ``start_from``'s weights when given, else from scratch); keep the weights with the
    best validation loss (early stopping)."""
    require_both_classes(labels, config.min_per_class)
    keep_freed_memory()
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    set_seeds(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config)
    if start_from is not None:
        model.load_state_dict(start_from.state_dict())
    model = to_device(model)
    weights = torch.tensor(counts.sum() / (2 * counts), dtype=torch.float32) if config.class_weighting else None
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(DEVICE) if weights is not None else None)
    batches = loader(train, config.batch_size, shuffle=True, generator=generator, drop_last=False)
    steps_per_epoch = max(1, len(batches))
    epochs = min(config.max_epochs, max(math.ceil(planned_steps(config, len(train)) / steps_per_epoch), MIN_EPOCHS))
    feature_lr = config.lr * (config.feature_lr if start_from is not None else 1.0)
    groups = [{"params": list(model.features.parameters()), "lr": feature_lr},
              {"params": list(model.head.parameters()), "lr": config.lr}]
    optimiser = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, [feature_lr, config.lr],
                                                   total_steps=epochs * steps_per_epoch)
    # Small validation sets make the loss jumpy: follow its moving average, and only from a third of
    # the schedule on (before that the one-cycle learning rate is still warming up).
    average = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    may_stop = val is not None and len(val) >= config.min_val_for_stopping
    best, best_loss, stale, epoch, smooth = copy.deepcopy(average.module.state_dict()), math.inf, 0, 0, None
    curves: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for images, targets in batches:
            images = to_device(images)
            if config.augment:
                images = augment(images, generator)
            with mixed_precision():
                loss = loss_fn(model(images).float(), targets.to(DEVICE))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            average.update_parameters(model)
            total += float(loss.detach()) * len(targets)
        val_loss = (evaluate_loss(average.module, val, loss_fn, config.batch_size)
                    if val is not None and len(val) else total / len(train))
        curves["train_loss"].append(round(total / len(train), 5))
        curves["val_loss"].append(round(val_loss, 5))
        if progress:
            progress(epoch, epochs, total / len(train), val_loss)
        if not may_stop:
            continue
        smooth = val_loss if smooth is None else 0.7 * smooth + 0.3 * val_loss
        if epoch < epochs / 3:
            continue  # the one-cycle learning rate is still warming up and the average still moving
        if smooth < best_loss - 1e-4:
            best, best_loss, stale = copy.deepcopy(average.module.state_dict()), smooth, 0
        else:
            stale += 1
            if stale >= config.patience and epoch * steps_per_epoch >= config.min_steps_before_stopping:
                break
    model = average.module
    if may_stop:
        model.load_state_dict(best)
    model.eval()
    result = TrainResult(model, config, epochs=epoch, curves=curves)
    if val is not None and len(val):
        truth = np.asarray([int(val[i][1]) for i in range(len(val))])
        logits = predict_logits(model, val, config.batch_size)
        raw = softmax_positive(logits)
        raw_ece = binary_metrics(truth, raw)["ece"]
        temperature, bias = fit_calibration(logits, truth)
        calibrated = softmax_positive(logits, temperature, bias)
        fitted_ece = binary_metrics(truth, calibrated)["ece"]
        kept = fitted_ece <= raw_ece  # the better calibrated of the two on the validation split
        if not kept:  # the fit minimises the log loss; on a small split it can bin worse than the raw model
            temperature, bias, calibrated = 1.0, 0.0, raw
        model.temperature, model.bias = temperature, bias
        result.config = replace(config, temperature=temperature, bias=bias)
        result.metrics = binary_metrics(truth, calibrated)
        result.metrics.update(ece_uncalibrated=raw_ece, ece_fitted=fitted_ece, calibration_kept=float(kept),
                              temperature=round(temperature, 4), bias=round(bias, 4))
        result.reliability = {"calibrated": reliability(truth, calibrated), "uncalibrated": reliability(truth, raw)}
    return result


@torch.no_grad()
def predict_logits(model: CompactCNN, data: Dataset, batch_size: int = 256) -> np.ndarray:
    """The head's raw logits (n, 2) in dataset order, dropout off, before any calibration."""
    model.eval()
    saved, model.temperature, model.bias = (model.temperature, model.bias), 1.0, 0.0
    try:
        with mixed_precision():
            out = [model(to_device(images)).float().cpu() for images, *_ in loader(data, batch_size)]
    finally:
        model.temperature, model.bias = saved
    return torch.cat(out).numpy() if out else np.zeros((0, 2), np.float32)


@torch.no_grad()
def evaluate_loss(model: nn.Module, data: Dataset, loss_fn: nn.Module, batch_size: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for images, targets in loader(data, batch_size * 4):
        with mixed_precision():
            total += float(loss_fn(model(to_device(images)).float(), targets.to(DEVICE))) * len(targets)
        count += len(targets)
    return total / max(count, 1)


@torch.no_grad()
def predict_proba(model: CompactCNN, data: Dataset, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (n, 2) in dataset order, dropout off."""
    model.eval()
    with mixed_precision():
        out = [torch.softmax(model(to_device(images)).float(), 1).cpu() for images, *_ in loader(data, batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 2), np.float32)


@torch.no_grad()
def embed(model: CompactCNN, data: Dataset, batch_size: int = 256,
          on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """The pooled convolutional features (n, embedding_size): what BALD's head and diversity use.
    ``on_batch`` hears how many items are done after each batch."""
    keep_freed_memory()
    model.eval()
    out: list[torch.Tensor] = []
    for images, *_ in loader(data, batch_size):
        with mixed_precision():
            out.append(model.features(to_device(images)).float().cpu())
        if on_batch:
            on_batch(sum(len(batch) for batch in out))
    return torch.cat(out).numpy() if out else np.zeros((0, model.embedding_size), np.float32)


def _bins(probability: np.ndarray, bins: int) -> np.ndarray:
    """Each probability's bin of ``bins`` equal widths over [0, 1] (the last closed)."""
    return np.clip(np.digitize(probability, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)


def reliability(truth: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """The reliability diagram's points: per non-empty bin of predicted P(finding), its mean prediction,
    the fraction that truly has a finding, and how many examples fell in it."""
    truth, probability = np.asarray(truth, dtype=int), np.asarray(probability, dtype=float)
    which = _bins(probability, bins)
    return [{"predicted": round(float(probability[which == b].mean()), 4),
             "observed": round(float(truth[which == b].mean()), 4), "count": int((which == b).sum())}
            for b in range(bins) if (which == b).any()]


def binary_metrics(truth: np.ndarray, probability: np.ndarray, bins: int = 10) -> dict[str, float]:
    """ROC AUC; sensitivity and specificity at the threshold maximising Youden's J; expected calibration error."""
    truth = np.asarray(truth, dtype=int)
    metrics: dict[str, float] = {"n": float(len(truth)), "positives": float(truth.sum())}
    if 0 < truth.sum() < len(truth):
        metrics["auc"] = float(roc_auc_score(truth, probability))
        candidates = np.unique(np.concatenate([[0.5], probability]))
        sens = np.array([(probability[truth == 1] >= t).mean() for t in candidates])
        spec = np.array([(probability[truth == 0] < t).mean() for t in candidates])
        best = int(np.argmax(sens + spec))
        metrics.update(threshold=float(candidates[best]), sensitivity=float(sens[best]),
                       specificity=float(spec[best]))
    which = _bins(probability, bins)
    ece = sum(abs(truth[which == b].mean() - probability[which == b].mean()) * (which == b).mean()
              for b in range(bins) if (which == b).any())
    metrics["ece"] = float(ece)
    return metrics
