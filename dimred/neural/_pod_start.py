"""The leading POD modes of the training rows, for a network that starts at POD
(``init="pod"``).

The modes are those of the rows as the network sees them: centred on the column means
and divided by the one scale of :func:`~dimred.neural.networks.set_data_units`. They are
computed in float64 from the training rows only (never the validation rows), by the
cheapest exact route: the snapshot (Gram) matrix when the rows are in memory and fewer
than the features, else the covariance accumulated over one pass. Streamed rows with
more than :data:`DENSE_LIMIT` features get a randomized subspace iteration (Halko,
Martinsson & Tropp 2011) over a few passes: accurate to the gap between the k-th and the
(k + oversampling)-th eigenvalue, not to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dimred.arrays._streams import ColumnStatistics
from dimred.neural._batches import InMemoryRows, StreamedRows

#: Widest covariance (features) accumulated densely: 8192^2 float64 is 512 MiB.
DENSE_LIMIT = 8192
#: Extra directions and passes of the randomized subspace iteration.
OVERSAMPLING, PASSES = 20, 6


@dataclass(frozen=True)
class Subspace:
    """The leading POD modes of the standardised training rows."""

    #: Shape (n_features, k): orthonormal columns.
    modes: np.ndarray
    #: Shape (k,): the variance of the rows along each mode (eigenvalue / n_samples).
    variances: np.ndarray
    #: The rows' variance summed over every direction (their mean squared norm).
    total: float
    #: The scale the centred rows were divided by (:func:`data_scale`): the data's
    #: units per standardised unit.
    unit: float

    @property
    def residual(self) -> float:
        """The mean variance per direction that the modes leave out: probabilistic
        PCA's noise variance sigma^2."""
        n_features, k = self.modes.shape
        return max(self.total - float(self.variances.sum()), 0.0) / max(n_features - k, 1)

    def leading(self, k: int) -> Subspace:
        """The first ``k`` modes."""
        return Subspace(self.modes[:, :k], self.variances[:k], self.total, self.unit)


def principal_subspace(rows: InMemoryRows | StreamedRows, statistics: ColumnStatistics,
                       scale: float, k: int, generator: torch.Generator) -> Subspace:
    """The ``k`` leading modes of ``(rows - statistics.mean) / scale``."""
    n, d = rows.n_samples, statistics.mean.shape[0]
    shift = np.asarray(statistics.mean, dtype=np.float64)
    if isinstance(rows, InMemoryRows) and n < d:
        centred = (np.asarray(rows.array, dtype=np.float64) - shift) / scale
        values, vectors = np.linalg.eigh(centred @ centred.T)
        order = np.argsort(values)[::-1][:k]
        values = np.clip(values[order], 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            modes = centred.T @ vectors[:, order] / np.sqrt(values)
        modes = np.where(np.isfinite(modes), modes, 0.0)
        total = float(np.sum(centred**2))
    elif d <= DENSE_LIMIT:
        covariance, total = np.zeros((d, d)), 0.0
        for block in _standardised(rows, shift, scale):
            covariance += block.T @ block
            total += float(np.sum(block**2))
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1][:k]
        values, modes = np.clip(values[order], 0.0, None), vectors[:, order]
    else:
        values, modes, total = _randomized(rows, shift, scale, k, generator)
    # Directions past the data's rank have no variance: they carry no code.
    modes[:, values <= values[:1].max(initial=0.0) * 1e-12] = 0.0
    return Subspace(modes, values / n, total / n, scale)


def _standardised(rows, shift: np.ndarray, scale: float):
    for batch in rows.in_order():
        yield (batch.cpu().numpy().astype(np.float64) - shift) / scale


def _randomized(rows, shift, scale, k, generator) -> tuple[np.ndarray, np.ndarray, float]:
    d = shift.shape[0]
    # The network's seed, so that a fit is repeatable with its random_state.
    basis = np.random.default_rng(generator.initial_seed()).standard_normal(
        (d, min(k + OVERSAMPLING, d)))
    for _ in range(PASSES):
        basis = np.linalg.qr(_covariance_times(rows, shift, scale, basis)[0])[0]
    product, total = _covariance_times(rows, shift, scale, basis)
    values, vectors = np.linalg.eigh(basis.T @ product)  # Rayleigh-Ritz
    order = np.argsort(values)[::-1][:k]
    return np.clip(values[order], 0.0, None), basis @ vectors[:, order], total


def _covariance_times(rows, shift, scale, basis) -> tuple[np.ndarray, float]:
    """``X^T X basis`` over one pass of the standardised rows, and ``||X||_F^2``."""
    product, total = np.zeros_like(basis), 0.0
    for block in _standardised(rows, shift, scale):
        product += block.T @ (block @ basis)
        total += float(np.sum(block**2))
    return product, total
