"""scikit-learn's PCA under the dimred contract."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.decomposition import PCA as _SklearnPCA
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import Interval, RealNotInt, StrOptions
from dimred.contract._reducer import ReducerMixin, refusing_non_finite
from dimred.linear._ppca import ppca_log_likelihood


class PCA(ReducerMixin, _SklearnPCA):
    """Principal component analysis: :class:`sklearn.decomposition.PCA`.

    Fitting and transforming are scikit-learn's own; this subclass adds the contract
    shared by every dimred method: ``reconstruction_error`` (mean squared error per
    entry) and ``n_parameters_``. ``score_samples`` is the exact probabilistic-PCA
    log-likelihood in nats (Tipping & Bishop 1999), scikit-learn's value computed in the
    Woodbury form: scikit-learn inverts the ``n_features x n_features`` covariance,
    3.4 GB and a minute for 20480 features (a 2-D flow field), where this takes
    ``O(n_samples * n_features * n_components)``.

    Parameters are those of :class:`sklearn.decomposition.PCA`, except that
    ``n_components=0`` is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from dimred import PCA
    >>> X = np.random.default_rng(0).normal(size=(100, 10))
    >>> pca = PCA(n_components=2).fit(X)
    >>> round(pca.reconstruction_error(X), 3) > 0
    True
    """

    # The contract refuses n_components=0, which scikit-learn's PCA accepts.
    _parameter_constraints: dict = {
        **_SklearnPCA._parameter_constraints,
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
    }

    # scikit-learn's methods, with the reducers' words for NaN or infinity in X.
    def fit(self, X: ArrayLike, y: None = None) -> PCA:
        """scikit-learn's ``fit``."""
        with refusing_non_finite(type(self).__name__):
            return super().fit(X, y)

    def fit_transform(self, X: ArrayLike, y: None = None) -> np.ndarray:
        """scikit-learn's ``fit_transform``."""
        with refusing_non_finite(type(self).__name__):
            return super().fit_transform(X, y)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """scikit-learn's ``transform``, refused with NotFittedError before ``fit`` on
        every supported scikit-learn (1.6 raises AttributeError)."""
        check_is_fitted(self)
        with refusing_non_finite(type(self).__name__):
            return super().transform(X)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Exact probabilistic-PCA log-likelihood of each sample, in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        if self.whiten:
            # scikit-learn's covariance for a whitened fit rescales the components;
            # keep its own computation for that case.
            return super().score_samples(X)
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        # Directions whose variance fell below the noise level carry the noise
        # variance, as in scikit-learn's get_covariance.
        variances = np.maximum(self.explained_variance_, self.noise_variance_)
        log_likelihood = ppca_log_likelihood(
            np.asarray(X, dtype=np.float64) - self.mean_, self.components_, variances,
            self.noise_variance_)
        return log_likelihood.astype(X.dtype, copy=False)

    def _count_parameters(self) -> int:
        return self.components_.size + self.mean_.size
