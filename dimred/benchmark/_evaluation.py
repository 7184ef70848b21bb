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
import json
import time
import timeit
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.utils import Bunch

from dimred.arrays._streams import RunningStatistics, is_streamed, row_batches
from dimred.benchmark import _memory
from dimred.contract._reducer import UndefinedLikelihoodError
from dimred.contract.capabilities import Capabilities, capabilities
from dimred.figures import _drawing, _modal
from dimred.schema import Metric, Tag, TaskMetric
from dimred.tasks import Task

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


def fit_and_evaluate(estimator: Any, data: Bunch, *, n_importance_samples: int,
                     tasks: dict[str, Task] | None = None) -> CellResult:
    """Fit ``estimator`` on ``data.X_train`` and measure it on ``data.X_test``.

    The metrics are those of :class:`dimred.schema.Metric` that the estimator's
    capabilities allow; the fit is timed after :func:`warm_up`. Each of ``tasks`` then
    measures the fitted estimator (never refitted), logged as ``LABEL/metric``; a task
    the estimator cannot serve (no ``inverse_transform``) leaves its metrics out.
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
    chosen = {}
    for label, task in (tasks or {}).items():
        if task.can_run(estimator, can):
            start = time.perf_counter()
            measured = task.run(estimator, data)
            seconds = {TaskMetric.TASK_SECONDS: time.perf_counter() - start}
            result.metrics.update({f"{label}/{name}": float(value)
                                   for name, value in {**measured.metrics, **seconds}.items()})
            result.curves.update({f"{label}/{name}": list(map(float, curve))
                                  for name, curve in measured.curves.items()})
            if measured.chosen:
                chosen[label] = measured.chosen
    if chosen:
        result.tags[Tag.TASK_CHOSEN] = json.dumps(chosen, sort_keys=True, default=str)
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
    reconstruction behind them (None without ``inverse_transform``).

    Data streamed from a file (a memory map, a dask array) is measured a block of rows at
    a time, with the same definitions: its codes and reconstruction are those of the
    first block (for the examples and figures), and so are the latent diagnostics and
    the throughputs.
    """
    streamed = is_streamed(X_test) or is_streamed(X_train)
    first = next(row_batches(X_test)) if streamed else X_test
    codes = estimator.transform(first)
    can = capabilities(estimator, codes)
    codes_train = estimator.transform(next(row_batches(X_train)) if streamed else X_train)
    metrics: dict[str, float] = {}
    reconstruction = None
    if can.reconstructs:
        reconstruction = estimator.inverse_transform(codes)
        if streamed:
            test, train = (_reconstructed_blocks(estimator, X) for X in (X_test, X_train))
        else:
            test = [(X_test, reconstruction)]
            train = [(X_train, estimator.inverse_transform(codes_train))]
        errors = reconstruction_errors(test, X_test.shape[1])
        metrics.update({
            Metric.TRAIN_MSE: reconstruction_errors(train, X_train.shape[1]).mse,
            Metric.TEST_MSE: errors.mse,
            Metric.TEST_SSE_PER_SAMPLE: errors.sse_per_sample,
            Metric.TEST_RELATIVE_ERROR: errors.relative_error,
            Metric.TEST_EXPLAINED_VARIANCE: errors.explained_variance,
        })
        metrics[Metric.INVERSE_TRANSFORM_SAMPLES_PER_S] = samples_per_second(
            estimator.inverse_transform, codes)
    if can.counts_parameters:
        metrics[Metric.N_PARAMETERS] = estimator.n_parameters_
    if can.likelihood is not None:
        # A fit whose density does not exist (more modes than the data's rank) has no
        # likelihood to report: a blank, like any measure a method lacks.
        with contextlib.suppress(UndefinedLikelihoodError):
            metrics[Metric.TEST_ELBO] = _mean_over_rows(estimator.score_samples, X_test)
    if can.importance_weighted:
        metrics[Metric.TEST_LOG_LIKELIHOOD] = _mean_over_rows(
            partial(estimator.log_likelihood, n_importance_samples=n_importance_samples,
                    random_state=0), X_test)
    if can.latent_diagnostics:
        diagnostics = estimator.latent_diagnostics(first)
        metrics.update({Metric.TEST_ACTIVE_UNITS: diagnostics["active_units"],
                        Metric.TEST_RATE: diagnostics["rate"],
                        Metric.TEST_DISTORTION: diagnostics["distortion"]})
    metrics[Metric.TRANSFORM_SAMPLES_PER_S] = samples_per_second(estimator.transform, first)
    return can, metrics, codes_train, codes, reconstruction


@dataclass
class ReconstructionErrors:
    """Reconstruction errors of a data set, from sums over its rows."""

    #: Mean squared error per entry.
    mse: float
    #: Mean over rows of the squared error summed over features.
    sse_per_sample: float
    #: ``||X - X_hat||_F / ||X||_F``.
    relative_error: float
    #: ``1 - sum_j Var(x_j - x_hat_j) / sum_j Var(x_j)``: scikit-learn's
    #: ``explained_variance_score(multioutput="variance_weighted")``.
    explained_variance: float


def reconstruction_errors(pairs: Iterable[tuple[np.ndarray, np.ndarray]],
                          n_features: int) -> ReconstructionErrors:
    """The errors of the reconstructions in ``pairs`` of (rows, their reconstruction),
    summed block by block in float64, so that a data set streamed from a file is
    measured as one in memory is."""
    squared = energy = 0.0
    data, residuals = RunningStatistics(n_features), RunningStatistics(n_features)
    for X, reconstruction in pairs:
        X = np.asarray(X, dtype=np.float64)
        residual = X - reconstruction
        squared += float(np.einsum("ij,ij->", residual, residual))
        energy += float(np.einsum("ij,ij->", X, X))
        data.add(X)
        residuals.add(residual)
    n_samples = data.count
    # As scikit-learn: columns without variance carry no weight.
    varying = data.result().variance > 0
    total = data.result().variance[varying].sum()
    unexplained = residuals.result().variance[varying].sum()
    explained = 1 - unexplained / total if total > 0 else float(unexplained == 0)
    return ReconstructionErrors(
        mse=squared / (n_samples * n_features),
        sse_per_sample=squared / n_samples,
        relative_error=float(np.sqrt(squared / energy)),
        explained_variance=float(explained))


def _reconstructed_blocks(estimator, X) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rows, their reconstruction) for each block of a streamed ``X``."""
    for block in row_batches(X):
        yield block, estimator.inverse_transform(estimator.transform(block))


def _mean_over_rows(score_samples, X) -> float:
    """The mean of the per-row ``score_samples`` over ``X``, a block at a time."""
    total, count = 0.0, 0
    for block in row_batches(X):
        total += float(np.sum(score_samples(block), dtype=np.float64))
        count += block.shape[0]
    return total / count


def samples_per_second(function, X: np.ndarray) -> float:
    """Rows per second of ``function(X)``, after a warm-up, repeated for at least 0.2 s."""
    function(X[:WARMUP_ROWS])
    calls, seconds = timeit.Timer(lambda: function(X)).autorange()
    return calls * X.shape[0] / seconds


def _examples(estimator, data, can: Capabilities, codes_train, codes,
              reconstruction) -> dict[str, np.ndarray]:
    rows = _modal.example_rows(len(codes), EXAMPLE_ROWS,
                               spread=data.get("field_shape") is not None)
    examples = {"originals": np.asarray(data.X_test[rows])}
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
