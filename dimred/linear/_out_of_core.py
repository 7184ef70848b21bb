"""POD's products over data larger than memory: a memory-mapped array walked in column
slabs, and a dask array reduced chunk by chunk inside dask's own tasks (see
:mod:`dimred.arrays._out_of_core` for how the rows are read).
"""

from __future__ import annotations

import numpy as np

from dimred.arrays._out_of_core import read_rows_into, release
from dimred.linear._blocks import BLOCK_BYTES, blocks, widest


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
    over column chunks) of ``Y = (X - mean) * root_weights``, ``X`` a dask array; with
    ``axis=0`` also the column sums of ``Y``, from the same reads (so that ``mean`` may
    be a shift, corrected afterwards, and the data is read once).

    Returns lazy float64 dask arrays: the product, and for ``axis=0`` the sums. Each chunk
    is centred, weighted and multiplied inside one task, a block of about
    ``BLOCK_BYTES`` at a time into one reused buffer, so no centred chunk is ever a
    task's result: a task holds its input chunk (a view of the file for
    ``da.from_array`` over a memory map), one buffer and its product, however many
    chunks there are. The products are summed over chunks in float64.
    """
    import dask.array as da

    scale = None if root_weights is None else root_weights.astype(dtype)
    if axis == 0:
        X = X.rechunk({1: -1})
        size = X.shape[1]
        # Row chunks far below a block (a Zarr store's or HDF5 file's 2 MB chunks) are
        # merged up to one, so that a task's size x size product is not summed with
        # thousands of others for a sliver of rows.
        rows = max(1, BLOCK_BYTES // max(size * np.dtype(X.dtype).itemsize, 1))
        if max(X.chunks[0]) < rows // 2:
            X = X.rechunk({0: rows})
        partials = da.blockwise(
            _rows_gram, "bjk", X, "bj", new_axes={"k": size + 1},
            adjust_chunks={"b": lambda _: 1}, dtype=np.float64,
            mean=mean.astype(dtype), scale=scale, dtype_=np.dtype(dtype),
        )
        summed = partials.sum(axis=0, split_every=2)
        return summed[:, :size], summed[:, size]
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
    """The chunk's ``Y^T Y`` with ``Y``'s column sums as one more column."""
    n_rows, size = chunk.shape
    parts = blocks(n_rows, size * dtype_.itemsize)
    buffer = np.empty((widest(parts), size), dtype=dtype_)
    product = np.zeros((size, size + 1))
    for rows in parts:
        block = read_rows_into(chunk, rows, buffer[: rows.stop - rows.start], subtract=mean)
        if scale is not None:
            block *= scale
        product[:, :size] += block.T @ block
        product[:, size] += block.sum(axis=0)
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
