"""A method written against dimred's contract: a Gaussian random projection, decoded by
least squares.

It is the baseline any learned encoder should beat (Johnson & Lindenstrauss): the code
is ``(x - mean) @ P`` for a random ``P``, and the decoder is the linear map that best
reconstructs the training set from its codes. Run it beside the built-ins with

    dimred bench examples/suite.toml

The suite names it ``estimator = "random_projection:RandomProjection"``: this file's
module and class, found because it sits beside the suite.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.validation import check_is_fitted

from dimred import ReducerMixin


class RandomProjection(ReducerMixin, BaseEstimator):
    """Gaussian random projection with a least-squares linear decoder.

    Parameters
    ----------
    n_components : int, default=2
        Latent size k.
    random_state : int, RandomState instance or None, default=None
        Seeds the projection; a suite's seeds set it.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    projection_ : ndarray of shape (n_features, n_components)
        Entries drawn from N(0, 1/k).
    decoder_ : ndarray of shape (n_components, n_features)
        Least-squares map from training codes to centred training rows.
    n_components_ : int
    """

    # score_samples is the negative squared error, not a log-likelihood: the runner
    # reports no likelihood for this method.
    has_likelihood = False

    def __init__(self, n_components=2, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        """Draw the projection and fit the decoder on ``X`` (n_samples, n_features)."""
        check_scalar(self.n_components, "n_components", Integral, min_val=1)
        X = self._validate_input(X, reset=True)  # float32 stays float32, else float64
        rng = check_random_state(self.random_state)
        self.mean_ = X.mean(axis=0)
        self.projection_ = (rng.standard_normal((X.shape[1], self.n_components))
                            / np.sqrt(self.n_components)).astype(X.dtype)
        centred = X - self.mean_
        self.decoder_ = np.linalg.lstsq(centred @ self.projection_, centred, rcond=None)[0]
        self.n_components_ = self.n_components
        return self

    def transform(self, X):
        """Codes of shape (n_samples, n_components), in ``X``'s float dtype."""
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return (X - self.mean_.astype(X.dtype)) @ self.projection_.astype(X.dtype)

    def inverse_transform(self, Z):
        """Rows of shape (n_samples, n_features) decoded from codes ``Z``."""
        Z = self._validate_codes(Z)
        return Z @ self.decoder_.astype(Z.dtype) + self.mean_.astype(Z.dtype)

    def score_samples(self, X):
        """Negative squared reconstruction error per sample (higher is better)."""
        X = self._validate_input(X, reset=False)
        residual = X - self.inverse_transform(self.transform(X))
        return -np.square(residual).sum(axis=1)

    def _count_parameters(self) -> int:
        return self.mean_.size + self.projection_.size + self.decoder_.size
