"""A compact CNN for 1- or 3-channel images: convolutional features, then a dropout head.

The split matters for BALD: the features are computed once per image and only the small head is
sampled T times with dropout on (``head_samples``), which is 10-30× faster than running the whole
network T times. No downloaded weights: everything is trained from the project's labels.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class CompactCNN(nn.Module):
    """Four conv blocks → global average pool (the embedding) → dropout → linear → dropout → linear."""

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        widths = [width, width * 2, width * 4, width * 6]
        blocks, previous = [], in_channels
        for channels in widths:
            blocks.append(_block(previous, channels))
            previous = channels
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embedding_size = previous
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(previous, 64), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(64, classes))
        # Temperature scaling (fitted on the validation split after training, kept in the checkpoint's config):
        # every probability the model gives is softmax(logits / temperature). 1 while training.
        self.temperature = 1.0

    def head_logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The head's logits, divided by the calibration temperature."""
        logits = self.head(embeddings)
        return logits if self.temperature == 1.0 else logits / self.temperature

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head_logits(self.features(images))

    def head_samples(self, embeddings: torch.Tensor, samples: int) -> torch.Tensor:
        """``samples`` stochastic forward passes of the head (dropout on): (samples, n, classes) probabilities."""
        was_training = self.head.training
        self.head.train()
        try:
            return torch.stack([torch.softmax(self.head_logits(embeddings), dim=1) for _ in range(samples)])
        finally:
            self.head.train(was_training)
