"""Quadratic manifolds: POD's linear code, decoded with a quadratic correction."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import Interval, StrOptions, _fit_context
from dimred.contract._reducer import ReducerMixin
from dimred.linear._pod import POD


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
    pod_ : POD
        All the training data's POD modes (the candidates, and the span of ``W``).

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
        """Fit the modes and the quadratic term on ``X`` (n_samples, n_features)."""
        X = self._validate_input(X, reset=True)
        k = self.n_components
        if k >= min(X.shape):
            raise ValueError(f"n_components={k} must be below min(n_samples, n_features) "
                             f"(n_samples = {X.shape[0]}, n_features = {X.shape[1]}): the "
                             "quadratic term needs modes left over.")
        self.pod_ = POD().fit(X.astype(np.float64))
        codes = (X.astype(np.float64) - self.pod_.mean_) @ self.pod_.components_.T
        n_modes = codes.shape[1]
        chosen = list(range(k))
        if self.basis == "greedy":
            n_candidates = min(n_modes, self.n_candidates or 2 * k + 10)
            greedy = self._greedy(codes, n_candidates)
            if self._error(codes, greedy) < self._error(codes, chosen):
                chosen = greedy
        rest = [mode for mode in range(n_modes) if mode not in chosen]
        features = quadratic_features(codes[:, chosen])
        self.feature_mean_ = features.mean(axis=0)
        left, _, right_t, ridge, self.regularization_ = _spectral(
            features - self.feature_mean_, self.regularization)
        weights = right_t.T @ (ridge[:, None] * (left.T @ codes[:, rest]))
        dtype = X.dtype
        self.basis_indices_ = np.asarray(chosen)
        self.components_ = self.pod_.components_[chosen].astype(dtype)
        self.quadratic_ = (weights @ self.pod_.components_[rest]).astype(dtype)
        self.mean_ = self.pod_.mean_.astype(dtype)
        self.n_components_ = k
        self.training_error_ = self._error(codes, chosen) / X.size
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
