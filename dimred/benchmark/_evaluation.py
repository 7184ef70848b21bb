"""Fitting and measuring one estimator on one dataset, through what it can do only.

Nothing here knows a particular method: :func:`dimred.contract.capabilities.capabilities` says
which measurements apply (reconstruction errors with ``inverse_transform``, a likelihood
when ``score`` is one, importance sampling with ``log_likelihood``, samples with
``sample``, latent diagnostics with ``latent_diagnostics``, curves from
``loss_curve_``), and what a method cannot do is left out, never an error. Metric names
come from :mod:`dimred.schema`.
"""

from __future__ import annotations

import contextlib
import time
import timeit
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.metrics import explained_variance_score, mean_squared_error
from sklearn.utils import Bunch

from dimred.benchmark import _memory
from dimred.contract._reducer import UndefinedLikelihoodError
from dimred.contract.capabilities import Capabilities, capabilities
from dimred.figures import _drawing, _modal
from dimred.schema import Metric, Tag

#: Rows transformed once, untimed, before timing: first-call costs (allocations, lazy
#: initialisation, a cast copy of the network) are not throughput.
WARMUP_ROWS = 256

#: Test rows kept as examples (reconstructions, samples) for figures and reports.
EXAMPLE_ROWS = 16

#: Estimator classes this process has already fitted once (see :func:`warm_up`).
_WARMED: set[type] = set()


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

    The metrics are those of :class:`dimred.schema.Metric` that the estimator's
    capabilities allow; the fit is timed after :func:`warm_up`.
    """
    X_train, X_test = data.X_train, data.X_test
    warm_up(estimator, X_train)
    with _memory.MemoryGrowth() as fit_memory:
        start = time.perf_counter()
        estimator.fit(X_train)
        fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with _memory.MemoryGrowth() as evaluation_memory:
        can, metrics, codes_train, codes, reconstruction = _measure(
            estimator, X_train, X_test, n_importance_samples)
    metrics.update({Metric.FIT_SECONDS: fit_seconds,
                    Metric.FIT_SAMPLES_PER_S: X_train.shape[0] / fit_seconds,
                    Metric.PEAK_MEMORY_MB: fit_memory.megabytes,
                    Metric.EVALUATION_PEAK_MEMORY_MB: evaluation_memory.megabytes})

    result = CellResult(metrics={k: float(v) for k, v in metrics.items()})
    for attribute, curve in (("loss_curve_", Metric.TRAIN_LOSS),
                             ("validation_scores_", Metric.VALIDATION_SCORE)):
        if getattr(estimator, attribute, None) is not None:
            result.curves[curve] = [float(v) for v in getattr(estimator, attribute)]
    if hasattr(estimator, "device_"):
        result.tags[Tag.DEVICE] = str(estimator.device_)
    if can.likelihood is not None:
        result.tags[Tag.LIKELIHOOD] = can.likelihood
    result.examples = _examples(estimator, data, can, codes_train, codes, reconstruction)
    result.figures = _cell_figures(estimator, data, codes, result.examples)
    result.metrics[Metric.EVALUATION_SECONDS] = time.perf_counter() - start
    return result


def warm_up(estimator: Any, X: np.ndarray, n_rows: int = 64) -> None:
    """Fit a clone of ``estimator`` on ``n_rows`` rows, untimed, the first time this
    process meets its class: the first fit of a process pays one-off costs (torch's
    thread pools and kernels, lazy imports) that are not the method's and would make
    fit time fall with k. Best effort: a method that cannot fit so few rows is timed
    without it, and its real fit reports any error."""
    if type(estimator) in _WARMED:
        return
    _WARMED.add(type(estimator))
    try:
        # Its warnings are about a throwaway fit on a few rows (a network does not beat the
        # mean there); the timed fit raises its own.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone(estimator).set_params(**_quiet(estimator)).fit(X[:n_rows])
    except Exception:  # best effort, see the docstring: the timed fit reports errors
        pass


def _quiet(estimator: Any) -> dict[str, Any]:
    return {"verbose": False} if "verbose" in estimator.get_params() else {}


def _measure(estimator, X_train, X_test, n_importance_samples: int):
    """The capabilities of a fitted estimator, its metrics, and the codes and
    reconstruction behind them (None without ``inverse_transform``)."""
    codes = estimator.transform(X_test)
    can = capabilities(estimator, codes)
    codes_train = estimator.transform(X_train)
    metrics: dict[str, float] = {}
    reconstruction = None
    if can.reconstructs:
        reconstruction = estimator.inverse_transform(codes)
        metrics.update({
            Metric.TRAIN_MSE: mean_squared_error(
                X_train, estimator.inverse_transform(codes_train)),
            Metric.TEST_MSE: mean_squared_error(X_test, reconstruction),
            Metric.TEST_SSE_PER_SAMPLE: float(((X_test - reconstruction) ** 2).sum(1).mean()),
            Metric.TEST_RELATIVE_ERROR: relative_error(X_test, reconstruction),
            Metric.TEST_EXPLAINED_VARIANCE: explained_variance_score(
                X_test, reconstruction, multioutput="variance_weighted"),
        })
        metrics[Metric.INVERSE_TRANSFORM_SAMPLES_PER_S] = samples_per_second(
            estimator.inverse_transform, codes)
    if can.counts_parameters:
        metrics[Metric.N_PARAMETERS] = estimator.n_parameters_
    if can.likelihood is not None:
        # A fit whose density does not exist (more modes than the data's rank) has no
        # likelihood to report: a blank, like any measure a method lacks.
        with contextlib.suppress(UndefinedLikelihoodError):
            metrics[Metric.TEST_ELBO] = estimator.score(X_test)
    if can.importance_weighted:
        metrics[Metric.TEST_LOG_LIKELIHOOD] = float(np.mean(estimator.log_likelihood(
            X_test, n_importance_samples=n_importance_samples, random_state=0)))
    if can.latent_diagnostics:
        diagnostics = estimator.latent_diagnostics(X_test)
        metrics.update({Metric.TEST_ACTIVE_UNITS: diagnostics["active_units"],
                        Metric.TEST_RATE: diagnostics["rate"],
                        Metric.TEST_DISTORTION: diagnostics["distortion"]})
    metrics[Metric.TRANSFORM_SAMPLES_PER_S] = samples_per_second(estimator.transform, X_test)
    return can, metrics, codes_train, codes, reconstruction


def relative_error(X: np.ndarray, reconstruction: np.ndarray) -> float:
    """``||X - reconstruction||_F / ||X||_F``, accumulated in float64."""
    residual = np.asarray(X, dtype=np.float64) - reconstruction
    return float(np.sqrt(np.sum(residual**2) / np.sum(np.square(X, dtype=np.float64))))


def samples_per_second(function, X: np.ndarray) -> float:
    """Rows per second of ``function(X)``, after a warm-up, repeated for at least 0.2 s."""
    function(X[:WARMUP_ROWS])
    calls, seconds = timeit.Timer(lambda: function(X)).autorange()
    return calls * X.shape[0] / seconds


def _examples(estimator, data, can: Capabilities, codes_train, codes,
              reconstruction) -> dict[str, np.ndarray]:
    rows = _modal.example_rows(len(codes), EXAMPLE_ROWS,
                               spread=data.get("field_shape") is not None)
    examples = {"originals": data.X_test[rows]}
    if reconstruction is not None:
        examples["reconstructions"] = reconstruction[rows]
    if data.get("image_shape") is not None:
        examples["image_shape"] = np.asarray(data.image_shape)
    examples.update(_modal.field_examples(data, rows))
    if codes.shape[1] == 2 and data.get("y_test") is not None:
        examples["latent_codes"], examples["latent_labels"] = codes, np.asarray(data.y_test)
    if can.samples:
        examples["samples"] = estimator.sample(EXAMPLE_ROWS, random_state=0)
    examples.update(_modal.modal_examples(estimator, data, codes_train, codes))
    return examples


def _cell_figures(estimator, data, codes, examples) -> dict[str, Figure]:
    figures = {}
    title = f"{type(estimator).__name__}, k={codes.shape[1]}, {data.name}"
    shown = {"original": examples["originals"]}
    if "reconstructions" in examples:
        shown["reconstructed"] = examples["reconstructions"]
    if data.get("image_shape") is not None:
        figures["reconstructions.png"] = _drawing.image_rows(shown, data.image_shape,
                                                             title=title)
        if "samples" in examples:
            samples = examples["samples"]
            figures["samples.png"] = _drawing.image_rows(
                {"samples": samples[:8], "": samples[8:]}, data.image_shape,
                title=f"samples, {title}", n_columns=8)
    if data.get("field_shape") is not None:
        figures["reconstructions.png"] = _modal.snapshot_figure(examples, shown, title=title)
    figures.update(_modal.modal_figures(examples, title=title))
    if "latent_codes" in examples:
        figures["latent.png"] = _drawing.latent_scatters(
            {type(estimator).__name__: (examples["latent_codes"], examples["latent_labels"])},
            title=title)
    # No PNG of the training curves: they are logged as step metrics, which MLflow
    # charts itself, and drawing one costs a neural cell 60 ms.
    return figures
