"""Blocks and threads: how POD walks its data.

The data is cut into blocks of about :data:`BLOCK_BYTES` (row blocks or column slabs),
and the blocks are shared among as many threads as BLAS may use, each thread running
single-threaded BLAS on its own blocks. This module also answers how much memory the
machine has left, so that a solver can refuse a matrix that would not fit before
allocating it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

T = TypeVar("T")

#: Bytes of data handled per block: large enough for BLAS to run at full rate, small
#: enough that the centred copy of one block stays cheap whatever the size of X.
BLOCK_BYTES = 32 * 2**20

#: The BLAS libraries numpy and scipy load, found once: building a controller scans every
#: loaded library, which costs milliseconds per call.
BLAS = ThreadpoolController().select(user_api="blas")


def blas_threads() -> int:
    """The threads BLAS may use now, with any threadpoolctl or environment limit."""
    return max(1, min((lib.num_threads for lib in BLAS.lib_controllers), default=1))


def blocks(length: int, bytes_per_item: int, multiple_of: int = 1) -> list[slice]:
    """``range(length)`` cut into consecutive slices of about :data:`BLOCK_BYTES` or
    less, of near-equal lengths, their count a multiple of ``multiple_of`` (when
    ``length`` allows), so that that many threads get equal shares."""
    count = -(-length * max(bytes_per_item, 1) // BLOCK_BYTES)
    count = min(length, -(-count // multiple_of) * multiple_of)
    bounds = np.linspace(0, length, num=count + 1).round().astype(int)
    return [slice(int(start), int(stop)) for start, stop in pairwise(bounds)]


def in_parallel(
    work: Callable[[list[slice]], T],
    length: int,
    bytes_per_item: int,
    max_workers: int | None = None,
) -> list[T]:
    """``work`` called on equal shares of the blocks of ``range(length)``
    (:func:`blocks`), one thread per BLAS thread (at most ``max_workers``), each thread
    running single-threaded BLAS; the results, one per share.

    One multithreaded product per block would leave all but one core idle while that
    block is read, centred and summed; this way every core prepares its own blocks, and
    that preparation costs a share of the products' time instead of adding to it.
    """
    n_threads = blas_threads()
    if max_workers is not None:
        n_threads = max(1, min(n_threads, max_workers))
    parts = blocks(length, bytes_per_item, multiple_of=n_threads)
    n_workers = min(n_threads, len(parts))
    shares = [parts[worker::n_workers] for worker in range(n_workers)]
    with BLAS.limit(limits=1, user_api="blas"):
        if n_workers == 1:
            return [work(shares[0])]
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            return list(pool.map(work, shares))


def widest(share: list[slice]) -> int:
    """Length of the longest slice: each thread sizes one buffer to it and reuses it, as
    a fresh 32 MB array per block would cost a page fault per 4 KB."""
    return max(block.stop - block.start for block in share)


def available_memory() -> int:
    """Bytes of memory the kernel can still hand out without swapping: ``MemAvailable``
    of ``/proc/meminfo`` (free memory plus reclaimable page cache), or free physical
    pages where that file does not exist."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
