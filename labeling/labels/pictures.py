"""Pictures of an image as the clinician sees them: the 8-bit rendering (default or any window), PNGs,
thumbnails and the heatmap as a PNG for the viewer. Files go to the project's cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from labeling.dicom import FrameCache, Source, Window, encode_png, render_source_frame
from labeling.labels.catalog import get_image
from storage import Image, Project, about_image


def render_image(image_id: int, window: Window | int | None = None, *, project: Project) -> np.ndarray:
    """The full-resolution 8-bit image exactly as the UI shows it (default: the file's own window)."""
    image = get_image(image_id, engine=project.engine)
    return render_frame(image, window, project=project)


def render_frame(image: Image, window: Window | int | None = None, *, project: Project) -> np.ndarray:
    """An image row's 8-bit picture: the cached default preview, or the frame rendered with ``window``."""
    cache = FrameCache(project.cache_dir)
    if window is None:
        preview = cache.preview_path(image.cache_key)
        if preview.exists():
            with PILImage.open(preview) as stored:
                return np.asarray(stored)
    with about_image(image.id):
        return render_source_frame(Source.parse(image.path), image.frame, window, cache, image.cache_key)


def write_png(image_id: int, out_dir: Path, window: Window | int | None = None, *, project: Project) -> Path:
    """``DIR/<id>.png`` for ``medal render``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{image_id}.png"
    target.write_bytes(encode_png(render_image(image_id, window, project=project)))
    return target


def heatmap_png(heatmap_path: str, alpha: float = 0.45) -> bytes:
    """The model's heatmap (a .npy of 0..1 values) as a small red RGBA PNG whose opacity is the heat: the
    viewer stretches it over the image."""
    heat = np.clip(np.load(heatmap_path).astype(np.float32), 0, 1)
    rgba = np.zeros(heat.shape + (4,), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = np.round(heat * alpha * 255).astype(np.uint8)
    return encode_png(rgba)


def thumbnail_png(image: Image, size: int = 192, *, project: Project) -> bytes:
    """A small PNG of the default rendering, kept next to the preview in the cache."""
    target = FrameCache(project.cache_dir).preview_path(image.cache_key).with_suffix(f".thumb{size}.png")
    if not target.exists():
        picture = PILImage.fromarray(render_frame(image, project=project))
        picture.thumbnail((size, size))
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, format="PNG")
    return target.read_bytes()
