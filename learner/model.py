"""A compact CNN for 1- or 3-channel images: convolutional features, then a dropout head.

The split matters for BALD: the features are computed once per image and only the small head is
sampled T times with dropout on (``head_samples``), which is 10-30× faster than running the whole
network T times. No downloaded weights: everything is trained from the project's labels.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _block(channels_in: int, channels_out: int, convs: int = 2) -> nn.Sequential:
    """``convs`` 3×3 convolutions (each with batch norm and ReLU), then a 2× max pool."""
    layers: list[nn.Module] = []
    for index in range(convs):
        layers += [nn.Conv2d(channels_in if index == 0 else channels_out, channels_out, 3, padding=1, bias=False),
                   nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class CompactCNN(nn.Module):
    """Four conv blocks → global average pool (the embedding) → dropout → linear → dropout → linear.

    Block ``i`` has ``width × multipliers[i]`` channels and two convolutions, the first ``first_convs``: the
    first block works at full resolution, where one convolution fewer saves a fifth of the whole pass."""

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16, dropout: float = 0.3,
                 multipliers: tuple[int, ...] = (1, 2, 4, 6), first_convs: int = 2) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        blocks, previous = [], in_channels
        for index, multiplier in enumerate(multipliers):
            channels = width * multiplier
            blocks.append(_block(previous, channels, first_convs if index == 0 else 2))
            previous = channels
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embedding_size = previous
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(previous, 64), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(64, classes))
        # Calibration (fitted on the validation split after training, kept in the checkpoint's config): every
        # probability the model gives is softmax(logits / temperature + [0, bias]). 1 and 0 while training.
        self.temperature = 1.0
        self.bias = 0.0
        self.window = 0  # TrainConfig.size when the inputs carry context around the window (TrainConfig.context)

    def head_logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The head's logits under the calibration: divided by its temperature, its bias added to the finding's."""
        logits = self.head(embeddings)
        if self.temperature == 1.0 and self.bias == 0.0:
            return logits
        logits = logits / self.temperature
        return logits + logits.new_tensor([0.0, self.bias])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits of each image; with ``window`` set and inputs larger than it (a patch with its context
        around), the logits of the centre window, seen as the dense pass sees it: with its surroundings."""
        if self.window and images.shape[-1] > self.window:
            windows = self.window_embeddings(images, self.window)
            return self.head_logits(windows[:, windows.shape[1] // 2, windows.shape[2] // 2])
        return self.head_logits(self.features(images))

    def window_embeddings(self, images: torch.Tensor, window: int) -> torch.Tensor:
        """The pooled embedding of every ``window``×``window`` input window at a stride of 16 input pixels, in
        one pass over images of any size ≥ ``window`` (fully convolutional): (n, rows, cols, embedding_size).
        The conv blocks run once; each window's embedding is the mean of its feature cells, as ``forward``
        pools a window-sized input."""
        maps = self.features[:-2](images)  # the conv blocks: without the global pool and the flatten
        cells = max(1, window // 16)
        pooled = nn.functional.avg_pool2d(maps, cells, stride=1) if cells > 1 else maps
        return pooled.permute(0, 2, 3, 1)

    def dense_logits(self, images: torch.Tensor, window: int) -> torch.Tensor:
        """The head's logits of every window of ``window_embeddings``: (n, classes, rows, cols)."""
        return self.head_logits(self.window_embeddings(images, window)).permute(0, 3, 1, 2)

    def for_inference(self) -> CompactCNN:
        """A copy in eval mode with each batch norm folded into the convolution before it (same outputs,
        one pass over each feature map fewer: the dense pass over a pool is ~20% faster on a CPU)."""
        fused = copy.deepcopy(self).eval()
        for block in fused.features:
            if not isinstance(block, nn.Sequential):
                continue
            for index in range(len(block) - 1):
                if isinstance(block[index], nn.Conv2d) and isinstance(block[index + 1], nn.BatchNorm2d):
                    block[index] = fuse_conv_bn_eval(block[index], block[index + 1])
                    block[index + 1] = nn.Identity()
        return fused

    def head_samples(self, embeddings: torch.Tensor, samples: int) -> torch.Tensor:
        """``samples`` stochastic forward passes of the head (dropout on): (samples, n, classes) probabilities."""
        was_training = self.head.training
        self.head.train()
        try:
            return torch.stack([torch.softmax(self.head_logits(embeddings), dim=1) for _ in range(samples)])
        finally:
            self.head.train(was_training)
