"""The neural methods against exact and published references on real MNIST.

Figures are printed (``pytest -s``) and attached with ``record_property`` so that the
junit report carries them; docs/measurements.md records the values measured.
"""

from __future__ import annotations

import numpy as np
import pytest

from dimred import AE, PCA, VAE


def squared_error_per_image(model, X) -> float:
    """Hinton & Salakhutdinov's measure: squared error summed over pixels, mean over images."""
    residual = X - model.inverse_transform(model.transform(X))
    return float(np.sum(residual.astype(np.float64) ** 2) / len(X))


@pytest.mark.slow
def test_linear_vae_reaches_the_ppca_likelihood(mnist, record_property):
    """Lucas et al. 2019: the linear VAE's ELBO optimum is the pPCA maximum likelihood."""
    X = mnist.X_train[:10000]
    vae = VAE(n_components=16, hidden_layer_sizes=(), learning_rate=1e-3, max_epochs=300,
              batch_size=256, random_state=0).fit(X)
    elbo = vae.score(X)
    ppca = PCA(n_components=16).fit(X).score(X)
    gap = (ppca - elbo) / abs(ppca)
    record_property("linear_vae_elbo", elbo)
    record_property("ppca_log_likelihood", ppca)
    print(f"\nlinear VAE ELBO {elbo:.3f} nats, pPCA {ppca:.3f} nats, gap {100 * gap:.3f}%")
    assert elbo <= ppca + 0.1  # a lower bound cannot beat the maximum likelihood
    assert gap < 0.005


@pytest.mark.slow
def test_deep_autoencoder_beats_pca_on_mnist(mnist, record_property):
    """Hinton & Salakhutdinov 2006: 784-1000-500-250-30 AE 3.00 vs PCA-30 13.87."""
    X = mnist.X_train[:10000]
    ae = AE(n_components=30, hidden_layer_sizes=(1000, 500, 250), output_activation="sigmoid",
            max_epochs=40, batch_size=128, random_state=0).fit(X)
    ae_error = squared_error_per_image(ae, mnist.X_test)
    pca_error = squared_error_per_image(PCA(n_components=30).fit(X), mnist.X_test)
    record_property("ae_test_se_per_image", ae_error)
    record_property("pca_test_se_per_image", pca_error)
    print(f"\nAE-30 test SE/image {ae_error:.3f}, PCA-30 {pca_error:.3f}, "
          f"ratio {ae_error / pca_error:.3f}")
    assert ae_error <= 0.6 * pca_error
