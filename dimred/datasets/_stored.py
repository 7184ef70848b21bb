"""Simulation data as it is stored: HDF5 through h5py, netCDF and Zarr through xarray.

A stored field has named dimensions. Some index samples (a trajectory, time: the
suite's ``sample_dims``), the rest are features. The rows of X run over the sample
dimensions in C order (the last fastest); a row holds each variable in turn, each
flattened over its other dimensions in the first variable's order. Coordinates become
the side information of :func:`dimred.datasets.load_dataset`'s Bunch: a time dimension
gives ``times``, parameter coordinates (or variables named in ``params``) ``params``,
the other sample dimensions ``groups`` (a trajectory's rows are kin), and the feature
dimensions the grid's shape (``field_shape``, which a convolutional network takes as its
``input_shape``).

Nothing is read whole: X is a dask array of whole-row chunks of about
:data:`dimred.arrays._streams.CHUNK_BYTES`, read from the file when the methods stream
it. A store chunked along the sample dimensions in blocks of about that size streams
at the file's rate; a larger storage chunk is read again for each block in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils import Bunch

from dimred.arrays._streams import CHUNK_BYTES, concatenate_rows, split_blocks

#: File types read here, and how.
HDF5_SUFFIXES = (".h5", ".hdf5")
XARRAY_SUFFIXES = (".nc", ".zarr")

#: Dimension names taken for time (besides a coordinate with ``axis = "T"``,
#: ``standard_name = "time"`` or a datetime dtype).
TIME_NAMES = ("time", "t")
#: A coordinate over the sample dimensions with "train" / "test" per sample: the split
#: the file was written with (:func:`dimred.datasets.to_xarray` writes it).
SPLIT_COORDINATE = "split"


@dataclass
class Fields:
    """Rows read lazily from stored fields, with their side information (one entry
    per row where per row)."""

    X: Any  # dask array (n_rows, n_features)
    path: str
    times: np.ndarray | None = None
    params: np.ndarray | None = None  # (n_rows, n_params)
    param_names: tuple[str, ...] = ()
    groups: np.ndarray | None = None
    split: np.ndarray | None = None
    field_shape: tuple[int, ...] | None = None
    field_channels: tuple[str, ...] = ()
    grid: dict[str, np.ndarray] = field(default_factory=dict)


def open_stored(path: str | Path, *, key: str | None = None,
                variables: list[str] | None = None, sample_dims: list[str] | None = None,
                params: list[str] | None = None) -> Fields:
    """The rows of the stored fields at ``path``: an HDF5 dataset (``key``), or
    ``variables`` of a netCDF file or Zarr store (default: every numeric data variable
    with the most dimensions, less those named in ``params``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    if path.suffix in HDF5_SUFFIXES:
        if variables is not None or params is not None:
            raise ValueError(f"{path}: an HDF5 file is read by key=, the path of one "
                             "dataset, its dimension scales giving times and groups; "
                             "variables= and params= are for netCDF and Zarr.")
        arrays, coordinates = _hdf5_array(path, key)
    else:
        if key is not None:
            raise ValueError(f"{path}: key= names an HDF5 dataset; a netCDF file or "
                             "Zarr store names its variables with variables=.")
        arrays, coordinates = _xarray_variables(path, variables, params or [])
    return _rows(path, arrays, coordinates, sample_dims, params)


def _hdf5_array(path: Path, key: str | None):
    import h5py
    import xarray as xr

    handle = h5py.File(path, "r")  # kept open by the dask array that reads from it
    datasets = []
    handle.visititems(lambda name, item: datasets.append(name)
                      if isinstance(item, h5py.Dataset) else None)
    if key is None:
        if len(datasets) != 1:
            raise ValueError(f"{path} holds datasets {sorted(datasets)}; say which with key=.")
        key = datasets[0]
    if key not in handle:
        raise ValueError(f"{path} has no dataset {key!r}; it holds {sorted(datasets)}.")
    if not isinstance(handle[key], h5py.Dataset):
        raise ValueError(f"{path}: {key!r} is a group, not a dataset; name one of its "
                         f"datasets: {sorted(d for d in datasets if d.startswith(key + '/'))}.")
    dataset = handle[key]
    _check_numeric(path, key, dataset.dtype)
    # HDF5 dimension scales (netCDF-4's) name the dimensions and give their coordinates.
    dims = [axis.label or f"dim_{number}" for number, axis in enumerate(dataset.dims)]
    coordinates = {name: np.asarray(axis[0]) for name, axis in zip(dims, dataset.dims,
                                                                    strict=True)
                   if len(axis) and axis[0].shape == (dataset.shape[dims.index(name)],)}
    import dask.array as da

    data = da.from_array(dataset, chunks=_row_chunks(dataset.shape, dataset.dtype), lock=True,
                         name=f"hdf5-{path.resolve()}-{key}-{path.stat().st_mtime_ns}")
    return [xr.DataArray(data, dims=dims, name=key)], coordinates


def _xarray_variables(path: Path, variables: list[str] | None, params: list[str]):
    import xarray as xr

    if path.suffix == ".zarr":
        try:  # consolidated metadata where the store has it (xarray writes it by default)
            dataset = xr.open_zarr(path, consolidated=True)
        except ValueError:  # ... else the arrays' own, without xarray's warning
            dataset = xr.open_zarr(path, consolidated=False)
    else:
        dataset = xr.open_dataset(path, chunks={})
    names = list(dataset.data_vars)
    if variables is None:
        fields = [n for n in names if n not in params and dataset[n].dtype.kind in "biuf"]
        most = max((dataset[n].ndim for n in fields), default=0)
        variables = [n for n in fields if dataset[n].ndim == most]
        if not variables:
            raise ValueError(f"{path} holds no numeric data variable; it holds {names}.")
    for name in variables:
        if name not in names:
            raise ValueError(f"{path} has no variable {name!r}; it holds {names}.")
        _check_numeric(path, name, dataset[name].dtype)
    coordinates = {name: dataset[name] for name in dataset.coords}
    coordinates |= {name: dataset[name] for name in params if name in names}
    return [dataset[name] for name in variables], coordinates


def _check_numeric(path: Path, name: str, dtype) -> None:
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(f"{path}: variable {name!r} is of dtype {dtype}, not numbers.")


def _row_chunks(shape: tuple[int, ...], dtype) -> tuple[int, ...]:
    """Chunks of about CHUNK_BYTES along the first axis, whole along the others."""
    row_bytes = math.prod(shape[1:]) * np.dtype(dtype).itemsize
    return (max(1, CHUNK_BYTES // max(row_bytes, 1)), *shape[1:])


def _rows(path: Path, arrays: list, coordinates: dict, sample_dims: list[str] | None,
          params: list[str] | None) -> Fields:
    first = arrays[0]
    sample_dims = list(sample_dims or first.dims[:1])
    for dim in sample_dims:
        if dim not in first.dims:
            raise ValueError(f"{path}: sample_dims names {dim!r}, which is not a dimension "
                             f"of {first.name!r}; its dimensions are {list(first.dims)}.")
    feature_dims = [dim for dim in first.dims if dim not in sample_dims]
    for other in arrays[1:]:
        if dict(other.sizes) != dict(first.sizes):
            raise ValueError(f"{path}: variables {first.name!r} {dict(first.sizes)} and "
                             f"{other.name!r} {dict(other.sizes)} do not have the same "
                             "dimensions; every variable of a row must.")
    arrays = [array.transpose(*sample_dims, *feature_dims) for array in arrays]
    sample_shape = tuple(first.sizes[dim] for dim in sample_dims)
    feature_shape = tuple(first.sizes[dim] for dim in feature_dims)
    time_dim = next((dim for dim in sample_dims if _is_time(dim, coordinates.get(dim))), None)
    fields = Fields(X=_matrix(arrays, sample_shape, feature_shape), path=str(path))
    fields.grid = {dim: np.asarray(coordinates[dim]) for dim in feature_dims
                   if dim in coordinates}
    if len(feature_shape) in (1, 2):
        fields.field_shape = (len(arrays), *feature_shape)
        fields.field_channels = tuple(str(array.name) for array in arrays)

    def per_row(values, dims) -> np.ndarray:
        """Values over ``dims`` (a subset of the sample dimensions), one per row."""
        values = np.asarray(values)
        order = [sample_dims.index(dim) for dim in dims]
        shape = [1] * len(sample_dims)
        for axis, dim in zip(order, dims, strict=True):
            shape[axis] = sample_shape[sample_dims.index(dim)]
        values = np.transpose(values, np.argsort(order)).reshape(shape)
        return np.broadcast_to(values, sample_shape).ravel()

    if time_dim is not None:
        times = np.asarray(coordinates[time_dim]) if time_dim in coordinates \
            else np.arange(first.sizes[time_dim])
        if times.dtype.kind == "M":  # datetimes: seconds since the first
            times = (times - times[0]) / np.timedelta64(1, "s")
        fields.times = per_row(times.astype(np.float64), [time_dim])
    others = [dim for dim in sample_dims if dim != time_dim]
    if others:
        groups = np.arange(math.prod(first.sizes[dim] for dim in others))
        fields.groups = per_row(groups.reshape([first.sizes[dim] for dim in others]), others)
    names = params if params is not None else _parameter_names(coordinates, others, time_dim)
    columns = []
    for name in names:
        if name not in coordinates:
            raise ValueError(f"{path}: params names {name!r}, which is neither a "
                             f"coordinate nor a variable; coordinates: {sorted(coordinates)}.")
        value = coordinates[name]
        if not set(value.dims) <= set(sample_dims):
            raise ValueError(f"{path}: parameter {name!r} varies along {list(value.dims)}, "
                             f"not only the sample dimensions {sample_dims}.")
        columns.append(per_row(np.asarray(value, dtype=np.float64), list(value.dims)))
    if columns:
        fields.params, fields.param_names = np.column_stack(columns), tuple(names)
    split = coordinates.get(SPLIT_COORDINATE)
    if split is not None and set(split.dims) <= set(sample_dims):
        # tolist: Zarr gives numpy StringDType, which casts to no fixed-width dtype.
        fields.split = per_row(np.array(np.asarray(split).tolist(), dtype=str), list(split.dims))
    return fields


def _is_time(dim: str, coordinate) -> bool:
    if dim.lower() in TIME_NAMES:
        return True
    if coordinate is None or not hasattr(coordinate, "attrs"):
        return False
    attrs = coordinate.attrs
    return (attrs.get("axis") == "T" or attrs.get("standard_name") == "time"
            or np.asarray(coordinate).dtype.kind == "M")


def _parameter_names(coordinates: dict, others: list[str], time_dim) -> list[str]:
    """Coordinates that are parameters: numeric, over the non-time sample dimensions
    only; a dimension's own coordinate counts when it holds floats (values of a
    parameter, not the labels of trajectories)."""
    names = []
    for name, value in coordinates.items():
        if name == SPLIT_COORDINATE or not hasattr(value, "dims") or not value.dims:
            continue
        dims = set(value.dims)
        numeric = np.asarray(value).dtype.kind in ("f" if name in value.dims else "biuf")
        if numeric and dims <= set(others) and name != time_dim:
            names.append(name)
    return names


def _matrix(arrays: list, sample_shape: tuple[int, ...], feature_shape: tuple[int, ...]):
    """The rows: for each index of the outer sample dimensions, the last one's samples
    as whole-row chunks of about CHUNK_BYTES, variables side by side."""
    import dask.array as da

    n_features = math.prod(feature_shape)
    dtype = np.result_type(*(array.dtype for array in arrays))
    per_chunk = max(1, CHUNK_BYTES // max(n_features * len(arrays) * dtype.itemsize, 1))
    sources = [array.data if isinstance(array.data, da.Array) else da.asarray(array.data)
               for array in arrays]
    pieces = []
    for outer in np.ndindex(*sample_shape[:-1]):
        columns = [source[outer].rechunk((per_chunk, *(-1,) * len(feature_shape)))
                   .reshape(sample_shape[-1], n_features).astype(dtype)
                   for source in sources]
        pieces.append(columns[0] if len(columns) == 1 else da.concatenate(columns, axis=1))
    return pieces[0] if len(pieces) == 1 else da.concatenate(pieces, axis=0)


def fields_bunch(fields: Fields, test: Fields | None, *, test_fraction: float,
                 random_state: int) -> Bunch:
    """The Bunch of :func:`dimred.datasets.load_dataset` from stored rows: the test rows
    from ``test``, else the file's own split (:data:`SPLIT_COORDINATE`), else
    ``test_fraction`` of its whole groups, else the last ``test_fraction`` of its time,
    else of its blocks of rows, at random. Validation holds out the same way."""
    if test is None:
        held_out = _held_out(fields, test_fraction, random_state)
        fields, test = _subset(fields, ~held_out), _subset(fields, held_out)
    validation = ("groups" if fields.groups is not None and len(np.unique(fields.groups)) > 1
                  else "time block" if fields.times is not None else "rows")
    data = Bunch(name=f"file:{fields.path}", X_train=fields.X, X_test=test.X,
                 y_train=None, y_test=None, image_shape=None, validation=validation,
                 groups_train=fields.groups, field_shape=fields.field_shape,
                 description={"path": fields.path, "test": None if test.path == fields.path
                              else test.path})
    for name, value in (("times", "times"), ("params", "params")):
        if getattr(fields, value) is not None:
            data[f"{name}_train"], data[f"{name}_test"] = getattr(fields, value), \
                getattr(test, value)
    if fields.param_names:
        data.param_names = fields.param_names
    if fields.field_channels:
        data.field_channels = fields.field_channels
    if fields.grid:
        data.grid = tuple(fields.grid.values()) if len(fields.grid) > 1 \
            else next(iter(fields.grid.values()))
    return data


def _held_out(fields: Fields, test_fraction: float, random_state: int) -> np.ndarray:
    """Which rows are test rows."""
    n_rows = fields.X.shape[0]
    if fields.split is not None:
        unknown = set(np.unique(fields.split)) - {"train", "test"}
        if unknown:
            raise ValueError(f"{fields.path}: the {SPLIT_COORDINATE!r} coordinate holds "
                             f"{sorted(unknown)}; only 'train' and 'test' are known.")
        return fields.split == "test"
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}.")
    if fields.groups is not None and len(np.unique(fields.groups)) > 1:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction,
                                     random_state=random_state)
        _, rows = next(splitter.split(np.empty((n_rows, 1)), groups=fields.groups))
    elif fields.times is not None:
        rows = np.arange(n_rows - max(1, round(test_fraction * n_rows)), n_rows)
    else:
        blocks, chosen = held_out_block_indices(n_rows, fields.X.shape[1] * fields.X.dtype.itemsize,
                                         test_fraction, random_state)
        rows = np.concatenate([np.arange(n_rows)[blocks[index]] for index in sorted(chosen)])
    held_out = np.zeros(n_rows, dtype=bool)
    held_out[rows] = True
    if held_out.all() or not held_out.any():
        raise ValueError(f"{fields.path}: test_fraction={test_fraction} leaves a side of "
                         "the split empty.")
    return held_out


def held_out_block_indices(n_rows: int, row_bytes: int, test_fraction: float,
                           random_state: int) -> tuple[list[slice], set[int]]:
    """The blocks a streamed X is split by (:func:`dimred.arrays._streams.split_blocks`)
    and which of them are test rows: ``test_fraction`` of them at random, at least one,
    never all."""
    blocks = split_blocks(n_rows, row_bytes)
    n_test = max(1, round(test_fraction * len(blocks)))
    if n_test >= len(blocks):
        raise ValueError(f"test_fraction={test_fraction} leaves no training block out of "
                         f"{len(blocks)}.")
    chosen = np.random.default_rng(random_state).choice(len(blocks), n_test, replace=False)
    return blocks, set(chosen.tolist())


def _subset(fields: Fields, rows: np.ndarray) -> Fields:
    """The rows where ``rows`` is True, X still read lazily (by runs of rows)."""
    starts = np.flatnonzero(np.diff(np.r_[0, rows.astype(np.int8)]) == 1)
    stops = np.flatnonzero(np.diff(np.r_[rows.astype(np.int8), 0]) == -1) + 1
    runs = [slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]

    def pick(values):
        return None if values is None else values[rows]

    return Fields(X=concatenate_rows(fields.X, runs), path=fields.path,
                  times=pick(fields.times), params=pick(fields.params),
                  param_names=fields.param_names, groups=pick(fields.groups),
                  field_shape=fields.field_shape, field_channels=fields.field_channels,
                  grid=fields.grid)
