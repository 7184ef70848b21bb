"""Datasets, each with a train/test split and documented preprocessing."""

from sklearn.datasets import load_digits

from dimred.datasets._home import get_data_home
from dimred.datasets._idx import read_idx
from dimred.datasets._mnist import load_fashion_mnist, load_mnist

__all__ = ["get_data_home", "load_digits", "load_fashion_mnist", "load_mnist", "read_idx"]
