"""The estimator contract shared by POD, PCA, AE and VAE.

Everything a runner or a user relies on across the four methods lives here once:
input validation and dtype handling, ``reconstruction_error``, the meaning of ``score``
and parameter counting. Each method supplies ``transform``, ``inverse_transform``,
``score_samples`` and ``_count_parameters``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array, check_scalar
from sklearn.utils.validation import check_is_fitted, validate_data

#: Float dtypes the estimators compute in; anything else (ints, bools) becomes float64.
FLOAT_DTYPES = (np.float64, np.float32)


class ReducerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Contract of a dimensionality reducer: encode, decode, and score in nats.

    Semantics every subclass keeps:

    - ``transform(X)`` maps ``(n_samples, n_features)`` to ``(n_samples, n_components_)``;
      ``inverse_transform(Z)`` maps back. Both are deterministic.
    - float32 input gives float32 output and float64 input gives float64 output; any
      other numeric input is computed in float64.
    - ``score_samples(X)`` is a per-sample log-likelihood (or its ELBO lower bound) in
      nats, higher is better; ``score(X)`` is its mean. Methods without a likelihood
      document what they return instead, still higher-is-better.
    - ``reconstruction_error(X)`` is the mean squared error per entry of
      ``inverse_transform(transform(X))`` against ``X``.
    - ``n_parameters_`` is the number of fitted scalars the model needs to encode and
      decode.
    """

    #: Whether ``score_samples`` is a log-likelihood or ELBO in nats. A runner reads it
    #: to know which methods have a likelihood to report (the AE does not).
    has_likelihood: bool = True

    def _validate_input(
        self, X: ArrayLike, *, reset: bool, ensure_all_finite: bool = True
    ) -> np.ndarray:
        """Validate ``X`` through scikit-learn and cast it to a float dtype.

        ``reset=True`` (in fit) records ``n_features_in_`` / ``feature_names_in_``;
        ``reset=False`` checks that the width matches what fit saw.
        ``ensure_all_finite=False`` is for a caller that checks finiteness itself on
        what NaN or inf anywhere would reach, instead of scanning ``X`` once more.
        """
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=list(FLOAT_DTYPES),
            accept_sparse=("csr", "csc") if self.__sklearn_tags__().input_tags.sparse else False,
            ensure_min_samples=2 if reset else 1,
            ensure_all_finite=ensure_all_finite,
        )

    def _validate_codes(self, Z: ArrayLike) -> np.ndarray:
        """Validate latent codes given to ``inverse_transform``."""
        check_is_fitted(self)
        Z = check_array(Z, dtype=list(FLOAT_DTYPES), input_name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects codes with {self.n_components_} columns "
                f"(n_components_), got an array with {Z.shape[1]} columns."
            )
        return Z

    def _feature_weights(self) -> np.ndarray | None:
        """Per-feature inner-product weights the error is measured in (None: uniform)."""
        return None

    def reconstruction_error(self, X: ArrayLike) -> float:
        """Mean squared reconstruction error per entry.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the units it was fitted in.

        Returns
        -------
        error : float
            ``mean((X - inverse_transform(transform(X)))**2)`` over all entries, in the
            squared units of ``X``. For a POD fitted with inner-product weights ``w`` the
            squares are weighted, ``mean(w * (X - X_hat)**2)``, so that the error is
            measured in the same norm as the energy.
        """
        X = self._validate_input(X, reset=False)
        reconstruction = self.inverse_transform(self.transform(X))
        residual = (X.toarray() if issparse(X) else X) - reconstruction
        squared = np.square(residual, dtype=np.float64)
        weights = self._feature_weights()
        if weights is not None:
            squared *= weights
        return float(squared.mean())

    def score(self, X: ArrayLike, y: None = None) -> float:
        """Mean of ``score_samples(X)``: nats per sample, higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def interpolate(self, X_start: ArrayLike, X_end: ArrayLike, n_steps: int = 10) -> np.ndarray:
        """Decode straight lines in latent space between pairs of inputs.

        Parameters
        ----------
        X_start, X_end : array-like of shape (n_pairs, n_features)
            Endpoints, paired row by row.
        n_steps : int, default=10
            Points per line, endpoints included.

        Returns
        -------
        path : ndarray of shape (n_pairs, n_steps, n_features)
            ``inverse_transform((1 - t) * transform(X_start) + t * transform(X_end))``
            for ``t`` evenly spaced in [0, 1].
        """
        check_scalar(n_steps, "n_steps", Integral, min_val=2)
        start, end = self.transform(X_start), self.transform(X_end)
        if start.shape != end.shape:
            raise ValueError(
                f"X_start and X_end must hold the same number of rows, got {start.shape[0]} "
                f"and {end.shape[0]}."
            )
        t = np.linspace(0.0, 1.0, n_steps, dtype=start.dtype)[None, :, None]
        codes = (1 - t) * start[:, None, :] + t * end[:, None, :]
        decoded = self.inverse_transform(codes.reshape(-1, start.shape[1]))
        return decoded.reshape(start.shape[0], n_steps, -1)

    @property
    def n_parameters_(self) -> int:
        """Number of fitted scalars used to encode and decode."""
        check_is_fitted(self)
        return int(self._count_parameters())

    def _count_parameters(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def _n_features_out(self) -> int:
        """Output width, for ``get_feature_names_out``."""
        return self.n_components_
