"""Quick outline: the lesion inside a rough box the clinician drew, as an editable polygon.

Classical and local (scikit-image and SciPy; nothing is downloaded), in two ways, and the picture says which:

- **A sharp edge: a threshold.** The box plus a margin is cropped (thinned out when it is large) and smoothed
  lightly. Whether the lesion is brighter or darker than its surroundings is read from the box's centre
  against its border; a two-class (Otsu) threshold between those levels separates it; holes are filled, the
  part on (or nearest) the centre is kept, an opening half as wide as that part is thick cuts it from what
  it only touches (a vessel, a wall), and what reaches well outside the box is left out. This is kept when
  the found edge is sharp: the grey levels just inside and just outside it differ by at least
  ``SHARP_EDGE`` times their spread (a clean phantom, a contrast-enhanced lesion) — ``SMALL_PART_EDGE`` times
  for a part that fills less than ``MIN_FILL`` of the box: a cluster of dark speckle on a lesion's centre can
  pass the first by chance (a snug box around a speckled lesion: 57 pixels at 5.9), a small nodule in a
  proposal's window-sized box passes the second by far (~20).
- **Otherwise: the box's shape as a prior, the grey levels as evidence** (``labeling.labels.box_prior``).
  On clinical pictures the threshold spills into tissue of the lesion's density (a sarcoma in muscle on CT)
  or breaks up in speckle (ultrasound); the prior-guided answer then keeps to what the box and the picture
  together support, and falls back to the prior's ellipse where the picture shows nothing.

The contour runs one pixel outside the lesion's edge (where a hand-drawn outline runs, and the demo's truth
does) and is simplified to at most ``max_vertices`` points.

Points are ``[x, y]`` in image pixels: x the column, y the row, a pixel's centre at whole numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import approximate_polygon, find_contours

from labeling.labels.box_prior import prior_guided_mask, thinned, work_window
from storage import MedalError

if TYPE_CHECKING:
    from labeling.labels.learned_outline import OutlineModel

Box = tuple[float, float, float, float]

MARGIN = 0.25  # of the box's side, seen around it, so a lesion the box cuts is still seen whole
MIN_CONTRAST = 3.0  # grey levels (of 255) between the box's centre and border below which it is flat
GROW = 1.0  # pixels between the lesion's edge and the outline
NECK = 0.5  # opening radius, as a fraction of the lesion's thickness (largest inner distance to its edge)
REACH = 1.5  # kept: inside the box's inscribed ellipse scaled by √REACH (~1.22)
WORK_SIDE = 400  # a crop longer than this (pixels) is thinned out to about this before segmenting
SHARP_EDGE = 4.0  # inside-vs-outside difference of the threshold's edge (smoothed), in units of their spread …
MIN_FILL = 0.1  # … and a part filling less of the box than this …
SMALL_PART_EDGE = 8.0  # … needs this: a cluster of dark speckle passes 4 by chance (5.9 seen), a small nodule is ~20
REFIT_MARGIN = 0.2  # of the found outline's extent, on each side: the box ``outline_refitted`` outlines in next


class OutlineError(MedalError, ValueError):
    """A box that cannot be outlined: empty, or not on the image."""


def outline_in_box(picture: np.ndarray, box: Box, *, max_vertices: int = 48,
                   model: OutlineModel | None = None) -> list[list[float]]:
    """The outline of the lesion inside ``box`` = (x, y, w, h) on ``picture`` (2-D grey, 8-bit or float),
    as polygon points ``[[x, y], ...]`` in image pixels, at most ``max_vertices`` of them: the project's learned
    outline where ``model`` is given (``labeling.labels.learned_outline``) and finds something, else the classic
    one. A box partly off the image is clipped to it; ``OutlineError`` for a box with no area or entirely off the
    image."""
    grey = np.asarray(picture)
    if grey.ndim == 3 and grey.shape[2] in (1, 3, 4):
        grey = grey[..., :3].mean(axis=2)
    if grey.ndim != 2 or min(grey.shape) < 2:
        raise OutlineError(f"A quick outline needs a 2-D grey picture, not an array of shape {grey.shape}: "
                           "outline on the image as it is shown.")
    try:
        x, y, w, h = (float(value) for value in box)
    except (TypeError, ValueError):
        raise OutlineError(f"The box {box!r} is not four numbers (x, y, width, height): draw the box again."
                           ) from None
    if not all(math.isfinite(value) for value in (x, y, w, h)) or w <= 0 or h <= 0:
        raise OutlineError(f"The box (x={x:g}, y={y:g}, width={w:g}, height={h:g}) has no area: draw a box with a "
                           "positive width and height around the lesion.")
    rows, cols = grey.shape
    left, top, right, bottom = max(x, 0.0), max(y, 0.0), min(x + w, cols - 1.0), min(y + h, rows - 1.0)
    if right - left < 1 or bottom - top < 1:
        raise OutlineError(f"The box (x={x:g}, y={y:g}, width={w:g}, height={h:g}) lies outside the {cols}×{rows} "
                           "image: draw it around a lesion on the image.")
    clipped = (left, top, right - left, bottom - top)
    max_vertices = max(3, int(max_vertices))
    points = None if model is None else model.outline_points(grey, (x, y, w, h))
    if points is None or len(points) < 3:
        # The prior takes the box as drawn: a box partly off the image still says where the lesion's middle is.
        found = _sharp_lesion(grey, clipped) or prior_guided_mask(grey, (x, y, w, h))
        points = None if found is None else _contour(*found)
    if points is None:
        points = _ellipse(clipped, max_vertices)
    points = np.column_stack([np.clip(points[:, 0], 0, cols - 1), np.clip(points[:, 1], 0, rows - 1)])
    return _simplify(points, max_vertices)


def outline_refitted(picture: np.ndarray, box: Box, *, passes: int, min_side: float = 0.0,
                     max_vertices: int = 48, model: OutlineModel | None = None) -> list[list[float]]:
    """The quick outline in ``box``, then ``passes`` times again in a box snug around what the last one found (its
    extent grown by ``REFIT_MARGIN`` on each side, at least ``min_side`` pixels): for a box that only says roughly
    where a lesion is — a model's proposal, often off its centre and smaller than it — the outline pulls the box
    onto the lesion, and the quick outline does best in a box 1.1–1.4 times the lesion. Not for a reader's box:
    from rough boxes around real lesions each pass drifts further from them (real-lesions 0.71 → 0.66 after one)."""
    points = outline_in_box(picture, box, max_vertices=max_vertices, model=model)
    for _ in range(passes):
        corners = np.asarray(points, dtype=np.float64)
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        width = max((right - left) * (1 + 2 * REFIT_MARGIN), min_side)
        height = max((bottom - top) * (1 + 2 * REFIT_MARGIN), min_side)
        middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
        points = outline_in_box(picture, (middle_x - width / 2, middle_y - height / 2, width, height),
                                max_vertices=max_vertices, model=model)
    return points


def _sharp_lesion(grey: np.ndarray, box: Box) -> tuple[np.ndarray, int, int, int] | None:
    """The lesion a threshold finds in the box as ``(mask, c0, r0, step)`` (pixel (i, j) of ``mask`` is image
    pixel (r0 + i·step, c0 + j·step)), or None when nothing stands out or the edge it finds is not sharp."""
    x, y, w, h = box
    r0, r1, c0, c1, step = work_window(grey.shape, box, MARGIN, WORK_SIDE)
    crop = thinned(grey[r0:r1, c0:c1], step)
    if not np.isfinite(crop).all():
        crop = np.nan_to_num(crop, nan=float(np.nanmedian(crop)) if np.isfinite(crop).any() else 0.0,
                             posinf=0.0, neginf=0.0)
    blur = float(np.clip(min(w, h) / step / 80, 0.7, 2.0))
    smooth = ndimage.gaussian_filter(crop, blur)
    # The box in work coordinates (pixel (i, j) of ``smooth`` is image pixel (r0 + i·step, c0 + j·step)).
    bx, by, bw, bh = (x - c0) / step, (y - r0) / step, w / step, h / step
    yy, xx = np.mgrid[0:smooth.shape[0], 0:smooth.shape[1]].astype(np.float32)
    ellipse = ((xx - bx - bw / 2) / (bw / 2)) ** 2 + ((yy - by - bh / 2) / (bh / 2)) ** 2
    inside = (xx >= bx) & (xx <= bx + bw) & (yy >= by) & (yy <= by + bh)
    centre = ellipse <= 0.3**2
    if not centre.any():
        centre[np.unravel_index(np.argmin(ellipse), ellipse.shape)] = True
    border = inside & (ellipse >= 1.0)
    if not border.any():
        border = inside & ~centre
    if not border.any():
        return None
    scale = 1.0 if grey.dtype == np.uint8 else 255.0 / max(float(np.nanmax(grey) - np.nanmin(grey)), 1e-12)
    centre_level, border_level = float(np.median(smooth[centre])), float(np.median(smooth[border]))
    if abs(centre_level - border_level) * scale < MIN_CONTRAST:
        return None
    sign = 1.0 if centre_level > border_level else -1.0  # the lesion made bright
    signed = sign * smooth
    low, high = sorted((sign * border_level, sign * centre_level))
    values = np.clip(signed[inside], low, high)
    level = float(threshold_otsu(values)) if float(values.max() - values.min()) > 0 else (low + high) / 2
    mask = _lesion(signed > level, centre, ellipse)
    if mask is None:
        return None
    small = mask.sum() < MIN_FILL * inside.sum()
    if _edge_contrast(smooth, mask, gap=2 * blur) < (SMALL_PART_EDGE if small else SHARP_EDGE):
        return None
    return mask, c0, r0, step


def _edge_contrast(picture: np.ndarray, mask: np.ndarray, gap: float = 1.0) -> float:
    """How far the grey levels just inside the edge of ``mask`` are from those just outside it, in units of
    their spread (pooled standard deviation): what lies more than ``gap`` pixels inside the edge (the
    smoothing's blur is left out) against a ring a few pixels wide ``gap`` pixels out."""
    inner = ndimage.distance_transform_edt(mask) > gap
    outside = ndimage.distance_transform_edt(~mask)
    ring = (outside > gap) & (outside <= gap + max(2.0, 0.15 * math.sqrt(float(mask.sum()))))
    if inner.sum() < 3 or ring.sum() < 3:
        return 0.0
    spread = math.sqrt(0.5 * (float(picture[inner].var()) + float(picture[ring].var())))
    return abs(float(picture[inner].mean()) - float(picture[ring].mean())) / (spread + 1e-6)


def _contour(mask: np.ndarray, c0: int, r0: int, step: int) -> np.ndarray | None:
    """The outline of ``mask`` one pixel (``GROW``) outside its edge, as (x, y) image points."""
    if GROW > 0:
        mask = ndimage.distance_transform_edt(~mask) <= GROW / step
    contours = find_contours(np.pad(mask, 1).astype(np.float32), 0.5)
    if not contours:
        return None
    contour = max(contours, key=len) - 1
    return np.column_stack([c0 + contour[:, 1] * step, r0 + contour[:, 0] * step])


def _lesion(mask: np.ndarray, centre: np.ndarray, ellipse: np.ndarray) -> np.ndarray | None:
    """The part of ``mask`` that is the lesion: holes filled, on (or nearest) the centre, cut at its necks
    from what it touches, and kept near the box."""
    chosen = _on_centre(ndimage.binary_fill_holes(_open(mask, 1.0)), centre, ellipse)
    if chosen is None:
        return None
    radius = NECK * float(ndimage.distance_transform_edt(chosen).max())
    if radius >= 1.5:
        chosen = _either(_on_centre(_open(chosen, radius), centre, ellipse), chosen)
    near = chosen & (ellipse <= REACH)
    if near.any():
        chosen = _either(_on_centre(near, centre, ellipse), chosen)
    return chosen


def _either(mask: np.ndarray | None, otherwise: np.ndarray) -> np.ndarray:
    return otherwise if mask is None else mask


def _on_centre(mask: np.ndarray, centre: np.ndarray, ellipse: np.ndarray) -> np.ndarray | None:
    """The connected part of ``mask`` most on the centre, else the one nearest it inside the box's
    inscribed ellipse; None when there is none."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    on_centre = np.bincount(labels[centre], minlength=count + 1)[1:]
    if on_centre.max() > 0:
        return labels == int(np.argmax(on_centre)) + 1
    nearest = np.asarray(ndimage.minimum(ellipse, labels, index=np.arange(1, count + 1)))
    chosen = int(np.argmin(nearest))
    return labels == chosen + 1 if nearest[chosen] <= 1.0 else None


def _open(mask: np.ndarray, radius: float) -> np.ndarray:
    """Morphological opening by a disk of ``radius`` pixels, from two distance transforms (as fast at any
    radius); ``mask`` itself when nothing would be left."""
    eroded = ndimage.distance_transform_edt(mask) > radius
    if not eroded.any():
        return mask
    return ndimage.distance_transform_edt(~eroded) <= radius


def _ellipse(box: Box, vertices: int) -> np.ndarray:
    """The ellipse inscribed in ``box``, as (x, y) points."""
    x, y, w, h = box
    angles = np.linspace(0, 2 * np.pi, min(vertices, 32), endpoint=False)
    return np.column_stack([x + w / 2 + w / 2 * np.cos(angles), y + h / 2 + h / 2 * np.sin(angles)])


def _simplify(points: np.ndarray, max_vertices: int) -> list[list[float]]:
    """At most ``max_vertices`` points of a closed contour, fewer where it runs straight."""
    if len(points) > 1 and np.allclose(points[0], points[-1]):
        points = points[:-1]
    # Start at the point farthest from the middle: a corner, which the simplification then keeps.
    points = np.roll(points, -int(np.argmax(((points - points.mean(axis=0)) ** 2).sum(axis=1))), axis=0)
    simplified, tolerance = points, 0.5
    while len(points) > 3 and tolerance <= 64:
        simplified = approximate_polygon(np.vstack([points, points[:1]]), tolerance)[:-1]
        if len(simplified) <= max_vertices:
            break
        tolerance *= 1.5
    if len(simplified) > max_vertices:
        simplified = points[np.linspace(0, len(points), max_vertices, endpoint=False).astype(int)]
    return [[round(float(px), 2), round(float(py), 2)] for px, py in simplified]
