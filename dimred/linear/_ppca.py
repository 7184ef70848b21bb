"""Exact probabilistic-PCA log-likelihood (Tipping & Bishop 1999) from a fitted basis."""

from __future__ import annotations

import numpy as np

from dimred.contract._reducer import UndefinedLikelihoodError


def ppca_log_likelihood(
    centered: np.ndarray,
    basis: np.ndarray,
    variances: np.ndarray,
    noise_variance: float,
) -> np.ndarray:
    """Per-sample log-density of the pPCA model ``N(0, B^T diag(v - s) B + s I)``.

    Uses the Woodbury form, ``O(n_samples * n_features * n_components)``, rather than
    inverting the ``n_features x n_features`` covariance as scikit-learn does; the value
    is the same.

    Parameters
    ----------
    centered : ndarray of shape (n_samples, n_features)
        Data minus the model mean.
    basis : ndarray of shape (n_components, n_features)
        Orthonormal rows spanning the principal subspace.
    variances : ndarray of shape (n_components,)
        Variance along each basis row (the eigenvalues of the covariance), > 0.
    noise_variance : float
        Isotropic variance ``s`` of the discarded directions.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,), float64
        In nats. With every direction kept it is the full-covariance Gaussian's.
        ``-inf`` when ``s == 0`` with fewer components than features: such a Gaussian
        has no density off its subspace.

    Raises
    ------
    UndefinedLikelihoodError
        A ``ValueError``: a kept direction has no variance, the covariance is singular.
    """
    centered = np.asarray(centered, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    variances = np.asarray(variances, dtype=np.float64)
    n_features = centered.shape[1]
    n_components = basis.shape[0]

    # A kept direction without variance (a constant feature, or more components than
    # the data's rank) makes the covariance singular: no density, and log(0) would
    # silently give NaN.
    degenerate = variances <= variances.max(initial=0.0) * n_features * np.finfo(float).eps
    if np.any(degenerate):
        raise UndefinedLikelihoodError(
            f"score is undefined: the fitted covariance is singular, {int(degenerate.sum())} "
            f"of the {n_components} kept directions carry no variance (constant features, "
            "or more components than the data's rank), so the Gaussian has no density. Keep "
            f"fewer components (at most {n_components - int(degenerate.sum())}, or an energy "
            "fraction such as n_components=0.99).")
    projections = centered @ basis.T
    log_det = np.sum(np.log(variances))
    mahalanobis = np.sum(projections**2 / variances, axis=1)
    if n_components < n_features:
        if noise_variance <= 0:
            return np.full(centered.shape[0], -np.inf)
        # What the subspace does not explain is isotropic noise of variance s.
        residual = np.sum(centered**2, axis=1) - np.sum(projections**2, axis=1)
        mahalanobis += np.maximum(residual, 0.0) / noise_variance
        log_det += (n_features - n_components) * np.log(noise_variance)
    return -0.5 * (n_features * np.log(2 * np.pi) + log_det + mahalanobis)
