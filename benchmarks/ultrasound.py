"""``medal bench ultrasound-set DIR``: a folder of ultrasound-like frames with lesion masks, for ``medal bench real``.

No real ultrasound set is at hand here, and a real one is what Medal will be judged on (breast ultrasound, ~560×470
px frames). These frames carry what a from-scratch model trips on in such pictures, so the whole loop — training,
the heatmap's peak, proposals, the quick outline — can be run end to end on a modality that is not CT or MR:

- the picture's frame: a linear probe's rectangle or a curved probe's sector (fan) on black, a bright skin line;
- tissue in layers with depth attenuation: subcutaneous fat with dark (hypoechoic) lobules — in every frame, with
  or without a lesion, the look-alikes a model must learn are normal — glandular tissue, the chest wall's bands;
- fully developed speckle and log compression (``benchmarks.speckle``'s model);
- a dark, irregular lesion with a soft edge (10–45% as echogenic as its surroundings, some anechoic cysts) and
  posterior enhancement or shadowing, on 80% of the frames;
- burned-in text, a depth ruler, a focus marker, and calipers ("+" marks on the lesion's long axis) on half the
  lesion frames and a few normal ones, as sonographers leave them.

It is synthetic: figures on it check that nothing in the product breaks on such pictures and where its help goes,
not how well it works on a hospital's ultrasound. Seeded: the same seed writes the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage
from scipy.special import expit

from storage import MedalError

FRAME = (470, 560)  # rows, columns: a breast ultrasound frame as exported
MODALITY = "US (synthetic, breast-like)"
LESION_SHARE = 0.8
CALIPERS_ON_LESIONS = 0.5
CALIPERS_ON_NORMALS = 0.05


class FolderNotEmpty(MedalError):
    """A benchmark that writes a folder (``medal bench ultrasound-set``, ``ct-as-dicom``) was given one that already
    holds something."""


def ultrasound_frame(rng: np.random.Generator, *, lesion: bool,
                     size: tuple[int, int] = FRAME) -> tuple[np.ndarray, np.ndarray]:
    """One frame (uint8) and its lesion mask (bool; empty without a lesion)."""
    rows, cols = size
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    field, depth = _field(rng, yy, xx, rows, cols)
    echo = _tissue(rng, yy, xx, depth, field)
    mask = np.zeros(size, bool)
    if lesion:
        mask, echo = _with_lesion(rng, yy, xx, depth, field, echo)
    echo *= np.exp(-rng.uniform(0.8, 2.0) * depth)  # attenuation, partly made up by the gain
    scatter = [ndimage.gaussian_filter(rng.standard_normal(size), (1.2, 2.6)) for _ in range(2)]
    decibels = 20 * np.log10(np.sqrt(np.maximum(echo, 0)) * np.hypot(*scatter) + 1e-3)
    low, high = np.percentile(decibels[field], [3, 99.7])
    picture = np.where(field, np.clip((decibels - low) / (high - low), 0, 1) * 255, 0)
    _burn_in(rng, picture, field, mask, calipers=rng.random() < (CALIPERS_ON_LESIONS if lesion
                                                                 else CALIPERS_ON_NORMALS))
    return picture.astype(np.uint8), mask


def _field(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, rows: int,
           cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the probe sees (bool) and each pixel's depth below the skin, 0–1 over the field."""
    top = int(rng.uniform(30, 60))
    if rng.random() < 0.65:  # linear probe: a rectangle with black margins
        left, right = int(rng.uniform(30, 110)), cols - int(rng.uniform(30, 110))
        bottom = rows - int(rng.uniform(5, 40))
        field = (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)
        return field, np.clip((yy - top) / (bottom - top), 0, 1)
    apex_y, apex_x = top - rng.uniform(60, 140), cols / 2 + rng.uniform(-20, 20)  # curved probe: a sector
    radius, angle = np.hypot(yy - apex_y, xx - apex_x), np.arctan2(xx - apex_x, yy - apex_y)
    near, far, half = top - apex_y, rows - 8 - apex_y, rng.uniform(0.5, 0.7)
    field = (radius >= near) & (radius <= far) & (np.abs(angle) <= half)
    return field, np.clip((radius - near) / (far - near), 0, 1)


def _tissue(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, depth: np.ndarray,
            field: np.ndarray) -> np.ndarray:
    """Echogenicity before speckle: skin, fat with dark lobules, glandular tissue, the chest wall."""
    size = depth.shape
    fat_end, gland_end = rng.uniform(0.15, 0.3), rng.uniform(0.6, 0.8)
    layer = depth + 0.05 * _smooth(rng, size, 40)  # wavy boundaries
    echo = np.where(layer < fat_end, 0.7, np.where(layer < gland_end, 1.6, 1.1)).astype(np.float32)
    echo *= np.clip(1 + 0.3 * _smooth(rng, size, 12), 0.3, None)
    echo += np.where(layer >= gland_end, 0.6 * np.sin(yy / rng.uniform(5, 9)) ** 2, 0)  # muscle fibres
    echo += 3.0 * np.exp(-(depth / 0.015) ** 2)  # the skin line
    ys, xs = np.nonzero(field & (layer < fat_end + 0.05) & (depth > 0.03))
    for _ in range(int(rng.integers(2, 6))):  # fat lobules: hypoechoic, flat ovals
        if len(ys) == 0:
            break
        at = int(rng.integers(len(ys)))
        ry, rx = rng.uniform(6, 16), rng.uniform(14, 40)
        inside = ((yy - ys[at]) / ry) ** 2 + ((xx - xs[at]) / rx) ** 2
        echo *= 1 - rng.uniform(0.3, 0.55) * expit((1 - inside) * 4)
    return np.clip(echo, 0.15, None)


