"""One cell, start to end: claim it, fit and measure, log the result, close the run.

What an executor runs is :func:`execute_cell` bound to a :class:`CellContext` (with
:func:`functools.partial`): a module-level function and a frozen dataclass of strings,
so the work pickles by reference to any process. Each process keeps one tracker per
store and one dataset cache per data folder.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
from mlflow.entities import Metric as LoggedMetric
from mlflow.entities import Param as LoggedParam
from sklearn.utils import Bunch

from dimred._plugins import local_source
from dimred.arrays._streams import is_streamed
from dimred.benchmark import _memory
from dimred.benchmark._environment import environment_tags, process_tags
from dimred.benchmark._evaluation import CellResult, fit_and_evaluate
from dimred.benchmark._model import log_estimator
from dimred.benchmark._suite import Cell
from dimred.benchmark._suite_tasks import objective_sign
from dimred.benchmark._tracking import BATCH_LIMIT, SuiteTracker, TrackingError
from dimred.benchmark._tuning import TuningResult, storage_url, tune
from dimred.contract.capabilities import shows_progress
from dimred.datasets import load_dataset, validation_split
from dimred.datasets._registry import PREPROCESSING_OPTIONS
from dimred.schema import TRIAL_KIND, Metric, Param, Tag
from dimred.tasks import build_task


@dataclass(frozen=True)
class CellContext:
    """Everything a cell needs besides itself: where to log and where the data is."""

    tracking_uri: str
    experiment: str
    parent_id: str
    data_home: str | None
    progress: bool


class DatasetCache:
    """Each dataset loaded once per process, by its options and search folder."""

    def __init__(self, data_home: str | Path | None):
        self.data_home, self._loaded = data_home, {}

    def __call__(self, options: dict, search_path: tuple[str, ...] = ()) -> Bunch:
        key = (repr(sorted(options.items())), search_path)
        if key not in self._loaded:
            options = dict(options)
            self._loaded[key] = load_dataset(options.pop("source"), data_home=self.data_home,
                                             search_path=search_path, **options)
        return self._loaded[key]


_TRACKERS: dict[tuple[str, str], SuiteTracker] = {}
_DATASETS: dict[str | None, DatasetCache] = {}


def tracker_for(tracking_uri: str, experiment: str) -> SuiteTracker:
    """This process's tracker of ``experiment`` in the store at ``tracking_uri``, which
    is made MLflow's current store (cell runs log through MLflow's active run)."""
    key = (tracking_uri, experiment)
    if key not in _TRACKERS:
        _TRACKERS[key] = SuiteTracker(tracking_uri, experiment)
    mlflow.set_tracking_uri(tracking_uri)
    return _TRACKERS[key]


def datasets_for(data_home: str | None) -> DatasetCache:
    """This process's dataset cache for ``data_home``."""
    return _DATASETS.setdefault(data_home, DatasetCache(data_home))


def forget_process_state() -> None:
    """Drop this process's trackers and datasets (an invocation ends: its data should
    not outlive it in a long-lived process)."""
    _TRACKERS.clear()
    _DATASETS.clear()


def execute_cell(context: CellContext, cell: Cell,
                 tags: dict[str, str] | None = None) -> tuple[str, str]:
    """Run ``cell`` in this process with ``context``'s store and data: the work an
    executor is handed (see :func:`run_cell` for the outcomes)."""
    data = datasets_for(context.data_home)(cell.dataset_options, cell.search_path)
    tracker = tracker_for(context.tracking_uri, context.experiment)
    return run_cell(cell, data, tracker, context.parent_id, context.progress, tags)


