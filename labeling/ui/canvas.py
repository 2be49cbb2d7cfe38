"""Drawing-canvas geometry: Fabric.js objects (canvas pixels) ↔ regions (original image pixels).

The Label page shows an image scaled by ``scale`` (canvas px per image px, same on both axes).
Fabric keeps a rect as ``left/top/width/height`` with the stroke straddling the border, and a
polygon or path as its original points plus where the object now sits (``left/top``, possibly
moved or scaled on the canvas): a point's canvas position is ``(p - pathOffset) * scale + centre``,
``pathOffset`` being the centre of the points' box. Regions are classed by their stroke colour,
which is the class colour they were drawn in.
"""

from __future__ import annotations

from typing import Any

from labeling.labels.annotations import RegionInput
from labeling.labels.taxonomy import ClassStyle

_ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
STROKE_WIDTH = 2
TOOLS = {"box": "rect", "polygon": "polygon", "freehand": "freedraw"}


def display_scale(rows: int, cols: int, max_width: int = 900, max_height: int = 760) -> float:
    """Canvas pixels per image pixel so the whole image fits (never enlarged past 3×)."""
    return min(max_width / cols, max_height / rows, 3.0)


def fill_color(color: str, alpha: float = 0.15) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def regions_from_canvas(drawing: dict[str, Any] | None, scale: float, classes: list[ClassStyle],
                        default_label: str) -> list[RegionInput]:
    """Every rect, polygon and freehand path on the canvas as a region in image pixels."""
    by_color = {c.color.lower(): c.name for c in classes}
    regions = []
    for obj in (drawing or {}).get("objects", []):
        kind = str(obj.get("type", "")).lower()
        label = by_color.get(str(obj.get("stroke", "")).lower(), default_label)
        if kind in ("rect", "labeledrect"):
            points = _rect_points(obj)
            shape = "rect"
        elif kind in ("polygon", "path"):
            raw = _polygon_points(obj) if kind == "polygon" else _path_points(obj)
            points = _placed(obj, raw)
            shape = kind
        else:
            continue
        image_points = [[round(x / scale, 1), round(y / scale, 1)] for x, y in points]
        if len(image_points) >= 2 and _has_area(image_points):
            regions.append(RegionInput(label, shape, image_points))
    return regions


def drawing_from_regions(regions: list[RegionInput], scale: float, classes: list[ClassStyle]) -> dict[str, Any]:
    """Fabric objects that show saved regions on the canvas, ready for ``initial_drawing``."""
    colors = {c.name.lower(): c.color for c in classes}
    half = STROKE_WIDTH / 2
    objects = []
    for region in regions:
        color = colors.get(region.label.lower(), "#ffffff")
        style = {"stroke": color, "strokeWidth": STROKE_WIDTH, "originX": "left", "originY": "top",
                 "scaleX": 1, "scaleY": 1, "angle": 0}
        points = [(x * scale, y * scale) for x, y in region.points]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if region.shape == "rect":
            objects.append({"type": "Rect", "left": min(xs) - half, "top": min(ys) - half,
                            "width": max(xs) - min(xs), "height": max(ys) - min(ys),
                            "fill": fill_color(color), **style})
        elif region.shape == "polygon":
            objects.append({"type": "Polygon", "points": [{"x": x, "y": y} for x, y in points],
                            "left": min(xs) - half, "top": min(ys) - half, "fill": fill_color(color), **style})
        else:
            path = [["M", *points[0]]] + [["L", x, y] for x, y in points[1:]]
            objects.append({"type": "Path", "path": path, "left": min(xs) - half, "top": min(ys) - half,
                            "fill": None, "strokeLineCap": "round", "strokeLineJoin": "round", **style})
    return {"version": "6.0.0", "objects": objects}


def _rect_points(obj: dict[str, Any]) -> list[tuple[float, float]]:
    stroke = float(obj.get("strokeWidth", 0) or 0)
    w = float(obj.get("width", 0)) * float(obj.get("scaleX", 1))
    h = float(obj.get("height", 0)) * float(obj.get("scaleY", 1))
    left = float(obj.get("left", 0)) - _ORIGIN.get(obj.get("originX", "left"), 0.0) * (w + stroke) + stroke / 2
    top = float(obj.get("top", 0)) - _ORIGIN.get(obj.get("originY", "top"), 0.0) * (h + stroke) + stroke / 2
    return [(left, top), (left + w, top), (left + w, top + h), (left, top + h)]


def _polygon_points(obj: dict[str, Any]) -> list[tuple[float, float]]:
    return [(float(p["x"]), float(p["y"])) for p in obj.get("points", [])]


def _path_points(obj: dict[str, Any]) -> list[tuple[float, float]]:
    """The end point of every path command (Q/C control points are dropped)."""
    points = []
    for command in obj.get("path", []):
        numbers = [float(v) for v in command[1:]]
        if len(numbers) >= 2:
            points.append((numbers[-2], numbers[-1]))
    return points


def _placed(obj: dict[str, Any], points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points moved/scaled to where the object sits on the canvas now."""
    if not points:
        return []
    stroke = float(obj.get("strokeWidth", 0) or 0)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    offset_x, offset_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    sx, sy = float(obj.get("scaleX", 1)), float(obj.get("scaleY", 1))
    width = float(obj.get("width", max(xs) - min(xs) + stroke)) * sx
    height = float(obj.get("height", max(ys) - min(ys) + stroke)) * sy
    left = float(obj.get("left", min(xs) - stroke / 2))
    top = float(obj.get("top", min(ys) - stroke / 2))
    center_x = left + (0.5 - _ORIGIN.get(obj.get("originX", "left"), 0.0)) * width
    center_y = top + (0.5 - _ORIGIN.get(obj.get("originY", "top"), 0.0)) * height
    return [((x - offset_x) * sx + center_x, (y - offset_y) * sy + center_y) for x, y in points]


def _has_area(points: list[list[float]]) -> bool:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return max(xs) - min(xs) >= 1 and max(ys) - min(ys) >= 1
