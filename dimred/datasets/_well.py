"""The Well's format (Ohana et al. 2024, the-well 1.2.0): a dataset folder holds
``data/train``, ``data/valid`` and ``data/test``, each of HDF5 files in one layout:

- ``t0_fields``, ``t1_fields``, ``t2_fields``: scalar, vector and tensor fields, each
  ``[trajectory] [time] *space [d] [d]`` (the bracketed axes as the field's
  ``sample_varying`` and ``time_varying`` attributes say), names in ``field_names``;
- ``dimensions``: ``time`` and each of ``spatial_dims``;
- ``scalars``: the simulation's parameters (``simulation_parameters``), and scalars
  that vary in time;
- ``boundary_conditions``, and attributes ``n_trajectories``, ``n_spatial_dims``, ...

:func:`load_well` reads it lazily into dimred's rows: one per (trajectory, time), the
time-varying fields' components as channels (in ``the_well``'s order: t0, t1, t2, each
in ``field_names`` order), each over space. :func:`to_well` writes a dimred dataset in
that layout, which ``the_well.data.WellDataset`` reads.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from dimred.arrays._streams import CHUNK_BYTES
from dimred.datasets._export import (
    SPATIAL_DIMS,
    channel_names,
    param_names,
    spatial_coordinates,
    trajectories,
)
from dimred.datasets._stored import Fields, fields_bunch

SPLITS = ("train", "valid", "test")
FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")


def load_well(path: str | Path, *, fields: list[str] | None = None,
              constant_fields: bool = False) -> Bunch:
    """A dataset folder in The Well's layout, read lazily, with its own split.

    Parameters
    ----------
    path : str or Path
        The dataset's folder (holding ``data/train``, ...).
    fields : list of str, default=None
        The fields of a row (default: every field that varies in time).
    constant_fields : bool, default=False
        Append the fields constant in time (geometry, a mask) as extra channels.

    Returns
    -------
    data : Bunch
        ``X_train`` (the train files, then the valid files) and ``X_test``, dask arrays
        read from the files; ``times_*``; ``params_*`` (the simulation parameters of each
        row's trajectory) and ``param_names``; ``groups_train`` (the trajectory); the
        validation rows are the valid files' (``validation="given"``), or without them
        whole trajectories; ``field_shape`` (channels, *space) and ``grid``.
    """
    path = Path(path)
    folder = path / "data"
    files = {split: sorted([*(folder / split).glob("*.hdf5"), *(folder / split).glob("*.h5")])
             for split in SPLITS}
    if not files["train"]:
        raise ValueError(f"{path}: no HDF5 files in {folder / 'train'}; a dataset in The "
                         "Well's layout has data/train (and data/valid, data/test) folders.")
    if not files["test"]:
        raise ValueError(f"{path}: no HDF5 files in {folder / 'test'}, the test split.")
    read = {split: [_read_file(file, fields, constant_fields) for file in found]
            for split, found in files.items() if found}
    train = _joined(read["train"] + read.get("valid", []), str(path))
    data = fields_bunch(train, _joined(read["test"], str(path)), test_fraction=0.2,
                        random_state=0)
    data.name = f"the_well:{path}"
    if "valid" in read:
        n_valid = sum(part.X.shape[0] for part in read["valid"])
        data.validation = "given"
        data.validation_rows = np.arange(train.X.shape[0] - n_valid, train.X.shape[0])
    return data


def _read_file(path: Path, wanted: list[str] | None, constant_fields: bool) -> Fields:
    import dask.array as da
    import h5py

    handle = h5py.File(path, "r")  # kept open by the dask arrays that read from it
    n_trajectories = int(handle.attrs["n_trajectories"])
    spatial = [str(name) for name in handle["dimensions"].attrs["spatial_dims"]]
    space = tuple(handle["dimensions"][name].shape[-1] for name in spatial)
    times = np.asarray(handle["dimensions"]["time"], dtype=np.float64)
    n_times = times.shape[-1]
    available = {str(name): group for group in FIELD_GROUPS if group in handle
                 for name in handle[group].attrs.get("field_names", [])}
    if wanted is not None:
        for name in wanted:
            if name not in available:
                raise ValueError(f"{path} has no field {name!r}; its fields are "
                                 f"{sorted(available)}.")
    varying = {name: bool(handle[group][name].attrs.get("time_varying", True))
               for name, group in available.items()}
    # The fields asked for (every one varying in time by default), then, appended as
    # extra channels, those constant in time.
    chosen = [name for name in available if (name in wanted if wanted is not None
                                             else varying[name])]
    chosen += [name for name in available
               if constant_fields and not varying[name] and name not in chosen]
    datasets = [handle[available[name]][name] for name in chosen]
    row_bytes = sum(math.prod(d.shape[-len(space) - FIELD_GROUPS.index(available[n]):])
                    * d.dtype.itemsize for n, d in zip(chosen, datasets, strict=True))
    per_chunk = max(1, CHUNK_BYTES // row_bytes)  # rows of a trajectory per chunk
    columns = []
    # Each field as (trajectory, time, channels, *space):
    for name, dataset in zip(chosen, datasets, strict=True):
        attrs = dataset.attrs
        leading = [1] * bool(attrs.get("sample_varying", True)) \
            + [per_chunk] * bool(attrs.get("time_varying", True))
        array = da.from_array(dataset, chunks=(*leading, *dataset.shape[len(leading):]),
                              lock=True,
                              name=f"well-{path.resolve()}-{name}-{path.stat().st_mtime_ns}")
        if not attrs.get("sample_varying", True):
            array = array[None]
        if not attrs.get("time_varying", True):
            array = array[:, None]
        array = da.broadcast_to(array, (n_trajectories, n_times, *array.shape[2:]))
        order = array.ndim - 2 - len(space)  # tensor axes after space: 0, 1 or 2
        array = da.moveaxis(array, list(range(2 + len(space), array.ndim)),
                            list(range(2, 2 + order)))
        columns.append(array.reshape(n_trajectories, n_times, -1, *space))
    stacked = da.concatenate(columns, axis=2)
    n_features = math.prod(stacked.shape[2:])
    rows = da.concatenate([stacked[trajectory].rechunk((per_chunk, *stacked.shape[2:]))
                           .reshape(n_times, n_features) for trajectory in range(n_trajectories)])
    parameters = [str(name) for name in handle.attrs.get("simulation_parameters", [])]
    params = None
    if parameters:
        values = [np.broadcast_to(np.asarray(handle["scalars"][name], dtype=np.float64),
                                  (n_trajectories,)) for name in parameters]
        params = np.repeat(np.column_stack(values), n_times, axis=0)
    return Fields(
        X=rows, path=str(path),
        times=np.broadcast_to(times, (n_trajectories, n_times)).ravel(),
        params=params, param_names=tuple(parameters),
        groups=np.repeat(np.arange(n_trajectories), n_times),
        field_shape=(stacked.shape[2], *space) if len(space) in (1, 2) else None,
        field_channels=tuple(chosen),
        grid={name: np.asarray(handle["dimensions"][name]) for name in spatial})


def _joined(parts: list[Fields], path: str) -> Fields:
    """The rows of several files, one after the other; trajectories numbered on."""
    import dask.array as da

    first = parts[0]
    for part in parts[1:]:
        if part.X.shape[1] != first.X.shape[1] or part.param_names != first.param_names:
            raise ValueError(f"{path}: {part.path} and {first.path} do not hold the same "
                             "fields and parameters.")
    offsets = np.cumsum([0, *(part.groups.max() + 1 for part in parts[:-1])])

    def stacked(name):
        values = [getattr(part, name) for part in parts]
        return None if values[0] is None else np.concatenate(values)

    return Fields(X=da.concatenate([part.X for part in parts]), path=path,
                  times=stacked("times"), params=stacked("params"),
                  param_names=first.param_names,
                  groups=np.concatenate([p.groups + o for p, o in zip(parts, offsets,
                                                                       strict=True)]),
                  field_shape=first.field_shape, field_channels=first.field_channels,
                  grid=first.grid)


def to_well(data: Bunch, path: str | Path, *, name: str | None = None) -> Path:
    """Write ``data`` (a dataset of :func:`dimred.datasets.load_dataset` with fields on
    a grid: Burgers, the cylinder) in The Well's layout under the folder ``path``:
    ``data/train/NAME_train.hdf5`` and ``data/test/NAME_test.hdf5``, one scalar
    (``t0``) field per channel, its parameters as scalars. Returns ``path``."""
    import h5py

    path, name = Path(path), name or str(data.get("name", "dimred"))
    space = SPATIAL_DIMS[len(data["field_shape"]) - 1]
    coordinates = spatial_coordinates(data)
    channels = channel_names(data)
    for split in ("train", "test"):
        found = trajectories(data, split)
        folder = path / "data" / split
        folder.mkdir(parents=True, exist_ok=True)
        parameters = ([] if found.params is None
                      else param_names(data, found.params.shape[1]))
        with h5py.File(folder / f"{name}_{split}.hdf5", "w") as file:
            file.attrs.update(dataset_name=name, grid_type="cartesian",
                              n_spatial_dims=len(space),
                              n_trajectories=len(found.fields),
                              simulation_parameters=parameters)
            dimensions = file.create_group("dimensions")
            dimensions.attrs["spatial_dims"] = list(space)
            for dim, values in [("time", found.times), *((d, coordinates[d]) for d in space)]:
                dimensions.create_dataset(dim, data=values).attrs["sample_varying"] = False
            boundaries = file.create_group("boundary_conditions")
            for dim in space:  # the_well's reader needs one; dimred's data is open
                condition = boundaries.create_group(f"{dim}_open")
                condition.attrs.update(associated_dims=[dim], associated_fields=[],
                                       bc_type="OPEN", sample_varying=False,
                                       time_varying=False)
                condition.create_dataset("mask", data=np.zeros(len(coordinates[dim]), bool))
            scalars = file.create_group("scalars")
            scalars.attrs["field_names"] = parameters
            for column, parameter in enumerate(parameters):
                scalar = scalars.create_dataset(parameter, data=found.params[:, column])
                scalar.attrs.update(time_varying=False, sample_varying=True)
            for order, group in enumerate(FIELD_GROUPS):
                created = file.create_group(group)
                created.attrs["field_names"] = channels if order == 0 else []
            for channel, field in enumerate(channels):
                dataset = file["t0_fields"].create_dataset(field,
                                                           data=found.fields[:, :, channel])
                dataset.attrs.update(dim_varying=[True] * len(space), sample_varying=True,
                                     time_varying=True)
    return path
