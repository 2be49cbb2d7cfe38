"""Images with their lesion masks beside them as the truth of ``medal bench real``: the layout most public
segmentation sets ship in, read as it is, without writing a ``truth.json``.

Two conventions, mixed freely in one folder (searched to any depth):

- **A mask named after its image**: ``benign (1).png`` with ``benign (1)_mask.png`` and ``benign (1)_mask_1.png``
  (a second lesion), ``ISIC_0000000.jpg`` with ``ISIC_0000000_segmentation.png``: the image's name plus one of
  ``MASK_SUFFIXES``, optionally followed by ``_<number>``;
- **a masks folder beside the images folder**: ``images/case_01.png`` with ``masks/case_01.png`` (or
  ``labels/``, ``ground_truth/``, ``gt/``, … — ``MASK_FOLDERS``; the images may be in ``images/``, ``img/`` or
  directly in the folder).

Every mask of an image counts (their union is the lesion). A mask with no pixel set says the image has no lesion.
An image without a mask has no lesion where it lies in a folder named for normal images (``normal/``,
``healthy/``, ``no finding/``, ``negative/``) and is left out otherwise — an image nobody outlined is not known to
be free of lesions. A mask of another size than its image is left out with its image. What was left out, and why,
is kept in ``PairedTruth.left_out`` so the benchmark can say so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
LOSSY_SUFFIXES = {".jpg", ".jpeg"}  # a mask saved as JPEG has grey fringes: set where over half-way
MASK_SUFFIXES = ("mask", "masks", "seg", "segmentation", "label", "labels", "gt", "roi", "annotation")
MASK_FOLDERS = {"mask", "masks", "label", "labels", "ground_truth", "groundtruth", "ground truth", "gt",
                "segmentation", "segmentations", "annotation", "annotations"}
IMAGE_FOLDERS = {"image", "images", "img", "imgs", "input", "inputs"}
NORMAL_FOLDERS = {"normal", "normals", "healthy", "no finding", "no_finding", "no-finding", "negative", "negatives"}
_MASK_NAME = re.compile(r"^(?P<stem>.+?)[ _.-](?:" + "|".join(MASK_SUFFIXES) + r")(?:[ _-]?\d+)?$", re.IGNORECASE)


@dataclass
class PairedTruth:
    """``truth.json``'s entries read from image/mask pairs, and the files left out with the reason."""

    truth: dict[str, dict[str, Any]]
    left_out: list[str] = field(default_factory=list)


def has_pairs(folder: Path) -> bool:
    """Whether ``folder`` holds at least one picture that ``paired_truth`` reads as a mask."""
    return any(_is_mask(path.relative_to(folder)) for path in _pictures(folder))


def paired_truth(folder: Path) -> PairedTruth:
    """The truth of a folder of images and their masks (see the module docstring): one entry per image kept,
    ``{"image": relative path, "masks": [relative paths], "has_finding": whether a mask has a pixel set}``."""
    images: dict[str, list[Path]] = defaultdict(list)
    masks: dict[str, list[Path]] = defaultdict(list)
    for path in _pictures(folder):
        relative = path.relative_to(folder)
        (masks if _is_mask(relative) else images)[_key(relative)].append(relative)
    unique_stems = _unique_stems(images)
    for key in [key for key in masks if key not in images]:  # masks in a folder not laid out like the images'
        stem = key.rsplit("/", 1)[-1]
        if stem in unique_stems:
            masks[_key(unique_stems[stem])] += masks.pop(key)
    paired = PairedTruth({})
    for key, found in sorted(images.items()):
        for image in found:
            name = image.as_posix()
            mine = sorted(masks.get(key, []))
            if not mine and not _in_normal_folder(image):
                paired.left_out.append(f"{name} (no mask, and not in a folder of normal images)")
                continue
            try:
                size = _size(folder / image)
                read = [read_mask(folder / m) for m in mine]
            except (OSError, PILImage.DecompressionBombError) as error:
                paired.left_out.append(f"{name} (it or its mask cannot be read: {error})")
                continue
            wrong = [m.as_posix() for m, pixels in zip(mine, read) if pixels.shape[::-1] != size]
            if wrong:
                paired.left_out.append(f"{name} (its mask {wrong[0]} is not the image's size)")
                continue
            paired.truth[name] = {"image": name, "masks": [m.as_posix() for m in mine],
                                  "has_finding": any(bool(pixels.any()) for pixels in read)}
    for key in sorted(set(masks) - set(images)):
        paired.left_out.append(f"{masks[key][0].as_posix()} (a mask with no image of its name)")
    return paired


def read_mask(path: Path) -> np.ndarray:
    """The lesion pixels of one mask file: any grey level or colour but black; over half-way where the mask is
    a JPEG (its compression leaves faint grey around every edge)."""
    with PILImage.open(path) as stored:
        values = np.asarray(stored if stored.mode in ("1", "L", "P", "I", "I;16", "F") else stored.convert("L"))
    if path.suffix.lower() in LOSSY_SUFFIXES:
        return values > 0.5 * float(values.max()) if values.max() > 0 else values > 0
    return values > 0


def _pictures(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in PICTURE_SUFFIXES and path.is_file()
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _is_mask(relative: Path) -> bool:
    return bool(_MASK_NAME.match(relative.stem)) or any(part.lower() in MASK_FOLDERS for part in relative.parts[:-1])


def _key(relative: Path) -> str:
    """What an image and its masks share: the folders (less images/masks folders) and the name less any mask
    suffix, without the file's extension, in lower case."""
    folders = [part.lower() for part in relative.parts[:-1] if part.lower() not in MASK_FOLDERS | IMAGE_FOLDERS]
    matched = _MASK_NAME.match(relative.stem)
    stem = matched.group("stem") if matched else relative.stem
    return "/".join([*folders, stem.lower()])


def _unique_stems(images: dict[str, list[Path]]) -> dict[str, Path]:
    """Image names (lower case, no extension) that only one image has, to that image."""
    counts: dict[str, list[Path]] = defaultdict(list)
    for found in images.values():
        for image in found:
            counts[image.stem.lower()].append(image)
    return {stem: found[0] for stem, found in counts.items() if len(found) == 1}


def _in_normal_folder(relative: Path) -> bool:
    return any(part.lower() in NORMAL_FOLDERS for part in relative.parts[:-1])


def _size(path: Path) -> tuple[int, int]:
    with PILImage.open(path) as stored:
        return stored.size
