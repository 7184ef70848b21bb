"""Reader for the IDX format of MNIST and Fashion-MNIST."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read a (gzipped) IDX file into an array.

    The layout is a big-endian header (two zero bytes, a type code, the number of
    dimensions), one big-endian uint32 per dimension, then the raw values.

    Raises
    ------
    ValueError
        If the header is not IDX or the payload is not the size the header states.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r}).")
    n_dims = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=n_dims, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    offset = 4 + 4 * n_dims
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: header says shape {shape} "
            f"({expected} bytes), found {len(raw) - offset} bytes of data."
        )
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape)
