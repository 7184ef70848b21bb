"""Nonlinear manifolds from scikit-learn's generators, embedded in more dimensions.

A swiss roll or S-curve is a 2-D sheet curled in 3-D. Rotated into ``n_features``
dimensions by a random orthonormal map, it stays a 2-D manifold that no linear
subspace of fewer than 3 dimensions holds: the case where AE and VAE should beat POD
and PCA at small latent sizes.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_s_curve, make_swiss_roll
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state

_GENERATORS = {"swiss_roll": make_swiss_roll, "s_curve": make_s_curve}


def make_embedded_manifold(
    kind: str,
    n_samples: int = 2000,
    *,
    n_features: int = 20,
    noise: float = 0.05,
    test_fraction: float = 0.2,
    random_state: int = 0,
) -> Bunch:
    """Sample a 2-D manifold in 3-D and embed it isometrically in ``n_features`` dims.

    Parameters
    ----------
    kind : {"swiss_roll", "s_curve"}
    n_samples : int, default=2000
        Total points, before the train/test split.
    n_features : int, default=20
        Ambient dimension (at least 3).
    noise : float, default=0.05
        Standard deviation of isotropic Gaussian noise added in all ``n_features``
        dimensions, in the manifold's length units.
    test_fraction : float, default=0.2
    random_state : int, default=0
        Seeds the sampling, the embedding and the split: the data of a benchmark is
        fixed while the methods' seeds vary.

    Returns
    -------
    data : Bunch
        ``X_train`` / ``X_test`` float64 ``(n, n_features)``; ``y_train`` / ``y_test``
        the position along the manifold's main coordinate (for colouring);
        ``image_shape`` None; ``name``; ``description``.
    """
    if kind not in _GENERATORS:
        raise ValueError(f"kind must be one of {sorted(_GENERATORS)}, got {kind!r}.")
    if n_features < 3:
        raise ValueError(f"n_features must be at least 3 to hold the manifold, got {n_features}.")
    rng = check_random_state(random_state)
    points, position = _GENERATORS[kind](n_samples, noise=0.0, random_state=rng)
    # Orthonormal columns: distances on the manifold are kept exactly.
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, 3)))
    X = points @ rotation.T + noise * rng.standard_normal((n_samples, n_features))
    X_train, X_test, y_train, y_test = train_test_split(
        X, position, test_size=test_fraction, random_state=rng
    )
    return Bunch(
        name=kind,
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        image_shape=None,
        description={"ambient_dimension": n_features, "noise": noise, "intrinsic_dimension": 2},
    )
