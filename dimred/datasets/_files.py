"""User data from a file: ``file:PATH`` in a suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

SUFFIXES = (".npy", ".npz", ".csv", ".parquet", ".mat")


def load_file(
    path: str | Path,
    *,
    test: str | Path | None = None,
    test_fraction: float = 0.2,
    key: str | None = None,
    label: str | None = None,
    random_state: int = 0,
) -> Bunch:
    """Load a data matrix (rows are samples) from ``.npy``, ``.npz``, ``.csv``, ``.parquet``
    or ``.mat``.

    Parameters
    ----------
    path : str or Path
        The training data, or all of it when ``test`` is None.
    test : str or Path, default=None
        A file of the same kind holding the test set. Without it, ``test_fraction`` of
        the rows of ``path`` are held out at random.
    test_fraction : float, default=0.2
    key : str, default=None
        The array to read from an ``.npz`` or ``.mat`` file; needed when it holds more
        than one.
    label : str, default=None
        Column (``.csv`` / ``.parquet``) or array (``.npz`` / ``.mat``) holding labels;
        it is removed from the features.
    random_state : int, default=0
        Seeds the held-out split.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test`` (float64 unless stored as float32), ``y_train`` /
        ``y_test`` (None without ``label``), ``image_shape`` None, ``name``.
    """
    X, y = _read(Path(path), key, label)
    if test is not None:
        X_test, y_test = _read(Path(test), key, label)
        X_train, y_train = X, y
    elif y is None:
        X_train, X_test = train_test_split(X, test_size=test_fraction, random_state=random_state)
        y_train = y_test = None
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_fraction, random_state=random_state
        )
    return Bunch(
        name=f"file:{path}",
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        image_shape=None,
        description={"path": str(path), "test": None if test is None else str(test)},
    )


def _read(path: Path, key: str | None, label: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; use one of {SUFFIXES}.")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False), None
    if path.suffix in (".csv", ".parquet"):
        table = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        if label is not None and label not in table.columns:
            raise ValueError(f"{path} has no label column {label!r}; it has {list(table)}.")
        y = table.pop(label).to_numpy() if label is not None else None
        return table.to_numpy(), y
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            arrays = dict(archive)
    else:
        arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    if label is not None and label not in arrays:
        raise ValueError(f"{path} has no label array {label!r}; it holds {sorted(arrays)}.")
    y = np.ravel(arrays.pop(label)) if label is not None else None
    if key is None:
        if len(arrays) != 1:
            raise ValueError(f"{path} holds arrays {sorted(arrays)}; say which with key=.")
        key = next(iter(arrays))
    if key not in arrays:
        raise ValueError(f"{path} has no array {key!r}; it holds {sorted(arrays)}.")
    return arrays[key], y