def run_cell(cell: Cell, data: Bunch, tracker: SuiteTracker, parent_id: str, progress: bool,
             tags: dict[str, str] | None = None) -> tuple[str, str]:
    """Claim one cell and run it into a new run of its own: ``("finished", "")``,
    ``("failed", error)``, or ``("skipped" | "running_elsewhere", "")`` when another
    process finished or holds the cell (see :meth:`SuiteTracker.claim_cell`).

    A failure inside tuning, fit or evaluation closes the run FAILED with its traceback;
    an interrupt closes it KILLED and propagates; a tracking failure (a trial's logging
    included) propagates as TrackingError.
    """
    start = time.perf_counter()
    _memory.settle()
    estimator = _on_grid(cell.build_estimator(), data)
    if shows_progress(estimator):
        estimator.set_params(verbose=progress)  # the inner training bar
    run_id, claim = tracker.claim_cell(
        parent_id, cell.run_name, cell.config_hash,
        tags={Tag.SUITE_CELL: cell.run_name, **environment_tags(), **process_tags(),
              **(tags or {})},
    )
    if run_id is None:
        return _LOST_CLAIM[claim], ""
    try:
        # Tuning sees the training set only; the test set waits for the chosen model.
        tuned = _tune(cell, data, estimator, tracker) if cell.search is not None else None
        with tracker.errors():
            mlflow.log_params(_params(cell, data, estimator))
            if tuned is not None:
                mlflow.log_metrics({Metric.TUNING_SECONDS: tuned.seconds,
                                    Metric.N_TRIALS_COMPLETE: tuned.n_complete,
                                    Metric.N_TRIALS_PRUNED: tuned.n_pruned})
                mlflow.set_tag(Tag.TUNED, json.dumps(tuned.params, sort_keys=True))
        tasks = {label: build_task(spec, cell.search_path)
                 for label, spec in cell.evaluation.get("tasks", {}).items()}
        if tasks:  # a task's own search validates on the tuning's split
            data["validation_split"] = validation_rows(cell, data)
        result = fit_and_evaluate(
            estimator, data, n_importance_samples=cell.evaluation["n_importance_samples"],
            tasks=tasks)
    except TrackingError:
        raise  # the store failed, not the cell
    except Exception as error:
        with tracker.errors():
            mlflow.log_text(traceback.format_exc(), "traceback.txt")
            mlflow.set_tag(Tag.ERROR, f"{type(error).__name__}: {error}"[:5000])
        tracker.end_cell("FAILED")
        return "failed", f"{type(error).__name__}: {error}"
    except BaseException:
        tracker.end_cell("KILLED")  # Ctrl-C: the run is closed, not left RUNNING
        raise
    claim = tracker.holds_claim(run_id, cell.config_hash)
    if claim != "won":  # a rival's claim, in flight when ours was checked, was earlier
        tracker.withdraw(run_id)
        return _LOST_CLAIM[claim], ""
    _log_result(cell, data, estimator, result, tracker, run_id)
    with tracker.errors():
        # Wall time of the whole cell: minus fit and evaluation, the runner's overhead.
        mlflow.log_metric(Metric.CELL_SECONDS, time.perf_counter() - start)
    tracker.end_cell("FINISHED")
    return "finished", ""


def _tune(cell: Cell, data: Bunch, estimator, tracker: SuiteTracker) -> TuningResult:
    """Tune ``estimator`` for ``cell`` (its remaining trials), each trial an MLflow run
    of its own, and set the chosen parameters on it. Shared across seeds, the trials run
    as the first seed's cell would run them, and are named after that cell."""
    tuning_cell = cell.tuning_cell
    objective = _objective(cell)
    scored_as, sign = Metric.VALIDATION_RELATIVE_ERROR, 1.0
    if objective is not None:  # a trial logs the task's metric as it is, not negated
        label, _, metric = cell.tuning["objective"].partition("/")
        scored_as, sign = f"{label}/validation_{metric}", objective_sign(metric)

    def log_trial(number: int, params: dict, value: float, state: str,
                  curve: list[float], seconds: float) -> None:
        now = int(time.time() * 1000)
        metrics = [LoggedMetric(Metric.VALIDATION_LOSS, float(loss), now, step)
                   for step, loss in enumerate(curve)]
        metrics.append(LoggedMetric(Metric.FIT_SECONDS, seconds, now, 0))
        if math.isfinite(value):
            metrics.append(LoggedMetric(scored_as, sign * value, now, 0))
        with tracker.errors():
            run = tracker.client.create_run(
                tracker.experiment_id, run_name=f"{tuning_cell.run_name}/trial={number}",
                tags={Tag.KIND: TRIAL_KIND, Tag.SUITE_CELL: tuning_cell.run_name,
                      Tag.TRIAL_OF: cell.study_name, Tag.TRIAL: str(number),
                      **process_tags()})
            tracker.client.log_batch(
                run.info.run_id, metrics=metrics[:BATCH_LIMIT],
                params=[LoggedParam(name, str(value)) for name, value in params.items()])
            tracker.client.set_terminated(run.info.run_id,
                                          "FINISHED" if state == "COMPLETE" else "KILLED")

    trial_estimator = (estimator if tuning_cell is cell else
                       _on_grid(tuning_cell.build_estimator(), data))
    tuned = tune(trial_estimator, data, cell.search, cell.tuning, study_name=cell.study_name,
                 storage=storage_url(tracker.uri), seed=tuning_cell.seed, log_trial=log_trial,
                 objective=objective)
    estimator.set_params(**tuned.params)
    return tuned


