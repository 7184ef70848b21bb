"""The benchmark runner: every cell of a suite, once, logged to MLflow.

The runner knows cells, datasets and the estimator contract, never a particular method.
A cell runs as: look up its config hash (skip it if a FINISHED run has it), claim it
with a run tagged with its invocation's run, fit and measure with no MLflow call in
between, then log everything and close the run FINISHED. A cell that raises is closed
FAILED with its traceback; a process killed mid-cell leaves a RUNNING run whose pid is
dead, which the next invocation closes as KILLED and runs again.
"""

from __future__ import annotations

import fnmatch
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import mlflow
import numpy as np
from mlflow.entities import Metric
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from dimred.benchmark import _memory
from dimred.benchmark._environment import environment_tags, process_tags
from dimred.benchmark._evaluation import CellResult, fit_and_evaluate
from dimred.benchmark._model import log_estimator
from dimred.benchmark._suite import Cell, Suite, SuiteError
from dimred.benchmark._tracking import BATCH_LIMIT, SuiteTracker
from dimred.datasets import load_dataset
from dimred.datasets._registry import PREPROCESSING_OPTIONS


@dataclass
class SuiteSummary:
    """What an invocation did, cell by cell."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)
    running_elsewhere: list[str] = field(default_factory=list)
    parent_run_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def report(self) -> str:
        lines = [
            f"{len(self.finished)} cell(s) run, {len(self.skipped)} skipped (already "
            f"FINISHED), {len(self.failed)} failed."
        ]
        if self.killed:
            lines.append(f"Closed {len(self.killed)} run(s) left RUNNING by a dead process "
                         "as KILLED: " + ", ".join(self.killed))
        if self.running_elsewhere:
            lines.append("Left to the live process running them: "
                         + ", ".join(self.running_elsewhere))
        lines += [f"FAILED {name}: {error}" for name, error in self.failed.items()]
        return "\n".join(lines)


class DatasetCache:
    """Each dataset loaded once per invocation, by its options."""

    def __init__(self, data_home: str | Path | None):
        self.data_home, self._loaded = data_home, {}

    def __call__(self, options: dict) -> Bunch:
        key = repr(sorted(options.items()))
        if key not in self._loaded:
            options = dict(options)
            self._loaded[key] = load_dataset(options.pop("source"), data_home=self.data_home,
                                             **options)
        return self._loaded[key]


def run_suite(
    suite: Suite,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    data_home: str | Path | None = None,
    only: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
    out: TextIO | None = None,
    summarise: bool = True,
) -> SuiteSummary:
    """Run every cell of ``suite`` that has no FINISHED run yet.

    Parameters
    ----------
    suite : Suite
    tracking_uri : str, default=None
        MLflow tracking URI; None uses MLflow's default (``$MLFLOW_TRACKING_URI``, else
        ``sqlite:///mlflow.db`` in the working folder).
    experiment : str, default=None
        Experiment name; None uses the suite's name.
    data_home : str or Path, default=None
        Folder holding ``mnist/``, ``fashion_mnist/``, ... (see ``get_data_home``).
    only : str, default=None
        Glob over run names (``dataset/method/k=8/seed=0``) selecting the cells to run.
    dry_run : bool, default=False
        List the cells and whether each is done; run and change nothing.
    progress : bool, default=True
        Progress bars: one over cells with ETA, and inner bars while networks train.
    scheduler : str, default=None
        None runs the cells here, one after the other. ``"local:N"`` (or ``"local"``)
        starts a Dask LocalCluster of N single-threaded worker processes, each pinned to
        its share of the cores; any other value is the address of a running Dask
        scheduler (``tcp://host:8786``). Workers log to the same tracking URI, which
        must then be reachable from them: a tracking server, or a SQLite file on a
        shared disk for workers on this host.
    out : text stream, default=None
        Where ``dry_run`` lists the cells; None is standard output.
    summarise : bool, default=True
        Log the experiment's report (``report/README.md`` and its figures) and its
        leaderboard metrics on this invocation's parent run.

    Returns
    -------
    summary : SuiteSummary

    Raises
    ------
    SuiteError
        If ``only`` matches no cell (before the store is touched).
    TrackingError
        If the tracking store fails; finished cells stay logged, the current one is
        re-run next time.
    """
    datasets = DatasetCache(data_home)
    widths = {label: datasets(options).X_train.shape[1]
              for label, options in suite.datasets.items()}
    every_cell = suite.cells(widths)
    cells = [cell for cell in every_cell
             if only is None or fnmatch.fnmatchcase(cell.run_name, only)]
    if not cells:
        examples = ", ".join(cell.run_name for cell in every_cell[:3])
        raise SuiteError(f"--only {only!r} matches none of the suite's {len(every_cell)} "
                         f"cells (run names look like {examples}); nothing was run.")
    tracker = SuiteTracker(tracking_uri or mlflow.get_tracking_uri(), experiment or suite.name)
    _memory.settle()  # the one full collection, before the cells: see _memory.settle
    summary = SuiteSummary()
    if dry_run:
        records, _ = tracker.index(recover=False)
        for cell in cells:
            record = records.get(cell.config_hash)
            state = ("done" if record and record.finished else
                     "running" if record and record.running_elsewhere else "to run")
            print(f"[{state:>7}] {cell.run_name}  {cell.config_hash[:12]}", file=out or sys.stdout)
        return summary

    records, summary.killed = tracker.index(recover=True)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    summary.parent_run_id = tracker.start_parent(
        f"{suite.name} {started}",
        tags={**environment_tags(), **process_tags(), "dimred.suite": suite.name},
        params={"suite": str(suite.path), "n_cells": len(cells), "only": only or "*",
                "scheduler": scheduler or "in-process"},
    )
    to_run = []
    for cell in cells:
        record = records.get(cell.config_hash)
        if record and record.finished:
            summary.skipped.append(cell.run_name)
        elif record and record.running_elsewhere:
            summary.running_elsewhere.append(cell.run_name)
        else:
            to_run.append(cell)
    status = "KILLED"
    try:
        if scheduler is None:
            outcomes = _run_in_process(to_run, datasets, tracker, summary.parent_run_id,
                                       suite.name, progress)
        else:
            from dimred.benchmark._distributed import run_on_dask

            outcomes = run_on_dask(to_run, scheduler, run_cell, DatasetCache, tracker,
                                   summary.parent_run_id, data_home, suite.name, progress)
        for cell in to_run:
            outcome, message = outcomes[cell.run_name]
            if outcome == "finished":
                summary.finished.append(cell.run_name)
            elif outcome == "failed":
                summary.failed[cell.run_name] = message
            elif outcome == "skipped":
                summary.skipped.append(cell.run_name)
            else:
                summary.running_elsewhere.append(cell.run_name)
        status = "FINISHED" if summary.ok else "FAILED"
        if summarise:
            _log_suite_summary(tracker, summary.parent_run_id)
    finally:
        tracker.end_parent(summary.parent_run_id, status)
    return summary


#: Leaderboard metrics logged on the parent run, per dataset, method and k.
SUMMARY_METRICS = ("test_mse", "test_relative_error", "test_elbo", "fit_seconds")


def _log_suite_summary(tracker: SuiteTracker, parent_id: str) -> None:
    """Put the suite's result on the invocation's parent run, for someone browsing
    MLflow alone: the report (Markdown and figures) over every cell of the experiment
    so far, and its leaderboard as metrics named ``dataset/method/kK/metric``."""
    from dimred.report import write_report
    from dimred.report._runs import load_runs

    runs = load_runs(tracker.uri, [tracker.experiment])
    finished = runs[runs.status == "FINISHED"]
    means = finished.groupby(["dataset", "method", "n_components"])[list(SUMMARY_METRICS)].mean()
    now = int(time.time() * 1000)
    metrics = [Metric(f"{dataset}/{method}/k{k}/{name}", float(value), now, 0)
               for (dataset, method, k), row in means.iterrows()
               for name, value in row.items() if np.isfinite(value)]
    with tempfile.TemporaryDirectory() as folder, tracker.errors():
        write_report(tracker.uri, [tracker.experiment], folder)
        tracker.client.log_artifacts(parent_id, folder, "report")
        for start in range(0, len(metrics), BATCH_LIMIT):
            tracker.client.log_batch(parent_id, metrics=metrics[start:start + BATCH_LIMIT])


def _run_in_process(cells, datasets, tracker, parent_id, name, progress) -> dict:
    outcomes = {}
    bar = tqdm(cells, desc=name, unit="cell", disable=not progress)
    for cell in bar:
        bar.set_postfix_str(cell.run_name)
        outcomes[cell.run_name] = run_cell(cell, datasets(cell.dataset_options), tracker,
                                           parent_id, progress)
    return outcomes


def run_cell(cell: Cell, data: Bunch, tracker: SuiteTracker, parent_id: str, progress: bool,
             tags: dict[str, str] | None = None) -> tuple[str, str]:
    """Claim one cell and run it into a new run of its own: ``("finished", "")``,
    ``("failed", error)``, or ``("skipped" | "running_elsewhere", "")`` when another
    process finished or holds the cell (see :meth:`SuiteTracker.claim_cell`).

    A failure inside fit or evaluation closes the run FAILED with its traceback; an
    interrupt closes it KILLED and propagates; a tracking failure propagates as
    TrackingError.
    """
    start = time.perf_counter()
    _memory.settle()
    estimator = cell.build_estimator()
    if "verbose" in estimator.get_params():
        estimator.set_params(verbose=progress)  # the inner training bar
    run_id, claim = tracker.claim_cell(
        parent_id, cell.run_name, cell.config_hash,
        tags={"dimred.suite_cell": cell.run_name, **environment_tags(), **process_tags(),
              **(tags or {})},
    )
    if run_id is None:
        return _LOST_CLAIM[claim], ""
    with tracker.errors():
        mlflow.log_params(_params(cell, data, estimator))
    try:
        result = fit_and_evaluate(
            estimator, data, n_importance_samples=cell.evaluation["n_importance_samples"]
        )
    except Exception as error:
        with tracker.errors():
            mlflow.log_text(traceback.format_exc(), "traceback.txt")
            mlflow.set_tag("dimred.error", f"{type(error).__name__}: {error}"[:5000])
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
        mlflow.log_metric("cell_seconds", time.perf_counter() - start)
    tracker.end_cell("FINISHED")
    return "finished", ""


#: Outcome of a cell whose claim lost, by what the store held.
_LOST_CLAIM = {"finished": "skipped", "running": "running_elsewhere"}


def _params(cell: Cell, data: Bunch, estimator) -> dict:
    dataset_options = {
        f"dataset.{key}": value
        for key, value in {**cell.dataset_options, **data.get("description", {})}.items()
        if key not in PREPROCESSING_OPTIONS
    }
    schema = {
        "dataset": cell.dataset,
        "method": cell.method,
        "estimator": cell.estimator,
        "n_components": cell.n_components,
        "seed": cell.seed,
        "n_features": data.X_train.shape[1],
        **data.preprocessing,
        **dataset_options,
        **cell.evaluation,
    }
    hyperparameters = {
        # A hyper-parameter named like a schema key (POD's `method`) is prefixed with the
        # estimator's name rather than overwrite it.
        (f"{cell.estimator}.{name}" if name in schema and name != "n_components" else name): value
        for name, value in estimator.get_params().items()
        if name != "verbose"
    }
    return {**schema, **hyperparameters}


def _log_result(cell: Cell, data: Bunch, estimator, result: CellResult,
                tracker: SuiteTracker, run_id: str) -> None:
    with tracker.errors():
        tracker.log_values(run_id, result.metrics, result.curves, result.tags)
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
                inputs[context] = mlflow.data.from_numpy(X, name=f"{cell.dataset}-{context}")
        tracker.log_inputs(inputs)
        mlflow.set_tag("dimred.model_uri", log_estimator(estimator, data.X_test))
