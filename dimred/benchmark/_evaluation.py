"""Fitting and measuring one estimator on one dataset, through the shared contract only.

Nothing here knows a particular method: the likelihood comes from ``score`` when the
estimator declares ``has_likelihood``, the importance-weighted estimate from a
``log_likelihood`` method when there is one, training curves from ``loss_curve_``.
"""

from __future__ import annotations

import time
import timeit
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import explained_variance_score, mean_squared_error
from sklearn.utils import Bunch

from dimred.benchmark import _figures, _memory, _modal

#: Rows transformed once, untimed, before timing: first-call costs (allocations, lazy
#: initialisation, a cast copy of the network) are not throughput.
WARMUP_ROWS = 256

#: Test rows kept as examples (reconstructions, samples) for figures and reports.
EXAMPLE_ROWS = 16


@dataclass
class CellResult:
    """What one cell measured, ready to log."""

    metrics: dict[str, float]
    curves: dict[str, list[float]] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    #: Raw examples behind the figures, so reports can compose galleries across cells
    #: without the data or the model: ``originals`` / ``reconstructions`` (first test
    #: rows), ``latent_codes`` / ``latent_labels`` (at k = 2), ``samples`` (generative).
    examples: dict[str, np.ndarray] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def fit_and_evaluate(estimator: Any, data: Bunch, *, n_importance_samples: int) -> CellResult:
    """Fit ``estimator`` on ``data.X_train`` and measure it on ``data.X_test``.

    Metrics: ``train_mse`` / ``test_mse`` (mean squared error per entry),
    ``test_sse_per_sample`` (squared error summed over features, averaged over samples),
    ``test_relative_error`` (``||X - X_hat||_F / ||X||_F``, the measure of model
    reduction; above 1 is worse than predicting zero),
    ``test_explained_variance``, ``test_elbo`` (nats per sample; exact pPCA likelihood
    for linear methods), ``test_log_likelihood`` (importance-weighted, k =
    ``n_importance_samples``), ``fit_seconds``, ``fit_samples_per_s`` (training rows per
    second of fit), ``transform_samples_per_s``, ``inverse_transform_samples_per_s``,
    ``peak_memory_mb`` (the resident memory the fit added at its peak, above what the
    process held before; see :mod:`._memory`), ``evaluation_peak_memory_mb`` (the same
    for the metrics' computations, throughput timing included), ``n_parameters`` and
    ``evaluation_seconds`` (everything after the fit, figures included).
    """
    X_train, X_test = data.X_train, data.X_test
    with _memory.MemoryGrowth() as fit_memory:
        start = time.perf_counter()
        estimator.fit(X_train)
        fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with _memory.MemoryGrowth() as evaluation_memory:
        metrics, codes_train, codes, reconstruction = _measure(
            estimator, X_train, X_test, n_importance_samples)
    metrics.update(fit_seconds=fit_seconds, fit_samples_per_s=X_train.shape[0] / fit_seconds,
                   peak_memory_mb=fit_memory.megabytes,
                   evaluation_peak_memory_mb=evaluation_memory.megabytes)

    result = CellResult(metrics={k: float(v) for k, v in metrics.items()})
    for attribute, curve in (("loss_curve_", "train_loss"),
                             ("validation_scores_", "validation_score")):
        if getattr(estimator, attribute, None) is not None:
            result.curves[curve] = [float(v) for v in getattr(estimator, attribute)]
    if hasattr(estimator, "device_"):
        result.tags["dimred.device"] = str(estimator.device_)
    result.examples = _examples(estimator, data, codes_train, codes, reconstruction)
    result.figures = _cell_figures(estimator, data, codes, result.examples)
    result.metrics["evaluation_seconds"] = time.perf_counter() - start
    return result


