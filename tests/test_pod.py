"""POD against scikit-learn's PCA(svd_solver="full"), the exact reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SklearnPCA

from dimred import PCA, POD


def assert_same_model(pod, reference, X, n_compare=None):
    """Explained variances to 1e-8 relative, same subspace, same pPCA score."""
    k = n_compare or reference.n_components_
    np.testing.assert_allclose(
        pod.explained_variance_[:k], reference.explained_variance_[:k], rtol=1e-8
    )
    np.testing.assert_allclose(
        pod.explained_variance_ratio_[:k], reference.explained_variance_ratio_[:k], rtol=1e-8
    )
    np.testing.assert_allclose(pod.singular_values_[:k], reference.singular_values_[:k], rtol=1e-8)
    # Same subspace: the projector onto the modes is the same (signs may differ).
    overlap = pod.components_[:k] @ reference.components_[:k].T
    np.testing.assert_allclose(np.abs(np.diag(overlap)), 1.0, atol=1e-8)
    np.testing.assert_allclose(pod.noise_variance_, reference.noise_variance_, rtol=1e-8)
    np.testing.assert_allclose(pod.score(X), reference.score(X), rtol=1e-10)
    np.testing.assert_allclose(pod.mean_, reference.mean_, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def mnist_float64(mnist):
    # 10000 images keep the full-SVD reference at a few seconds.
    return mnist.X_train[:10000].astype(np.float64)


@pytest.mark.parametrize("method", ["covariance", "snapshots", "auto"])
def test_pod_equals_pca_on_mnist(mnist_float64, method):
    X = mnist_float64 if method != "snapshots" else mnist_float64[:1500]
    pod = POD(n_components=50, method=method).fit(X)
    reference = SklearnPCA(n_components=50, svd_solver="full").fit(X)
    assert_same_model(pod, reference, X)


def test_pod_equals_pca_on_digits():
    X = load_digits().data
    pod = POD(n_components=20).fit(X)
    assert_same_model(pod, SklearnPCA(n_components=20, svd_solver="full").fit(X), X)


def test_pod_equals_pca_on_wide_random_matrix(rng):
    X = rng.normal(size=(60, 3000)) @ np.diag(np.linspace(3, 0.1, 3000))
    pod = POD(n_components=25).fit(X)
    assert pod.method_ == "snapshots"
    assert_same_model(pod, SklearnPCA(n_components=25, svd_solver="full").fit(X), X)


def test_covariance_and_snapshot_paths_agree(rng):
    X = rng.normal(size=(120, 80)) * np.linspace(5, 0.5, 80)
    cov = POD(n_components=10, method="covariance").fit(X)
    snap = POD(n_components=10, method="snapshots").fit(X)
    np.testing.assert_allclose(cov.explained_variance_, snap.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(cov.components_, snap.components_, atol=1e-10)
    np.testing.assert_allclose(cov.transform(X), snap.transform(X), atol=1e-9)


@pytest.mark.parametrize("method", ["covariance", "snapshots"])
@pytest.mark.parametrize("weighted", [False, True])
def test_uncentred_pod_is_the_svd_of_the_raw_data(rng, method, weighted):
    X = rng.normal(size=(300, 200)) + 2.0
    w = rng.uniform(0.5, 2.0, X.shape[1]) if weighted else np.ones(X.shape[1])
    pod = POD(5, method=method, weights=w if weighted else None, center=False).fit(X)
    _, singular_values, right = np.linalg.svd(X * np.sqrt(w), full_matrices=False)
    np.testing.assert_allclose(pod.singular_values_, singular_values[:5], rtol=1e-10)
    overlap = (pod.components_ * np.sqrt(w)) @ right[:5].T
    np.testing.assert_allclose(np.abs(np.diag(overlap)), 1.0, atol=1e-10)
    assert not pod.mean_.any()
    np.testing.assert_allclose(pod.inverse_transform(pod.transform(X)),
                               (X * np.sqrt(w)) @ right[:5].T @ right[:5] / np.sqrt(w),
                               atol=1e-10)


def test_all_modes_on_wide_data_stay_orthonormal(rng):
    # n_components = n_samples: centring leaves one null direction to complete.
    X = rng.normal(size=(10, 40))
    pod = POD(method="snapshots").fit(X)
    assert pod.n_components_ == 10
    np.testing.assert_allclose(pod.components_ @ pod.components_.T, np.eye(10), atol=1e-10)
    np.testing.assert_allclose(pod.inverse_transform(pod.transform(X)), X, atol=1e-10)


@pytest.mark.parametrize("fraction", [0.5, 0.8, 0.9, 0.99])
def test_energy_fraction_picks_the_fewest_modes(fraction):
    X = load_digits().data
    pod = POD(n_components=fraction).fit(X)
    reference = SklearnPCA(n_components=fraction, svd_solver="full").fit(X)
    assert pod.n_components_ == reference.n_components_
    cumulative = np.cumsum(POD().fit(X).explained_variance_ratio_)
    assert cumulative[pod.n_components_ - 1] >= fraction
    assert cumulative[pod.n_components_ - 2] < fraction


def test_weighted_pod_is_pod_of_scaled_data_mapped_back(rng):
    X = rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30))
    weights = rng.uniform(0.1, 3.0, size=30)
    root = np.sqrt(weights)
    weighted = POD(n_components=6, weights=weights).fit(X)
    scaled = POD(n_components=6).fit(X * root)

    np.testing.assert_allclose(weighted.explained_variance_, scaled.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(weighted.components_, scaled.components_ / root, atol=1e-10)
    np.testing.assert_allclose(weighted.transform(X), scaled.transform(X * root), atol=1e-9)
    np.testing.assert_allclose(
        weighted.inverse_transform(weighted.transform(X)),
        scaled.inverse_transform(scaled.transform(X * root)) / root,
        atol=1e-9,
    )
    # Modes are orthonormal in the weighted inner product.
    gram = (weighted.components_ * weights) @ weighted.components_.T
    np.testing.assert_allclose(gram, np.eye(6), atol=1e-10)
    # Error is measured in the weighted norm: that of the scaled problem.
    np.testing.assert_allclose(
        weighted.reconstruction_error(X), scaled.reconstruction_error(X * root), rtol=1e-10
    )
    # The density is the scaled model's, mapped back by the Jacobian of x -> sqrt(w) x.
    np.testing.assert_allclose(
        weighted.score_samples(X),
        scaled.score_samples(X * root) + 0.5 * np.log(weights).sum(),
        rtol=1e-10,
    )


def test_float32_with_large_offset_keeps_its_spectrum(rng):
    # XᵀX - n μμᵀ would cancel: the offset dwarfs the spread by 1e4.
    signal = rng.normal(size=(5000, 50)) * np.linspace(2.0, 0.2, 50)
    X64 = signal + 1e4
    X32 = X64.astype(np.float32)
    reference = SklearnPCA(n_components=10, svd_solver="full").fit(X32.astype(np.float64))
    pod = POD(n_components=10).fit(X32)
    assert pod.components_.dtype == np.float32
    assert pod.transform(X32).dtype == np.float32
    np.testing.assert_allclose(pod.explained_variance_, reference.explained_variance_, rtol=1e-4)


def test_pod_reproduces_published_pca_error_on_mnist(mnist):
    """Hinton & Salakhutdinov 2006: PCA-30 squared error 13.87 per test image."""
    pod = POD(n_components=30).fit(mnist.X_train)
    residual = mnist.X_test - pod.inverse_transform(pod.transform(mnist.X_test))
    squared_error_per_image = float(np.sum(residual.astype(np.float64) ** 2) / len(residual))
    assert squared_error_per_image == pytest.approx(13.87, abs=0.01)


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(3, 30),
    n_features=st.integers(2, 30),
    seed=st.integers(0, 2**16),
    weighted=st.booleans(),
)
def test_all_modes_reconstruct_exactly(n_samples, n_features, seed, weighted):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    weights = rng.uniform(0.5, 2.0, n_features) if weighted else None
    pod = POD(weights=weights).fit(X)
    np.testing.assert_allclose(pod.inverse_transform(pod.transform(X)), X, atol=1e-8)
    assert pod.explained_variance_ratio_.sum() == pytest.approx(1.0)


def test_score_with_every_mode_kept_is_the_full_gaussian_or_a_clear_error(rng):
    from scipy.stats import multivariate_normal

    X = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 5))
    pod = POD().fit(X)  # every mode: no noise dimension left
    full_gaussian = multivariate_normal(X.mean(axis=0), np.cov(X.T)).logpdf(X)
    np.testing.assert_allclose(pod.score_samples(X), full_gaussian, rtol=1e-8)
    # A constant feature makes the covariance singular: named, not a NaN.
    X[:, 2] = 1.0
    with pytest.raises(ValueError, match="covariance is singular, 1 of the 5 kept directions"):
        POD().fit(X).score(X)
    with pytest.raises(ValueError, match="covariance is singular"):
        PCA().fit(X).score(X)
