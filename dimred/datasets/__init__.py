"""Datasets, each with a train/test split and documented preprocessing.

:func:`load_dataset` is the one entry point a benchmark uses; the loaders behind it are
public for direct use. :func:`validation_split` holds out part of a training set the way
its data demands (whole trajectories, a block of time, or rows).
"""

from sklearn.datasets import load_digits

from dimred.datasets._burgers import make_burgers
from dimred.datasets._burgers_periodic import make_periodic_burgers
from dimred.datasets._cylinder import make_cylinder
from dimred.datasets._export import to_xarray
from dimred.datasets._files import load_file
from dimred.datasets._home import get_data_home
from dimred.datasets._idx import read_idx
from dimred.datasets._manifolds import make_embedded_manifold
from dimred.datasets._mnist import load_fashion_mnist, load_mnist
from dimred.datasets._registry import LOADERS, load_dataset
from dimred.datasets._validation import validation_split
from dimred.datasets._well import load_well, to_well

__all__ = [
    "LOADERS",
    "get_data_home",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_file",
    "load_mnist",
    "load_well",
    "make_burgers",
    "make_cylinder",
    "make_embedded_manifold",
    "make_periodic_burgers",
    "read_idx",
    "to_well",
    "to_xarray",
    "validation_split",
]