def _measure(estimator, X_train, X_test, n_importance_samples: int):
    """The metrics of a fitted estimator, and the codes and reconstruction behind them."""
    codes = estimator.transform(X_test)
    reconstruction = estimator.inverse_transform(codes)
    codes_train = estimator.transform(X_train)
    metrics = {
        "train_mse": mean_squared_error(X_train, estimator.inverse_transform(codes_train)),
        "test_mse": mean_squared_error(X_test, reconstruction),
        "test_sse_per_sample": float(((X_test - reconstruction) ** 2).sum(axis=1).mean()),
        "test_relative_error": relative_error(X_test, reconstruction),
        "test_explained_variance": explained_variance_score(
            X_test, reconstruction, multioutput="variance_weighted"),
        "n_parameters": estimator.n_parameters_,
    }
    if getattr(estimator, "has_likelihood", False):
        metrics["test_elbo"] = estimator.score(X_test)
    if hasattr(estimator, "log_likelihood"):
        metrics["test_log_likelihood"] = float(np.mean(estimator.log_likelihood(
            X_test, n_importance_samples=n_importance_samples, random_state=0)))
    metrics["transform_samples_per_s"] = samples_per_second(estimator.transform, X_test)
    metrics["inverse_transform_samples_per_s"] = samples_per_second(
        estimator.inverse_transform, codes)
    return metrics, codes_train, codes, reconstruction


def relative_error(X: np.ndarray, reconstruction: np.ndarray) -> float:
    """``||X - reconstruction||_F / ||X||_F``, accumulated in float64."""
    residual = np.asarray(X, dtype=np.float64) - reconstruction
    return float(np.sqrt(np.sum(residual**2) / np.sum(np.square(X, dtype=np.float64))))


def samples_per_second(function, X: np.ndarray) -> float:
    """Rows per second of ``function(X)``, after a warm-up, repeated for at least 0.2 s."""
    function(X[:WARMUP_ROWS])
    calls, seconds = timeit.Timer(lambda: function(X)).autorange()
    return calls * X.shape[0] / seconds


def _examples(estimator, data, codes_train, codes, reconstruction) -> dict[str, np.ndarray]:
    rows = _modal.example_rows(len(codes), EXAMPLE_ROWS,
                               spread=data.get("field_shape") is not None)
    examples = {
        "originals": data.X_test[rows],
        "reconstructions": reconstruction[rows],
    }
    if data.get("image_shape") is not None:
        examples["image_shape"] = np.asarray(data.image_shape)
    examples.update(_modal.field_examples(data, rows))
    if codes.shape[1] == 2 and data.get("y_test") is not None:
        examples["latent_codes"], examples["latent_labels"] = codes, np.asarray(data.y_test)
    if hasattr(estimator, "sample"):
        examples["samples"] = estimator.sample(EXAMPLE_ROWS, random_state=0)
    examples.update(_modal.modal_examples(estimator, data, codes_train, codes))
    return examples


def _cell_figures(estimator, data, codes, examples) -> dict[str, Figure]:
    figures = {}
    title = f"{type(estimator).__name__}, k={codes.shape[1]}, {data.name}"
    if data.get("image_shape") is not None:
        figures["reconstructions.png"] = _figures.image_rows(
            {"original": examples["originals"], "reconstructed": examples["reconstructions"]},
            data.image_shape, title=title)
        if "samples" in examples:
            samples = examples["samples"]
            figures["samples.png"] = _figures.image_rows(
                {"samples": samples[:8], "": samples[8:]}, data.image_shape,
                title=f"samples, {title}", n_columns=8)
    if data.get("field_shape") is not None:
        figures["reconstructions.png"] = _modal.snapshot_figure(
            examples, {"original": examples["originals"],
                       "reconstructed": examples["reconstructions"]}, title=title)
    figures.update(_modal.modal_figures(examples, title=title))
    if "latent_codes" in examples:
        figures["latent.png"] = _figures.latent_scatters(
            {type(estimator).__name__: (examples["latent_codes"], examples["latent_labels"])},
            title=title)
    # No PNG of the training curves: they are logged as step metrics, which MLflow
    # charts itself, and drawing one costs a neural cell 60 ms.
    return figures
