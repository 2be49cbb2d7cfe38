"""The proposal threshold rests on every normal part of the validation images: the images without a finding,
and the parts of fully outlined images away from their regions (with 80 labels a validation split holds only
3 or 4 lesion-free images, and their hottest windows alone set it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from learner.dataset import images_by_id
from learner.loop import normal_maxima
from learner.scoring import DensePass, image_ids
from storage import ImageStatus


def test_normal_maxima_leave_out_the_outlined_regions_and_their_surroundings(project, make_demo,
                                                                             tmp_path: Path) -> None:
    make_demo(0)
    clean, outlined, unknown = image_ids(ImageStatus.UNLABELED, engine=project.engine)[:3]
    image = images_by_id([outlined], project.engine)[outlined]
    heats = {clean: np.full((64, 64), 0.1, np.float16), outlined: np.full((64, 64), 0.2, np.float16),
             unknown: np.full((64, 64), 0.95, np.float16)}
    heats[clean][5, 5] = 0.6
    heats[outlined][30:34, 30:34] = 0.99  # on its region, in the middle of the picture
    heats[outlined][2, 60] = 0.7  # far from it: a normal part the model is wrong about
    paths = []
    for image_id, heat in heats.items():
        paths.append(str(tmp_path / f"{image_id}.npy"))
        np.save(paths[-1], heat)
    found = DensePass(np.zeros((3, 2), np.float32), np.zeros((3, 4), np.float32), paths)
    side_x, side_y = image.cols / 64, image.rows / 64
    region = (30 * side_x, 30 * side_y, 4 * side_x, 4 * side_y)
    maxima = normal_maxima(found, [clean, outlined, unknown], with_finding={outlined, unknown},
                           judged={outlined: (region,)}, data={"patch_fractions": [0.1]}, project=project)
    assert np.allclose(maxima, [0.6, 0.7], atol=1e-3)  # the image with an unoutlined finding says nothing


def test_with_few_normal_parts_the_threshold_is_above_them_all() -> None:
    """16 normal parts (what 80 labels give): their 95th percentile lies between the two hottest and lets the
    hottest through; the threshold must clear every one. With 40 (enough to leave 5% out) at most 2 are above
    it. Never under the floor."""
    from learner.loop import threshold_from_normals

    rng = np.random.default_rng(0)
    few = list(rng.uniform(0.5, 0.95, 15)) + [0.99]
    assert threshold_from_normals(few, 0.85) == 0.99
    many = list(rng.uniform(0.5, 0.99, 40))
    threshold = threshold_from_normals(many, 0.85)
    assert sum(value > threshold for value in many) <= 2 and threshold < max(many)
    assert threshold_from_normals([0.3, 0.4], 0.85) == 0.85


def test_a_region_is_proposed_only_from_095_whatever_the_validation_split_says() -> None:
    """50 labels of ultrasound-like frames (seed 0): the split's 10 normal parts all lay under 0.82, so the threshold
    was the floor, 0.85, and 67% of the lesion-free frames got a proposal (their hottest windows: median 0.875).
    A proposal is drawn on the picture as a claim; it needs 0.95 at least (that run: 6%)."""
    from labeling.labels.proposals import proposal_threshold, propose_regions
    from learner.loop import threshold_from_normals

    floor = proposal_threshold({"threshold": 0.5})
    split_says = threshold_from_normals([0.70, 0.73, 0.79, 0.80, 0.82], floor)
    heat = np.full((32, 32), 0.1, np.float32)
    heat[10:13, 10:13] = 0.9  # a fat lobule the model is fairly sure of
    assert propose_regions(heat, 256, 256, proposal_threshold({"proposal_threshold": split_says}), "Cancerous") == []
    heat[20:23, 20:23] = 0.97  # a lesion it is sure of
    (region,) = propose_regions(heat, 256, 256, proposal_threshold({"proposal_threshold": split_says}), "Cancerous")
    assert region.bbox()[0] >= 20 * 8 - 1
