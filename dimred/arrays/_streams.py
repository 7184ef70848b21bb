"""Rows of a 2-D array read a block at a time, whatever holds them: memory, a memory map
or dask.

A reader never asks for more than a few blocks at once, so what a pass over the rows
costs in memory is set by the block size, not by the data. Blocks have fixed bounds
(every :func:`row_blocks` rows from the first), independent of how a dask array is
chunked, so a memory-mapped file and a dask array over it are read in the same blocks
and give identical results. A block of a dask array is computed by slicing it
(``X[rows].compute()``): cheap over a file (:func:`dimred.arrays.dask_from_npy`), but
a chunk that is expensive to compute is computed again for each block it holds, so
persist such an array, or chunk it at about the block size, before streaming it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from dimred.arrays._dask_npy import dask_from_memmap
from dimred.arrays._out_of_core import file_source, is_dask_array, is_out_of_core, read_rows_into

#: Bytes of rows per block: small enough that a shuffle of blocks is close to a shuffle
#: of rows, large enough that a read runs at the disk's sequential rate.
BLOCK_BYTES = 2 * 2**20

#: Bytes of rows per block in a pass in order (statistics, evaluation): past a few MB
#: numpy runs at full rate, and a pass holds a few float64 copies of one block.
STATISTICS_BLOCK_BYTES = 8 * 2**20

#: A split into training and held-out rows of a streamed X takes whole blocks; at least
#: this many, where X has the rows, so that the held-out share is close to the fraction
#: asked for.
SPLIT_BLOCKS = 100

#: Groups read ahead of the one being used: double buffering (the group in use is
#: processed while the next is read).
READ_AHEAD = 1


def is_streamed(X) -> bool:
    """Whether ``X`` is read a block at a time (a memory map or a dask array) rather
    than converted whole."""
    return is_out_of_core(X)


def check_streamed(X, name: str = "X") -> None:
    """Refuse, before reading any row, a memory-mapped or dask ``X`` that cannot be
    streamed: not 2-D, not of real numbers, or a dask array with unknown chunk sizes."""
    kind = "dask array" if is_dask_array(X) else "memory-mapped array"
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n_samples, n_features); got a {kind} of "
                         f"shape {X.shape}. Reshape it (a view, nothing is read).")
    if np.dtype(X.dtype).kind not in "fiu":
        raise TypeError(f"{name} is a {kind} of dtype {X.dtype}; rows are read a block at "
                        "a time and cast to float, so it must hold real numbers (a float "
                        "or integer dtype). Check the dtype the file was opened with.")
    if is_dask_array(X) and any(math.isnan(size) for axis in X.chunks for size in axis):
        raise ValueError(f"{name} is a dask array with unknown chunk sizes (NaN in "
                         f"{name}.chunks, e.g. after boolean indexing), so its rows cannot "
                         f"be counted or addressed; call {name}.compute_chunk_sizes() "
                         "first.")


def row_blocks(n_rows: int, row_bytes: int, block_bytes: int = BLOCK_BYTES) -> list[slice]:
    """``range(n_rows)`` cut into consecutive slices of ``block_bytes`` or fewer (one
    row at least), all of one length but the last."""
    per_block = max(1, block_bytes // max(row_bytes, 1))
    bounds = [*range(0, n_rows, per_block), n_rows]
    return [slice(start, stop) for start, stop in pairwise(bounds)]


def split_blocks(n_rows: int, row_bytes: int) -> list[slice]:
    """The blocks a streamed X is split into training and held-out rows by: blocks of
    :data:`BLOCK_BYTES`, or finer ones, :data:`SPLIT_BLOCKS` at least where X has the
    rows."""
    return row_blocks(n_rows, row_bytes, min(BLOCK_BYTES, n_rows * row_bytes // SPLIT_BLOCKS))


def read_rows(X, rows: Sequence[slice], dtype=np.float32) -> np.ndarray:
    """The rows of ``X`` in the slices ``rows``, stacked, as a new array of ``dtype``."""
    n_rows = sum(block.stop - block.start for block in rows)
    if is_dask_array(X):
        import dask

        parts = dask.compute(*(X[block] for block in rows))
        return np.concatenate([np.asarray(part) for part in parts]).astype(dtype, copy=False)
    out = np.empty((n_rows, X.shape[1]), dtype=dtype)
    start = 0
    for block in rows:
        stop = start + block.stop - block.start
        read_rows_into(X, block, out[start:stop])
        start = stop
    return out


def read_ahead(X, groups: Iterable[Sequence[slice]], dtype=np.float32) -> Iterator[np.ndarray]:
    """The rows of each group of slices, in order, read by a background thread
    :data:`READ_AHEAD` groups ahead of the caller, so that reading overlaps computing.

    ``preadv``, numpy copies and dask release the GIL while they read. At most
    ``READ_AHEAD + 1`` groups are held at once; closing the iterator early cancels the
    reads not yet started and waits for the one under way.
    """
    groups = iter(groups)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dimred-reader") as reader:
        pending = deque(reader.submit(read_rows, X, group, dtype)
                        for group in _take(groups, READ_AHEAD))
        try:
            while pending:
                rows = pending.popleft().result()
                for group in _take(groups, 1):
                    pending.append(reader.submit(read_rows, X, group, dtype))
                yield rows
        finally:
            for future in pending:
                future.cancel()


def _grouped(blocks: Sequence[slice], rows_per_group: int) -> Iterator[list[slice]]:
    """Consecutive blocks gathered into groups of about ``rows_per_group`` rows."""
    group: list[slice] = []
    size = 0
    for block in blocks:
        group.append(block)
        size += block.stop - block.start
        if size >= rows_per_group:
            yield group
            group, size = [], 0
    if group:
        yield group


def _take(iterator: Iterator, count: int) -> list:
    return [item for _, item in zip(range(count), iterator, strict=False)]


@dataclass(frozen=True)
class ColumnStatistics:
    """Per-column moments and the range of a data set, in float64."""

    n_samples: int
    #: Column means, shape (n_features,).
    mean: np.ndarray
    #: Column variances (divided by ``n_samples``), shape (n_features,).
    variance: np.ndarray
    #: Column minima and maxima, shape (n_features,).
    minima: np.ndarray
    maxima: np.ndarray

    @property
    def minimum(self) -> float:
        return float(self.minima.min())

    @property
    def maximum(self) -> float:
        return float(self.maxima.max())

    @property
    def finite(self) -> bool:
        """False when any entry was NaN or infinite (it reaches its column's moments)."""
        return bool(np.isfinite(self.mean).all() and np.isfinite(self.variance).all())


def column_statistics(X, blocks: Sequence[slice] | None = None) -> ColumnStatistics:
    """Means, variances and range of the columns of ``X`` (of its rows in ``blocks``,
    all by default) in one pass over those rows (:func:`statistics_of` its blocks)."""
    return statistics_of(row_batches(X, blocks), X.shape[1])


def statistics_of(blocks: Iterable[np.ndarray], n_features: int) -> ColumnStatistics:
    """The column statistics of the rows of ``blocks`` stacked, one block at a time."""
    running = RunningStatistics(n_features)
    for block in blocks:
        running.add(block)
    return running.result()


class RunningStatistics:
    """Column statistics of rows seen a block at a time.

    Each block's mean and squared deviations are merged into the running ones (Chan,
    Golub and LeVeque's update), in float64, so no n-by-d temporary is formed and the
    variance does not suffer the cancellation of ``E[x^2] - E[x]^2``.
    """

    def __init__(self, n_features: int):
        self.count, self.mean, self.squares = 0, np.zeros(n_features), np.zeros(n_features)
        self.low, self.high = np.full(n_features, np.inf), np.full(n_features, -np.inf)

    def add(self, block: np.ndarray) -> None:
        size = block.shape[0]
        if size == 0:
            return
        block_mean = block.mean(axis=0, dtype=np.float64)
        deviations = block - block_mean
        block_squares = np.einsum("ij,ij->j", deviations, deviations)
        delta = block_mean - self.mean
        total = self.count + size
        self.mean = self.mean + delta * (size / total)
        self.squares = self.squares + block_squares + delta**2 * (self.count * size / total)
        self.count = total
        self.low = np.minimum(self.low, block.min(axis=0))
        self.high = np.maximum(self.high, block.max(axis=0))

    def result(self) -> ColumnStatistics:
        return ColumnStatistics(self.count, self.mean, self.squares / max(self.count, 1),
                                self.low, self.high)


def row_batches(X, blocks: Sequence[slice] | None = None, dtype=None) -> Iterator[np.ndarray]:
    """The rows of ``X`` in order (of its rows in ``blocks``, all by default), as numpy
    arrays of about :data:`STATISTICS_BLOCK_BYTES`: read ahead by a background thread
    for a streamed X, views of it otherwise."""
    row_bytes = X.shape[1] * np.dtype(X.dtype).itemsize
    if blocks is None:
        blocks = row_blocks(X.shape[0], row_bytes, STATISTICS_BLOCK_BYTES)
    if is_streamed(X):
        yield from read_ahead(X, _grouped(blocks, STATISTICS_BLOCK_BYTES // row_bytes),
                              dtype=dtype or X.dtype)
    else:
        yield from (X[block] for block in blocks)


def relative_error(X, estimate) -> float:
    """``||X - estimate||_F / ||X||_F``, summed in float64 a block of rows at a time, so
    that a streamed ``X`` (a memory map, dask) is measured as one in memory is."""
    squared = energy = 0.0
    start = 0
    for block in row_batches(X):
        block = np.asarray(block, dtype=np.float64)
        rows = slice(start, start + len(block))
        start += len(block)
        residual = block - np.asarray(estimate[rows], dtype=np.float64)
        squared += float(np.einsum("ij,ij->", residual, residual))
        energy += float(np.einsum("ij,ij->", block, block))
    return math.sqrt(squared / energy)


def map_row_chunks(X, function: Callable[[np.ndarray], np.ndarray], n_columns: int, dtype):
    """``function`` applied to each row chunk of the dask array ``X`` (whole rows),
    lazily: a dask array of ``n_columns`` columns."""
    X = X.rechunk({1: -1})
    return X.map_blocks(function, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)


#: Bytes of rows per chunk of the dask arrays :func:`as_dask` builds: a stream's block,
#: so that reading a block computes one chunk (a larger chunk would be computed whole
#: for each block read from it).
CHUNK_BYTES = BLOCK_BYTES


def as_dask(X):
    """``X`` as a dask array of whole-row chunks: itself if it is one, a file's array
    for a whole-file memory map (never copied, see :func:`dimred.arrays.dask_from_memmap`),
    else ``dask.array.from_array``."""
    if is_dask_array(X):
        return X
    import dask.array as da

    chunks = (max(1, CHUNK_BYTES // max(X.shape[1] * X.dtype.itemsize, 1)), X.shape[1])
    if file_source(X) is not None:
        return dask_from_memmap(X, chunks)
    return da.from_array(X, chunks=chunks)


def concatenate_rows(X, rows: Sequence[slice]):
    """The rows of ``X`` in the slices ``rows``, stacked lazily: a dask array that reads
    them from ``X`` when computed (consecutive slices are joined first)."""
    import dask.array as da

    joined: list[slice] = []
    for block in rows:
        if joined and joined[-1].stop == block.start:
            joined[-1] = slice(joined[-1].start, block.stop)
        else:
            joined.append(block)
    X = as_dask(X)
    return da.concatenate([X[block] for block in joined])


def affine_columns(X, shift: np.ndarray, scale: np.ndarray):
    """``(X - shift) / scale`` per column, lazily, as a dask array in X's float dtype
    (float64 for integer input)."""
    dtype = X.dtype if np.dtype(X.dtype).kind == "f" else np.dtype(np.float64)
    shift, scale = shift.astype(dtype), scale.astype(dtype)
    return as_dask(X).map_blocks(lambda block: ((block - shift) / scale).astype(dtype),
                                 dtype=dtype)
