"""Images with their lesion masks beside them as the truth of ``medal bench real``: the layout most public
segmentation sets ship in, read as it is, without writing a ``truth.json``.

Two conventions, mixed freely in one folder (searched to any depth):

- **A mask named after its image**: ``benign (1).png`` with ``benign (1)_mask.png`` and ``benign (1)_mask_1.png``
  (a second lesion), ``ISIC_0000000.jpg`` with ``ISIC_0000000_segmentation.png``: the image's name plus one of
  ``MASK_SUFFIXES``, optionally followed by ``_<number>``;
- **a masks folder beside the images folder**: ``images/case_01.png`` with ``masks/case_01.png`` — a folder
  is a masks folder where a word of its name is one of ``MASK_WORDS`` (``masks/``, ``train_masks/``,
  ``Ground Truth/``, ``ISIC…_GroundTruth/``) and an images folder where one is one of ``IMAGE_WORDS``
  (``images/``, ``trainval-image/``, ``Original/``, ``ISIC…_Input/``); the nearest such folder above a picture
  decides, and a picture in an images folder is an image whatever its name. Where some pictures are named as
  masks, a folder no longer makes masks of the rest (``Dataset_BUSI_with_GT/benign/…`` holds images).
  A mask whose folders do not line up with its image's pairs with the image of its name that has no mask of its
  own and shares most folders with it.

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
LOSSY_SUFFIXES = {".jpg", ".jpeg"}  # a mask saved as JPEG has grey fringes around every edge
MASK_SUFFIXES = ("mask", "masks", "seg", "segmentation", "label", "labels", "gt", "roi", "annotation", "anno")
MASK_WORDS = {"mask", "masks", "label", "labels", "gt", "groundtruth", "ground", "truth", "segmentation",
              "segmentations", "annotation", "annotations", "anno"}
IMAGE_WORDS = {"image", "images", "img", "imgs", "input", "inputs", "original", "originals"}
NORMAL_FOLDERS = {"normal", "normals", "healthy", "no finding", "no_finding", "no-finding", "negative", "negatives"}
_MASK_NAME = re.compile(r"^(?P<stem>.+?)[ _.-](?:" + "|".join(MASK_SUFFIXES) + r")(?:[ _-]?\d+)?$", re.IGNORECASE)
_WORDS = re.compile(r"[ _.\-]+")


@dataclass
class PairedTruth:
    """``truth.json``'s entries read from image/mask pairs, and the files left out with the reason."""

    truth: dict[str, dict[str, Any]]
    left_out: list[str] = field(default_factory=list)


def has_pairs(folder: Path) -> bool:
    """Whether ``folder`` holds at least one picture that ``paired_truth`` reads as a mask."""
    pictures = [path.relative_to(folder) for path in _pictures(folder)]
    by_name = _masks_by_name(pictures)
    return any(_is_mask(relative, by_name) for relative in pictures)


def paired_truth(folder: Path) -> PairedTruth:
    """The truth of a folder of images and their masks (see the module docstring): one entry per image kept,
    ``{"image": relative path, "masks": [relative paths], "has_finding": whether a mask has a pixel set}``."""
    pictures = [path.relative_to(folder) for path in _pictures(folder)]
    by_name = _masks_by_name(pictures)
    images: dict[str, list[Path]] = defaultdict(list)
    masks: dict[str, list[Path]] = defaultdict(list)
    for relative in pictures:
        (masks if _is_mask(relative, by_name) else images)[_key(relative)].append(relative)
    orphans = [key for key in masks if key not in images]
    named: dict[str, list[Path]] = defaultdict(list)  # images without a mask of their own, by name
    for key, found in images.items():
        if key not in masks:
            for image in found:
                named[image.stem.lower()].append(image)
    for key in orphans:  # masks in a folder not laid out like the images'
        image = _nearest_image_named(masks[key][0], named)
        if image is not None:
            masks[_key(image)] += masks.pop(key)
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
    """The lesion pixels of one mask file: a palette mask's every index but 0; any grey level or colour but black
    where it is not transparent; in a JPEG (whose compression greys every edge) from 128 up, or from 1 where the
    mask is coded 0/1."""
    with PILImage.open(path) as stored:
        if stored.mode in ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "F"):
            values = np.asarray(stored)
        else:
            rgba = np.asarray(stored.convert("RGBA"))
            values = np.where(rgba[..., 3] > 0, rgba[..., :3].max(axis=2), 0)
    if path.suffix.lower() in LOSSY_SUFFIXES:
        return values >= 128 if values.max() >= 128 else values >= 1
    return values > 0


def _pictures(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in PICTURE_SUFFIXES and path.is_file()
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _kind_of_folder(name: str) -> str | None:
    """"mask" or "image" where a word of the folder's name says so (masks first), else None."""
    words = {word for word in _WORDS.split(name.lower()) if word}
    if words & MASK_WORDS:
        return "mask"
    return "image" if words & IMAGE_WORDS else None


def _rest_of_name(folder: str) -> str:
    """A folder's name, lower case, without the words that make it an images or a masks folder."""
    return " ".join(word for word in _WORDS.split(folder.lower()) if word and word not in MASK_WORDS | IMAGE_WORDS)


def _nearest_kind(relative: Path) -> str | None:
    """The kind of the nearest folder above a picture that has one."""
    for part in reversed(relative.parts[:-1]):
        kind = _kind_of_folder(part)
        if kind is not None:
            return kind
    return None


def _masks_by_name(pictures: list[Path]) -> bool:
    """Whether some picture outside an images folder is named as a mask: then only names make masks."""
    return any(_MASK_NAME.match(relative.stem) and _nearest_kind(relative) != "image" for relative in pictures)


def _is_mask(relative: Path, by_name: bool) -> bool:
    kind = _nearest_kind(relative)
    if kind == "image":
        return False
    if _MASK_NAME.match(relative.stem):
        return True
    return kind == "mask" and not by_name


def _key(relative: Path) -> str:
    """What an image and its masks share: the folders (less the words that make a folder an images or masks folder:
    ``test-image/`` and ``test-mask/`` are both ``test``) and the name less any mask suffix, without the file's
    extension, in lower case."""
    folders = [_rest_of_name(part) for part in relative.parts[:-1]]
    folders = [name for name in folders if name]
    matched = _MASK_NAME.match(relative.stem)
    stem = matched.group("stem") if matched and _nearest_kind(relative) != "image" else relative.stem
    return "/".join([*folders, stem.lower()])


def _nearest_image_named(mask: Path, named: dict[str, list[Path]]) -> Path | None:
    """Of ``named`` (images without a mask of their own, by lower-case name), the one with ``mask``'s name (with or
    without its mask suffix) that shares most folders with it; None where there is none or two share as many."""
    matched = _MASK_NAME.match(mask.stem)
    names = {mask.stem.lower(), matched.group("stem").lower() if matched else mask.stem.lower()}
    folders = {part.lower() for part in mask.parts[:-1]}
    ranked = sorted(((len(folders & {part.lower() for part in image.parts[:-1]}), image)
                     for name in names for image in named.get(name, [])), key=lambda pair: -pair[0])
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    return ranked[0][1]


def _in_normal_folder(relative: Path) -> bool:
    return any(part.lower() in NORMAL_FOLDERS for part in relative.parts[:-1])


def _size(path: Path) -> tuple[int, int]:
    with PILImage.open(path) as stored:
        return stored.size
