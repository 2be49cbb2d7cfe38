"""The dense pass: windows at the picture's edge see the picture continued, and the same outputs however many
threads read, score and write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from learner import TrainConfig
from learner.model import CompactCNN
from learner.registry import LoadedModel
from learner.scoring import _Scaled, _windows, dense_pass, image_ids
from learner.train import build_model, to_device
from storage import ImageNotFound, ImageStatus, current_project


def test_the_dense_pass_is_the_same_on_one_thread_and_on_many(make_demo, tmp_path: Path, project) -> None:
    """Six network workers with three readers and three writers (torch at 6 threads) against one of each: the
    same probabilities, embeddings and heatmaps for every image, in the order asked, and torch's thread count
    as it was."""
    make_demo(0)
    config = TrainConfig(context=16, width=8)
    torch.manual_seed(0)
    loaded = LoadedModel(0, build_model(config), config, {"patch_fraction": 0.2})
    ids = image_ids(ImageStatus.UNLABELED, engine=current_project().engine)[:45][::-1]
    threads = torch.get_num_threads()
    found = {}
    try:
        for count in (1, 6):
            torch.set_num_threads(count)
            (tmp_path / str(count)).mkdir()
            found[count] = dense_pass(loaded, ids, folder=tmp_path / str(count), project=project)
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
        dense_pass(loaded, ids + [424242], project=project)


def _edge_sensitive(config: TrainConfig) -> CompactCNN:
    """A network that sees one pixel past its window, and reacts to a dark frame there: the first convolution
    takes 2× the centre minus the mean of the 8 neighbours (zeros around make it larger, and max pooling keeps
    that); every other convolution passes one input channel through."""
    model = build_model(config).for_inference()
    convs = [module for module in model.features.modules() if isinstance(module, torch.nn.Conv2d)]
    with torch.no_grad():
        for index, conv in enumerate(convs):
            conv.weight.zero_()
            conv.bias.zero_()
            if index == 0:
                conv.weight.fill_(-1 / 8)
                conv.weight[:, :, 1, 1] = 2.0
            else:
                for channel in range(conv.out_channels):
                    conv.weight[channel, channel % conv.in_channels, 1, 1] = 1.0
    return model


def test_windows_at_the_picture_edge_see_the_picture_continued_not_a_dark_frame() -> None:
    """A picture that changes only from left to right gives every row of windows the same embeddings, the top
    and bottom rows too (and, turned, every column): the convolutions' zero padding stays out of them."""
    config = TrainConfig(context=16, width=8)
    model = to_device(_edge_sensitive(config))  # where the dense pass puts it (a GPU when there is one)
    ramp = torch.linspace(0.5, 2.0, 96)
    for picture in (ramp.expand(1, 128, 96).clone(), ramp.expand(1, 128, 96).transpose(1, 2).clone()):
        _, embedded = _windows(model, [_Scaled(picture, (1.0, 1.0), tuple(picture.shape[1:]))], config.size)
        embedded = embedded[0] if picture.shape[1] == 128 else embedded[0].transpose(0, 1)
        assert embedded.shape[:2] == (7, 5) and embedded.abs().max() > 0.1
        assert torch.allclose(embedded, embedded[3:4].expand_as(embedded), rtol=1e-2, atol=1e-3)


def test_a_large_window_heat_does_not_spread_to_the_picture_edge(tmp_path: Path) -> None:
    """A 200×300 picture scored at two scales: windows 32 px wide (hot on a lesion at (64, 96)) and 100 px wide
    (the one nearest the right edge, centred at x = 250, a little hotter: it holds calipers, text, the black
    margin). The large window's heat belongs where such a window can be centred — not on the 50 px beside it up
    to the edge, where it was painted before and made the peak's plateau run to the edge. Cells no window of any
    scale reaches take the small windows' heat."""
    from learner.predictions import peak_cell
    from learner.scoring import _write_heatmap

    size, rows, cols = 32, 200, 300
    fine = np.full(((rows - size) // 16 + 1, (cols - size) // 16 + 1), 0.05, np.float32)
    fine[5, 3] = 0.9  # the window centred at x = 16 + 3 × 16 = 64, y = 96
    per_x = 100 / size  # a 100-px window is 32 scaled pixels: the scaled picture is 64 × 96
    coarse = np.full(((64 - size) // 16 + 1, (96 - size) // 16 + 1), 0.05, np.float32)
    coarse[1, -1] = 0.95  # centred at scaled (80, 32): x = 250, y = 100
    scales = [(fine, _Scaled(torch.zeros(1), (1.0, 1.0), (rows, cols))),
              (coarse, _Scaled(torch.zeros(1), (per_x, per_x), (rows, cols)))]
    _write_heatmap(tmp_path / "heat.npy", scales, size)
    heat = np.load(tmp_path / "heat.npy").astype(np.float32)
    cell = cols / heat.shape[1]
    right_edge = heat[:, int(285 / cell):]  # nearer the edge than 15 px: beyond every 100-px window's centre
    assert right_edge.max() < 0.2
    row, column = peak_cell(heat)
    assert abs((column + 0.5) * cell - 250) < 20 and abs((row + 0.5) * cell - 100) < 20
    near_lesion = heat[int(86 / cell):int(106 / cell), int(54 / cell):int(74 / cell)]
    assert near_lesion.max() > 0.8  # the small windows' lesion is still there
