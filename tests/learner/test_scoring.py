"""The dense pass gives the same outputs however many threads read, score and write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from learner.registry import LoadedModel
from learner.scoring import dense_pass, image_ids
from learner.train import TrainConfig, build_model
from storage.db import current_project
from storage.errors import ImageNotFound
from storage.models import ImageStatus


def test_the_dense_pass_is_the_same_on_one_thread_and_on_many(make_demo, tmp_path: Path) -> None:
    """Six network workers with three readers and three writers (torch at 6 threads) against one of each: the
    same probabilities, embeddings and heatmaps for every image, in the order asked, and torch's thread count
    as it was."""
    make_demo(0)
    config = TrainConfig(context=16, width=8)
    torch.manual_seed(0)
    loaded = LoadedModel(0, build_model(config), config, {"patch_fraction": 0.2})
    ids = image_ids(ImageStatus.UNLABELED, current_project().engine)[:45][::-1]
    threads = torch.get_num_threads()
    found = {}
    try:
        for count in (1, 6):
            torch.set_num_threads(count)
            (tmp_path / str(count)).mkdir()
            found[count] = dense_pass(loaded, ids, folder=tmp_path / str(count))
            assert torch.get_num_threads() == count
    finally:
        torch.set_num_threads(threads)
    one, many = found[1], found[6]
    assert np.allclose(one.probabilities, many.probabilities, atol=1e-3)
    assert np.allclose(one.embeddings, many.embeddings, atol=1e-2 * np.abs(one.embeddings).max())
    assert [Path(path).name for path in many.heatmaps] == [f"{image_id}.npy" for image_id in ids]
    for first, second in zip(one.heatmaps, many.heatmaps):
        assert np.allclose(np.load(first), np.load(second), atol=1e-3)

    with pytest.raises(ImageNotFound, match=r"\[424242\]"):  # deleted while the job ran: named, in any block
        dense_pass(loaded, ids + [424242])
