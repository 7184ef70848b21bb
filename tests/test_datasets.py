"""Dataset loaders against the real MNIST files and real broken copies of them."""

from __future__ import annotations

import functools
import gzip
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import scipy.io

from dimred import POD
from dimred.datasets import (
    get_data_home,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from dimred.datasets._download import md5sum
from dimred.datasets._mnist import CHECKSUMS, IDX_FILES


def test_mnist_has_the_official_split_scaled_to_unit_interval(mnist):
    assert mnist.X_train.shape == (60000, 784)
    assert mnist.X_test.shape == (10000, 784)
    assert mnist.X_train.dtype == np.float32
    assert mnist.X_train.min() == 0.0
    assert mnist.X_train.max() == 1.0
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert mnist.image_shape == (28, 28)


def test_data_home_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DIMRED_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("DIMRED_DATA")
    assert get_data_home().parts[-2:] == (".cache", "dimred")


def test_missing_files_name_the_files_and_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "fashion_mnist") in message
    for filename in IDX_FILES.values():
        assert filename in message


def test_fashion_mnist_reads_the_same_format(tmp_path, mnist):
    # A real IDX copy under the other name: same format and file names.
    source = get_data_home() / "mnist"
    shutil.copytree(source, tmp_path / "fashion_mnist")
    fashion = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(fashion.X_test, mnist.X_test)


