"""POD's solvers: the eigenpairs of ``Y^T Y`` or ``Y Y^T`` with ``Y`` the centred,
weighted data, formed one block at a time, and the randomized SVD that forms neither.

Products run in the compute dtype within a block and are accumulated across blocks in
float64; the small eigenproblem is solved in float64. The estimator (``dimred.linear._pod``)
chooses the route and the compute dtype; this module does the arithmetic.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
from sklearn.utils import assert_all_finite

from dimred.arrays._out_of_core import is_dask_array, prefetch, read_rows_into, release
from dimred.linear._blocks import BLAS, BLOCK_BYTES, available_memory, in_parallel, widest
from dimred.linear._out_of_core import centred_slab, dask_gram


class Modes(NamedTuple):
    """What a solver returns, all float64."""

    #: Eigenvalues of the decomposed matrix (squared singular values of ``Y``),
    #: largest first, shape (n_modes,).
    energies: np.ndarray
    #: Orthonormal eigenvectors of ``Y^T Y``, one per column, shape (n_features, n_modes).
    modes: np.ndarray
    #: Trace of ``Y^T Y``: the energy of all modes.
    total_energy: float
    #: Column means, shape (n_features,) (zeros without centring).
    mean: np.ndarray
    #: Estimated rounding error of each energy from the products in the compute dtype,
    #: shape (n_modes,); None where not estimated (the randomized route).
    rounding_error: np.ndarray | None


def column_means(X) -> np.ndarray:
    """Column means in float64, checked for NaN or inf anywhere in ``X`` (they reach
    the sums)."""
    sums = X.sum(axis=0, dtype=np.float64)
    if is_dask_array(X):
        sums = sums.compute()
    assert_all_finite(sums, input_name="X")
    return sums / X.shape[0]


def gram_workers(shape: tuple[int, int], method: str) -> int:
    """How many threads may each hold a partial Gram matrix of the ``method`` route, or
    a ``ValueError`` naming the matrix's size and the alternatives when not even one
    fits in the memory available now. Raised before anything is allocated."""
    n_samples, n_features = shape
    size = n_features if method == "covariance" else n_samples
    gram = size * size * 8
    available = available_memory()
    # A partial product per thread, their sum, and the eigensolver's workspace.
    if 3 * gram > available:
        other, other_size = (
            ("snapshots", n_samples) if method == "covariance" else ("covariance", n_features)
        )
        raise ValueError(
            f"POD(method={method!r}) on data of shape {n_samples} x {n_features} needs a "
            f"{size} x {size} float64 Gram matrix ({_gib(gram)} GiB, about three copies "
            f"of it while solving), but only {_gib(available)} GiB of memory are "
            f"available. Use method={other!r} (a {other_size} x {other_size} matrix, "
            f"{_gib(other_size**2 * 8)} GiB), method='randomized' with an int "
            "n_components (no Gram matrix is formed), or, for data larger than memory, a "
            "dask array with method='randomized'."
        )
    return max(1, available // gram - 2)


def gram_fits(shape: tuple[int, int], method: str) -> bool:
    try:
        gram_workers(shape, method)
    except ValueError:
        return False
    return True


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g}"


def leading_modes(
    X,
    center: bool,
    root_weights: np.ndarray | None,
    method: str,
    n_modes: int | None,
    dtype,
) -> Modes:
    """Leading eigenpairs of ``Y^T Y`` with ``Y = (X - mean) * root_weights``.

    ``Y`` is never formed whole: it is built and multiplied one block at a time (for a
    dask array, inside one task per chunk). An in-memory or memory-mapped ``X`` is read
    once for the covariance route and twice for the method of snapshots (Gram matrix,
    then modes). ``dtype`` is the compute dtype of the blocks' products.
    """
    n_samples, n_features = X.shape
    itemsize = np.dtype(dtype).itemsize
    max_workers = gram_workers(X.shape, method)
    if is_dask_array(X) and method == "covariance":
        product, mean = _dask_covariance_one_pass(X, center, root_weights, dtype)
    elif is_dask_array(X):
        mean = column_means(X) if center else np.zeros(n_features)
        with BLAS.limit(limits=1, user_api="blas"):  # see _dask_covariance_one_pass
            product = dask_gram(X, mean, root_weights, dtype, axis=1).compute()
    elif method == "covariance":
        product, mean = _covariance_one_pass(X, center, root_weights, dtype, max_workers)
    else:
        product, mean = _snapshot_gram(X, center, root_weights, dtype, max_workers)
    size = product.shape[0]
    total_energy = float(np.trace(product))
    diagonal = np.diagonal(product).copy()  # the eigensolver overwrites the product
    # NaN or inf anywhere in X reaches the diagonal (a column's or a row's squared norm).
    assert_all_finite(diagonal, input_name="X")

    n_modes = size if n_modes is None else min(n_modes, size)
    energies, vectors = top_eigenpairs(product, n_modes)
    energies, vectors = np.maximum(energies[::-1], 0.0), vectors[:, ::-1]
    rounding_error = _rounding_error(vectors, diagonal, dtype)
    if method == "covariance":
        return Modes(energies, vectors, total_energy, mean, rounding_error)

    # Method of snapshots: mode_i = Y^T v_i / sqrt(lambda_i), a second pass over X.
    # Null eigenvalues (rank deficiency, e.g. n_components == n_samples after centring)
    # define no mode; those are completed to an orthonormal basis.
    tolerance = size * np.finfo(dtype).eps * max(energies[0], 0.0)
    defined = energies > tolerance
    scaled = (vectors[:, defined] / np.sqrt(energies[defined])).astype(dtype)
    if is_dask_array(X):
        Y = dask_centred(X, mean.astype(dtype), root_weights, dtype)
        modes = np.asarray((Y.T @ scaled).compute(), dtype=np.float64)
    else:
        modes = np.empty((n_features, scaled.shape[1]))
        cast_mean = mean.astype(dtype) if center else None

        def project(share: list[slice]) -> None:
            buffer = np.empty((n_samples, widest(share)), dtype=dtype)
            for cols in share:
                slab_mean = None if cast_mean is None else cast_mean[cols]
                block = centred_slab(X, cols, slab_mean, root_weights, buffer)
                modes[cols] = block.T @ scaled

        in_parallel(project, n_features, n_samples * itemsize)
    if not defined.all():
        modes = _complete_orthonormal(modes, int((~defined).sum()))
    return Modes(energies, modes, total_energy, mean, rounding_error)


def _rounding_error(vectors: np.ndarray, diagonal: np.ndarray, dtype) -> np.ndarray:
    """Estimated error of each eigenvalue from rounding in the blocks' products.

    To first order an eigenvalue moves by ``v^T E v``, ``E`` the rounding error of the
    Gram matrix. Each entry's error scales with ``eps * sqrt(G_ii G_jj)`` and its sign is
    random, so ``v^T E v`` is about ``eps * sum_i v_i^2 G_ii``. Measured against float64
    on steep synthetic spectra, MNIST and low-rank-plus-noise data, the actual error
    stayed within 42 times this estimate (tests/test_pod_precision.py).
    """
    return np.finfo(dtype).eps * ((vectors * vectors).T @ np.maximum(diagonal, 0.0))


def _covariance_one_pass(
    X, center: bool, root_weights, dtype, max_workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """``Y^T Y`` and the column means in one pass over the rows of ``X``.

    Rows are centred on a shift ``s``, the mean of a few hundred rows spread over ``X``,
    rather than on the mean itself (unknown until the pass ends); the product is then
    corrected exactly: ``Yc^T Yc = Ys^T Ys - n d d^T`` with ``d`` the mean of ``Ys``.
    Because ``s`` is already close to the mean, ``d`` is small and the correction cancels
    nothing that matters, where ``X^T X - n mu mu^T`` would lose a float32 spectrum to a
    large offset.

    The blocks are shared out by ``in_parallel``; for a memory-mapped file its threads
    also overlap reading with computing.
    """
    n_samples, n_features = X.shape
    shift = _shift(X, dtype) if center else None
    scale = None if root_weights is None else root_weights.astype(dtype)

    def accumulate(share: list[slice]) -> tuple[np.ndarray, np.ndarray]:
        buffer = np.empty((widest(share), n_features), dtype=dtype)
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

    partials = in_parallel(
        accumulate, n_samples, n_features * np.dtype(dtype).itemsize, max_workers
    )
    return _unshifted(*_summed(partials), shift, n_samples, root_weights)


def _dask_covariance_one_pass(X, center: bool, root_weights, dtype):
    """:func:`_covariance_one_pass` for a dask array: the product of the rows shifted by a
    sample's mean, and their sums, in one pass over the chunks (a second pass for the
    column means first would double the reads: 0.52-0.58x a memory-mapped file)."""
    import dask

    n_samples, n_features = X.shape
    shift = _shift(X, dtype) if center else np.zeros(n_features, dtype=dtype)
    # dask's threaded scheduler runs a task per core: each on one BLAS thread, as
    # in_parallel does (two BLAS threads per task oversubscribed the cores: 0.6x).
    with BLAS.limit(limits=1, user_api="blas"):
        product, sums = dask.compute(*dask_gram(X, shift, root_weights, dtype, axis=0))
    return _unshifted(product, sums, shift if center else None, n_samples, root_weights)


def _unshifted(product: np.ndarray, sums: np.ndarray, shift, n_samples: int, root_weights):
    """The centred product and the mean, from the product and column sums of rows
    shifted by ``shift`` (None: not centred): ``Yc^T Yc = Ys^T Ys - n d d^T``."""
    assert_all_finite(sums, input_name="X")  # NaN or inf anywhere reaches the sums
    if shift is None:
        return product, np.zeros(product.shape[0])
    offset = sums / n_samples
    product -= n_samples * np.outer(offset, offset)
    if root_weights is not None:
        offset = offset / root_weights
    return product, shift.astype(np.float64) + offset


def _summed(partials: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The threads' partial products and sums added in place into the first thread's,
    so that no further Gram-sized array is allocated."""
    product, sums = partials[0]
    for other_product, other_sums in partials[1:]:
        product += other_product
        sums += other_sums
    return product, sums


