"""Rows of a 2-D array read a block at a time, whatever holds them: memory, a memory map
or dask.

A reader never asks for more than a few blocks at once, so what a pass over the rows
costs in memory is set by the block size, not by the data. Blocks have fixed bounds
(every :func:`row_blocks` rows from the first), independent of how a dask array is
chunked, so a memory-mapped file and a dask array over it are read in the same blocks
and give identical results. A block of a dask array is computed by slicing it
(``X[rows].compute()``): cheap over a file (``da.from_array`` of a memory map), but a
chunk that is expensive to compute is computed again for each block it holds, so
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

from dimred.arrays._out_of_core import is_dask_array, is_out_of_core, read_rows_into

#: Bytes of rows per block: small enough that a shuffle of blocks is close to a shuffle
#: of rows, large enough that a read runs at the disk's sequential rate.
BLOCK_BYTES = 2 * 2**20

#: Bytes of rows per block in a statistics pass, where only throughput matters.
STATISTICS_BLOCK_BYTES = 32 * 2**20

#: Groups read ahead of the one being used: double buffering.
READ_AHEAD = 2


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
    minimum: float
    maximum: float

    @property
    def finite(self) -> bool:
        """False when any entry was NaN or infinite (it reaches its column's moments)."""
        return bool(np.isfinite(self.mean).all() and np.isfinite(self.variance).all())


def column_statistics(X, blocks: Sequence[slice] | None = None) -> ColumnStatistics:
    """Means, variances and range of the columns of ``X`` (of its rows in ``blocks``,
    all by default) in one pass over those rows.

    Each block's mean and squared deviations are merged into the running ones (Chan,
    Golub and LeVeque's update), in float64, so no n-by-d temporary is formed and the
    variance does not suffer the cancellation of ``E[x^2] - E[x]^2``.
    """
    n_rows, n_features = X.shape
    row_bytes = n_features * np.dtype(X.dtype).itemsize
    if blocks is None:
        blocks = row_blocks(n_rows, row_bytes, STATISTICS_BLOCK_BYTES)
    count, mean, squares = 0, np.zeros(n_features), np.zeros(n_features)
    low, high = math.inf, -math.inf
    if is_streamed(X):
        source = read_ahead(X, _grouped(blocks, STATISTICS_BLOCK_BYTES // row_bytes),
                            dtype=X.dtype)
    else:
        source = (X[block] for block in blocks)
    for block in source:
        size = block.shape[0]
        block_mean = block.mean(axis=0, dtype=np.float64)
        deviations = block - block_mean
        block_squares = np.einsum("ij,ij->j", deviations, deviations)
        delta = block_mean - mean
        total = count + size
        mean = mean + delta * (size / total)
        squares = squares + block_squares + delta**2 * (count * size / total)
        count = total
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    return ColumnStatistics(count, mean, squares / max(count, 1), low, high)


def map_row_chunks(X, function: Callable[[np.ndarray], np.ndarray], n_columns: int, dtype):
    """``function`` applied to each row chunk of the dask array ``X`` (whole rows),
    lazily: a dask array of ``n_columns`` columns."""
    X = X.rechunk({1: -1})
    return X.map_blocks(function, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)