def test_truncated_idx_is_refused(tmp_path):
    source = get_data_home() / "mnist" / IDX_FILES["test_labels"]
    with gzip.open(source, "rb") as stream:
        raw = stream.read()
    broken = tmp_path / "labels.gz"
    with gzip.open(broken, "wb") as stream:
        stream.write(raw[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(broken)
    not_idx = tmp_path / "text"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(not_idx)


def test_load_mnist_from_an_explicit_folder(tmp_path):
    shutil.copytree(get_data_home() / "mnist", tmp_path / "mnist")
    assert load_mnist(tmp_path).X_test.shape == (10000, 784)


@pytest.fixture
def mirror():
    """A real HTTP server on 127.0.0.1 serving the shared MNIST folder; yields its URL."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(get_data_home() / "mnist"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def bad_mirror(tmp_path):
    """A server whose files are all present but corrupt (one byte changed)."""
    folder = tmp_path / "corrupt"
    folder.mkdir()
    for filename in IDX_FILES.values():
        raw = bytearray((get_data_home() / "mnist" / filename).read_bytes())
        raw[-1] ^= 0xFF
        (folder / filename).write_bytes(bytes(raw))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_and_falls_back_to_the_next_mirror(
    tmp_path, mirror, bad_mirror, mnist
):
    home = tmp_path / "home"
    data = load_mnist(home, mirrors=[bad_mirror, mirror])
    np.testing.assert_array_equal(data.X_test, mnist.X_test)
    for filename, md5 in CHECKSUMS["mnist"].items():
        assert md5sum(home / "mnist" / filename) == md5
    # No partial or corrupt file is left behind.
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(IDX_FILES.values())


def test_a_corrupt_download_is_refused_and_not_kept(tmp_path, bad_mirror):
    with pytest.raises(FileNotFoundError, match="checksum") as info:
        load_mnist(tmp_path, mirrors=[bad_mirror])
    assert str(tmp_path / "mnist") in str(info.value)
    assert list((tmp_path / "mnist").iterdir()) == []


def test_offline_error_names_the_files_and_the_folder(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(tmp_path, mirrors=[f"http://127.0.0.1:{port}/"])
    message = str(info.value)
    assert str(tmp_path / "fashion_mnist") in message
    assert all(filename in message for filename in IDX_FILES.values())
    assert "Downloading them failed" in message


# ------------------------------------------------------------- other datasets


def test_embedded_manifolds_are_nonlinear_and_two_dimensional():
    for kind in ("swiss_roll", "s_curve"):
        data = load_dataset(kind, n_samples=1000, n_features=12, noise=0.0)
        assert data.X_train.shape == (800, 12) and data.X_test.shape == (200, 12)
        assert data.y_train.shape == (800,)
        spectrum = np.linalg.svd(data.X_train - data.X_train.mean(0), compute_uv=False)
        # Three linear directions hold it all (a curled sheet in a 3-D subspace) ...
        assert spectrum[3] < 1e-8 * spectrum[0]
        # ... and two do not: the third carries a real share of the variance.
        assert spectrum[2] > 0.1 * spectrum[0]


def test_periodic_burgers_snapshots_are_wide_and_conserve_the_mean():
    data = load_dataset("burgers_periodic", n_grid=256, n_trajectories=3, n_test_trajectories=1,
                        n_snapshots=20, viscosity=0.05)
    assert data.X_train.shape == (40, 256) and data.X_test.shape == (20, 256)
    description = data.description
    assert description["n_grid"] == 256
    assert description["snapshot_dt"] == pytest.approx(0.1)
    assert description["dx"] == pytest.approx(2 * np.pi / 256)
    fields = data.X_train.reshape(2, 20, 256)
    # Periodic Burgers conserves the integral of u and dissipates its energy.
    np.testing.assert_allclose(fields.mean(axis=2), fields[:, :1].mean(axis=2).repeat(20, 1),
                               atol=1e-6)
    energy = (fields**2).mean(axis=2)
    assert np.all(np.diff(energy, axis=1) < 0)


def test_parametric_burgers_splits_by_parameter_and_can_be_learned():
    data = load_dataset("burgers")
    assert data.X_train.shape == (16 * 100, 256) and data.X_test.shape == (2 * 100, 256)
    train, test = {tuple(mu) for mu in data.params_train}, {tuple(mu) for mu in data.params_test}
    assert len(train) == 16 and len(test) == 2 and not train & test
    assert data.params_train.shape == (1600, 2) and data.times_test.shape == (200,)
    assert data.grid.shape == (256,) and data.field_shape == (1, 256)
    # The inflow mu_1 enters at the left, the shock moves right: u(0) = mu_1 behind it,
    # 1 (plus the source's growth) ahead of it.
    first = data.X_test[:100]
    shock = np.argmax(-np.diff(first, axis=1), axis=1)
    assert np.all(np.diff(shock[:80]) >= 0) and shock[79] > shock[9] + 100
    np.testing.assert_allclose(first[:, 0], 4.3, rtol=0.05)
    # POD's relative test error falls with k and is well below the zero predictor's 1.
    errors = []
    for k in (1, 2, 4, 10, 20):
        pod = POD(k).fit(data.X_train)
        residual = data.X_test - pod.inverse_transform(pod.transform(data.X_test))
        errors.append(np.linalg.norm(residual) / np.linalg.norm(data.X_test))
    assert np.all(np.diff(errors) < 0), errors
    assert errors[3] < 0.5


@pytest.mark.slow  # the published reference, a 2-minute simulation
def test_cylinder_sheds_at_the_published_strouhal_number(tmp_path, monkeypatch):
    """Re = 100, D = 16 cells, 40 convective times of transient then 96 snapshots (about
    4 shedding periods): St within 10% of Williamson's 0.165, and the first two POD
    modes are the travelling-wave pair of nearly equal energy."""
    monkeypatch.setenv("DIMRED_CACHE", str(tmp_path))
    options = {"transient": 40.0, "n_snapshots": 96}
    data = load_dataset("cylinder", **options)
    assert data.description["strouhal"] == pytest.approx(0.165, rel=0.1)
    assert data.description["reynolds"] == 100 and data.description["blockage"] == 0.1
    channels, ny, nx = data.field_shape
    assert channels == 2 and data.X_train.shape[1] == 2 * ny * nx
    assert data.X_train.shape[0] + data.X_test.shape[0] == 96
    assert data.times_test.min() > data.times_train.max()  # split in time
    energies = POD(4).fit(data.X_train).explained_variance_
    assert energies[1] == pytest.approx(energies[0], rel=0.1)
    assert energies[2] < 0.1 * energies[1]
    # The second load reads the cache: the same snapshots, without simulating.
    assert len(list(tmp_path.glob("cylinder/*.npz"))) == 1
    again = load_dataset("cylinder", **options)
    np.testing.assert_array_equal(again.X_test, data.X_test)


def test_cylinder_simulation_that_blows_up_says_so():
    """Past the parameter checks (called directly), an under-resolved lattice diverges
    and the solver stops with the reason rather than returning NaN snapshots."""
    from dimred.datasets._cylinder import simulate

    with pytest.raises(ValueError, match="simulation diverged"):
        simulate(diameter=8, reynolds=100.0, velocity=0.1, height=10, upstream=5,
                 downstream=15, transient=30.0, n_snapshots=4, snapshots_per_period=24,
                 stride=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"diameter": 4}, "diameter must be >= 6"),
        ({"velocity": 0.3}, "too fast for the lattice"),
        ({"reynolds": 1000.0}, "under-resolves the wake"),
        ({"diameter": 12}, "under-resolves the wake"),
        ({"height": 2}, "height >= 4"),
        ({"test_fraction": 1.5}, "test_fraction must be in"),
        ({"n_snapshots": 0}, "n_snapshots must be a positive int"),
    ],
)
def test_cylinder_refuses_bad_parameters(options, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("cylinder", **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"test_params": [[4.25, 0.015]]}, "are training parameters"),
        ({"test_params": [[6.0, 0.02]]}, "outside the parameter box"),
        ({"test_params": [4.3, 0.021]}, "list of \\(mu_1, mu_2\\) pairs"),
        ({"train_grid": [1, 4]}, "train_grid must be two ints >= 2"),
        ({"n_grid": 4}, "n_grid must be an int >= 8"),
        ({"n_snapshots": 0}, "n_snapshots must be an int >= 1"),
    ],
)
def test_parametric_burgers_refuses_bad_parameters(options, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("burgers", **options)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".parquet", ".mat"])
def test_user_files_of_every_kind(tmp_path, suffix, rng):
    X = rng.normal(size=(50, 4))
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, X)
    elif suffix == ".npz":
        np.savez(path, snapshots=X)
    elif suffix == ".mat":
        scipy.io.savemat(path, {"snapshots": X})
    else:
        table = pd.DataFrame(X, columns=list("abcd"))
        table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    data = load_dataset(f"file:{path}", test_fraction=0.2)
    assert data.X_train.shape == (40, 4) and data.X_test.shape == (10, 4)
    np.testing.assert_allclose(np.sort(np.vstack([data.X_train, data.X_test]), axis=0),
                               np.sort(X, axis=0))


def test_user_file_with_a_test_file_and_labels(tmp_path, rng):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    for path, n in ((train, 30), (test, 10)):
        table = pd.DataFrame(rng.normal(size=(n, 3)), columns=["u", "v", "w"])
        table["kind"] = np.arange(n) % 2
        table.to_csv(path, index=False)
    data = load_dataset(f"file:{train}", test=test, label="kind")
    assert data.X_train.shape == (30, 3) and data.X_test.shape == (10, 3)
    assert data.y_test.tolist() == [0, 1] * 5
    with pytest.raises(ValueError, match="no label column 'label'"):
        load_dataset(f"file:{train}", label="label")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_dataset(f"file:{tmp_path / 'data.txt'}")


def test_preprocessing_options_are_applied_and_recorded():
    scaled = load_dataset("swiss_roll", n_samples=500, scale01=True, n_train=100, n_test=50)
    assert scaled.X_train.shape == (100, 20) and scaled.X_test.shape == (50, 20)
    assert scaled.X_train.min() == pytest.approx(0) and scaled.X_train.max() == pytest.approx(1)
    assert scaled.preprocessing == {"n_train": 100, "n_test": 50, "scale01": True,
                                    "standardize": False, "binarize": False}
    standard = load_dataset("swiss_roll", n_samples=500, standardize=True)
    np.testing.assert_allclose(standard.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(standard.X_train.std(axis=0), 1)

    static = load_dataset("digits", binarize="static")
    dynamic = load_dataset("digits", binarize="dynamic")
    assert set(np.unique(static.X_train)) == {0.0, 1.0}
    assert len(np.unique(dynamic.X_train)) == 17  # grey levels kept for per-epoch sampling
    np.testing.assert_array_equal(static.X_test, dynamic.X_test)  # one fixed test draw
    # Bernoulli(p) keeps the mean intensity.
    assert static.X_train.mean() == pytest.approx(dynamic.X_train.mean(), abs=0.01)


def test_bad_dataset_options_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown dataset 'mnistt'"):
        load_dataset("mnistt")
    with pytest.raises(TypeError, match=r"no option\(s\) \['n_feature'\]"):
        load_dataset("swiss_roll", n_feature=3)
    with pytest.raises(ValueError, match="exclusive"):
        load_dataset("digits", scale01=True, standardize=True)
    with pytest.raises(ValueError, match=r"n_train=5000 is outside \[1, 1437\]"):
        load_dataset("digits", n_train=5000)
    with pytest.raises(ValueError, match="binarize needs intensities in \\[0, 1\\]"):
        load_dataset("swiss_roll", binarize=True)


def test_a_headerless_csv_keeps_its_first_row_and_text_is_refused(tmp_path, rng):
    X = rng.normal(size=(50, 3))
    np.savetxt(tmp_path / "bare.csv", X, delimiter=",")
    data = load_dataset(f"file:{tmp_path / 'bare.csv'}", test_fraction=0.2)
    assert data.X_train.shape[0] + data.X_test.shape[0] == 50  # not 49
    table = pd.DataFrame(X, columns=["u", "v", "w"])
    table["site"] = "north"
    table.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(ValueError, match=r"column\(s\) \['site'\] hold text"):
        load_dataset(f"file:{tmp_path / 'text.csv'}")


def test_a_suites_file_resolves_against_its_folder(tmp_path, rng, monkeypatch):
    from dimred.benchmark import SuiteError, load_suite, run_suite

    (tmp_path / "suite").mkdir()
    np.save(tmp_path / "suite" / "snapshots.npy", rng.normal(size=(60, 5)))
    suite = tmp_path / "suite" / "suite.toml"
    suite.write_text('[suite]\nlatent_sizes = [2]\n[datasets.mine]\nsource = '
                     '"file:snapshots.npy"\n[methods.POD]\n')
    monkeypatch.chdir(tmp_path)  # elsewhere: the path is the suite's, not the working folder's
    assert run_suite(load_suite(suite), tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
                     progress=False).ok
    suite.write_text(suite.read_text().replace("snapshots.npy", "missing.npy"))
    with pytest.raises(SuiteError, match=r"suite.toml:4: .*no file .*suite/missing.npy"):
        load_suite(suite)
