"""Suites over ``.npy`` files, which the runner opens memory-mapped and streams: the
same figures as the same data in memory, and a file larger than the process may hold."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest

from dimred.benchmark import load_suite, run_suite
from dimred.datasets import load_dataset
from tests._suites import cell_runs, write_suite

SUITE = """
[suite]
name = "{name}"
latent_sizes = [3]
seeds = [0]
n_importance_samples = 5

[datasets.snapshots]
source = "file:{train}"
test = "{test}"
standardize = true

[methods.POD]

[methods.AE]
hidden_layer_sizes = [16]
max_epochs = 2
batch_size = {batch_size}

[methods.VAE]
hidden_layer_sizes = [16]
max_epochs = 2
batch_size = {batch_size}
"""


def low_rank(rng, n_rows: int, n_features: int) -> np.ndarray:
    """Rows near one 4-dimensional subspace (the same for every call), plus an offset."""
    basis = np.random.default_rng(42).normal(size=(4, n_features))
    X = rng.normal(size=(n_rows, 4)) @ basis
    return (X + 0.1 * rng.normal(size=X.shape) + 3.0).astype(np.float32)


def metrics_by_method(uri: str, name: str) -> dict[str, dict[str, float]]:
    return {run.data.params["method"]: run.data.metrics for run in cell_runs(uri, name)}


def test_a_streamed_suite_measures_what_the_same_data_in_memory_measures(tmp_path, rng):
    X_train, X_test = low_rank(rng, 2000, 40), low_rank(rng, 500, 40)
    np.save(tmp_path / "train.npy", X_train)
    np.save(tmp_path / "test.npy", X_test)
    np.savez(tmp_path / "train.npz", X=X_train)  # .npz is read into memory
    np.savez(tmp_path / "test.npz", X=X_test)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for name, suffix in (("streamed", "npy"), ("in_memory", "npz")):
        path = write_suite(tmp_path, SUITE.format(name=name, train=f"train.{suffix}",
                                                  test=f"test.{suffix}", batch_size=128),
                           name=f"{name}.toml")
        assert run_suite(load_suite(path), tracking_uri=uri, progress=False).ok

    streamed_data = load_dataset(f"file:{tmp_path / 'train.npy'}", test=tmp_path / "test.npy",
                                 standardize=True)
    assert isinstance(streamed_data.X_train, da.Array)  # scaled lazily, never loaded
    streamed, in_memory = (metrics_by_method(uri, name) for name in ("streamed", "in_memory"))
    for metric in ("test_relative_error", "test_mse", "train_mse", "test_explained_variance",
                   "test_elbo"):
        np.testing.assert_allclose(streamed["POD"][metric], in_memory["POD"][metric],
                                   rtol=1e-5, err_msg=metric)
    assert in_memory["POD"]["test_relative_error"] < 0.6  # the data can be learned
    for method in ("AE", "VAE"):  # block shuffling: another order, a close result
        np.testing.assert_allclose(streamed[method]["test_mse"], in_memory[method]["test_mse"],
                                   rtol=0.1)
    np.testing.assert_allclose(streamed["VAE"]["test_elbo"], in_memory["VAE"]["test_elbo"],
                               rtol=0.1)


def test_a_file_without_a_test_file_holds_out_whole_blocks(tmp_path, rng):
    X = low_rank(rng, 3000, 40)
    np.save(tmp_path / "X.npy", X)
    data = load_dataset(f"file:{tmp_path / 'X.npy'}", test_fraction=0.2)
    assert isinstance(data.X_train, da.Array) and isinstance(data.X_test, da.Array)
    train, test = data.X_train.compute(), data.X_test.compute()
    assert train.shape[0] + test.shape[0] == 3000
    assert test.shape[0] == pytest.approx(600, rel=0.05)
    # Every row on exactly one side.
    together = np.sort(np.concatenate([train, test]), axis=0)
    np.testing.assert_array_equal(together, np.sort(X, axis=0))


def test_binarizing_a_streamed_file_is_refused(tmp_path, rng):
    np.save(tmp_path / "X.npy", rng.random((100, 5)))
    with pytest.raises(ValueError, match=r"binarize.*streamed"):
        load_dataset(f"file:{tmp_path / 'X.npy'}", binarize=True)


LIMITED = """
import resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
from dimred.benchmark import load_suite, run_suite
result = run_suite(load_suite(sys.argv[1]), tracking_uri=sys.argv[3], progress=False)
sys.exit(0 if result.ok else 1)
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(resource, "RLIMIT_DATA"), reason="needs RLIMIT_DATA")
def test_a_suite_over_a_file_larger_than_its_memory_limit_completes(tmp_path, rng):
    """RLIMIT_DATA caps what the process may allocate (heap and anonymous maps), not the
    file it maps read-only: a file above the cap can only be measured streamed."""
    limit = 1500 * 2**20
    n_rows, n_features = 2_400_000, 200  # 1.92 GB of float32, above the limit
    X = np.lib.format.open_memmap(tmp_path / "train.npy", mode="w+", dtype=np.float32,
                                  shape=(n_rows, n_features))
    for start in range(0, n_rows, 200_000):
        X[start:start + 200_000] = low_rank(rng, 200_000, n_features)
    X.flush()
    del X
    np.save(tmp_path / "test.npy", low_rank(rng, 20_000, n_features))
    assert (tmp_path / "train.npy").stat().st_size > limit
    suite = write_suite(tmp_path, SUITE.format(name="larger", train="train.npy",
                                               test="test.npy", batch_size=4096)
                        .replace("max_epochs = 2", "max_epochs = 1\nlearning_rate = 0.01"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    completed = subprocess.run([sys.executable, "-c", LIMITED, str(suite), str(limit), uri],
                               capture_output=True, text=True, timeout=1800)
    assert completed.returncode == 0, completed.stderr[-3000:]
    measured = metrics_by_method(uri, "larger")
    assert set(measured) == {"POD", "AE", "VAE"}
    for method, metrics in measured.items():
        # Learned, beating the zero predictor's 1: measured POD 0.46 (k = 3 of rank 4),
        # AE 0.70, VAE 0.78 after their one epoch.
        assert 0 < metrics["test_relative_error"] < 0.9, (method, json.dumps(metrics))
    # The same program with the file read into memory does not fit under the limit.
    loads = textwrap.dedent("""
        import resource, sys
        import numpy as np
        limit = int(sys.argv[2])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        np.array(np.load(sys.argv[1], mmap_mode="r"))
    """)
    refused = subprocess.run([sys.executable, "-c", loads, str(tmp_path / "train.npy"),
                              str(limit)], capture_output=True, text=True)
    assert refused.returncode != 0 and "MemoryError" in refused.stderr
