"""The report's task sections: per task a verdict table for each metric it logged, its
metrics against latent size, and its curves (the forecast error against time)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from dimred.report._plots import _errorbar, _k_axis
from dimred.report._verdicts import verdict_table
from dimred.schema import HIGHER_IS_BETTER, Param, TaskMetric

#: A task's curves (one value per step, :attr:`dimred.tasks.TaskResult.curves`) are
#: named ``*_curve``: drawn against the step, not given verdicts.
CURVE_SUFFIX = "_curve"
#: Task metrics that are costs or choices, not results: no verdict.
NOT_VERDICTS = frozenset({TaskMetric.TASK_SECONDS, TaskMetric.VALIDATION_ROM_ERROR})
#: Latent sizes drawn in a curve figure, at most (the largest): a panel each; 5 holds
#: the usual sweep, k = 1, 2, 3, 8, 20, whole.
CURVE_PANELS = 5


def task_section(rows: pd.DataFrame, dataset: str, colours: dict[str, str],
                 tracking_uri: str, emit: Callable[[Figure, str, str], list[str]]
                 ) -> list[str]:
    """Markdown lines for every task the cells of ``dataset`` logged (``TASK/metric``
    columns), figures written through ``emit(figure, file_name, alt)``."""
    columns = [c for c in rows.columns if "/" in str(c) and rows[c].notna().any()]
    lines = []
    for label in sorted({c.rpartition("/")[0] for c in columns}):
        mine = sorted(c for c in columns if c.rpartition("/")[0] == label)
        results = [c for c in mine if c.rpartition("/")[2] not in NOT_VERDICTS
                   and not c.endswith(CURVE_SUFFIX)]
        lines += [f"### Task {label}", ""]
        for column in results:
            lines += verdict_table(rows, column,
                                   higher_is_better=column.rpartition("/")[2] in HIGHER_IS_BETTER)
        if results:
            lines += emit(metrics_figure(rows, dataset, label, results, colours),
                          f"{dataset}_{label}.png", f"{dataset}: task {label} against k")
        for column in (c for c in mine if c.endswith(CURVE_SUFFIX)):
            name = column.rpartition("/")[2]
            lines += emit(curve_figure(rows, dataset, column, colours, tracking_uri),
                          f"{dataset}_{label}_{name}.png",
                          f"{dataset}: {column} against the step")
    return lines


def metrics_figure(rows: pd.DataFrame, dataset: str, label: str, metrics: list[str],
                   colours: dict[str, str]) -> Figure:
    """One panel per metric of a task against k: every method, mean ± std over seeds;
    errors on a log axis, accuracies on a linear one."""
    figure = Figure(figsize=(max(5.5, 4.2 * len(metrics)), 3.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(metrics)))
    for axis, metric in zip(axes, metrics, strict=True):
        for method, group in rows.groupby(Param.METHOD):
            _errorbar(axis, group, metric, colours[method], method)
        name = metric.rpartition("/")[2]
        if name not in HIGHER_IS_BETTER and (rows[metric] > 0).all():
            axis.set_yscale("log")
        axis.set_ylabel(f"{name} ({'higher' if name in HIGHER_IS_BETTER else 'lower'} "
                        "is better)")
        _k_axis(axis, sorted(rows[Param.N_COMPONENTS].dropna().unique()))
    figure.suptitle(f"{dataset}: task {label} against latent size\n(mean ± std over seeds)")
    return figure


def curve_figure(rows: pd.DataFrame, dataset: str, column: str, colours: dict[str, str],
                 tracking_uri: str) -> Figure:
    """A task's per-step curve (the forecast's error at each test snapshot), one panel
    per latent size (the largest few), every method's mean over seeds with its range."""
    client = MlflowClient(tracking_uri)
    ks = sorted(rows[Param.N_COMPONENTS].dropna().unique())[-CURVE_PANELS:]
    figure = Figure(figsize=(max(5.5, 4.2 * len(ks)), 3.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(ks), sharey=True))
    for axis, k in zip(axes, ks, strict=True):
        for method, group in rows[rows[Param.N_COMPONENTS] == k].groupby(Param.METHOD):
            curves = [[point.value for point in sorted(
                client.get_metric_history(run_id, column), key=lambda p: p.step)]
                for run_id in group.run_id]
            curves = [c for c in curves if c]
            if not curves:
                continue
            length = min(map(len, curves))
            values = np.array([c[:length] for c in curves])
            steps = np.arange(1, length + 1)
            axis.plot(steps, values.mean(axis=0), color=colours[method], label=method)
            axis.fill_between(steps, values.min(axis=0), values.max(axis=0),
                              color=colours[method], alpha=0.15, linewidth=0)
        axis.set_yscale("log")
        axis.set_title(f"k = {k}")
        axis.set_xlabel("steps after the last training snapshot")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel(f"{column.rpartition('/')[2]} (relative, per step)")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8)
    figure.suptitle(f"{dataset}: {column}\n(mean over seeds; shaded: their range)")
    return figure
