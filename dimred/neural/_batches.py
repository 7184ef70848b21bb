"""Where the training loop's minibatches come from: a tensor in memory, or rows streamed
from a memory map or a dask array.

Both sources give the loop the same two walks over their rows: :meth:`shuffled`, a
fresh random order for each epoch, and :meth:`in_order`, for evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from dimred.arrays._streams import (
    BLOCK_BYTES,
    ColumnStatistics,
    column_statistics,
    is_streamed,
    read_ahead,
    read_rows,
    row_blocks,
    split_blocks,
)

#: Bytes of rows shuffled together when streaming: the blocks of one buffer are mixed
#: row by row, so each minibatch draws from this many bytes' worth of random blocks.
BUFFER_BYTES = 64 * 2**20


class InMemoryRows:
    """Rows copied into one float32 tensor on the training device, batched by index
    slices of a permutation of all rows (a full shuffle)."""

    def __init__(self, X: np.ndarray, batch_size: int, device: torch.device):
        self.array, self.batch_size, self.device = X, batch_size, device
        # A copy: the input may be read-only and must not alias the weights' math.
        self.X = torch.tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
        self.n_samples = X.shape[0]

    def first(self, n_rows: int) -> torch.Tensor:
        return self.X[:n_rows]

    def statistics(self) -> ColumnStatistics:
        return column_statistics(self.array)

    def shuffled(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n_samples, generator=generator, device=generator.device)
        order = order.to(self.device)
        for start in range(0, self.n_samples, self.batch_size):
            yield self.X[order[start : start + self.batch_size]]

    def in_order(self) -> Iterator[torch.Tensor]:
        for start in range(0, self.n_samples, self.batch_size):
            yield self.X[start : start + self.batch_size]


class StreamedRows:
    """Rows of a memory-mapped or dask array, read as they are needed.

    An epoch shuffles in two stages, random enough to train as a full shuffle does and
    sequential enough to read at the disk's rate: the blocks of consecutive rows
    (:data:`dimred.arrays._streams.BLOCK_BYTES` each) are put in a random order, read
    :data:`BUFFER_BYTES` at a time by a background thread, and each buffer's rows are
    permuted before it is cut into minibatches. The order depends only on the generator
    and the blocks, so a memory map and a dask array over the same file train
    identically. Memory: a few buffers, whatever the size of the data.
    """

    def __init__(self, X, blocks: Sequence[slice], batch_size: int, device: torch.device):
        self.X, self.blocks, self.batch_size, self.device = X, list(blocks), batch_size, device
        self.n_samples = sum(block.stop - block.start for block in self.blocks)
        rows_per_block = max(block.stop - block.start for block in self.blocks)
        self.blocks_per_buffer = max(1, BUFFER_BYTES // (rows_per_block * _row_bytes(X)))

    @classmethod
    def of(cls, X, batch_size: int, device: torch.device) -> StreamedRows:
        """All rows of ``X``."""
        return cls(X, blocks_of(X), batch_size, device)

    def first(self, n_rows: int) -> torch.Tensor:
        start = self.blocks[0].start
        return torch.from_numpy(read_rows(self.X, [slice(start, start + n_rows)])).to(
            self.device)

    def statistics(self) -> ColumnStatistics:
        return column_statistics(self.X, self.blocks)

    def shuffled(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        order = torch.randperm(len(self.blocks), generator=generator, device=generator.device)
        blocks = [self.blocks[index] for index in order.tolist()]
        for buffer in self._buffers(blocks):
            rows = torch.randperm(buffer.shape[0], generator=generator,
                                  device=generator.device).to(self.device)
            for start in range(0, buffer.shape[0], self.batch_size):
                yield buffer[rows[start : start + self.batch_size]]

    def in_order(self) -> Iterator[torch.Tensor]:
        for buffer in self._buffers(self.blocks):
            for start in range(0, buffer.shape[0], self.batch_size):
                yield buffer[start : start + self.batch_size]

    def _buffers(self, blocks: list[slice]) -> Iterator[torch.Tensor]:
        groups = (blocks[start : start + self.blocks_per_buffer]
                  for start in range(0, len(blocks), self.blocks_per_buffer))
        for rows in read_ahead(self.X, groups):
            yield torch.from_numpy(rows).to(self.device, non_blocking=True)


def blocks_of(X) -> list[slice]:
    """The fixed blocks a streamed ``X`` is shuffled by."""
    return row_blocks(X.shape[0], _row_bytes(X), BLOCK_BYTES)


def _row_bytes(X) -> int:
    """Bytes of a row of ``X`` as it is trained on: float32."""
    return X.shape[1] * np.dtype(np.float32).itemsize


def rows_of(X, batch_size: int, device: torch.device) -> InMemoryRows | StreamedRows:
    """The minibatches of ``X``: streamed from a memory map or a dask array, else from
    one tensor on ``device``."""
    if is_streamed(X):
        return StreamedRows.of(X, batch_size, device)
    return InMemoryRows(X, batch_size, device)


def split(X, fraction: float, generator: torch.Generator, batch_size: int,
          device: torch.device) -> tuple[InMemoryRows | StreamedRows, ...]:
    """Training and validation rows: a random ``fraction`` of the rows held out, or of
    the blocks (:func:`dimred.arrays._streams.split_blocks`) of a streamed ``X``."""
    units = split_blocks(X.shape[0], _row_bytes(X)) if is_streamed(X) else None
    n_units = X.shape[0] if units is None else len(units)
    n_validation = max(1, round(fraction * n_units))
    if n_validation >= n_units:
        raise ValueError(f"validation_fraction={fraction} leaves no training "
                         f"{'sample' if units is None else 'block'} out of {n_units}.")
    order = torch.randperm(n_units, generator=generator, device=generator.device).cpu()
    order = order.numpy()
    parts = np.sort(order[n_validation:]), np.sort(order[:n_validation])
    if units is None:
        return tuple(InMemoryRows(X[part], batch_size, device) for part in parts)
    return tuple(StreamedRows(X, [units[index] for index in part], batch_size, device)
                 for part in parts)
