"""Issue 23: a 16-bit grey PNG (CT or MR values, as research sets ship them) carries no window; shown over its
full range, a CT's soft tissue and a lesion 40 HU brighter fell into the same few grey levels — for the reader
and for the model, which learns from the picture as shown. Its default window is now its 0.5–99.5 percentile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from labeling.intake import import_paths
from labeling.labels import get_image, list_images, render_frame


def ct_png(path: Path) -> None:
    """HU + 1024 as uint16: air around a body of soft tissue (40 HU) with a lesion at 80 HU, and one bone pixel
    block at 3000 HU that stretches the full range."""
    values = np.full((128, 128), -1000 + 1024, np.uint16)
    values[16:112, 16:112] = 40 + 1024
    values[50:70, 50:70] = 80 + 1024
    values[20:22, 20:22] = 3000 + 1024
    PILImage.fromarray(values).save(path)


def test_a_16_bit_png_opens_in_a_window_that_shows_its_soft_tissue(project, tmp_path: Path) -> None:
    ct_png(tmp_path / "ct.png")
    import_paths([str(tmp_path / "ct.png")], project=project)
    image = get_image(list_images(engine=project.engine)[0].id, engine=project.engine)
    (window,) = image.windows
    assert window["center"] - window["width"] / 2 <= -1000 + 1024 and window["center"] + window["width"] / 2 < 3000
    picture = render_frame(image, project=project)
    lesion, tissue = int(picture[60, 60]), int(picture[30, 80])
    assert lesion - tissue >= 8  # full range (24…4095) gave them 2 grey levels apart
