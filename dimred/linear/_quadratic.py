"""Quadratic manifolds: POD's linear code, decoded with a quadratic correction."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import Interval, StrOptions, _fit_context
from dimred.arrays._out_of_core import is_dask_array
from dimred.contract._reducer import ReducerMixin
from dimred.linear._blocks import BLAS, blocks, in_parallel, widest
from dimred.linear._out_of_core import centred_slab, dask_gram
from dimred.linear._pod import POD
from dimred.linear._pod_solvers import _snapshot_gram, column_means, dask_centred, gram_workers


def quadratic_features(codes: np.ndarray) -> np.ndarray:
    """The unique products ``q_i q_j`` (i <= j) of each row of ``codes``: shape
    ``(n_samples, k (k + 1) / 2)``, in the order of ``numpy.triu_indices(k)``."""
    first, second = np.triu_indices(codes.shape[1])
    return codes[:, first] * codes[:, second]


def _spectral(features: np.ndarray, regularization: float):
    """The SVD of the centred ``features`` and the ridge filter ``s / (s^2 + alpha)``,
    with ``alpha = regularization * s_max^2`` (so that the regulariser is free of the
    data's units); directions below round-off are dropped when ``alpha`` is 0."""
    left, singular, right_t = np.linalg.svd(features, full_matrices=False)
    alpha = regularization * singular[0] ** 2 if singular.size else 0.0
    kept = singular > singular[:1].max(initial=0.0) * np.finfo(float).eps * max(features.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ridge = np.where(kept, singular / (singular**2 + alpha), 0.0)
    return left, singular, right_t, ridge, alpha


def _pod_codes(X):
    """The centred ``X``'s coefficients on every one of its POD modes (float64, shape
    (n_samples, rank)), its column means, and ``times_centred(A) = A (X - mean)``.

    Wide ``X``: from the Gram matrix's eigenpairs (the method of snapshots), and the
    product one column slab at a time (a dask X: in dask's tasks). Tall ``X``: read
    whole, its modes from POD on the covariance.
    """
    n_samples, n_features = X.shape
    if n_samples > n_features:
        X = np.asarray(X, dtype=np.float64)
        pod = POD().fit(X)
        centred = X - pod.mean_
        return centred @ pod.components_.T, pod.mean_, lambda A: A @ centred
    if is_dask_array(X):
        mean = column_means(X)
        with BLAS.limit(limits=1, user_api="blas"):  # as POD's: one BLAS thread per task
            gram = dask_gram(X, mean, None, np.float64, axis=1).compute()
    else:
        gram, mean = _snapshot_gram(X, True, None, np.float64,
                                    gram_workers(X.shape, "snapshots"))
    energies, vectors = np.linalg.eigh(gram)
    energies, vectors = energies[::-1], vectors[:, ::-1]
    # Directions below the Gram matrix's round-off (rank deficiency: at most
    # n_samples - 1 after centring) are no modes.
    defined = energies > n_samples * np.finfo(np.float64).eps * max(energies[0], 0.0)
    codes = vectors[:, defined] * np.sqrt(energies[defined])

    def times_centred(A: np.ndarray) -> np.ndarray:
        if is_dask_array(X):
            return np.asarray((A @ dask_centred(X, mean, None, np.float64)).compute())
        out = np.empty((A.shape[0], n_features))

        def multiply(share: list[slice]) -> None:
            buffer = np.empty((n_samples, widest(share)))
            for cols in share:
                out[:, cols] = A @ centred_slab(X, cols, mean[cols], None, buffer)

        in_parallel(multiply, n_features, n_samples * 8)
        return out

    return codes, mean, times_centred


class QuadraticManifold(ReducerMixin, BaseEstimator):
    """Quadratic manifold: ``x ≈ x̄ + V q + W (q ⊗ q - E[q ⊗ q])`` with ``q = V^T (x - x̄)``.

    The code is POD's (``V``: ``n_components`` orthonormal modes), and the decoder adds
    a quadratic term in the code's unique products ``q_i q_j`` (i <= j), fitted in
    closed form by ridge regression of what the modes leave out (Geelen, Wright &
    Willcox 2023; Barnett & Farhat 2022). ``W = 0`` is POD, so the training error is
    never above POD's at the same ``n_components``. The quadratic term is centred on
    the training codes' mean products, so data lying exactly on a quadratic manifold
    is reconstructed to round-off. The regression is solved from the SVD of the
    quadratic features, never their Gram matrix (whose condition number would be
    squared), in float64 whatever the data's dtype.

    ``basis="greedy"`` chooses the modes of ``V`` one at a time among the leading
    ``n_candidates`` (Schwerdtner & Peherstorfer 2024), each the one that most lowers
    the quadratic manifold's training error: a mode the quadratic term of the others
    already reconstructs is left for one it cannot. Should the greedy basis end worse
    than the leading one, the leading one is kept (``basis_indices_`` says which modes).

    ``W`` lives in the span of the POD modes of the training data that ``V`` leaves
    out; with every mode (``min(n_samples, n_features)``, the default) it is the exact
    least-squares solution over all directions. opinf 0.6.0 (Operator Inference),
    where one would look for this, offers linear and POD bases only.

    Parameters
    ----------
    n_components : int, default=2
        Latent size k.
    basis : {"leading", "greedy"}, default="leading"
        POD's leading k modes, or k modes chosen greedily among ``n_candidates``.
    regularization : float, default=1e-8
        Ridge penalty on ``W``, relative to the largest squared singular value of the
        centred quadratic features (dimensionless; tuned on validation data by a suite's
        ``[methods.NAME.search]``).
    n_candidates : int, default=None
        Modes the greedy basis chooses from (None: ``min(n_modes, 2 k + 10)``).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The modes ``V``, one per row, orthonormal.
    mean_ : ndarray of shape (n_features,)
    quadratic_ : ndarray of shape (k (k + 1) / 2, n_features)
        ``W``, one row per product ``q_i q_j``, i <= j, in ``numpy.triu_indices`` order.
    feature_mean_ : ndarray of shape (k (k + 1) / 2,)
        The training codes' mean products ``E[q ⊗ q]``.
    basis_indices_ : ndarray of shape (n_components,)
        Which POD modes (0 the most energetic) ``V`` holds.
    regularization_ : float
        The absolute ridge penalty used.
    training_error_ : float
        Mean squared error per entry on the training rows.
    singular_values_ : ndarray of shape (n_modes,)
        The singular values of the centred training data: every POD mode's, the
        candidates and the span of ``W`` (n_modes = its rank).

    Examples
    --------
    >>> import numpy as np
    >>> from dimred import POD, QuadraticManifold
    >>> t = np.linspace(-1, 1, 201)[:, None]
    >>> X = np.hstack([t, t**2, np.zeros((201, 3))])   # a parabola in R^5
    >>> qm = QuadraticManifold(n_components=1, regularization=0).fit(X)
    >>> bool(qm.reconstruction_error(X) < 1e-20)       # POD at k = 1 cannot
    True
    >>> round(POD(n_components=1).fit(X).reconstruction_error(X), 4)
    0.0181
    """

    # score_samples is minus the squared error: no density, so no likelihood reported.
    has_likelihood = False

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "basis": [StrOptions({"leading", "greedy"})],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, n_components=2, *, basis="leading", regularization=1e-8,
                 n_candidates=None):
        self.n_components = n_components
        self.basis = basis
        self.regularization = regularization
        self.n_candidates = n_candidates

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None) -> QuadraticManifold:
        """Fit the modes and the quadratic term on ``X`` (n_samples, n_features).

        ``X`` may be memory-mapped or dask. Wide data (n_samples ≤ n_features, the
        snapshots of a simulation) is streamed as POD's method of snapshots streams it:
        two passes in float64 column slabs, the Gram matrix, then the chosen modes and
        ``W`` together, never a copy of ``X`` nor all its modes. Tall data is read whole
        (its codes on every mode are as large as it is).
        """
        X = self._validate_rows(X, reset=True)
        k = self.n_components
        if k >= min(X.shape):
            raise ValueError(f"n_components={k} must be below min(n_samples, n_features) "
                             f"(n_samples = {X.shape[0]}, n_features = {X.shape[1]}): the "
                             "quadratic term needs modes left over.")
        codes, mean, times_centred = _pod_codes(X)
        n_modes = codes.shape[1]
        chosen = list(range(k))
        if self.basis == "greedy":
            n_candidates = min(n_modes, self.n_candidates or 2 * k + 10)
            greedy = self._greedy(codes, n_candidates)
            if self._error(codes, greedy) < self._error(codes, chosen):
                chosen = greedy
        linear = codes[:, chosen]
        features = quadratic_features(linear)
        feature_mean = features.mean(axis=0)
        left, _, right_t, ridge, self.regularization_ = _spectral(
            features - feature_mean, self.regularization)
        # The ridge solution's map from the rows' residuals to W; the residual of X on
        # the chosen modes V is X_c - Q V, so W = M X_c - (M Q) V, and V = Λ⁻¹ Qᵀ X_c:
        # both products with the centred X in one pass.
        solve = right_t.T @ (ridge[:, None] * left.T)
        energies = np.einsum("ij,ij->j", linear, linear)
        product = times_centred(np.vstack([linear.T / energies[:, None], solve]))
        modes, quadratic = product[:k], product[k:]  # views: W is formed in place
        correction = solve @ linear
        for cols in blocks(product.shape[1], 8 * product.shape[0]):
            quadratic[:, cols] -= correction @ modes[:, cols]
        # Signs as POD's (the largest entry of each mode positive): a product q_i q_j's
        # row of W changes sign with one of its factors.
        signs = np.sign(modes[np.arange(k), np.argmax(np.abs(modes), axis=1)])
        signs[signs == 0] = 1.0
        first, second = np.triu_indices(k)
        pair_signs = signs[first] * signs[second]
        modes *= signs[:, None]
        quadratic *= pair_signs[:, None]
        dtype = X.dtype
        self.basis_indices_ = np.asarray(chosen)
        self.components_ = modes.astype(dtype)
        self.quadratic_ = quadratic.astype(dtype)
        self.feature_mean_ = feature_mean * pair_signs
        self.mean_ = mean.astype(dtype)
        self.singular_values_ = np.sqrt(np.einsum("ij,ij->j", codes, codes))
        self.n_components_ = k
        self.training_error_ = self._error(codes, chosen) / (X.shape[0] * X.shape[1])
        return self

    def _error(self, codes: np.ndarray, chosen: list[int]) -> float:
        """Squared training error of the quadratic manifold on the modes ``chosen``:
        what its ridge fit leaves of the other modes' coefficients."""
        target = np.delete(codes, chosen, axis=1)
        features = quadratic_features(codes[:, chosen])
        left, singular, _, ridge, _ = _spectral(features - features.mean(axis=0),
                                                self.regularization)
        fitted_share = ridge * singular  # s^2 / (s^2 + alpha) on each direction
        projected = np.sum((left.T @ target) ** 2, axis=1)
        return float(np.sum(target**2) - np.sum((2 * fitted_share - fitted_share**2)
                                                * projected))

    def _greedy(self, codes: np.ndarray, n_candidates: int) -> list[int]:
        chosen: list[int] = []
        for _ in range(self.n_components):
            scores = {mode: self._error(codes, [*chosen, mode])
                      for mode in range(n_candidates) if mode not in chosen}
            chosen.append(min(scores, key=scores.get))
        return chosen

    def transform(self, X: ArrayLike) -> np.ndarray:
        """POD's code of ``X``: ``V^T (x - x̄)``, shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return (X - self.mean_.astype(X.dtype)) @ self.components_.T.astype(X.dtype)

    def inverse_transform(self, Z: ArrayLike) -> np.ndarray:
        """``x̄ + V q + W (q ⊗ q - E[q ⊗ q])`` for each code ``q`` of ``Z``."""
        check_is_fitted(self)
        Z = self._validate_codes(Z)
        dtype = Z.dtype
        features = quadratic_features(Z) - self.feature_mean_.astype(dtype)
        return (self.mean_.astype(dtype) + Z @ self.components_.astype(dtype)
                + features @ self.quadratic_.astype(dtype))

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Minus the squared reconstruction error of each sample (higher is better)."""
        X = self._validate_input(X, reset=False)
        residual = X - self.inverse_transform(self.transform(X))
        return -np.sum(residual.astype(np.float64) ** 2, axis=1).astype(X.dtype)

    def _count_parameters(self) -> int:
        return self.mean_.size + self.components_.size + self.quadratic_.size
