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

from dimred.arrays._out_of_core import file_source


class _MappedChunks:
    """Shape, dtype and slicing of a memory-mapped file: what ``dask.array.from_array``
    needs, and no ``copy``. It holds where the array lies in its file, not the map, and
    maps the file again for each chunk."""

    def __init__(self, X: np.memmap):
        self.path, self.offset = str(X.filename), X.offset
        self.shape, self.dtype, self.ndim = X.shape, X.dtype, X.ndim

    def __getitem__(self, key):
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset,
                         shape=self.shape)[key]


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
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no .npy file at {path}")
    return dask_from_memmap(np.load(path, mmap_mode="r"), chunks)


def dask_from_memmap(X: np.memmap, chunks="auto"):
    """A dask array over the file of the whole-file, C-ordered memory map ``X`` (a
    ``numpy.memmap``, or ``np.load(mmap_mode="r")``), never copied whole.

    Raises
    ------
    TypeError
        If ``X`` is not a whole-file memory map (a view into one has no file offset of
        its own to reopen it by).
    """
    import dask.array as da
    from dask.base import tokenize

    if file_source(X) is None:
        raise TypeError(f"expected a whole-file numpy.memmap, got {type(X).__name__}; "
                        "open the file with np.load(path, mmap_mode='r') or np.memmap.")
    source = _MappedChunks(X)
    stat = os.stat(source.path)
    name = "memmap-" + tokenize(source.path, source.offset, source.shape, str(source.dtype),
                                stat.st_size, stat.st_mtime_ns, chunks)
    return da.from_array(source, chunks=chunks, name=name, asarray=False,
                         meta=np.empty((0,) * source.ndim, dtype=source.dtype))