def _objective(cell: Cell):
    """The task metric ``cell`` is tuned for, as tuning's ``objective(model, view)``
    (minimised: a score negated), or None for the reconstruction error."""
    if not cell.tuning or "objective" not in cell.tuning:
        return None
    label, _, metric = cell.tuning["objective"].partition("/")
    task = build_task(cell.evaluation["tasks"][label], cell.search_path)
    sign = objective_sign(metric)

    def objective(model, view) -> float:
        if not task.can_run(model):
            raise ValueError(f"tuning for {label}/{metric}: {type(model).__name__} cannot "
                             f"serve task {label!r}")
        return sign * float(task.run(model, view).metrics[metric])

    return objective


def validation_rows(cell: Cell, data: Bunch) -> tuple[np.ndarray, np.ndarray]:
    """The split that tuning validates on (the first seed's, with ``per_seed = false``),
    for a task's own choices: the suite's fraction, 0.2 if it tunes nothing."""
    tuning = cell.tuning or {}
    return validation_split(data, tuning.get("validation_fraction", 0.2),
                            cell.tuning_cell.seed)


def _on_grid(estimator, data: Bunch):
    """A convolutional network that the suite left without an ``input_shape`` takes the
    dataset's grid (``field_shape``): one method table serves Burgers' 1 × 256 cells and
    the cylinder's 2 × 80 × 160 nodes."""
    params = estimator.get_params()
    if (params.get("architecture") == "conv" and params.get("input_shape", ()) is None
            and data.get("field_shape") is not None):
        estimator.set_params(input_shape=tuple(data.field_shape))
    return estimator


#: Outcome of a cell whose claim lost, by what the store held.
_LOST_CLAIM = {"finished": "skipped", "running": "running_elsewhere"}


def _params(cell: Cell, data: Bunch, estimator) -> dict:
    dataset_options = {
        f"dataset.{key}": value
        for key, value in {**cell.dataset_options, **data.get("description", {})}.items()
        if key not in PREPROCESSING_OPTIONS
    }
    schema = {
        Param.DATASET: cell.dataset,
        Param.METHOD: cell.method,
        Param.ESTIMATOR: cell.estimator,
        Param.N_COMPONENTS: cell.n_components,
        Param.SEED: cell.seed,
        Param.N_FEATURES: data.X_train.shape[1],
        **data.preprocessing,
        **dataset_options,
        **cell.evaluation,
    }
    hyperparameters = {
        # A hyper-parameter named like a schema key (a `method` option) is prefixed with
        # its class's name rather than overwrite it.
        (f"{type(estimator).__name__}.{name}" if name in schema and name != Param.N_COMPONENTS
         else name): value
        for name, value in estimator.get_params().items()
        if name != "verbose"
    }
    return {**schema, **hyperparameters}


def _mlflow_dataset(X, name: str):
    """MLflow's record of a data set: its digest hashes all of it in memory; one
    streamed from a file is named by dask's token of where it is read from instead,
    since hashing it would read it whole."""
    if not is_streamed(X):
        return mlflow.data.from_numpy(X, name=name)
    from dask.base import tokenize
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    source = CodeDatasetSource(tags={"streamed": type(X).__name__, "shape": str(X.shape)})
    return MetaDataset(source=source, name=name, digest=tokenize(X)[:8])


def _log_result(cell: Cell, data: Bunch, estimator, result: CellResult,
                tracker: SuiteTracker, run_id: str) -> None:
    with tracker.errors():
        tracker.log_values(run_id, result.metrics, result.curves, result.tags,
                           step=cell.n_components)
        for name, figure in result.figures.items():
            mlflow.log_figure(figure, f"figures/{name}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "examples.npz"
            np.savez_compressed(path, **result.examples)
            mlflow.log_artifact(str(path))
        # A dataset's digest hashes all of it (0.1 s for digits): once per invocation.
        inputs = data.setdefault("mlflow_inputs", {})
        for context, X in (("training", data.X_train), ("testing", data.X_test)):
            if context not in inputs:
                inputs[context] = _mlflow_dataset(X, f"{cell.dataset}-{context}")
        tracker.log_inputs(inputs)
        # A method defined beside the suite travels with its model, to load anywhere.
        source = local_source(type(estimator), cell.search_path)
        mlflow.set_tag(Tag.MODEL_URI, log_estimator(
            estimator, data.X_test, code_paths=[str(source)] if source else None))
