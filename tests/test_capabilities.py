"""What the runner measures is read from what an estimator has, and the VAE's latent
diagnostics add up to its ELBO."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import FactorAnalysis, FastICA, KernelPCA
from sklearn.manifold import Isomap

from dimred import AE, PCA, POD, VAE
from dimred.benchmark import _evaluation
from dimred.contract.capabilities import capabilities
from dimred.schema import EXACT, LOWER_BOUND


@pytest.fixture(scope="module")
def planar():
    """Rank-2 data in 10 dimensions, with a little noise."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 2)) @ rng.standard_normal((2, 10))
    return (X + 0.05 * rng.standard_normal(X.shape)).astype(np.float32)


@pytest.mark.parametrize(("estimator", "reconstructs", "likelihood"), [
    (POD(n_components=2), True, EXACT),
    (PCA(n_components=2), True, EXACT),
    (FactorAnalysis(n_components=2), False, EXACT),  # no inverse_transform
    (AE(n_components=2, max_epochs=2), True, None),
    (VAE(n_components=2, max_epochs=2), True, LOWER_BOUND),
    (KernelPCA(n_components=2, fit_inverse_transform=True), True, None),
    (KernelPCA(n_components=2), False, None),
    (FastICA(n_components=2, random_state=0), True, None),
    (Isomap(n_components=2), False, None),
])
def test_capabilities_are_read_from_the_fitted_estimator(planar, estimator, reconstructs,
                                                         likelihood):
    estimator.fit(planar)
    found = capabilities(estimator, estimator.transform(planar[:5]))
    assert found.reconstructs is reconstructs
    assert found.likelihood == likelihood
    assert found.samples is isinstance(estimator, VAE)
    assert found.latent_diagnostics is isinstance(estimator, VAE)
    assert found.counts_parameters is isinstance(estimator, POD | PCA | AE | VAE)


def test_vae_diagnostics_split_the_elbo_and_find_the_collapsed_units(planar):
    def fitted(beta):
        return VAE(n_components=6, hidden_layer_sizes=(32,), max_epochs=60, beta=beta,
                   learning_rate=3e-3, random_state=0).fit(planar)

    vae = fitted(beta=1.0)
    diagnostics = vae.latent_diagnostics(planar)
    assert diagnostics["rate"] > 1
    np.testing.assert_allclose(-(diagnostics["rate"] + diagnostics["distortion"]),
                               vae.score(planar), rtol=1e-5)
    codes = vae.transform(planar)
    assert diagnostics["active_units"] == int(np.sum(np.var(codes, axis=0) > 0.01)) >= 2
    # A heavy KL weight pushes every unit to the prior: none is active, the rate is ~0.
    collapsed = fitted(beta=20.0).latent_diagnostics(planar)
    assert collapsed["active_units"] == 0 and collapsed["rate"] < 0.1


def test_the_warm_up_fits_a_clone_once_per_class_and_keeps_its_warnings(planar):
    # 64 rows and 2 epochs: the throwaway fit does not beat the mean and would warn.
    _evaluation._WARMED.discard(AE)
    model = AE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _evaluation.warm_up(model, planar + 5.0)
    assert AE in _evaluation._WARMED
    assert not hasattr(model, "network_")  # the clone was fitted, not the estimator
    assert [str(w.message) for w in caught] == []
