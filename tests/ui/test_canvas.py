"""Canvas geometry: Fabric objects in canvas pixels ↔ regions in image pixels."""

from __future__ import annotations

import pytest

from labeling.labels.annotations import RegionInput
from labeling.ui.canvas import ClassStyle, display_scale, drawing_from_regions, regions_from_canvas

CLASSES = [ClassStyle("Cancerous", "#e6194b"), ClassStyle("Healthy", "#3cb44b")]


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.375, 3.0])
def test_round_trip_every_shape(scale: float) -> None:
    regions = [RegionInput("Cancerous", "rect", [[10, 20], [60, 20], [60, 45], [10, 45]]),
               RegionInput("Healthy", "polygon", [[100, 100], [140, 110], [120, 150]]),
               RegionInput("Cancerous", "path", [[5, 5], [30, 8], [25, 40], [6, 30]])]
    back = regions_from_canvas(drawing_from_regions(regions, scale, CLASSES), scale, CLASSES, "Healthy")
    assert [(r.label, r.shape) for r in back] == [(r.label, r.shape) for r in regions]
    for before, after in zip(regions, back):
        assert after.bbox() == pytest.approx(before.bbox(), abs=0.2)


def test_moved_and_scaled_polygon_and_unknown_colour() -> None:
    polygon = {"type": "Polygon", "points": [{"x": 0, "y": 0}, {"x": 40, "y": 0}, {"x": 40, "y": 20}],
               "left": 99, "top": 49, "width": 42, "height": 22, "scaleX": 2, "scaleY": 1, "strokeWidth": 2,
               "stroke": "#123456"}
    (region,) = regions_from_canvas({"objects": [polygon]}, 2.0, CLASSES, "Healthy")
    assert region.label == "Healthy"
    x, y, w, h = region.bbox()
    assert (x, w, h) == pytest.approx((50.5, 40, 10), abs=1)


def test_ignores_dots_and_unknown_objects() -> None:
    drawing = {"objects": [{"type": "Rect", "left": 5, "top": 5, "width": 0.2, "height": 0.2},
                           {"type": "Circle", "left": 5, "top": 5, "radius": 10}]}
    assert regions_from_canvas(drawing, 1.0, CLASSES, "Healthy") == []


def test_display_scale_fits_and_caps() -> None:
    assert display_scale(100, 100) == 3.0 and display_scale(256, 256) == pytest.approx(760 / 256)
    assert display_scale(3000, 2400) == pytest.approx(760 / 3000)
