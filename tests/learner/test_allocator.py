"""The network's feature maps reuse freed memory instead of faulting in fresh pages on every pass."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

# Ten passes of the scoring network over 4 pictures of 260×260 through ``embed`` (which keeps freed memory
# first), in a fresh process: the page faults per pass after a first, warming one.
PASSES = """
import resource, torch
from torch.utils.data import TensorDataset
from learner.model import CompactCNN
from learner.train import embed, to_device
model = to_device(CompactCNN(width=8))
data = TensorDataset(torch.randn(4, 1, 260, 260))
embed(model, data, batch_size=4)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    embed(model, data, batch_size=4)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_network_passes_reuse_freed_memory() -> None:
    # Under glibc's defaults each pass faulted in ~3,100 pages (12 MiB); with the memory kept, ~40.
    result = subprocess.run([sys.executable, "-c", PASSES], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert float(result.stdout) < 500, result.stdout
