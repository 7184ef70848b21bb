"""dimred's simulations as they would be stored: an xarray Dataset (for netCDF or Zarr)
with their coordinates, split and parameters, so that they travel to other tools and
back through ``file:`` unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from dimred.datasets._stored import SPLIT_COORDINATE

#: Names of the spatial dimensions of a field, by its number of them: the cylinder's
#: arrays are (y, x) (rows of the image are y), Burgers' (x).
SPATIAL_DIMS = {1: ("x",), 2: ("y", "x")}


@dataclass
class Trajectories:
    """One split of a dataset as trajectories sharing their snapshot times."""

    fields: np.ndarray  # (n_trajectories, n_times, n_channels, *spatial)
    times: np.ndarray  # (n_times,)
    params: np.ndarray | None  # (n_trajectories, n_params)


def trajectories(data: Bunch, split: str) -> Trajectories:
    """The rows of ``data.X_<split>`` cut into trajectories: a new one wherever the
    parameters change (else the groups; else one trajectory), each with the same times.

    Raises
    ------
    ValueError
        If the rows are not on a grid (no ``field_shape``), or the trajectories differ
        in their length or times.
    """
    X = np.asarray(data[f"X_{split}"])
    shape = data.get("field_shape")
    if shape is None:
        raise ValueError(f"{data.get('name', 'the dataset')} has no field_shape: its rows "
                         "are not fields on a grid, which the stored layouts need.")
    params = data.get(f"params_{split}")
    marks = params if params is not None else data.get(f"groups_{split}")
    starts = [0]
    if marks is not None:
        marks = np.asarray(marks).reshape(len(X), -1)
        starts += (np.flatnonzero(np.any(np.diff(marks, axis=0) != 0, axis=1)) + 1).tolist()
    lengths = set(np.diff([*starts, len(X)]).tolist())
    if len(lengths) != 1:
        raise ValueError(f"the {split} trajectories differ in length ({sorted(lengths)}).")
    n_times = lengths.pop()
    times = data.get(f"times_{split}")
    times = (np.arange(n_times, dtype=np.float64) if times is None
             else np.asarray(times, dtype=np.float64).reshape(len(starts), n_times))
    if times.ndim == 2:
        if not np.all(times == times[0]):
            raise ValueError(f"the {split} trajectories are sampled at different times.")
        times = times[0]
    return Trajectories(X.reshape(len(starts), n_times, *shape), times,
                        None if params is None else np.asarray(params)[starts])


def channel_names(data: Bunch) -> list[str]:
    """A variable name per channel: the label's first word (``"u / U"`` gives ``u``)."""
    labels = data.get("field_channels") or [f"channel_{c}" for c in
                                            range(data["field_shape"][0])]
    return [str(label).split()[0] for label in labels]


def param_names(data: Bunch, n_params: int) -> list[str]:
    return list(data.get("param_names") or [f"param_{p}" for p in range(n_params)])


def spatial_coordinates(data: Bunch) -> dict[str, np.ndarray]:
    """Each spatial dimension's coordinate: the grid's ``(x, y)`` by name."""
    spatial = tuple(data["field_shape"][1:])
    dims = SPATIAL_DIMS[len(spatial)]
    grid = data.get("grid")
    if grid is None:
        return {dim: np.arange(size, dtype=np.float64) for dim, size in zip(dims, spatial,
                                                                            strict=True)}
    grid = [grid] if len(spatial) == 1 else list(grid)
    return {name: np.asarray(values, dtype=np.float64)
            for name, values in zip(("x", "y"), grid, strict=False)}


def to_xarray(data: Bunch):
    """A dataset of :func:`dimred.datasets.load_dataset` (Burgers, the cylinder, ...) as
    an ``xarray.Dataset``: one variable per channel over ``(trajectory, time, *space)``,
    its snapshot times, parameters and grid as coordinates, and the train/test split as
    a ``split`` coordinate, which ``file:`` reads back. A dataset whose train and test
    rows are one trajectory each (the cylinder: the test set is later time) has no
    trajectory dimension and is split in time.

    Save it with ``.to_netcdf(path)`` or ``.to_zarr(path)``; ``load_dataset("file:PATH",
    sample_dims=[...])`` gives back the same rows, times and parameters.

    Examples
    --------
    >>> from dimred.datasets import load_dataset, to_xarray
    >>> data = load_dataset("burgers", n_grid=16, n_snapshots=4, train_grid=(2, 2))
    >>> stored = to_xarray(data)
    >>> dict(stored.sizes), list(stored.data_vars), sorted(stored.coords)
    ({'trajectory': 6, 'time': 4, 'x': 16}, ['u'], ['mu_1', 'mu_2', 'split', 'time', 'x'])
    """
    import xarray as xr

    train, test = trajectories(data, "train"), trajectories(data, "test")
    space = SPATIAL_DIMS[len(data["field_shape"]) - 1]
    coords = {**spatial_coordinates(data)}
    if len(train.fields) == len(test.fields) == 1:  # one trajectory, split in time
        fields = np.concatenate([train.fields[0], test.fields[0]])
        dims = ("time", *space)
        coords["time"] = np.concatenate([train.times, test.times])
        split_over = ("time", ["train"] * len(train.times) + ["test"] * len(test.times))
    else:
        if not np.array_equal(train.times, test.times):
            raise ValueError("the train and test trajectories are sampled at different times.")
        fields = np.concatenate([train.fields, test.fields])
        dims = ("trajectory", "time", *space)
        coords["time"] = train.times
        split_over = ("trajectory", ["train"] * len(train.fields) + ["test"] * len(test.fields))
        if train.params is not None:
            params = np.concatenate([train.params, test.params])
            for column, name in enumerate(param_names(data, params.shape[1])):
                coords[name] = ("trajectory", params[:, column])
    # Python strings (variable length): Zarr 3 has no specification for fixed-width ones.
    coords[SPLIT_COORDINATE] = (split_over[0], np.array(split_over[1], dtype=object))
    labels = data.get("field_channels") or channel_names(data)
    variables = {name: (dims, np.take(fields, channel, axis=len(dims) - len(space)),
                        {"long_name": str(label)})
                 for channel, (name, label) in enumerate(zip(channel_names(data), labels,
                                                             strict=True))}
    description = json.dumps(data.get("description", {}), default=str)
    return xr.Dataset(variables, coords=coords,
                      attrs={"name": str(data.get("name", "")), "description": description})
