"""The estimator contract shared by POD, PCA, AE and VAE, and public for new methods.

Everything a runner or a user relies on across methods lives here once: input
validation and dtype handling, ``reconstruction_error``, the meaning of ``score`` and
parameter counting. Each method supplies ``transform``, ``inverse_transform``,
``score_samples`` and ``_count_parameters``. ``dimred.ReducerMixin`` is this class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array, check_scalar
from sklearn.utils.validation import check_is_fitted, validate_data

from dimred.arrays._out_of_core import is_dask_array
from dimred.arrays._streams import check_streamed, is_streamed

#: Float dtypes the estimators compute in; anything else (ints, bools) becomes float64.
FLOAT_DTYPES = (np.float64, np.float32)


class UndefinedLikelihoodError(ValueError):
    """``score`` has no value for this fit: its density does not exist (a singular
    covariance). The benchmark leaves the likelihood blank rather than failing the cell."""


def non_finite_message(method: str) -> str:
    """What a reducer says of input holding NaN or infinity."""
    return (f"X contains NaN or infinity: {method} reduces complete rows and has no notion "
            "of a missing value. Impute them first (e.g. sklearn.impute.SimpleImputer in a "
            "Pipeline) or drop the incomplete rows.")


@contextlib.contextmanager
def refusing_non_finite(method: str) -> Iterator[None]:
    """Say :func:`non_finite_message` for scikit-learn's NaN or infinity refusal raised
    within (``validate_data``, ``assert_all_finite``), whose own message advises
    estimators for supervised learning."""
    try:
        yield
    except ValueError as error:
        if "contains NaN" in str(error) or "contains infinity" in str(error):
            raise ValueError(non_finite_message(method)) from None
        raise


class ReducerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """The contract of a dimred method: encode, decode, and score in nats.

    Subclass it with :class:`sklearn.base.BaseEstimator` to write a method that the
    benchmark measures like the built-ins (``examples/random_projection.py`` is a
    worked one). The runner needs only ``fit`` and ``transform`` and an
    ``n_components`` parameter; each further capability below adds its measurements
    (see :mod:`dimred.contract.capabilities`), and what a method lacks is a blank, never a
    failed cell.

    What a subclass provides:

    - ``__init__`` with an ``n_components`` parameter (and ``random_state`` if it is
      random: the suite's seeds set it), storing every parameter unchanged, as
      scikit-learn requires; ``fit(X)`` returning ``self`` and setting
      ``n_components_``.
    - ``transform(X)``: ``(n_samples, n_features)`` to ``(n_samples, n_components_)``,
      deterministic. ``inverse_transform(Z)``: back to ``(n_samples, n_features)``;
      without it, no reconstruction metric.
    - ``score_samples(X)``: the per-sample log-likelihood in nats (natural log, every
      constant kept, so that values compare across methods), higher is better;
      ``score(X)`` is its mean. A method whose score is a lower bound (an ELBO) sets
      ``likelihood_is_bound = True``; one without a likelihood sets
      ``has_likelihood = False`` and its score is not reported.
    - ``_count_parameters()``: the fitted scalars needed to encode and decode, which
      ``n_parameters_`` returns.

    What it inherits: ``reconstruction_error``, ``score``, ``interpolate``,
    ``get_feature_names_out`` and ``_validate_input`` / ``_validate_codes``, which apply
    the dtype rule: float32 input gives float32 output and float64 gives float64; any
    other numeric input is computed in float64.
    """

    #: Whether ``score_samples`` is a log-likelihood (or a lower bound on one) in nats.
    has_likelihood: bool = True
    #: Whether that log-likelihood is a lower bound (an ELBO) rather than exact.
    likelihood_is_bound: bool = False
    #: Whether a ``verbose`` parameter draws a progress bar (the runner turns it on).
    shows_progress: bool = False

    def _validate_input(
        self, X: ArrayLike, *, reset: bool, ensure_all_finite: bool = True
    ) -> np.ndarray:
        """Validate ``X`` through scikit-learn and cast it to a float dtype.

        ``reset=True`` (in fit) records ``n_features_in_`` / ``feature_names_in_``;
        ``reset=False`` checks that the width matches what fit saw.
        ``ensure_all_finite=False`` is for a caller that checks finiteness itself on
        what NaN or inf anywhere would reach, instead of scanning ``X`` once more.
        """
        with refusing_non_finite(type(self).__name__):
            return validate_data(
                self,
                X,
                reset=reset,
                dtype=list(FLOAT_DTYPES),
                accept_sparse=("csr", "csc") if self.__sklearn_tags__().input_tags.sparse
                else False,
                ensure_min_samples=2 if reset else 1,
                ensure_all_finite=ensure_all_finite,
            )

    def _validate_rows(self, X: ArrayLike, *, reset: bool):
        """``_validate_input`` for data that may be larger than memory.

        A memory-mapped or dask ``X`` is returned as it is, after checks that read only
        its first rows: 2-D, real numbers, known dask chunks, and scikit-learn's
        validation of those rows (width, feature count, ``n_features_in_``). Its
        finiteness is left to the pass that reads it. Anything else goes through
        ``_validate_input`` whole.
        """
        if not is_streamed(X):
            return self._validate_input(X, reset=reset)
        check_streamed(X)
        head = X[:2].compute() if is_dask_array(X) else np.array(X[:2])
        self._validate_input(head, reset=reset)
        return X

    @staticmethod
    def _float_dtype(X) -> np.dtype:
        """The dtype results come in for input ``X``: its own if float32 or float64,
        else float64 (the dtype rule)."""
        dtype = np.dtype(X.dtype)
        return dtype if dtype in (np.dtype(np.float32), np.dtype(np.float64)) \
            else np.dtype(np.float64)

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
