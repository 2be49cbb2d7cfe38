"""A drawn region's pixels: its outline (a rect, polygon or freehand path, closed) filled, as booleans; and how two
such masks overlap."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw


def region_mask(points: list[list[float]], rows: int, cols: int) -> np.ndarray:
    """The pixels inside a region's outline, as a ``rows``×``cols`` boolean mask (image pixels)."""
    canvas = PILImage.new("1", (cols, rows), 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in points], fill=1, outline=1)
    return np.asarray(canvas, dtype=bool)


def mask_dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean masks (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 2 * int((a & b).sum()) / total if total else 1.0