def _smooth(rng: np.random.Generator, size: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth noise of unit standard deviation, blobs ~``sigma`` pixels across."""
    noise = ndimage.gaussian_filter(rng.standard_normal(size), sigma)
    return noise / max(float(noise.std()), 1e-6)


def _with_lesion(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, depth: np.ndarray, field: np.ndarray,
                 echo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A dark irregular lesion with a soft edge and what it does below it; its mask and the new echogenicity."""
    radius, aspect, turn = rng.uniform(12, 75), rng.uniform(0.45, 1.0), rng.uniform(-0.5, 0.5)
    inner = ndimage.binary_erosion(field & (depth > 0.12) & (depth < 0.75), iterations=int(radius) + 4)
    ys, xs = np.nonzero(inner if inner.any() else field)
    at = int(rng.integers(len(ys)))
    cy, cx = float(ys[at]), float(xs[at])
    along = (xx - cx) * np.cos(turn) + (yy - cy) * np.sin(turn)
    across = ((yy - cy) * np.cos(turn) - (xx - cx) * np.sin(turn)) / aspect
    distance, angle = np.hypot(along, across), np.arctan2(yy - cy, xx - cx)
    lobed = rng.random() < 0.5  # malignant-looking: lobulated, spiculated
    wobble = 1 + sum(rng.uniform(0, (0.15 if lobed else 0.06) if k < 4 else (0.08 if lobed else 0.02))
                     * np.cos(k * angle + rng.uniform(0, 6)) for k in range(2, 10))
    mask = (distance <= radius * wobble) & field
    edge = expit((radius * wobble - distance) / rng.uniform(0.8, 3.0))
    darkness = rng.uniform(0.02, 0.12) if rng.random() < 0.25 else rng.uniform(0.1, 0.45)  # cyst or solid
    echo = echo * (1 - edge * (1 - darkness))
    below = (yy > cy) & (np.abs(along) < radius * 0.8) & ~mask
    return mask, echo * np.where(below, rng.uniform(0.55, 1.6), 1.0)


def _burn_in(rng: np.random.Generator, picture: np.ndarray, field: np.ndarray, mask: np.ndarray, *,
             calipers: bool) -> None:
    """Text in the top band, a depth ruler and a focus marker by the field, calipers on the lesion (or a lobule)."""
    rows, cols = picture.shape
    for _ in range(int(rng.integers(2, 5))):  # lines of text: blocks of bright glyph-sized dots
        y, x, length = int(rng.uniform(3, 25)), int(rng.uniform(5, cols - 160)), int(rng.uniform(40, 150))
        glyphs = rng.random((7, length)) < 0.45
        picture[y:y + 7, x:x + length][glyphs] = rng.uniform(180, 255)
    field_cols = np.nonzero(field.any(axis=0))[0]
    ruler_x = min(cols - 4, int(field_cols.max()) + 6)
    for y in range(int(np.nonzero(field.any(axis=1))[0].min()), rows, int(rng.uniform(18, 30))):
        picture[y:y + 2, ruler_x:ruler_x + 4] = 230
    focus_y = int(rng.uniform(rows * 0.3, rows * 0.7))
    picture[focus_y - 3:focus_y + 4, max(0, ruler_x - 2):ruler_x] = 255
    if not calipers:
        return
    if mask.any():
        ys, xs = np.nonzero(mask)
        ends = [(int(ys[np.argmin(xs)]), int(xs.min())), (int(ys[np.argmax(xs)]), int(xs.max()))]
    else:
        y, x = int(rng.uniform(rows * 0.2, rows * 0.6)), int(rng.uniform(cols * 0.3, cols * 0.7))
        ends = [(y, x - 25), (y, x + 25)]
    for y, x in ends:
        picture[max(0, y - 4):y + 5, max(0, x):x + 1] = 255
        picture[max(0, y):y + 1, max(0, x - 4):x + 5] = 255


def write_ultrasound_set(folder: Path, *, images: int = 300, seed: int = 0) -> dict[str, int]:
    """Write ``images`` frames (``LESION_SHARE`` with a lesion), their masks and ``truth.json`` into ``folder``
    (the layout ``medal bench real`` reads; a new or empty folder, else :class:`FolderNotEmpty`); each frame its
    own patient. Returns the counts written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FolderNotEmpty(f"{folder} already exists and is not an empty folder: give a new or empty folder "
                             "(the frames, their masks and truth.json would overwrite what is there).")
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    truth, lesions = {}, 0
    for index in range(images):
        lesion = rng.random() < LESION_SHARE
        picture, mask = ultrasound_frame(rng, lesion=lesion)
        name = f"us_{index:04d}"
        PILImage.fromarray(picture).save(folder / "images" / f"{name}.png")
        entry = {"image": f"images/{name}.png", "has_finding": bool(mask.any()), "patient": f"US-{index:04d}",
                 "modality": MODALITY}
        if mask.any():
            PILImage.fromarray(mask.astype(np.uint8) * 255).save(folder / "masks" / f"{name}.png")
            entry["mask"] = f"masks/{name}.png"
            lesions += 1
        truth[name] = entry
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return {"images": images, "with_lesion": lesions, "without_lesion": images - lesions}
