"""User data from a file: ``file:PATH`` in a suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils import Bunch

from dimred.arrays._streams import concatenate_rows, is_streamed
from dimred.datasets._stored import (
    HDF5_SUFFIXES,
    XARRAY_SUFFIXES,
    fields_bunch,
    held_out_block_indices,
    open_stored,
)

SUFFIXES = (".npy", ".npz", ".csv", ".parquet", ".mat", *HDF5_SUFFIXES, *XARRAY_SUFFIXES)


def load_file(
    path: str | Path,
    *,
    test: str | Path | None = None,
    test_fraction: float = 0.2,
    key: str | None = None,
    label: str | None = None,
    group: str | None = None,
    random_state: int = 0,
    variables: list[str] | None = None,
    sample_dims: list[str] | None = None,
    params: list[str] | None = None,
) -> Bunch:
    """Load a data matrix (rows are samples) from ``.npy``, ``.npz``, ``.csv``,
    ``.parquet`` or ``.mat``, or stored fields from HDF5 (``.h5``, ``.hdf5``), netCDF
    (``.nc``) or Zarr (``.zarr``), read lazily (:mod:`dimred.datasets._stored`).

    Parameters
    ----------
    path : str or Path
        The training data, or all of it when ``test`` is None.
    test : str or Path, default=None
        A file of the same kind holding the test set. Without it, ``test_fraction`` of
        the rows of ``path`` are held out at random.
    test_fraction : float, default=0.2
    key : str, default=None
        The array to read from an ``.npz`` or ``.mat`` file, or the dataset of an HDF5
        file (``"fields/u"``); needed when it holds more than one.
    label : str, default=None
        Column (``.csv`` / ``.parquet``) or array (``.npz`` / ``.mat``) holding labels;
        it is removed from the features.
    group : str, default=None
        Column or array of group labels (a trajectory, a patient, a simulation run),
        removed from the features. Rows of one group stay together: on one side of the
        held-out test split, and of the validation split (``validation="groups"``).
    random_state : int, default=0
        Seeds the held-out split.
    variables : list of str, default=None
        netCDF and Zarr: the variables of a row (default: every numeric data variable
        with the most dimensions, less ``params``).
    sample_dims : list of str, default=None
        HDF5, netCDF and Zarr: the dimensions that index samples (default: the first);
        rows run over them in C order, the other dimensions are features. A time
        dimension gives ``times_*``; the others give ``groups_train``, and held-out
        and validation rows are whole groups (or the last block of time).
    params : list of str, default=None
        netCDF and Zarr: coordinates or variables over the sample dimensions that give
        ``params_*`` (default: the numeric coordinates over the non-time sample
        dimensions). Tables (``.csv``, ``.parquet``, ``.npz``, ``.mat``): the columns or
        arrays holding each row's parameters, removed from the features. A ``.npy``
        takes its parameters from a ``params.npy`` beside it (one row per snapshot).
        Rows that share parameters are one group: the test set and the validation
        split hold out whole parameter points.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test`` (float64 unless stored as float32), ``y_train`` /
        ``y_test`` (None without ``label``), ``image_shape`` None, ``name``,
        ``validation`` and ``groups_train`` (see
        :func:`dimred.datasets.validation_split`).
    """
    if Path(path).suffix in (*HDF5_SUFFIXES, *XARRAY_SUFFIXES):
        if label is not None or group is not None:
            raise ValueError(f"{path}: label= and group= are for tables; stored fields "
                             "take their groups from sample_dims.")
        stored = {"key": key, "variables": variables, "sample_dims": sample_dims,
                  "params": params}
        return fields_bunch(open_stored(path, **stored),
                            None if test is None else open_stored(test, **stored),
                            test_fraction=test_fraction, random_state=random_state)
    if (variables, sample_dims) != (None, None):
        raise ValueError(f"{path}: variables= and sample_dims= are for HDF5, netCDF and "
                         "Zarr files.")
    columns = {"label": label, "group": group, **{f"param {name}": name
                                                   for name in params or ()}}
    X, read = _read(Path(path), key, columns)
    _check_matrix(path, X)
    read["params"] = _parameters(path, X, read, params)
    if read["group"] is None and read["params"] is not None:
        group = "params"  # rows of one parameter point stay together
        read["group"] = np.unique(read["params"], axis=0, return_inverse=True)[1].ravel()
    if test is not None:
        X_test, read_test = _read(Path(test), key, {"label": label, **{
            f"param {name}": name for name in params or ()}})
        _check_matrix(test, X_test)
        if X_test.shape[1] != X.shape[1]:
            raise ValueError(f"{test}: {X_test.shape[1]} columns, where {path} has "
                             f"{X.shape[1]}; the test set must have the training set's.")
        read_test["params"] = _parameters(test, X_test, read_test, params)
        train, held_out = slice(None), slice(None)
        X_train = X
    elif is_streamed(X):
        X_train, X_test = held_out_blocks(X, test_fraction, random_state)
        train, held_out = held_out_rows(X, test_fraction, random_state)
        read_test = read
    else:
        splitter = (GroupShuffleSplit if group is not None else ShuffleSplit)(
            n_splits=1, test_size=test_fraction, random_state=random_state)
        train, held_out = next(splitter.split(X, groups=read["group"]))
        X_train, X_test = X[train], X[held_out]
        read_test = read
    y_train, y_test, params_train, params_test = (
        None if values is None else values[rows]
        for values, rows in ((read["label"], train), (read_test["label"], held_out),
                             (read["params"], train), (read_test["params"], held_out)))
    groups_train = None if group is None else read["group"][train]
    extra = {} if params_train is None else {
        "params_train": params_train, "params_test": params_test,
        "param_names": tuple(params) if params else tuple(
            f"mu_{index + 1}" for index in range(params_train.shape[1]))}
    return Bunch(
        **extra,
        name=f"file:{path}",
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        image_shape=None,
        validation="rows" if group is None else "groups",
        groups_train=groups_train,
        description={"path": str(path), "test": None if test is None else str(test)},
    )


def _read(path: Path, key: str | None,
          columns: dict[str, str | None]) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """The data matrix of ``path`` and, for each role in ``columns`` (``"label"``,
    ``"group"``) that names a column or array, that column, removed from the features."""
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; use one of {SUFFIXES}.")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    wanted = {role: name for role, name in columns.items() if name is not None}
    if path.suffix == ".npy":
        if wanted:
            raise ValueError(f"{path}: a .npy file holds one array; "
                             f"{', '.join(wanted)} needs an .npz, .mat, .csv or .parquet file.")
        # Memory-mapped: the methods stream it, so a file larger than memory is never
        # read whole.
        return np.load(path, mmap_mode="r", allow_pickle=False), dict.fromkeys(columns)
    if path.suffix in (".csv", ".parquet"):
        table = _read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        kind, held = "column", table
    elif path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            held = dict(archive)
        kind = "array"
    else:
        held = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
        kind = "array"
    extracted = dict.fromkeys(columns)
    for role, name in wanted.items():
        if name not in held:
            raise ValueError(f"{path} has no {role} {kind} {name!r}; it has {sorted(held)}.")
        extracted[role] = np.ravel(np.asarray(held.pop(name)))
    if kind == "column":
        text = [str(name) for name, dtype in held.dtypes.items() if dtype.kind not in "biuf"]
        if text:
            raise ValueError(f"{path}: column(s) {text} hold text, not numbers; drop them, or "
                             "name one as label= or group=.")
        return held.to_numpy(), extracted
    if key is None:
        if len(held) != 1:
            raise ValueError(f"{path} holds arrays {sorted(held)}; say which with key=.")
        key = next(iter(held))
    if key not in held:
        raise ValueError(f"{path} has no array {key!r}; it holds {sorted(held)}.")
    return held[key], extracted


def _parameters(path, X, read: dict, names: list[str] | None) -> np.ndarray | None:
    """The rows' parameters: the ``names`` columns read from a table, else a
    ``params.npy`` beside a ``.npy`` (None if there is none)."""
    if names:
        return np.column_stack([read.pop(f"param {name}") for name in names]).astype(float)
    beside = Path(path).with_name("params.npy")
    if Path(path).suffix != ".npy" or not beside.is_file():
        return None
    values = np.load(beside, allow_pickle=False)
    values = values.reshape(len(values), -1)
    if values.dtype.kind not in "biuf" or len(values) != X.shape[0]:
        raise ValueError(f"{beside}: the parameters beside {Path(path).name} must be numbers, "
                         f"one row per snapshot ({X.shape[0]}); got {values.dtype} of shape "
                         f"{values.shape}.")
    return values.astype(float)


def held_out_rows(X, test_fraction: float, random_state: int):
    """The row indices of :func:`held_out_blocks`' training and test sides."""
    blocks, held_out = held_out_block_indices(X.shape[0], X.shape[1] * X.dtype.itemsize,
                                              test_fraction, random_state)
    return tuple(np.concatenate([np.arange(block.start, block.stop)
                                 for index, block in enumerate(blocks)
                                 if (index in held_out) == testing])
                 for testing in (False, True))


