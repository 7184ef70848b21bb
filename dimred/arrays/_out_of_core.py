"""Data larger than memory: memory-mapped arrays read a block at a time, and dask arrays
left to dask.

A memory-mapped array is read a block of rows at a time, by ``preadv`` straight into a
buffer where it can, else through the map; after each block the pages it touched are
dropped from this process (``madvise(MADV_DONTNEED)``; the kernel's page cache keeps
them), so the resident set stays at about one block whatever the file's size. A dask
array is never materialised whole.
"""

from __future__ import annotations

import mmap
import os

import numpy as np


def is_dask_array(X) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def file_mapping(X) -> mmap.mmap | None:
    """The memory map under ``X`` (a ``numpy.memmap``, ``np.load(mmap_mode=...)`` or a
    view of one), or None for data in memory."""
    base = X
    while isinstance(base, np.ndarray):
        base = base.base
    return base if isinstance(base, mmap.mmap) else None


def release(X) -> None:
    """Drop the pages of ``X``'s file mapping from this process's resident set."""
    mapping = file_mapping(X)
    if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def read_rows_into(X, rows: slice, out: np.ndarray, subtract=None) -> np.ndarray:
    """``X[rows] - subtract`` (or ``X[rows]``) written into ``out``, which is returned.

    A whole ``.npy`` / ``numpy.memmap`` file in C order, read in its own dtype, is read
    with ``os.preadv`` straight into ``out``: the kernel copies from its page cache, with
    no page faults and no pages mapped into this process. Anything else is copied by
    numpy (casting to ``out.dtype``, the subtraction fused with the copy), releasing the
    pages of a memory map afterwards.
    """
    source = file_source(X)
    if source is None or out.dtype != X.dtype:
        if subtract is None:
            out[...] = X[rows]
        else:
            np.subtract(X[rows], subtract, out=out, casting="unsafe")
        release(X)
        return out
    filename, offset = source
    view = memoryview(out).cast("B")
    start = offset + rows.start * X.strides[0]
    with open(filename, "rb", buffering=0) as stream:
        done = 0
        while done < view.nbytes:  # preadv may return short reads
            read = os.preadv(stream.fileno(), [view[done:]], start + done)
            if read == 0:
                raise OSError(f"{filename} ended before row {rows.stop}: truncated file?")
            done += read
    if subtract is not None:
        out -= subtract
    return out


def file_source(X) -> tuple[str, int] | None:
    """(file name, byte offset of the first row) for a whole, C-ordered memmap file."""
    if (
        isinstance(X, np.memmap)
        and isinstance(X.base, mmap.mmap)
        and X.filename
        and X.flags.c_contiguous
        and hasattr(os, "preadv")
    ):
        return X.filename, X.offset
    return None


def prefetch(X, rows: slice) -> None:
    """Ask the kernel to start reading ``X[rows]`` of a memory-mapped, C-ordered ``X`` in
    the background (``madvise(MADV_WILLNEED)``), so that reading the next block overlaps
    computing on this one."""
    mapping = file_mapping(X)
    if mapping is None or not hasattr(mmap, "MADV_WILLNEED") or not X.flags.c_contiguous:
        return
    base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    start = X.ctypes.data - base + rows.start * X.strides[0]
    stop = min(X.ctypes.data - base + min(rows.stop, X.shape[0]) * X.strides[0], len(mapping))
    aligned = start - start % mmap.PAGESIZE
    if stop > aligned:
        mapping.madvise(mmap.MADV_WILLNEED, aligned, stop - aligned)


def is_out_of_core(X) -> bool:
    return is_dask_array(X) or file_mapping(X) is not None
