"""Simulation data as it is stored: HDF5, netCDF and Zarr through ``file:``, and The
Well's layout through ``the_well:``, on real files written by dimred's writers and by
the_well's own, with ``the_well.data.WellDataset`` as the oracle."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import xarray as xr

from dimred import POD
from dimred.benchmark import SuiteError, load_suite, run_suite
from dimred.datasets import load_dataset, to_well, to_xarray, validation_split

pytestmark = pytest.mark.filterwarnings(
    # zarr 3 on xarray's default of consolidated metadata, which it has no spec for.
    "ignore:Consolidated metadata:UserWarning",
)

SIDE = ("X_train", "X_test", "params_train", "params_test", "times_train", "times_test",
        "groups_train")


@pytest.fixture(scope="module")
def burgers():
    return load_dataset("burgers", n_grid=32, n_snapshots=6, train_grid=(3, 3))


@pytest.fixture(scope="module")
def cylinder(tmp_path_factory):
    """A short run of the cylinder wake (6 s): 8 training snapshots, 2 test ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIMRED_CACHE", str(tmp_path_factory.mktemp("cache")))
        return load_dataset("cylinder", transient=1.0, n_snapshots=10)


def well_trajectories(folder, split: str) -> np.ndarray:
    """Every snapshot of a split as the_well reads it, as dimred's rows: channels
    first, then space, one row per (trajectory, time)."""
    from the_well.data import WellDataset

    dataset = WellDataset(path=str(folder), well_split_name=split, full_trajectory_mode=True,
                          n_steps_input=1, n_steps_output=1, use_normalization=False)
    rows = []
    for index in range(len(dataset)):
        item = dataset[index]
        trajectory = torch.cat([item["input_fields"], item["output_fields"]]).numpy()
        rows.append(np.moveaxis(trajectory, -1, 1).reshape(len(trajectory), -1))
    return np.concatenate(rows)


def test_the_cylinder_written_in_the_wells_layout_is_read_alike_by_the_well_and_dimred(
        cylinder, tmp_path):
    to_well(cylinder, tmp_path / "cylinder")
    for split in ("train", "test"):
        np.testing.assert_array_equal(well_trajectories(tmp_path / "cylinder", split),
                                      cylinder[f"X_{split}"])
    read = load_dataset(f"the_well:{tmp_path / 'cylinder'}")
    for name in ("X_train", "X_test", "times_train", "times_test"):
        np.testing.assert_array_equal(np.asarray(read[name]), cylinder[name])
    assert read.field_shape == cylinder.field_shape and read.field_channels == ("u", "v")
    assert read.validation == cylinder.validation == "time block"  # one trajectory
    assert read.X_train.dtype == np.float32


def test_the_wells_own_dummy_files_load_with_the_values_the_well_reads(tmp_path):
    from the_well.utils.dummy_data import write_dummy_data

    for split in ("train", "valid", "test"):
        (tmp_path / "data" / split).mkdir(parents=True)
        write_dummy_data(str(tmp_path / "data" / split / f"dummy_{split}.hdf5"))
    data = load_dataset(f"the_well:{tmp_path}")
    expected = np.concatenate([well_trajectories(tmp_path, "train"),
                               well_trajectories(tmp_path, "valid")])
    np.testing.assert_array_equal(np.asarray(data.X_train), expected)
    np.testing.assert_array_equal(np.asarray(data.X_test), well_trajectories(tmp_path, "test"))
    assert data.field_shape == (2, 32, 32)  # the t1 field's two components over x, y
    assert data.param_names == ("a", "b")
    np.testing.assert_array_equal(data.params_train, np.tile([0.25, 0.75], (40, 1)))
    # The Well's own split: the valid files are the validation rows.
    fit_rows, validation_rows = validation_split(data)
    np.testing.assert_array_equal(fit_rows, np.arange(20))
    np.testing.assert_array_equal(validation_rows, np.arange(20, 40))
    # The constant-in-time t0 field, appended as a third channel.
    with_constant = load_dataset(f"the_well:{tmp_path}", constant_fields=True)
    assert with_constant.field_shape == (3, 32, 32)
    with h5py.File(tmp_path / "data" / "test" / "dummy_test.hdf5") as file:
        constant = file["t0_fields/constant_field"][1]
    rows = np.asarray(with_constant.X_test).reshape(-1, 3, 32, 32)
    np.testing.assert_array_equal(rows[10:, 2], np.broadcast_to(constant, (10, 32, 32)))


@pytest.mark.parametrize("store", ["nc", "zarr"])
def test_burgers_round_trips_through_netcdf_and_zarr(burgers, tmp_path, store):
    path = tmp_path / f"burgers.{store}"
    stored = to_xarray(burgers)
    stored.to_netcdf(path) if store == "nc" else stored.to_zarr(path)
    read = load_dataset(f"file:{path}", sample_dims=["trajectory", "time"])
    for name in SIDE:
        np.testing.assert_array_equal(np.asarray(read[name]), burgers[name])
    assert read.param_names == ("mu_1", "mu_2") and read.field_shape == (1, 32)
    # The parametric validation split still holds out whole parameters.
    fit_rows, validation_rows = validation_split(read)
    fit_mu = {tuple(mu) for mu in read.params_train[fit_rows]}
    assert fit_mu.isdisjoint(tuple(mu) for mu in read.params_train[validation_rows])


