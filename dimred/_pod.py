"""Proper orthogonal decomposition by eigendecomposition."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from numbers import Integral, Real
from typing import TypeVar

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import assert_all_finite, check_array
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from dimred._base import ReducerMixin
from dimred._out_of_core import (
    dask_gram,
    file_mapping,
    is_dask_array,
    is_out_of_core,
    prefetch,
    read_rows_into,
    release,
)
from dimred._ppca import ppca_log_likelihood

T = TypeVar("T")


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
        exceed 20000 (a Gram matrix of over 3.2 GB) and ``n_components`` is an int:
        then ``"randomized"``, dask's randomized SVD (``svd_compressed``, two power
        iterations) of the centred data, which never forms a Gram matrix and whose
        energies are approximate (the leading ones to about 1e-6 relative when the
        spectrum decays).
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
        if self.method_ == "randomized":
            mean = _column_means(X) if self.center else np.zeros(n_features)
            energies, modes, total_energy = _randomized_modes(
                X, mean.astype(dtype), root_weights, n_modes, dtype
            )
        else:
            energies, modes, total_energy, mean = _leading_modes(
                X, self.center, root_weights, self.method_, n_modes, dtype
            )

        # Energy fraction: the fewest modes reaching it, as scikit-learn counts them.
        if isinstance(self.n_components, Real) and 0 < self.n_components < 1:
            cumulative = np.cumsum(energies) / total_energy
            keep = int(np.searchsorted(cumulative, self.n_components, side="right")) + 1
            keep = min(keep, energies.size)
            energies, modes = energies[:keep], modes[:, :keep]

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
        for rows in _blocks(X.shape[0], X.shape[1] * X.itemsize):
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
        if self.method != "auto":
            return self.method
        if min(n_samples, n_features) > _LARGEST_GRAM and n_modes is not None:
            return "randomized"
        return "snapshots" if n_samples < n_features else "covariance"

    def _validate_any(self, X, *, reset: bool):
        """Validate ``X`` and return it with the float dtype to compute in.

        In-memory data goes through scikit-learn's ``validate_data`` whole. Out-of-core
        data (a dask array or a memory-mapped file) is never read whole here: its first
        rows go through the same validation (dtype, dimensions, width, feature count),
        and finiteness is checked by scikit-learn's ``assert_all_finite`` on what NaN or
        inf anywhere would reach: the column sums, or for the method of snapshots on a
        memory map, each slab's means and the Gram matrix's diagonal.
        """
        if not is_out_of_core(X):
            X = self._validate_input(X, reset=reset)
            return X, X.dtype
        if getattr(X, "ndim", None) != 2:
            # validate_data's message for the wrong number of dimensions.
            self._validate_input(np.asarray(X[:2]), reset=reset)
        head = X[:2].compute() if is_dask_array(X) else np.array(X[:2])
        head = self._validate_input(head, reset=reset)
        return X, head.dtype


#: Bytes of data handled per block: large enough for BLAS to run at full rate, small
#: enough that the centred copy of one block stays cheap whatever the size of X.
_BLOCK_BYTES = 32 * 2**20

#: Above this many rows and columns, "auto" takes the randomized route: the smaller Gram
#: matrix would be over 3.2 GB in float64.
_LARGEST_GRAM = 20000


def _column_means(X) -> np.ndarray:
    """Column means in float64 (dask: finiteness is checked on the column sums)."""
    if is_dask_array(X):
        sums = X.sum(axis=0, dtype=np.float64).compute()
        assert_all_finite(sums, input_name="X")  # NaN or inf anywhere reaches the sums
        return sums / X.shape[0]
    return X.mean(axis=0, dtype=np.float64)


def _leading_modes(
    X,
    center: bool,
    root_weights: np.ndarray | None,
    method: str,
    n_modes: int | None,
    dtype,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Leading eigenpairs of ``Y^T Y`` with ``Y = (X - mean) * root_weights``.

    ``Y`` is never formed whole: it is built and multiplied one block at a time (for a
    dask array, one chunk per task). Products run in ``dtype`` within a block and are
    accumulated across blocks in float64, and the small eigenproblem is solved in
    float64. An in-memory or memory-mapped ``X`` is read once for the covariance route
    and twice for the method of snapshots (Gram matrix, then modes).

    Returns
    -------
    energies : ndarray of shape (n_modes,), float64
        Eigenvalues (squared singular values of ``Y``), largest first.
    modes : ndarray of shape (n_features, n_modes), float64
        Orthonormal eigenvectors of ``Y^T Y``, one per column.
    total_energy : float
        Trace of ``Y^T Y``, the energy of all modes.
    mean : ndarray of shape (n_features,), float64
        The column means (zeros without ``center``).
    """
    n_samples, n_features = X.shape
    itemsize = np.dtype(dtype).itemsize
    if is_dask_array(X):
        mean = _column_means(X) if center else np.zeros(n_features)
        Y = _dask_centred(X, mean.astype(dtype), root_weights, dtype)
        product = dask_gram(Y, axis=0 if method == "covariance" else 1).compute()
    elif method == "covariance":
        product, mean = _covariance_one_pass(X, center, root_weights, dtype)
    else:
        product, mean = _snapshot_gram(X, center, root_weights, dtype)
    size = product.shape[0]
    total_energy = float(np.trace(product))

    n_modes = size if n_modes is None else min(n_modes, size)
    energies, vectors = _top_eigenpairs(product, n_modes)
    energies, vectors = np.maximum(energies[::-1], 0.0), vectors[:, ::-1]
    if method == "covariance":
        return energies, vectors, total_energy, mean

    # Method of snapshots: mode_i = Y^T v_i / sqrt(lambda_i), a second pass over X.
    # Null eigenvalues (rank deficiency, e.g. n_components == n_samples after centring)
    # define no mode; those are completed to an orthonormal basis.
    tolerance = size * np.finfo(dtype).eps * max(energies[0], 0.0)
    defined = energies > tolerance
    scaled = (vectors[:, defined] / np.sqrt(energies[defined])).astype(dtype)
    if is_dask_array(X):
        modes = np.asarray((Y.T @ scaled).compute(), dtype=np.float64)
    else:
        modes = np.empty((n_features, scaled.shape[1]))
        cast_mean = mean.astype(dtype) if center else None

        def project(share: list[slice]) -> None:
            buffer = np.empty((n_samples, _widest(share)), dtype=dtype)
            for cols in share:
                slab_mean = None if cast_mean is None else cast_mean[cols]
                block = _centred_slab(X, cols, slab_mean, root_weights, buffer)
                modes[cols] = block.T @ scaled

        _in_parallel(project, n_features, n_samples * itemsize)
    if not defined.all():
        modes = _complete_orthonormal(modes, int((~defined).sum()))
    return energies, modes, total_energy, mean


