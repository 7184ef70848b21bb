"""The report's figures. Every axis says what it measures and in which unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

#: One colour per method label, stable across figures (tab10 order).
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


#: Markers, so that methods whose curves coincide (POD and PCA) stay distinguishable.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def method_colours(methods) -> dict[str, str]:
    return {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(sorted(methods))}


def _marker(colour: str) -> str:
    return _MARKERS[_PALETTE.index(colour) % len(_MARKERS)] if colour in _PALETTE else "o"


def measures_figure(runs: pd.DataFrame, dataset: str, colours: dict[str, str]) -> Figure:
    """Four measures against latent size, all methods on each axis, error bars over seeds."""
    figure = Figure(figsize=(11, 8), layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    panels = [
        ("test_mse", "test MSE per entry (log)", True),
        (None, "test log-likelihood, nats / sample", False),
        ("fit_seconds", "fit time, s (log)", True),
        ("transform_samples_per_s", "transform throughput, samples/s (log)", True),
    ]
    for axis, (metric, label, log) in zip(axes, panels, strict=True):
        if metric is None:
            _likelihood_panel(axis, runs, colours)
        else:
            for method, rows in runs.groupby("method"):
                _errorbar(axis, rows, metric, colours[method], method)
        axis.set_xlabel("latent size k")
        axis.set_ylabel(label)
        axis.set_xscale("log", base=2)
        axis.set_xticks(sorted(runs.n_components.dropna().unique()))
        axis.xaxis.set_major_formatter("{x:g}")
        axis.xaxis.set_minor_locator(NullLocator())
        if log:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    # Two lines: on one, the title is wider than the figure and is cut at both ends.
    figure.suptitle(f"{dataset}: error, likelihood and cost against latent size\n"
                    "(mean ± std over seeds; methods nudged apart in k so that equal "
                    "values stay visible)")
    return figure


def _likelihood_panel(axis, runs: pd.DataFrame, colours: dict[str, str]) -> None:
    plotted = False
    for method, rows in runs.groupby("method"):
        estimator = rows.estimator.iloc[0]
        if rows.test_elbo.notna().any():
            label = f"{method}: exact pPCA" if estimator in ("POD", "PCA") else f"{method}: ELBO"
            _errorbar(axis, rows, "test_elbo", colours[method], label)
            plotted = True
        if rows.test_log_likelihood.notna().any():
            k = rows.n_importance_samples.dropna().iloc[0]
            _errorbar(axis, rows, "test_log_likelihood", colours[method],
                      f"{method}: IWAE k={k}", linestyle="--")
            plotted = True
    if not plotted:
        axis.text(0.5, 0.5, "no method with a likelihood", ha="center", va="center",
                  transform=axis.transAxes)


#: Each method's points are shifted by this fraction of an octave in k per palette slot,
#: so that methods with equal values (POD and PCA) do not hide one another.
_K_OFFSET_OCTAVES = 0.04


def _errorbar(axis, rows: pd.DataFrame, metric: str, colour: str, label: str,
              linestyle: str = "-") -> None:
    stats = rows.groupby("n_components")[metric].agg(["mean", "std"]).dropna(subset=["mean"])
    if stats.empty:
        return
    slot = _PALETTE.index(colour) if colour in _PALETTE else 0
    shift = 2.0 ** (_K_OFFSET_OCTAVES * (slot - 1.5))
    axis.errorbar(stats.index.astype(float) * shift, stats["mean"], yerr=stats["std"].fillna(0),
                  color=colour, label=label, linestyle=linestyle, marker=_marker(colour),
                  markersize=5, markerfacecolor="none", capsize=3)


def pareto_figure(runs: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Fit time against test error for every finished cell, one panel per dataset, with
    each dataset's Pareto front (no other cell is both faster and more accurate)."""
    datasets = sorted(runs.dataset.unique())
    figure = Figure(figsize=(4.6 * len(datasets), 4.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(datasets)))
    handles = {}
    for axis, dataset in zip(axes, datasets, strict=True):
        rows = runs[(runs.dataset == dataset)].dropna(subset=["fit_seconds", "test_mse"])
        front = _pareto_front(rows.fit_seconds.to_numpy(), rows.test_mse.to_numpy())
        (line,) = axis.step(rows.fit_seconds.to_numpy()[front], rows.test_mse.to_numpy()[front],
                            where="post", color="0.4", linewidth=1.5, linestyle="--",
                            zorder=1)
        handles["Pareto front"] = line
        for method, group in rows.groupby("method"):
            handles[method] = axis.scatter(
                group.fit_seconds, group.test_mse, color=colours[method], s=30, alpha=0.9,
                marker=_marker(colours[method]), facecolors="none", zorder=2)
            for cell in group.itertuples():
                axis.annotate(str(cell.n_components), (cell.fit_seconds, cell.test_mse),
                              textcoords="offset points", xytext=(4, 2), fontsize=6,
                              color=colours[method])
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("fit time, s (log)")
        axis.set_ylabel("test MSE per entry (log)")
        axis.set_title(dataset)
        axis.grid(alpha=0.3)
    figure.legend(list(handles.values()), list(handles), loc="outside lower center",
                  ncols=len(handles))
    figure.suptitle("Speed against accuracy: every cell, labelled by its latent size k "
                    "(lower left is better)")
    return figure


def _pareto_front(cost: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points, by increasing cost."""
    order = np.argsort(cost, kind="stable")
    front, best = [], np.inf
    for index in order:
        if error[index] < best:
            front.append(index)
            best = error[index]
    return np.array(front, dtype=int)
