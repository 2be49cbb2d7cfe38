"""A labeled folder made here for ``medal bench real``: 16-bit PNGs with bright lesions, their masks, a truth.json in
the layout of shared/data/real-lesions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image as PILImage


def lesion_folder(folder: Path, count: int = 40, modalities: tuple[str, ...] = ()) -> Path:
    """``count`` 96×96 16-bit pictures, three in four with a bright round lesion. With ``modalities`` the images
    take them in turn, and the first modality's lesions lie on the picture's centre, the others' in a corner."""
    rng = np.random.default_rng(3)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    truth = {}
    yy, xx = np.mgrid[0:96, 0:96]
    for index in range(count):
        values = (1000 + rng.normal(0, 15, (96, 96))).astype(np.uint16)
        mask = np.zeros((96, 96), np.uint8)
        if index % 4:  # three in four hold a lesion
            cx, cy, radius = rng.uniform(25, 70), rng.uniform(25, 70), rng.uniform(6, 12)
            if modalities:
                cx, cy = (47.5, 47.5) if index % len(modalities) == 0 else (rng.uniform(14, 22), rng.uniform(14, 22))
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
            values[inside] += 300
            mask[inside] = 255
        name = f"case_{index:02d}.png"
        PILImage.fromarray(values).save(folder / "images" / name)
        PILImage.fromarray(mask).save(folder / "masks" / name)
        truth[name] = {"image": f"images/{name}", "mask": f"masks/{name}", "has_finding": bool(mask.any())}
        if modalities:
            truth[name]["modality"] = modalities[index % len(modalities)]
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder
