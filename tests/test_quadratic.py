"""The quadratic manifold: the closed form against a direct least-squares solve, exact
on a quadratic manifold where POD is not, never behind POD on its training data, the
greedy basis, and the contract (dtypes, check_reducer, pickle, MLflow)."""

from __future__ import annotations

import pickle

import mlflow
import numpy as np
import pytest

from dimred import POD, QuadraticManifold
from dimred.benchmark._model import log_estimator
from dimred.linear._blocks import BLOCK_BYTES
from dimred.linear._quadratic import quadratic_features
from dimred.testing import check_reducer


def on_a_quadratic_manifold(n_samples=400, n_features=30, k=3, seed=0) -> np.ndarray:
    """Rows ``q V + (q ⊗ q) W`` with V and W orthonormal and orthogonal to each other,
    and codes symmetric about 0 (each row and its negative), so that POD's leading k
    modes span V exactly."""
    rng = np.random.default_rng(seed)
    half = rng.normal(size=(n_samples // 2, k)) * np.array([3.0, 2.0, 1.5])[:k]
    q = np.vstack([half, -half])
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, k + k * (k + 1) // 2)))
    V, W = basis[:, :k].T, basis[:, k:].T
    return q @ V + 0.02 * quadratic_features(q) @ W


def test_the_fit_equals_a_direct_least_squares_solve():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 12)) + 0.3 * rng.normal(size=(60, 1)) ** 2
    for regularization in (0.0, 1e-4):
        qm = QuadraticManifold(n_components=3, regularization=regularization).fit(X)
        pod = POD(3).fit(X)
        centred = X - X.mean(axis=0)
        q = centred @ pod.components_.T
        residual = centred - q @ pod.components_
        features = quadratic_features(q) - quadratic_features(q).mean(axis=0)
        alpha = qm.regularization_
        stacked = np.vstack([features, np.sqrt(alpha) * np.eye(features.shape[1])])
        target = np.vstack([residual, np.zeros((features.shape[1], X.shape[1]))])
        W = np.linalg.lstsq(stacked, target, rcond=None)[0]
        direct = X.mean(axis=0) + q @ pod.components_ + features @ W
        np.testing.assert_allclose(qm.inverse_transform(qm.transform(X)), direct,
                                   rtol=0, atol=1e-8 * np.abs(X).max())


def test_data_on_a_quadratic_manifold_is_reconstructed_to_round_off_where_pod_is_not():
    X = on_a_quadratic_manifold()
    qm = QuadraticManifold(n_components=3, regularization=0.0).fit(X)
    energy = np.mean(X**2)
    assert qm.reconstruction_error(X) < 1e-24 * energy  # float64 round-off
    assert POD(3).fit(X).reconstruction_error(X) > 1e-3 * energy


@pytest.mark.parametrize("basis", ["leading", "greedy"])
def test_the_training_error_is_never_above_pods(basis):
    rng = np.random.default_rng(2)
    t = rng.uniform(-1, 1, size=(300, 2))
    X = np.hstack([t, np.sin(3 * t), t[:, :1] * t[:, 1:], 0.05 * rng.normal(size=(300, 6))])
    for k in range(1, 8):
        qm = QuadraticManifold(n_components=k, basis=basis, regularization=1e-6).fit(X)
        pod_error = POD(k).fit(X).reconstruction_error(X)
        assert qm.reconstruction_error(X) <= pod_error * (1 + 1e-10), k
        assert qm.training_error_ == pytest.approx(qm.reconstruction_error(X), rel=1e-8)


def test_the_greedy_basis_leaves_a_mode_the_quadratic_term_reconstructs():
    """x = (t, t^2, s) with var(t) > var(t^2) > var(s), and t and s symmetric about 0
    (so that the modes are the axes): the leading two modes are t and t^2, whose
    quadratic term adds nothing; the greedy basis takes t and s, and t^2 is q_t^2."""
    rng = np.random.default_rng(3)
    t, s = rng.uniform(-1, 1, size=200), rng.uniform(-0.1, 0.1, size=200)
    t, s = np.r_[t, -t, t, -t], np.r_[s, s, -s, -s]
    X = np.column_stack([t, t**2, s])
    leading = QuadraticManifold(n_components=2, regularization=0.0).fit(X)
    greedy = QuadraticManifold(n_components=2, basis="greedy", regularization=0.0).fit(X)
    assert sorted(leading.basis_indices_) == [0, 1]
    assert 1 not in greedy.basis_indices_  # the t^2 mode (second by energy) is left out
    assert greedy.reconstruction_error(X) < 1e-20
    assert leading.reconstruction_error(X) > 1e-3


def test_float32_in_float32_out_and_the_contract(tmp_path):
    X = on_a_quadratic_manifold().astype(np.float32)
    qm = QuadraticManifold(n_components=3).fit(X)
    codes = qm.transform(X)
    assert codes.dtype == qm.inverse_transform(codes).dtype == np.float32
    assert qm.n_parameters_ == 30 + 3 * 30 + 6 * 30
    check_reducer(QuadraticManifold(n_components=2), sklearn_checks=False)
    again = pickle.loads(pickle.dumps(qm))
    np.testing.assert_array_equal(again.inverse_transform(codes), qm.inverse_transform(codes))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("qm", artifact_location=(tmp_path / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        uri = log_estimator(qm, X[:50])
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(uri).predict(X[:50]), codes[:50])


def test_too_many_components_are_refused_before_any_work():
    with pytest.raises(ValueError, match="n_components=5 must be below"):
        QuadraticManifold(n_components=5).fit(np.ones((10, 5)))


def wide(n_samples=40, n_features=3000, seed=4) -> np.ndarray:
    """Snapshots wider than they are many, on a curve in a few directions plus noise."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, size=(n_samples, 1))
    directions = rng.normal(size=(4, n_features))
    return (np.hstack([t, t**2, np.sin(2 * t), 0.1 * rng.normal(size=(n_samples, 1))])
            @ directions + 0.01 * rng.normal(size=(n_samples, n_features)))


def test_wide_data_by_the_method_of_snapshots_equals_a_direct_solve():
    X = wide()
    qm = QuadraticManifold(n_components=2, regularization=1e-6).fit(X)
    pod = POD(2).fit(X)
    np.testing.assert_allclose(qm.components_, pod.components_, atol=1e-10)
    centred = X - X.mean(axis=0)
    q = centred @ pod.components_.T
    features = quadratic_features(q) - quadratic_features(q).mean(axis=0)
    alpha = qm.regularization_
    stacked = np.vstack([features, np.sqrt(alpha) * np.eye(features.shape[1])])
    target = np.vstack([centred - q @ pod.components_,
                        np.zeros((features.shape[1], X.shape[1]))])
    W = np.linalg.lstsq(stacked, target, rcond=None)[0]
    np.testing.assert_allclose(qm.quadratic_, W, atol=1e-9 * np.abs(W).max())


@pytest.mark.slow  # a scale test: 128 MB of snapshots, three fits per basis
@pytest.mark.parametrize("basis", ["leading", "greedy"])
def test_memory_mapped_and_dask_snapshots_are_streamed_to_the_same_fit(tmp_path, basis):
    import tracemalloc

    import dask.array as da

    X = wide(n_samples=80, n_features=400_000).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    in_memory = QuadraticManifold(n_components=3, basis=basis).fit(X)
    tracemalloc.start()
    streamed = QuadraticManifold(n_components=3, basis=basis).fit(mapped)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # What it holds while fitting: the 3 modes and 6 rows of W in float64, their
    # float32 copies, the mean, and a column slab or two of the centred X; a float64
    # copy of X would be 80 rows of float64, and all its modes as many.
    row = X.shape[1] * 8
    assert peak < 1.5 * 10 * row + 2 * BLOCK_BYTES < 0.6 * 80 * row, peak / row
    chunked = QuadraticManifold(n_components=3, basis=basis).fit(
        da.from_array(X, chunks=(10, 5000)))
    for fitted in (streamed, chunked):
        assert fitted.quadratic_.dtype == np.float32
        np.testing.assert_array_equal(fitted.basis_indices_, in_memory.basis_indices_)
        for name in ("components_", "quadratic_", "mean_"):
            expected = getattr(in_memory, name)
            np.testing.assert_allclose(getattr(fitted, name), expected, rtol=1e-5,
                                       atol=1e-6 * np.abs(expected).max())
