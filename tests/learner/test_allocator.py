"""The network's feature maps reuse freed memory instead of faulting in fresh pages on every pass.

What the allocator does with a large block is read from glibc itself (``mallinfo2``: bytes in fresh mappings,
bytes kept free in the heap), not from page-fault counts, which the machine's load moves."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

# A process asks for a 24 MiB block (larger than any feature map of the pass, so glibc's dynamic threshold,
# raised by the frees of the pass, does not cover it), frees it, and reports where it came from and whether
# the heap kept it.
PROBE = """
import ctypes, json, sys
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype, libc.malloc.restype, libc.free.argtypes = Info, ctypes.c_void_p, [ctypes.c_void_p]
if sys.argv[1] == "embed":
    import torch
    from torch.utils.data import TensorDataset
    from learner.model import CompactCNN
    from learner.train import embed, to_device
    embed(to_device(CompactCNN(width=8)), TensorDataset(torch.randn(4, 1, 260, 260)), batch_size=4)
before = libc.mallinfo2()
block = libc.malloc(24 << 20)
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({"mapped": during.hblkhd - before.hblkhd, "kept_free": after.fordblks}))
"""


def _probe(mode: str) -> dict[str, int]:
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    return json.loads(result.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallinfo2 and the thresholds are glibc's")
def test_network_passes_reuse_freed_memory() -> None:
    # Under glibc's defaults the block is a fresh mapping, unmapped when freed: every pass faulted its pages
    # in anew (~3,100 pages per pass of 4 pictures). After a pass of the network the block comes from the heap
    # and stays there when freed, for the next layer to reuse.
    plain, after_pass = _probe("plain"), _probe("embed")
    assert plain["mapped"] >= 24 << 20, plain
    assert after_pass["mapped"] == 0, after_pass
    assert after_pass["kept_free"] >= 24 << 20, after_pass
