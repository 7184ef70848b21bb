"""A dask array over an ``.npy`` file that is never copied into memory.

``dask.array.from_array(np.load(path, mmap_mode="r"))`` was the usual way to get one,
but since dask 2024.12 ``from_array`` copies any array-like with a ``copy`` method
first (dask/dask#11850, open): a memory map is read whole into anonymous memory before
any computation starts, 2.5 GB for a 2.5 GB file. :func:`dask_from_npy` hands dask an
object without ``copy`` that opens the file memory-mapped for each chunk instead, so a
task holds a view of its chunk and nothing else. The object holds only the path, so it
pickles to the workers of a cluster that sees the same file system.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class _NpyChunks:
    """Shape, dtype and slicing of an ``.npy`` file: what ``dask.array.from_array``
    needs, and no ``copy``."""

    def __init__(self, path: Path):
        header = np.load(path, mmap_mode="r")
        self.path, self.shape, self.dtype, self.ndim = path, header.shape, header.dtype, \
            header.ndim

    def __getitem__(self, key):
        return np.load(self.path, mmap_mode="r")[key]


def dask_from_npy(path: str | os.PathLike, chunks="auto"):
    """A dask array of the ``.npy`` file at ``path``, read chunk by chunk from a memory
    map and never copied whole.

    Parameters
    ----------
    path : str or path-like
        An ``.npy`` file (not ``.npz``).
    chunks : int, tuple or "auto", default="auto"
        As for ``dask.array.from_array``; rows chunks of whole rows stream best.

    Returns
    -------
    X : dask.array.Array
        Its name is fixed by the path, size and modification time, so the same file
        gives the same array across processes.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from dimred.arrays import dask_from_npy
    >>> path = tempfile.mkdtemp() + "/X.npy"
    >>> np.save(path, np.arange(12.0).reshape(6, 2))
    >>> X = dask_from_npy(path, chunks=(2, 2))
    >>> X.chunks, float(X.sum().compute())
    (((2, 2, 2), (2,)), 66.0)
    """
    import dask.array as da
    from dask.base import tokenize

    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no .npy file at {path}")
    source = _NpyChunks(path)
    stat = path.stat()
    name = "npy-" + tokenize(str(path), stat.st_size, stat.st_mtime_ns, chunks)
    return da.from_array(source, chunks=chunks, name=name, asarray=False,
                         meta=np.empty((0,) * source.ndim, dtype=source.dtype))
