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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TextIO

import mlflow
import numpy as np
from mlflow.entities import Metric as LoggedMetric

from dimred.benchmark import _distributed, _in_process, _memory
from dimred.benchmark._cell import (
    CellContext,
    datasets_for,
    execute_cell,
    forget_process_state,
    tracker_for,
)
from dimred.benchmark._environment import environment_tags, process_tags
from dimred.benchmark._suite import Suite, SuiteError
from dimred.benchmark._suite_tasks import tasks_of
from dimred.benchmark._tracking import BATCH_LIMIT, SuiteTracker
from dimred.schema import Metric, Param, Tag
from dimred.tasks import build_task


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


def run_suite(
    suite: Suite,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    data_home: str | Path | None = None,
    only: str | Sequence[str] | None = None,
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
    only : str or list of str, default=None
        Globs over run names (``dataset/method/k=8/seed=0``): a cell runs when any
        matches.
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
        If ``only`` matches no cell, or a dataset's data cannot be loaded (a text
        column, a wrong dtype or shape, a missing key: the loader's ``ValueError``,
        ``TypeError``, ``KeyError`` or ``OSError``, said at the dataset's table's line),
        before the store is touched.
    TrackingError
        If the tracking store fails; finished cells stay logged, the current one is
        re-run next time.
    """
    try:
        return _run(suite, tracking_uri, experiment, data_home, only, dry_run, progress,
                    scheduler, out, summarise)
    finally:
        forget_process_state()


def _run(suite, tracking_uri, experiment, data_home, only, dry_run, progress, scheduler,
         out, summarise) -> SuiteSummary:
    data_home = None if data_home is None else str(data_home)
    datasets = datasets_for(data_home)
    widths = {}
    for label, options in suite.datasets.items():
        try:
            data = datasets(options, suite.search_path)
        except (ValueError, TypeError, KeyError, OSError) as error:
            # Bad data is the suite's to fix: said at its table's line, not as a bug.
            raise suite.data_error(label, error) from error
        widths[label] = data.X_train.shape[1]
        for task, spec in tasks_of(suite.tasks, label).items():
            missing = build_task(spec, suite.search_path).missing(data)
            if missing:
                raise SuiteError(f"{suite.task_lines[task]}: tasks.{task}: dataset {label!r} "
                                 f"has no {'; no '.join(missing)}. Name the datasets that do "
                                 "with datasets = [...] in the task's table.")
    every_cell = suite.cells(widths)
    patterns = [only] if isinstance(only, str) else list(only or ["*"])
    cells = [cell for cell in every_cell
             if any(fnmatch.fnmatchcase(cell.run_name, pattern) for pattern in patterns)]
    if not cells:
        examples = ", ".join(cell.run_name for cell in every_cell[:3])
        raise SuiteError(f"--only {' '.join(map(repr, patterns))} matches none of the "
                         f"suite's {len(every_cell)} cells (run names look like {examples}); "
                         "nothing was run.")
    tracker = tracker_for(tracking_uri or mlflow.get_tracking_uri(), experiment or suite.name)
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
        tags={**environment_tags(), **process_tags(), Tag.SUITE: suite.name},
        params={"suite": str(suite.path), "n_cells": len(cells), "only": " ".join(patterns),
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
    work = partial(execute_cell, CellContext(tracker.uri, tracker.experiment,
                                             summary.parent_run_id, data_home, progress))
    execute = (_in_process.execute if scheduler is None
               else partial(_distributed.execute, address=scheduler))
    try:
        outcomes = execute(to_run, work, label=suite.name, progress=progress)
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
SUMMARY_METRICS = (Metric.TEST_MSE, Metric.TEST_RELATIVE_ERROR, Metric.TEST_ELBO,
                   Metric.FIT_SECONDS)


def _log_suite_summary(tracker: SuiteTracker, parent_id: str) -> None:
    """Put the suite's result on the invocation's parent run, for someone browsing
    MLflow alone: the report (Markdown and figures) over every cell of the experiment
    so far, and its leaderboard as metrics named ``dataset/method/kK/metric``."""
    from dimred.report import write_report
    from dimred.report._runs import latest_finished, load_runs

    finished = latest_finished(load_runs(tracker.uri, [tracker.experiment]))
    means = finished.groupby([Param.DATASET, Param.METHOD, Param.N_COMPONENTS])[
        list(SUMMARY_METRICS)].mean()
    now = int(time.time() * 1000)
    metrics = [LoggedMetric(f"{dataset}/{method}/k{k}/{name}", float(value), now, 0)
               for (dataset, method, k), row in means.iterrows()
               for name, value in row.items() if np.isfinite(value)]
    with tempfile.TemporaryDirectory() as folder, tracker.errors():
        write_report(tracker.uri, [tracker.experiment], folder)
        tracker.client.log_artifacts(parent_id, folder, "report")
        for start in range(0, len(metrics), BATCH_LIMIT):
            tracker.client.log_batch(parent_id, metrics=metrics[start:start + BATCH_LIMIT])
