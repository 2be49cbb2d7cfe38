"""Pre-annotation: connected areas of a heatmap become rectangles in image pixels."""

from __future__ import annotations

import numpy as np

from labeling.labels.proposals import propose_regions


def test_two_areas_give_two_boxes_in_image_pixels() -> None:
    heat = np.zeros((64, 64), np.float32)
    heat[8:16, 40:48] = 0.9  # one finding
    heat[40:44, 4:12] = 0.7  # another
    heat[30, 30] = 0.4  # below the threshold
    regions = propose_regions(heat, 512, 256, 0.6, "Cancerous")  # rows 8 px, cols 4 px per cell
    boxes = sorted(region.bbox() for region in regions)
    assert [r.label for r in regions] == ["Cancerous"] * 2 and {r.shape for r in regions} == {"rect"}
    assert boxes == [(16.0, 320.0, 32.0, 32.0), (160.0, 64.0, 32.0, 64.0)]


def test_nothing_above_the_threshold_proposes_nothing() -> None:
    assert propose_regions(np.full((8, 8), 0.3, np.float32), 100, 100, 0.5, "Cancerous") == []
