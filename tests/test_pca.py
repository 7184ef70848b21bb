"""dimred's PCA: scikit-learn's estimator, with a pPCA score that scales to wide data."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.decomposition import PCA as SklearnPCA

from dimred import PCA


@pytest.mark.parametrize("n_components", [1, 5, 0.9, 20])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_score_equals_scikit_learn(n_components, dtype):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 20)) * np.geomspace(10, 0.01, 20)).astype(dtype)
    ours = PCA(n_components).fit(X[:200])
    theirs = SklearnPCA(n_components).fit(X[:200])
    if n_components == 20:
        # Every direction kept: no noise variance, the full-rank Gaussian.
        assert ours.noise_variance_ == 0
    np.testing.assert_allclose(ours.score_samples(X[200:]), theirs.score_samples(X[200:]),
                               rtol=1e-4 if dtype == np.float32 else 1e-9)
    assert ours.score_samples(X[200:]).dtype == dtype


def test_score_of_wide_data_needs_no_feature_by_feature_matrix():
    """scikit-learn's score inverts a 20000 x 20000 covariance here (3.2 GB)."""
    X = np.random.default_rng(1).normal(size=(60, 20000))
    pca = PCA(5).fit(X[:40])
    tracemalloc.start()
    try:
        score = pca.score(X[40:])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(score)
    assert peak < 50e6, f"scoring allocated {peak / 1e6:.0f} MB"


def test_whitened_score_is_scikit_learns():
    X = np.random.default_rng(2).normal(size=(100, 6))
    ours, theirs = PCA(3, whiten=True).fit(X), SklearnPCA(3, whiten=True).fit(X)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)