def _check_matrix(path, X) -> None:
    """Refuse what no method can reduce, before anything reads it whole: not a matrix
    of real numbers."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: the data is of dtype {X.dtype}, not numbers; store "
                         "floats (or integers).")
    if X.ndim != 2:
        raise ValueError(f"{path}: the data has shape {X.shape}; it must be a matrix "
                         "(rows are samples), e.g. reshape it to (n_samples, -1).")


def held_out_blocks(X, test_fraction: float, random_state: int):
    """Training and test rows of the memory-mapped ``X``: a random ``test_fraction`` of
    its blocks of consecutive rows held out, each side a dask array that reads its
    blocks from the file when computed, so that neither is ever copied whole."""
    blocks, held_out = held_out_block_indices(X.shape[0], X.shape[1] * X.dtype.itemsize,
                                              test_fraction, random_state)
    return tuple(concatenate_rows(X, [block for index, block in enumerate(blocks)
                                      if (index in held_out) == testing])
                 for testing in (False, True))


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV with its header, or without one: a first row that is all numbers is data,
    not column names (a headerless file would otherwise lose its first row)."""
    table = pd.read_csv(path)
    if all(_is_number(name) for name in table.columns):
        table = pd.read_csv(path, header=None)
        table.columns = [str(name) for name in table.columns]
    return table


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
