"""Ultrasound-like test pictures: a dark (hypoechoic), irregular lesion with a soft edge in speckled tissue.

The demo has CT and mammography only, where lesions are bright and clean. These pictures stand in for the
hardest case the quick outline meets on real ultrasound: tissue whose echogenicity varies in bands and
blobs, a lesion 15–50 % as echogenic as the tissue around it with a blurred edge, posterior enhancement or
shadowing below it, fully developed speckle (the envelope of a complex Gaussian scatter blurred by an
anisotropic point-spread function), log compression, a black scan border and burned-in text. Seeded:
the same generator gives the same pictures.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.special import expit

SIZE = (360, 440)


def speckled_lesion(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One picture (float32, 0–255) and its lesion mask (bool)."""
    rows, cols = size
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    tissue = 1.0 + 2.8 * ndimage.gaussian_filter(rng.standard_normal(size), 25)
    tissue += 0.3 * np.sin(yy / rng.uniform(20, 45) + rng.uniform(0, 6))
    tissue = np.clip(tissue, 0.3, 2.5)
    radius, aspect, turn = rng.uniform(18, 60), rng.uniform(0.5, 1.0), rng.uniform(0, np.pi)
    cy, cx = rng.uniform(radius + 30, rows - radius - 60), rng.uniform(radius + 30, cols - radius - 30)
    along = (xx - cx) * np.cos(turn) + (yy - cy) * np.sin(turn)
    across = ((yy - cy) * np.cos(turn) - (xx - cx) * np.sin(turn)) / aspect
    distance, angle = np.hypot(along, across), np.arctan2(yy - cy, xx - cx)
    wobble = 1 + sum(rng.uniform(0, 0.12 if k < 4 else 0.05) * np.cos(k * angle + rng.uniform(0, 6))
                     for k in range(2, 8))
    mask = distance <= radius * wobble
    edge = expit((radius * wobble - distance) / rng.uniform(0.8, 2.5))
    echo = tissue * (1 - edge * (1 - rng.uniform(0.15, 0.5)))
    below = (yy > cy) & mask.any(axis=0)[None, :] & ~mask
    echo *= np.where(below, rng.uniform(0.6, 1.5), 1.0)
    scatter = [ndimage.gaussian_filter(rng.standard_normal(size), (1.5, 3.0)) for _ in range(2)]
    envelope = np.sqrt(echo) * np.hypot(*scatter)
    decibels = 20 * np.log10(envelope + 1e-3)
    low, high = np.percentile(decibels, [5, 99.7])
    picture = np.clip((decibels - low) / (high - low), 0, 1) * 255
    picture[:, :12] = 0
    picture[:12, :] = 0
    picture[4:10, 20:120] = 220
    return picture.astype(np.float32), mask


def lesion_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The lesion's bounding box (x, y, w, h), w and h inclusive extents less one (as ``rough_box`` expects)."""
    rows, cols = np.nonzero(mask)
    return float(cols.min()), float(rows.min()), float(cols.max() - cols.min()), float(rows.max() - rows.min())
