"""Cold start: simple image features and the k-means picks that spread the first labels over the data."""

from __future__ import annotations

import numpy as np


def cold_start(features: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Before any model: ``n`` images spread over the data — the image nearest each of ``n`` k-means
    centres of simple image features (typical and diverse; farthest-point picks chase outliers)."""
    n = min(n, len(features))
    if n == 0:
        return np.zeros(0, dtype=int)
    # scikit-learn costs ~110 MB resident: loaded only when a queue is spread, not by every import
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import pairwise_distances

    centres = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024).fit(features)
    distances = pairwise_distances(centres.cluster_centers_, features)
    chosen: list[int] = []
    taken = np.zeros(len(features), dtype=bool)
    for cluster in np.argsort(np.bincount(centres.labels_, minlength=n))[::-1]:  # biggest clusters first
        order = np.argsort(distances[cluster])
        pick = int(next(i for i in order if not taken[i]))
        taken[pick] = True
        chosen.append(pick)
    return np.asarray(chosen)


def simple_features(x: np.ndarray) -> np.ndarray:
    """8×8 average-pooled thumbnails plus a 16-bin histogram of standardised images: what cold start
    spreads over."""
    grey = x.mean(axis=1)
    n, h, w = grey.shape
    cropped = grey[:, : h - h % 8, : w - w % 8]
    thumbs = cropped.reshape(n, 8, cropped.shape[1] // 8, 8, cropped.shape[2] // 8).mean(axis=(2, 4))
    hist = np.stack([np.histogram(row, bins=16, range=(-3, 3))[0] for row in grey.reshape(n, -1)]) / (h * w)
    return np.concatenate([thumbs.reshape(n, -1), hist * 8], axis=1)


def standardise(images: np.ndarray) -> np.ndarray:
    """uint8/float (n, H, W) or (n, H, W, C) → float32 (n, C, H, W), zero mean and unit spread per image."""
    x = images.astype(np.float32)
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True) + 1e-6
    return (x - mean) / std