def _snapshot_gram(
    X, center: bool, root_weights, dtype, max_workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """``Y Y^T`` and the column means, one column slab at a time.

    Each slab holds every row, so it is centred exactly by its own means; the slabs are
    shared out by ``in_parallel``.
    """
    n_samples, n_features = X.shape
    mean = np.zeros(n_features)

    def accumulate(share: list[slice]) -> tuple[np.ndarray, np.ndarray]:
        buffer = np.empty((n_samples, widest(share)), dtype=dtype)
        product = np.zeros((n_samples, n_samples))
        for cols in share:
            if center:
                # Written to disjoint slices of one array by the threads.
                mean[cols] = np.mean(X[:, cols], axis=0, dtype=np.float64)
                assert_all_finite(mean[cols], input_name="X")
            slab_mean = mean[cols].astype(dtype) if center else None
            block = centred_slab(X, cols, slab_mean, root_weights, buffer)
            product += block @ block.T
        return product, np.zeros(0)

    partials = in_parallel(
        accumulate, n_features, n_samples * np.dtype(dtype).itemsize, max_workers
    )
    product, _ = _summed(partials)
    # NaN or inf anywhere reaches the diagonal (each snapshot's squared norm).
    assert_all_finite(np.diagonal(product), input_name="X")
    return product, mean


#: The shift of the one-pass covariance is the mean of this many rows, spread evenly over
#: X (not its first rows, which for snapshots in time may sit far from the mean).
_SHIFT_SAMPLE = 256


def _shift(X, dtype) -> np.ndarray:
    """Mean of ``_SHIFT_SAMPLE`` rows spread evenly over ``X`` (over four of its chunks
    for a dask array), in ``dtype``."""
    if is_dask_array(X):
        # Whole rows of a few chunks spread over X: rows spread one by one would each
        # read a chunk of their own (a Zarr store's 2 MB chunk for one 3 kB row).
        starts = np.cumsum([0, *X.chunks[0]])
        picked = np.unique(np.linspace(0, len(X.chunks[0]) - 1, num=4).astype(np.intp))
        per_chunk = -(-_SHIFT_SAMPLE // len(picked))
        rows = np.concatenate([np.arange(starts[c], min(starts[c] + per_chunk, starts[c + 1]))
                               for c in picked])
    else:
        rows = np.unique(np.linspace(0, X.shape[0] - 1, num=_SHIFT_SAMPLE).astype(np.intp))
    sample = np.asarray(X[rows], dtype=np.float64)
    release(X)
    # Checked here so that an inf in the sample is reported as such, not as the NaN
    # that subtracting it would make of the sums.
    assert_all_finite(sample, input_name="X")
    return sample.mean(axis=0).astype(dtype)


def randomized_modes(X, center: bool, root_weights, n_modes: int, dtype) -> Modes:
    """Leading modes by dask's randomized SVD of ``Y`` (no Gram matrix is formed)."""
    import dask
    import dask.array as da

    mean = column_means(X) if center else np.zeros(X.shape[1])
    if not is_dask_array(X):
        X = da.from_array(X, chunks=(max(1, BLOCK_BYTES // (X.shape[1] * X.itemsize)), -1))
    Y = dask_centred(X, mean.astype(dtype), root_weights, dtype)
    _, singular_values, right = da.linalg.svd_compressed(
        Y, k=n_modes, n_power_iter=2, seed=0, compute=False
    )
    total = (Y.astype(np.float64) ** 2).sum()
    singular_values, right, total = dask.compute(singular_values, right, total)
    assert_all_finite(np.asarray(total), input_name="X")  # NaN or inf anywhere reaches it
    energies = np.asarray(singular_values, dtype=np.float64) ** 2
    return Modes(energies, np.asarray(right, dtype=np.float64).T, float(total), mean, None)


def dask_centred(X, mean, root_weights, dtype):
    """``(X - mean) * root_weights`` of a dask array, lazily, in ``dtype``."""
    Y = X.astype(dtype) - mean
    return Y if root_weights is None else Y * root_weights.astype(dtype)


#: Up to this size the subset eigensolver runs on one thread: a little slower alone (38
#: against 30 ms at 784 on 2 cores), but it leaves no spinning BLAS threads behind.
_SMALL_EIGENPROBLEM = 1024


def top_eigenpairs(matrix: np.ndarray, n_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_modes`` largest eigenpairs of a symmetric matrix, in ascending order."""
    size = matrix.shape[0]
    if n_modes == size:
        energies, vectors = np.linalg.eigh(matrix)
        return energies, vectors
    # Only the eigenpairs asked for (LAPACK syevr): several times cheaper than a full
    # decomposition when few modes are wanted. scipy ships its own OpenBLAS, whose
    # threads keep spinning after a call and slow numpy's next product by ~60% here
    # (benchmarks/performance/test_pod_speed.py::test_eigh_all_threads_then_product).
    threads = 1 if size <= _SMALL_EIGENPROBLEM else None
    with BLAS.limit(limits=threads, user_api="blas"):
        return scipy.linalg.eigh(
            matrix,
            subset_by_index=(size - n_modes, size - 1),
            driver="evr",
            overwrite_a=True,
            check_finite=False,
        )


def _complete_orthonormal(basis: np.ndarray, n_extra: int) -> np.ndarray:
    """Append ``n_extra`` unit columns orthogonal to ``basis`` (deterministically)."""
    candidates = np.random.default_rng(0).standard_normal((basis.shape[0], n_extra))
    candidates -= basis @ (basis.T @ candidates)
    extra, _ = np.linalg.qr(candidates)
    return np.hstack([basis, extra])
