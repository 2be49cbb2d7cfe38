"""Self-supervised pre-training of the CNN's features on unlabeled images (SimCLR-style contrastive learning).

Two randomly altered views of each image (a crop of 55–100% of its area resized back, a flip, a small
rotation, contrast and brightness changes, sometimes a blur, noise) go through the features and a small
projection head; the loss (NT-Xent, Chen et al. 2020) pulls the two views of one image together and pushes the
other images of the batch away. No label is used and nothing is downloaded: the pool a project already holds is
what teaches the network what its pictures look like, so a few dozen labels only have to name what it already
tells apart. Training then starts from these features (``fit(start_from=...)``) with a lower learning rate on them
(``TrainConfig.feature_lr``).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from sqlmodel import Session, select
from torch import nn
from torch.nn import functional

from learner.dataset import Example, materialise
from learner.model import CompactCNN
from learner.train import DEVICE, TrainConfig, build_model, mixed_precision, set_seeds, to_device
from storage import Image, MedalError, Project

BATCH = 256  # images per step (512 views): the negatives NT-Xent compares against
TEMPERATURE = 0.2
LR = 2e-3
MIN_AREA = 0.55  # a view keeps at least this share of the image's area
MAX_ROTATION = math.radians(10)
# Training from pre-trained features: their learning rate as a share of the head's. On PneumoniaMNIST (60 and 120
# random labels, 4 seeds, test AUC) 1.0 gave 0.930 and 0.933, 0.1 gave 0.937 and 0.943, 0.02 0.944 and 0.943.
PRETRAINED_FEATURE_LR = 0.1


def views(images: torch.Tensor, generator: torch.Generator, intensity: bool = True) -> torch.Tensor:
    """One randomly altered view of each image (n, C, H, W), the same size; random numbers from ``generator``.
    ``intensity`` False keeps each pixel's grey level (no contrast, brightness or blur change): windows of CT and
    MR pictures, where a lesion is a difference of grey level the network must not learn to ignore."""
    n, channels, height, width = images.shape

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    side = uniform(MIN_AREA, 1.0).sqrt()
    aspect = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3))).sqrt()
    scale_x, scale_y = (side * aspect).clamp(max=1), (side / aspect).clamp(max=1)
    angle = uniform(-MAX_ROTATION, MAX_ROTATION)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale_x * torch.cos(angle) * flip
    theta[:, 0, 1] = -scale_y * torch.sin(angle)
    theta[:, 1, 0] = scale_x * torch.sin(angle) * flip
    theta[:, 1, 1] = scale_y * torch.cos(angle)
    theta[:, 0, 2] = uniform(-1, 1) * (1 - scale_x)
    theta[:, 1, 2] = uniform(-1, 1) * (1 - scale_y)
    grid = functional.affine_grid(theta, [n, channels, height, width], align_corners=False)
    out = functional.grid_sample(images, grid.to(images.device), padding_mode="border", align_corners=False)
    if not intensity:
        return out + 0.1 * torch.randn(out.shape, generator=generator).to(images.device)
    contrast = (1 + 0.8 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)).to(images.device)
    brightness = (0.8 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)).to(images.device)
    out = out * contrast + brightness
    blurred = torch.rand(n, generator=generator) < 0.3
    if blurred.any():
        kernel = torch.tensor([0.25, 0.5, 0.25], device=images.device)
        kernel = (kernel[:, None] * kernel[None, :]).expand(channels, 1, 3, 3)
        chosen = blurred.to(images.device)
        out[chosen] = functional.conv2d(functional.pad(out[chosen], (1, 1, 1, 1), mode="replicate"), kernel,
                                        groups=channels)
    return out + 0.1 * torch.randn(out.shape, generator=generator).to(images.device)


def nt_xent(projections: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """NT-Xent over 2n projections where rows i and i + n are the two views of one image."""
    z = functional.normalize(projections.float(), dim=1)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(-1e9)
    n = len(z) // 2
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return functional.cross_entropy(similarity, partner)


def contrastive_pretrain(images: torch.Tensor, config: TrainConfig, steps: int, seed: int = 0,
                         progress: Callable[[int, int, float], None] | None = None,
                         intensity: bool = True) -> CompactCNN:
    """A network of ``config``'s shape whose features were trained for ``steps`` contrastive steps on ``images``
    (n, C, H, W float32, standardised as training sees them; drawn with replacement, so any n ≥ 2 works). Its head
    is untrained. ``progress(step, steps, loss)`` every 50 steps; ``intensity`` as in ``views``."""
    if len(images) < 2:
        raise ValueError("contrastive pre-training needs at least 2 images")
    set_seeds(seed)
    generator = torch.Generator().manual_seed(seed)
    model = to_device(build_model(config))
    projection = nn.Sequential(nn.Linear(model.embedding_size, 128), nn.ReLU(inplace=True),
                               nn.Linear(128, 64)).to(DEVICE)
    parameters = list(model.features.parameters()) + list(projection.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=LR, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, LR, total_steps=max(steps, 20), pct_start=0.1)
    batch = min(BATCH, len(images))
    model.train()
    for step in range(steps):
        chosen = images[torch.randint(0, len(images), (batch,), generator=generator)]
        pair = to_device(torch.cat([views(chosen, generator, intensity), views(chosen, generator, intensity)]))
        with mixed_precision():
            loss = nt_xent(projection(model.features(pair)))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress and (step % 50 == 0 or step == steps - 1):
            progress(step + 1, steps, float(loss.detach()))
    model.eval()
    return model


# Pre-training on a project's own pool: windows of its pictures at the scales lesions come in.
WINDOW_FRACTIONS = (0.08, 0.6)  # a window's side as a share of the picture's short side: drawn log-uniform between
WINDOWS_PER_IMAGE = 8
MAX_PRETRAIN_IMAGES = 1000  # pictures of the pool the windows come from (drawn by the seed)
CHECKPOINT = "pretrained-features.pt"
POOL_PRETRAIN_STEPS = 300  # `medal pretrain`'s default: ~2 minutes on 2 cores for the project's CPU network
MAX_PRETRAIN_STEPS = 100_000
ARCHITECTURE = ("size", "context", "in_channels", "width", "multipliers", "first_convs")


class PretrainError(MedalError):
    """Pre-training asked for what cannot be done: no pictures in the pool, or a number of steps out of range."""


def window_examples(shapes: dict[int, tuple[int, int]], per_image: int, seed: int) -> list[Example]:
    """``per_image`` square windows of every picture (rows, cols in ``shapes``), of a side drawn log-uniform in
    WINDOW_FRACTIONS of its short side and anywhere inside it: what the dense pass looks at, unlabeled."""
    rng = np.random.default_rng(seed)
    low, high = (math.log(f) for f in WINDOW_FRACTIONS)
    examples = []
    for image_id, (rows, cols) in shapes.items():
        short = min(rows, cols)
        for _ in range(per_image):
            side = max(4, int(round(short * math.exp(rng.uniform(low, high)))))
            x, y = int(rng.integers(0, cols - side + 1)), int(rng.integers(0, rows - side + 1))
            examples.append(Example(image_id, "", 0, (x, y, side), "window"))
    return examples


def pool_windows(config: TrainConfig, seed: int, *, project: Project, per_image: int = WINDOWS_PER_IMAGE,
                 max_images: int = MAX_PRETRAIN_IMAGES) -> torch.Tensor:
    """Network inputs (with ``config``'s context) of random windows of up to ``max_images`` pictures of the
    project: (n, 1, H, W) float32."""
    with Session(project.engine) as session:
        shapes = {i: (r, c) for i, r, c in session.exec(select(Image.id, Image.rows, Image.cols)).all()
                  if r and c}
    chosen = sorted(shapes)
    if len(chosen) > max_images:
        chosen = sorted(np.random.default_rng(seed).choice(chosen, max_images, replace=False).tolist())
    examples = window_examples({i: shapes[i] for i in chosen}, per_image, seed)
    with tempfile.TemporaryDirectory(dir=project.folder("training")) as folder:
        inputs = materialise(examples, config.size, Path(folder) / "windows.npy", config.context, project=project)
        return torch.from_numpy(np.asarray(inputs.inputs, dtype=np.float32))


def pretrain_project(config: TrainConfig, steps: int, seed: int = 0, *, project: Project,
                     progress: Callable[[int, int, float], None] | None = None,
                     max_images: int = MAX_PRETRAIN_IMAGES) -> Path:
    """Pre-train ``config``'s features on windows of the project's pictures (views that keep grey levels) and keep
    them in its models folder, where training finds them (``pretrained_features``). Returns the checkpoint's path."""
    if not 1 <= steps <= MAX_PRETRAIN_STEPS:
        raise PretrainError(f"Pre-training takes 1 to {MAX_PRETRAIN_STEPS} steps, not {steps}.")
    windows = pool_windows(config, seed, project=project, max_images=max_images)
    if len(windows) < 2:
        raise PretrainError("There are no pictures to pre-train on: import images first.")
    model = contrastive_pretrain(windows, config, steps, seed, progress, intensity=False)
    path = project.folder("models") / CHECKPOINT
    torch.save({"architecture": _architecture(config), "state_dict": model.state_dict(), "windows": len(windows),
                "steps": steps}, path)
    return path


def _architecture(config: TrainConfig) -> dict[str, object]:
    """The fields of ``config`` that shape the network, as a checkpoint stores them (tuples as lists)."""
    return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(config).items() if key in ARCHITECTURE}


def pretrained_features(config: TrainConfig, *, project: Project) -> CompactCNN | None:
    """The project's pre-trained network where one of ``config``'s architecture is kept, else None."""
    path = project.folder("models") / CHECKPOINT
    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("architecture") != _architecture(config):
        return None
    model = build_model(config)
    model.load_state_dict(saved["state_dict"])
    return model