def _covariance_one_pass(X, center: bool, root_weights, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``Y^T Y`` and the column means in one pass over the rows of ``X``.

    Rows are centred on a shift ``s``, the mean of a few hundred rows spread over ``X``,
    rather than on the mean itself (unknown until the pass ends); the product is then
    corrected exactly: ``Yc^T Yc = Ys^T Ys - n d d^T`` with ``d`` the mean of ``Ys``.
    Because ``s`` is already close to the mean, ``d`` is small and the correction cancels
    nothing that matters, where ``X^T X - n mu mu^T`` would lose a float32 spectrum to a
    large offset.

    The blocks are shared out by ``_in_parallel``; for a memory-mapped file its threads
    also overlap reading with computing.
    """
    n_samples, n_features = X.shape
    shift = _shift(X, dtype) if center else None
    scale = None if root_weights is None else root_weights.astype(dtype)

    def accumulate(share: list[slice]) -> tuple[np.ndarray, np.ndarray]:
        buffer = np.empty((_widest(share), n_features), dtype=dtype)
        product, sums = np.zeros((n_features, n_features)), np.zeros(n_features)
        for index, rows in enumerate(share):
            if index + 1 < len(share):
                prefetch(X, share[index + 1])
            block = read_rows_into(X, rows, buffer[: rows.stop - rows.start], subtract=shift)
            if scale is not None:
                block *= scale
            product += block.T @ block
            # Per-block sums in the block's precision (they only correct a small
            # shift), accumulated across blocks in float64.
            sums += block.sum(axis=0)
        return product, sums

    partials = _in_parallel(accumulate, n_samples, n_features * np.dtype(dtype).itemsize)
    product = np.sum([part for part, _ in partials], axis=0)
    sums = np.sum([part for _, part in partials], axis=0)
    assert_all_finite(sums, input_name="X")  # NaN or inf anywhere reaches the sums
    if shift is None:
        return product, np.zeros(n_features)
    offset = sums / n_samples
    product -= n_samples * np.outer(offset, offset)
    if root_weights is not None:
        offset = offset / root_weights
    return product, shift.astype(np.float64) + offset


def _snapshot_gram(X, center: bool, root_weights, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``Y Y^T`` and the column means, one column slab at a time.

    Each slab holds every row, so it is centred exactly by its own means; the slabs are
    shared out by ``_in_parallel``.
    """
    n_samples, n_features = X.shape
    mean = np.zeros(n_features)

    def accumulate(share: list[slice]) -> np.ndarray:
        buffer = np.empty((n_samples, _widest(share)), dtype=dtype)
        product = np.zeros((n_samples, n_samples))
        for cols in share:
            if center:
                # Written to disjoint slices of one array by the threads.
                mean[cols] = np.mean(X[:, cols], axis=0, dtype=np.float64)
                assert_all_finite(mean[cols], input_name="X")
            slab_mean = mean[cols].astype(dtype) if center else None
            block = _centred_slab(X, cols, slab_mean, root_weights, buffer)
            product += block @ block.T
        return product

    product = np.sum(
        _in_parallel(accumulate, n_features, n_samples * np.dtype(dtype).itemsize), axis=0
    )
    # NaN or inf anywhere reaches the diagonal (each snapshot's squared norm).
    assert_all_finite(np.diagonal(product), input_name="X")
    return product, mean


def _in_parallel(work: Callable[[list[slice]], T], length: int, bytes_per_item: int) -> list[T]:
    """``work`` called on equal shares of the blocks of ``range(length)`` (``_blocks``),
    one thread per BLAS thread, each thread running single-threaded BLAS; the results,
    one per share.

    One multithreaded product per block would leave all but one core idle while that
    block is read, centred and summed; this way every core prepares its own blocks, and
    that preparation costs a share of the products' time instead of adding to it.
    """
    n_threads = _blas_threads()
    blocks = _blocks(length, bytes_per_item, multiple_of=n_threads)
    n_workers = min(n_threads, len(blocks))
    shares = [blocks[worker::n_workers] for worker in range(n_workers)]
    with _BLAS.limit(limits=1, user_api="blas"):
        if n_workers == 1:
            return [work(shares[0])]
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            return list(pool.map(work, shares))


def _widest(share: list[slice]) -> int:
    """Length of the longest slice: each thread sizes one buffer to it and reuses it, as
    a fresh 32 MB array per block would cost a page fault per 4 KB."""
    return max(block.stop - block.start for block in share)


#: The shift of the one-pass covariance is the mean of this many rows, spread evenly over
#: X (not its first rows, which for snapshots in time may sit far from the mean).
_SHIFT_SAMPLE = 256


def _shift(X, dtype) -> np.ndarray:
    """Mean of ``_SHIFT_SAMPLE`` rows spread evenly over ``X``, in ``dtype``."""
    rows = np.unique(np.linspace(0, X.shape[0] - 1, num=_SHIFT_SAMPLE).astype(np.intp))
    sample = np.asarray(X[rows], dtype=np.float64)
    release(X)
    # Checked here so that an inf in the sample is reported as such, not as the NaN
    # that subtracting it would make of the sums.
    assert_all_finite(sample, input_name="X")
    return sample.mean(axis=0).astype(dtype)


#: The BLAS libraries numpy and scipy load, found once: building a controller scans every
#: loaded library, which costs milliseconds per call.
_BLAS = ThreadpoolController().select(user_api="blas")


def _blas_threads() -> int:
    """The threads BLAS may use now, with any threadpoolctl or environment limit."""
    return max(1, min((lib.num_threads for lib in _BLAS.lib_controllers), default=1))


def _randomized_modes(X, mean, root_weights, n_modes, dtype):
    """Leading modes by dask's randomized SVD of ``Y`` (no Gram matrix is formed)."""
    import dask
    import dask.array as da

    if not is_dask_array(X):
        X = da.from_array(X, chunks=(max(1, _BLOCK_BYTES // (X.shape[1] * X.itemsize)), -1))
    Y = _dask_centred(X, mean, root_weights, dtype)
    _, singular_values, right = da.linalg.svd_compressed(
        Y, k=n_modes, n_power_iter=2, seed=0, compute=False
    )
    total = (Y.astype(np.float64) ** 2).sum()
    singular_values, right, total = dask.compute(singular_values, right, total)
    energies = np.asarray(singular_values, dtype=np.float64) ** 2
    return energies, np.asarray(right, dtype=np.float64).T, float(total)


def _dask_centred(X, mean, root_weights, dtype):
    Y = X.astype(dtype) - mean
    return Y if root_weights is None else Y * root_weights.astype(dtype)


def _project(X: np.ndarray, mean: np.ndarray, encoder: np.ndarray) -> np.ndarray:
    return ((X - mean) @ encoder.T).astype(encoder.dtype, copy=False)


def _reconstruct(codes: np.ndarray, components: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return (codes @ components + mean).astype(codes.dtype, copy=False)


#: Up to this size the subset eigensolver runs on one thread: a little slower alone (38
#: against 30 ms at 784 on 2 cores), but it leaves no spinning BLAS threads behind.
_SMALL_EIGENPROBLEM = 1024


def _top_eigenpairs(matrix: np.ndarray, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_modes`` largest eigenpairs of a symmetric matrix, in ascending order."""
    size = matrix.shape[0]
    if n_modes == size:
        energies, vectors = np.linalg.eigh(matrix)
        return energies, vectors
    # Only the eigenpairs asked for (LAPACK syevr): several times cheaper than a full
    # decomposition when few modes are wanted. scipy ships its own OpenBLAS, whose
    # threads keep spinning after a call and slow numpy's next product by ~60% here
    # (benchmarks/test_pod_speed.py::test_eigh_all_threads_then_product).
    threads = 1 if size <= _SMALL_EIGENPROBLEM else None
    with _BLAS.limit(limits=threads, user_api="blas"):
        return scipy.linalg.eigh(
            matrix,
            subset_by_index=(size - n_modes, size - 1),
            driver="evr",
            overwrite_a=True,
            check_finite=False,
        )


def _blocks(length: int, bytes_per_item: int, multiple_of: int = 1) -> list[slice]:
    """``range(length)`` cut into consecutive slices of about ``_BLOCK_BYTES`` or less,
    of near-equal lengths, their count a multiple of ``multiple_of`` (when ``length``
    allows), so that that many threads get equal shares."""
    count = -(-length * max(bytes_per_item, 1) // _BLOCK_BYTES)
    count = min(length, -(-count // multiple_of) * multiple_of)
    bounds = np.linspace(0, length, num=count + 1).round().astype(int)
    return [slice(int(start), int(stop)) for start, stop in pairwise(bounds)]


def _centred_slab(X, cols: slice, mean: np.ndarray | None, root_weights, buffer) -> np.ndarray:
    """``(X[:, cols] - mean) * root_weights[cols]`` written into ``buffer``, in one pass
    over ``X``. For a memory-mapped ``X`` the pages just read are released afterwards."""
    block = buffer[:, : cols.stop - cols.start]
    if mean is None:
        np.copyto(block, X[:, cols], casting="unsafe")
    else:
        np.subtract(X[:, cols], mean, out=block, casting="unsafe")
    if root_weights is not None:
        block *= root_weights[cols].astype(block.dtype)
    release(X)
    return block


def _complete_orthonormal(basis: np.ndarray, n_extra: int) -> np.ndarray:
    """Append ``n_extra`` unit columns orthogonal to ``basis`` (deterministically)."""
    candidates = np.random.default_rng(0).standard_normal((basis.shape[0], n_extra))
    candidates -= basis @ (basis.T @ candidates)
    extra, _ = np.linalg.qr(candidates)
    return np.hstack([basis, extra])