def test_an_hdf5_dataset_with_dimension_scales_gives_its_times_and_grid(tmp_path):
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "run.h5", "w") as file:
        fields = file.create_dataset("fields/u", data=rng.normal(size=(40, 12, 10)))
        for axis, (name, values) in enumerate([("time", np.linspace(0, 4, 40)),
                                               ("y", np.arange(12.0)), ("x", np.arange(10.0))]):
            file[name] = values
            file[name].make_scale(name)
            fields.dims[axis].attach_scale(file[name])
            fields.dims[axis].label = name
    data = load_dataset(f"file:{tmp_path / 'run.h5'}", key="fields/u", sample_dims=["time"])
    assert data.X_train.shape == (32, 120) and data.X_test.shape == (8, 120)
    np.testing.assert_allclose(data.times_test, np.linspace(0, 4, 40)[32:])
    assert data.validation == "time block" and data.field_shape == (1, 12, 10)
    with h5py.File(tmp_path / "run.h5") as file:
        np.testing.assert_array_equal(np.asarray(data.X_train),
                                      file["fields/u"][:32].reshape(32, -1))


def test_pod_on_a_zarr_store_equals_pod_in_memory(burgers, tmp_path):
    to_xarray(burgers).to_zarr(tmp_path / "b.zarr")
    read = load_dataset(f"file:{tmp_path / 'b.zarr'}", sample_dims=["trajectory", "time"])
    lazy, dense = POD(4).fit(read.X_train), POD(4).fit(burgers.X_train)
    np.testing.assert_allclose(lazy.singular_values_, dense.singular_values_, rtol=1e-10)


def _netcdf(tmp_path, **variables):
    path = tmp_path / "data.nc"
    xr.Dataset(variables).to_netcdf(path)
    return path


@pytest.mark.parametrize("case", ["missing variable", "text variable", "mismatched dims",
                                  "unknown sample dim", "hdf5 group", "well without train"])
def test_each_refusal_names_the_problem_and_the_file(tmp_path, case):
    values = np.zeros((6, 4))
    options = {}
    if case == "missing variable":
        path = _netcdf(tmp_path, u=(("time", "x"), values))
        options, message = {"variables": ["v"]}, r"no variable 'v'; it holds \['u'\]"
    elif case == "text variable":
        path = _netcdf(tmp_path, u=(("time", "x"), values), site=(("time",), ["a"] * 6))
        options, message = {"variables": ["u", "site"]}, "'site' is of dtype .*not numbers"
    elif case == "mismatched dims":
        path = _netcdf(tmp_path, u=(("time", "x"), values), v=(("time", "y"), values[:, :3]))
        options, message = {"variables": ["u", "v"]}, "do not have the same dimensions"
    elif case == "unknown sample dim":
        path = _netcdf(tmp_path, u=(("time", "x"), values))
        options, message = {"sample_dims": ["step"]}, r"'step'.*dimensions are \['time', 'x'\]"
    elif case == "hdf5 group":
        path = tmp_path / "data.h5"
        with h5py.File(path, "w") as file:
            file["fields/u"] = values
        options, message = {"key": "fields"}, r"'fields' is a group.*\['fields/u'\]"
    else:
        path = tmp_path / "well"
        (path / "data" / "test").mkdir(parents=True)
    source = f"the_well:{path}" if case == "well without train" else f"file:{path}"
    if case == "well without train":
        message = "no HDF5 files in .*train"
    with pytest.raises(ValueError, match=message) as refused:
        load_dataset(source, **options)
    assert str(path) in str(refused.value)
    # Through a suite, the message comes with the suite's file and line.
    suite = tmp_path / "suite.toml"
    table = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in options.items())
    suite.write_text(f'[suite]\nlatent_sizes = [1]\n[datasets.stored]\nsource = "{source}"\n'
                     f"{table}[methods.POD]\n")
    with pytest.raises(SuiteError, match=rf"suite.toml:3: datasets.stored: .*{message}"):
        run_suite(load_suite(suite), tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
                  progress=False)
    assert not (tmp_path / "m.db").exists()


def test_a_suite_over_a_well_folder_runs_pod_ae_and_vae(cylinder, tmp_path):
    to_well(cylinder, tmp_path / "cylinder")
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[suite]\nname = "well"\nlatent_sizes = [2]\n'
        '[datasets.wake]\nsource = "the_well:cylinder"\n'
        "[methods.POD]\n"
        '[methods.AE]\narchitecture = "conv"\nconv_channels = [4]\nhidden_layer_sizes = [8]\n'
        "max_epochs = 2\n"
        "[methods.VAE]\nhidden_layer_sizes = [8]\nmax_epochs = 2\n")
    summary = run_suite(load_suite(suite), tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
                        progress=False)
    assert summary.ok and len(summary.finished) == 3, summary.failed
