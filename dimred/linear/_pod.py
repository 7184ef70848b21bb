"""Proper orthogonal decomposition by eigendecomposition."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import check_array
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import Interval, RealNotInt, StrOptions, _fit_context
from dimred.arrays._out_of_core import file_mapping, is_dask_array, is_out_of_core, release
from dimred.contract._reducer import ReducerMixin, refusing_non_finite
from dimred.linear._blocks import blocks
from dimred.linear._pod_solvers import Modes, gram_fits, leading_modes, randomized_modes
from dimred.linear._ppca import ppca_log_likelihood


class POD(ReducerMixin, BaseEstimator):
    """Proper orthogonal decomposition (POD) by eigendecomposition.

    The modes are the leading eigenvectors of the sample covariance of the (centred,
    optionally weighted) data and each eigenvalue is its mode's energy. ``X`` may be a
    numpy array, a memory-mapped file (``np.load(path, mmap_mode="r")``, read a block at
    a time) or a ``dask.array`` (reduced chunk by chunk by dask, on a cluster if one is
    active): larger than memory is fine. Two routes give the same modes:

    - ``"covariance"``: eigendecomposition of the ``n_features x n_features`` matrix
      ``Xc^T Xc``; cheap for tall data.
    - ``"snapshots"``: Sirovich's method of snapshots, eigendecomposition of the
      ``n_samples x n_samples`` Gram matrix ``Xc Xc^T``, modes recovered as
      ``Xc^T v / sqrt(lambda)``; cheap for wide data (many grid points, few snapshots).

    With ``n_components`` an int only those eigenpairs are computed (LAPACK ``syevr``).
    Float32 data is multiplied in float32, which is fast, but a Gram matrix squares the
    condition number, so its rounding error swamps energies below about 1e-6 of the
    largest. ``fit`` estimates that error for every kept mode, and when any kept energy
    could be off by more than 1e-3 relative it decomposes the data again with float64
    products (``compute_dtype_`` says which): every energy down to 1e-10 of the largest
    is then kept to 1e-3, as a float32 SVD of the data would. A Gram matrix that would
    not fit in the memory available is refused with a ``ValueError`` before it is
    allocated.
    Attributes follow :class:`sklearn.decomposition.PCA` (``n - 1`` denominators), so with
    uniform weights a fitted POD equals ``PCA(svd_solver="full")``.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Number of modes. An int keeps that many; a float in (0, 1) keeps the fewest modes
        whose cumulative energy fraction reaches it; None keeps ``min(n_samples,
        n_features)``.
    method : {"auto", "covariance", "snapshots", "randomized"}, default="auto"
        Which matrix to decompose. ``"auto"`` picks the smaller one, unless both sides
        exceed 20000 (a Gram matrix of over 3.2 GB) or it would not fit in the memory
        available, and ``n_components`` is an int: then ``"randomized"``, dask's
        randomized SVD (``svd_compressed``, two power iterations) of the centred data,
        which never forms a Gram matrix and whose energies are approximate (the
        leading ones to about 1e-6 relative when the spectrum decays).
    weights : array-like of shape (n_features,), default=None
        Positive inner-product weights, e.g. cell areas or volumes on a non-uniform grid.
        Modes are orthonormal in ``<u, v>_w = sum(w * u * v)``, and energy and
        reconstruction error are measured in that norm. None means uniform weights of 1.
    center : bool, default=True
        Subtract the mean snapshot before decomposing. Without it the first mode
        captures the mean.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        The modes, one per row, orthonormal in the weighted inner product.
    explained_variance_ : ndarray of shape (n_components_,)
        Energy of each mode: eigenvalue of the weighted covariance, ``n - 1`` denominator,
        in squared data units (times weight units).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total energy in each mode.
    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred, weighted data matrix.
    mean_ : ndarray of shape (n_features,)
        Mean snapshot (zeros when ``center=False``).
    n_components_ : int
        Number of modes kept.
    noise_variance_ : float
        Mean energy of the discarded directions (probabilistic-PCA noise variance).
    weights_ : ndarray of shape (n_features,) or None
        Validated inner-product weights.
    method_ : str
        The route taken: ``"covariance"``, ``"snapshots"`` or ``"randomized"``.
    compute_dtype_ : numpy.dtype
        The precision of the products behind the modes: the data's, or float64 where
        float32 products would have lost the smallest kept energies.
    n_samples_ : int
        Number of snapshots seen in fit.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen in fit, when ``X`` has string column names.

    See Also
    --------
    dimred.PCA : scikit-learn's PCA under the same contract.

    Examples
    --------
    >>> import numpy as np
    >>> from dimred import POD
    >>> X = np.random.default_rng(0).normal(size=(20, 500))   # 20 snapshots, 500 points
    >>> pod = POD(n_components=3).fit(X)
    >>> pod.method_
    'snapshots'
    >>> pod.transform(X).shape
    (20, 3)
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "method": [StrOptions({"auto", "covariance", "snapshots", "randomized"})],
        "weights": ["array-like", None],
        "center": ["boolean"],
    }

    def __init__(self, n_components=None, *, method="auto", weights=None, center=True):
        self.n_components = n_components
        self.method = method
        self.weights = weights
        self.center = center

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None) -> POD:
        """Compute the POD modes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Snapshots, one per row.
        y : Ignored

        Returns
        -------
        self : POD
        """
        X, dtype = self._validate_any(X, reset=True)
        n_samples, n_features = X.shape
        self.weights_ = self._validate_weights(n_features)
        n_modes = self._requested_modes(n_samples, n_features)

        root_weights = None if self.weights_ is None else np.sqrt(self.weights_)
        self.method_ = self._choose_method(n_samples, n_features, n_modes)
        # The solvers check finiteness on what NaN or inf anywhere reaches (see
        # _validate_any), with scikit-learn's words: said here as every reducer says it.
        with refusing_non_finite(type(self).__name__):
            if self.method_ == "randomized":
                found = randomized_modes(X, self.center, root_weights, n_modes, dtype)
            else:
                found = leading_modes(X, self.center, root_weights, self.method_, n_modes,
                                      dtype)
        energies, modes = self._kept(found)
        self.compute_dtype_ = np.dtype(dtype)
        if not _accurate_enough(found, energies.size):
            # The Gram matrix squares the condition number: in float32 its rounding
            # error swamps modes below about 1e-6 of the largest energy. Such a
            # spectrum is decomposed again with float64 products.
            self.compute_dtype_ = np.dtype(np.float64)
            found = leading_modes(X, self.center, root_weights, self.method_, n_modes, np.float64)
            energies, modes = self._kept(found)
        total_energy, mean = found.total_energy, found.mean

        _, modes_t = svd_flip(None, np.ascontiguousarray(modes.T), u_based_decision=False)
        n_kept = energies.size
        denominator = n_samples - 1
        rank_bound = min(n_samples, n_features)
        discarded = max(total_energy - energies.sum(), 0.0)

        components = modes_t
        if self.weights_ is not None:
            components = modes_t / np.sqrt(self.weights_)
        self.components_ = components.astype(dtype)
        self.explained_variance_ = (energies / denominator).astype(dtype)
        self.explained_variance_ratio_ = (energies / total_energy).astype(dtype)
        self.singular_values_ = np.sqrt(energies).astype(dtype)
        self.mean_ = mean.astype(dtype)
        self.n_components_ = n_kept
        self.n_samples_ = n_samples
        self.noise_variance_ = (
            float(discarded / denominator / (rank_bound - n_kept))
            if n_kept < rank_bound
            else 0.0
        )
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Project ``X`` on the modes: the weighted inner products ``<x - mean, mode>_w``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_), dtype of ``X``
            A dask array, computed chunk by chunk, for dask input; for a memory-mapped
            ``X`` the file is read one block at a time.
        """
        check_is_fitted(self)
        X, dtype = self._validate_any(X, reset=False)
        encoder = self._encoder().astype(dtype)
        mean = self.mean_.astype(dtype)
        if is_dask_array(X):
            return X.rechunk({1: -1}).map_blocks(
                _project, mean, encoder, dtype=dtype, chunks=(X.chunks[0], (encoder.shape[0],))
            )
        if file_mapping(X) is None:
            return _project(X, mean, encoder)
        codes = np.empty((X.shape[0], encoder.shape[0]), dtype=dtype)
        for rows in blocks(X.shape[0], X.shape[1] * X.itemsize):
            codes[rows] = _project(np.asarray(X[rows], dtype=dtype), mean, encoder)
            release(X)
        return codes

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Reconstruct snapshots from modal coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Modal coefficients, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features), dtype of the codes
            A dask array, built chunk by chunk, for dask codes.
        """
        if is_dask_array(X):
            check_is_fitted(self)
            self._validate_codes(X[:1].compute())
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
            return X.rechunk({1: -1}).map_blocks(
                _reconstruct, self.components_.astype(dtype), self.mean_.astype(dtype),
                dtype=dtype, chunks=(X.chunks[0], (self.components_.shape[1],)),
            )
        codes = self._validate_codes(X)
        return _reconstruct(codes, self.components_, self.mean_)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Exact probabilistic-PCA log-likelihood of each sample, in nats.

        With uniform weights this equals :meth:`sklearn.decomposition.PCA.score_samples`.
        With weights ``w`` the model is fitted to ``sqrt(w) * x`` and the density is
        mapped back to ``x`` (change of variables, ``+ sum(log w) / 2``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        centered = np.asarray(X, dtype=np.float64) - self.mean_
        basis = np.asarray(self.components_, dtype=np.float64)
        jacobian = 0.0
        if self.weights_ is not None:
            root_weights = np.sqrt(self.weights_)
            centered *= root_weights
            basis = basis * root_weights
            jacobian = 0.5 * np.sum(np.log(self.weights_))
        log_likelihood = ppca_log_likelihood(
            centered, basis, self.explained_variance_, self.noise_variance_
        )
        return (log_likelihood + jacobian).astype(X.dtype, copy=False)

    def _kept(self, found: Modes) -> tuple[np.ndarray, np.ndarray]:
        """The energies and modes kept: for an energy fraction, the fewest modes reaching
        it, as scikit-learn counts them; otherwise all that were computed."""
        energies, modes = found.energies, found.modes
        if isinstance(self.n_components, Real) and 0 < self.n_components < 1:
            cumulative = np.cumsum(energies) / found.total_energy
            keep = int(np.searchsorted(cumulative, self.n_components, side="right")) + 1
            keep = min(keep, energies.size)
            energies, modes = energies[:keep], modes[:, :keep]
        return energies, modes

    def _encoder(self) -> np.ndarray:
        """Rows that map a centred snapshot to its coefficients (``W`` folded in)."""
        if self.weights_ is None:
            return self.components_
        return (self.components_ * self.weights_).astype(self.components_.dtype)

    def _feature_weights(self) -> np.ndarray | None:
        return self.weights_

    def _count_parameters(self) -> int:
        return self.components_.size + self.mean_.size

    def _validate_weights(self, n_features: int) -> np.ndarray | None:
        if self.weights is None:
            return None
        weights = check_array(
            self.weights, ensure_2d=False, dtype=np.float64, input_name="weights"
        )
        if weights.ndim != 1 or weights.shape[0] != n_features:
            raise ValueError(
                f"weights must be a 1-D array with one positive weight per feature "
                f"({n_features}), got shape {weights.shape}."
            )
        if np.any(weights <= 0):
            raise ValueError(
                "weights must be strictly positive (they define an inner product); "
                f"found {np.sum(weights <= 0)} weight(s) <= 0."
            )
        return weights

    def _requested_modes(self, n_samples: int, n_features: int) -> int | None:
        """Eigenpairs to compute: an int, or None for all of them."""
        rank_bound = min(n_samples, n_features)
        if self.n_components is None:
            return rank_bound
        if isinstance(self.n_components, Integral):
            if self.n_components > rank_bound:
                raise ValueError(
                    f"n_components={self.n_components} must be between 1 and "
                    f"min(n_samples, n_features)={rank_bound}."
                )
            return int(self.n_components)
        return None  # an energy fraction needs the whole spectrum

    def _choose_method(self, n_samples: int, n_features: int, n_modes: int | None) -> str:
        """The route: the one asked for, or for ``"auto"`` the smaller Gram matrix when it
        fits in memory and is at most ``_LARGEST_GRAM`` wide, else the randomized SVD
        (which needs an int ``n_components``)."""
        if self.method != "auto":
            return self.method
        method = "snapshots" if n_samples < n_features else "covariance"
        too_large = min(n_samples, n_features) > _LARGEST_GRAM or not gram_fits(
            (n_samples, n_features), method
        )
        if too_large and isinstance(self.n_components, Integral):
            return "randomized"
        return method  # refused by the solver if it does not fit, before allocating

    def _validate_any(self, X, *, reset: bool):
        """Validate ``X`` and return it with the float dtype to compute in.

        In-memory data goes through scikit-learn's ``validate_data`` whole. Out-of-core
        data (a dask array or a memory-mapped file) is never read whole here: its first
        rows go through the same validation (dtype, dimensions, width, feature count).
        In ``fit`` (``reset=True``) finiteness is checked by scikit-learn's
        ``assert_all_finite`` on what NaN or inf anywhere would reach: the column sums,
        or for the method of snapshots each slab's means and the Gram matrix's
        diagonal, which spares in-memory data a separate scan (~10 ms on MNIST).
        """
        if not is_out_of_core(X):
            X = self._validate_input(X, reset=reset, ensure_all_finite=not reset)
            return X, X.dtype
        X = self._validate_rows(X, reset=reset)
        return X, self._float_dtype(X)


#: Above this many rows and columns, "auto" takes the randomized route: the smaller Gram
#: matrix would be over 3.2 GB in float64.
_LARGEST_GRAM = 20000

#: Energies are kept to this relative accuracy in any compute dtype ...
_ENERGY_RTOL = 1e-3

#: ... judged by the estimated rounding error times this margin: the measured error stayed
#: within 101 times the estimate (``leading_modes``'s ``rounding_error``) over
#: OpenBLAS's Haswell, SkylakeX and Zen kernels (tests/test_pod_precision.py).
_ROUNDING_MARGIN = 1000


def _accurate_enough(found: Modes, n_kept: int) -> bool:
    """Whether every kept energy is above the rounding noise of its products: true for
    float64 products (their noise is some 1e-16 of the largest energy) and for the
    randomized route (approximate by design)."""
    if found.rounding_error is None:
        return True
    noise = _ROUNDING_MARGIN * found.rounding_error[:n_kept]
    return bool(np.all(noise <= _ENERGY_RTOL * found.energies[:n_kept]))


def _project(X: np.ndarray, mean: np.ndarray, encoder: np.ndarray) -> np.ndarray:
    return ((X - mean) @ encoder.T).astype(encoder.dtype, copy=False)


def _reconstruct(codes: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return (codes @ components + mean).astype(codes.dtype, copy=False)
