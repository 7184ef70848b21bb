"""Data larger than memory, for POD: memory-mapped arrays read a block at a time, and
dask arrays reduced by dask itself.

A memory-mapped array is walked in blocks; after each block the pages it touched are
dropped from this process (``madvise(MADV_DONTNEED)``; the kernel's page cache keeps
them), so the resident set stays at about one block whatever the file's size. A dask
array is never materialised: its products are per-chunk tasks summed by a tree
reduction, which runs on whatever scheduler is active, a cluster included.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from dimred.linear._blocks import blocks, widest


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


def centred_slab(X, cols: slice, mean: np.ndarray | None, root_weights, buffer) -> np.ndarray:
    """``(X[:, cols] - mean) * root_weights[cols]`` written into ``buffer``, in one pass
    over ``X``. For a memory-mapped ``X`` the pages just read are released afterwards."""
    block = buffer[:, : cols.stop - cols.start]
    if mean is None:
        np.copyto(block, X[:, cols], casting="unsafe")
    else:
        np.subtract(X[:, cols], mean, out=block, casting="unsafe")
    if root_weights is not None:
        block *= root_weights[cols].astype(block.dtype)
    release(X)
    return block



def dask_gram(X, mean: np.ndarray, root_weights: np.ndarray | None, dtype, axis: int):
    """``Y^T Y`` (``axis=0``: summed over row chunks) or ``Y Y^T`` (``axis=1``: summed
    over column chunks) of ``Y = (X - mean) * root_weights``, ``X`` a dask array.

    Returns a lazy float64 dask array. Each chunk is centred, weighted and multiplied
    inside one task, a block of about ``BLOCK_BYTES`` at a time into one reused buffer,
    so no centred chunk is ever a task's result: a task holds its input chunk (a view of
    the file for ``da.from_array`` over a memory map), one buffer and its product,
    however many chunks there are. The products are summed over chunks in float64.
    """
    import dask.array as da

    scale = None if root_weights is None else root_weights.astype(dtype)
    if axis == 0:
        X = X.rechunk({1: -1})
        size = X.shape[1]
        partials = da.blockwise(
            _rows_gram, "bjk", X, "bj", new_axes={"k": size},
            adjust_chunks={"b": lambda _: 1}, dtype=np.float64,
            mean=mean.astype(dtype), scale=scale, dtype_=np.dtype(dtype),
        )
    else:
        X = X.rechunk({0: -1})
        size = X.shape[0]
        columns = X.chunks[1]
        weights = np.ones(X.shape[1], dtype=dtype) if scale is None else scale
        partials = da.blockwise(
            _columns_gram, "cik", X, "ic",
            da.from_array(mean.astype(dtype), chunks=(columns,)), "c",
            da.from_array(weights, chunks=(columns,)), "c",
            new_axes={"k": size}, adjust_chunks={"c": lambda _: 1}, dtype=np.float64,
            dtype_=np.dtype(dtype),
        )
    return partials.sum(axis=0, split_every=2)


def _rows_gram(chunk: np.ndarray, *, mean, scale, dtype_) -> np.ndarray:
    n_rows, size = chunk.shape
    parts = blocks(n_rows, size * dtype_.itemsize)
    buffer = np.empty((widest(parts), size), dtype=dtype_)
    product = np.zeros((size, size))
    for rows in parts:
        block = read_rows_into(chunk, rows, buffer[: rows.stop - rows.start], subtract=mean)
        if scale is not None:
            block *= scale
        product += block.T @ block
    return product[None]


def _columns_gram(chunk: np.ndarray, mean: np.ndarray, scale: np.ndarray, *, dtype_):
    n_rows, n_cols = chunk.shape
    parts = blocks(n_cols, n_rows * dtype_.itemsize)
    buffer = np.empty((n_rows, widest(parts)), dtype=dtype_)
    product = np.zeros((n_rows, n_rows))
    for cols in parts:
        block = centred_slab(chunk, cols, mean[cols], scale, buffer)
        product += block @ block.T
    return product[None]
