"""Arrays of any kind read a block of rows at a time: in memory, memory-mapped or dask.

The lowest layer that touches data: the methods (:mod:`dimred.linear`,
:mod:`dimred.neural`) and :mod:`dimred.datasets` stream through it; it imports none of
them. Public: :func:`dask_from_npy` and :func:`dask_from_memmap`, dask arrays over a
file that dask's own ``from_array`` would copy into memory.
"""

from dimred.arrays._dask_npy import dask_from_memmap, dask_from_npy

__all__ = ["dask_from_memmap", "dask_from_npy"]
