"""Keeping freed memory in the process, so that every convolution's output does not fault in fresh pages.

glibc's malloc serves blocks above its mmap threshold (128 KiB, raised as large blocks are freed) with a new
mapping and returns the top of its heap to the kernel above its trim threshold. A CNN pass allocates and frees
feature maps of a few MiB per layer; under the defaults each pass of the dense pass over 4 pictures touched
~3,100 fresh pages (12 MiB of page faults) and the network ran ~1.5× slower than with the memory kept.
"""

from __future__ import annotations

import ctypes
import functools
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own ceiling for its dynamic threshold)
TRIM_THRESHOLD = 64 << 20  # free memory kept at the heap's top before it is given back


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once; idempotent). A no-op returning False
    where the C library is not glibc (macOS, musl): their allocators behave otherwise."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                        TRIM_THRESHOLD))
