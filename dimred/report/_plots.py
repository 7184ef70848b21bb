"""The report's figures. Every axis says what it measures and in which unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from dimred.schema import EXACT, LOWER_BOUND, Metric, Param, Tag

#: One colour per method label, stable across figures: tab10, then the light half of
#: tab20, so that a zoo of up to 20 methods gets distinct colour-and-marker pairs.
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
            "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")


#: Markers, so that methods whose curves coincide (two exact linear methods) stay
#: distinguishable.
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
        (Metric.TEST_MSE, "test MSE per entry (log)", True),
        (None, "test log-likelihood, nats / sample", False),
        (Metric.FIT_SECONDS, "fit time, s (log)", True),
        (Metric.TRANSFORM_SAMPLES_PER_S, "transform throughput, samples/s (log)", True),
    ]
    for axis, (metric, label, log) in zip(axes, panels, strict=True):
        axis.set_ylabel(label)
        if metric is None:
            _likelihood_panel(axis, runs, colours)
        else:
            for method, rows in runs.groupby(Param.METHOD):
                _errorbar(axis, rows, metric, colours[method], method)
        if log:
            axis.set_yscale("log")
        _k_axis(axis, sorted(runs.n_components.dropna().unique()))
    # Two lines: on one, the title is wider than the figure and is cut at both ends.
    figure.suptitle(f"{dataset}: error, likelihood and cost against latent size\n"
                    "(mean ± std over seeds; methods nudged apart in k so that equal "
                    "values stay visible)")
    return figure


#: The runs' column of :attr:`Tag.LIKELIHOOD`, and how the legend names each kind.
_LIKELIHOOD_COLUMN = Tag.LIKELIHOOD.removeprefix("dimred.")
_LIKELIHOOD_LABELS = {EXACT: "exact log-likelihood", LOWER_BOUND: "ELBO"}


#: A likelihood panel whose largest magnitude exceeds this many times the median goes
#: to a symlog axis, linear within ± this many nats.
_SYMLOG_SPAN = 1000.0


def _likelihood_panel(axis, runs: pd.DataFrame, colours: dict[str, str]) -> None:
    plotted = False
    for method, rows in runs.groupby(Param.METHOD):
        if rows[Metric.TEST_ELBO].notna().any():
            kind = rows[_LIKELIHOOD_COLUMN].dropna()
            label = _LIKELIHOOD_LABELS.get(kind.iloc[0] if len(kind) else None, "score")
            _errorbar(axis, rows, Metric.TEST_ELBO, colours[method], f"{method}: {label}")
            plotted = True
        if rows[Metric.TEST_LOG_LIKELIHOOD].notna().any():
            k = rows[Param.N_IMPORTANCE_SAMPLES].dropna().iloc[0]
            _errorbar(axis, rows, Metric.TEST_LOG_LIKELIHOOD, colours[method],
                      f"{method}: IWAE k={k}", linestyle="--")
            plotted = True
    if not plotted:
        axis.text(0.5, 0.5, "no method with a likelihood", ha="center", va="center",
                  transform=axis.transAxes)
        return
    values = runs[[Metric.TEST_ELBO, Metric.TEST_LOG_LIKELIHOOD]].abs().stack()
    values = values[np.isfinite(values)]
    if len(values) and values.max() / max(values.median(), 1.0) > _SYMLOG_SPAN:
        # One method far below the rest (FactorAnalysis's per-pixel noise collapses on
        # pixels constant in training): a linear axis would flatten every other curve.
        axis.set_yscale("symlog", linthresh=_SYMLOG_SPAN, linscale=4)
        axis.set_ylabel("test log-likelihood, nats / sample (symlog)")


def latent_use_figure(runs: pd.DataFrame, dataset: str, colours: dict[str, str]) -> Figure:
    """Active units against k, beside rate and distortion against k."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    units, nats = figure.subplots(1, 2)
    ks = sorted(runs.n_components.dropna().unique())
    units.plot(ks, ks, color="0.6", linestyle=":", label="all k units active")
    for method, rows in runs.groupby(Param.METHOD):
        _errorbar(units, rows, Metric.TEST_ACTIVE_UNITS, colours[method], method)
        _errorbar(nats, rows, Metric.TEST_RATE, colours[method], f"{method}: rate")
        _errorbar(nats, rows, Metric.TEST_DISTORTION, colours[method],
                  f"{method}: distortion", linestyle="--")
    units.set_ylabel("active units (posterior-mean variance > 0.01)")
    nats.set_ylabel("nats / sample")
    for axis in (units, nats):
        _k_axis(axis, ks)
    figure.suptitle(f"{dataset}: how much of the latent space is used "
                    "(rate + distortion = −ELBO)")
    return figure


def _k_axis(axis, ks) -> None:
    """Latent size on a log2 axis ticked at the swept values; grid and legend."""
    axis.set_xlabel("latent size k")
    axis.set_xscale("log", base=2)
    axis.set_xticks(ks)
    axis.xaxis.set_major_formatter("{x:g}")
    axis.xaxis.set_minor_locator(NullLocator())
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=8)


#: Each method's points are shifted by this fraction of an octave in k per palette slot,
#: so that methods with equal values do not hide one another.
_K_OFFSET_OCTAVES = 0.04


def _errorbar(axis, rows: pd.DataFrame, metric: str, colour: str, label: str,
              linestyle: str = "-") -> None:
    stats = rows.groupby(Param.N_COMPONENTS)[metric].agg(["mean", "std"]).dropna(subset=["mean"])
    if stats.empty:
        return
    slot = _PALETTE.index(colour) if colour in _PALETTE else 0
    shift = 2.0 ** (_K_OFFSET_OCTAVES * (slot - 1.5))
    axis.errorbar(stats.index.astype(float) * shift, stats["mean"], yerr=stats["std"].fillna(0),
                  color=colour, label=label, linestyle=linestyle, marker=_marker(colour),
                  markersize=5, markerfacecolor="none", capsize=3)


#: Entries per row of a figure-wide legend: a zoo's dozen methods wrap onto two rows
#: rather than run off the figure's edge.
_LEGEND_COLUMNS = 6


def pareto_figure(runs: pd.DataFrame, colours: dict[str, str]) -> Figure:
    """Fit time against test error for every finished cell, one panel per dataset, with
    each dataset's Pareto front (no other cell is both faster and more accurate)."""
    datasets = sorted(runs.dataset.unique())
    figure = Figure(figsize=(4.6 * len(datasets), 4.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(datasets)))
    handles = {}
    for axis, dataset in zip(axes, datasets, strict=True):
        rows = runs[(runs.dataset == dataset)].dropna(subset=[Metric.FIT_SECONDS, Metric.TEST_MSE])
        front = _pareto_front(rows.fit_seconds.to_numpy(), rows.test_mse.to_numpy())
        (line,) = axis.step(rows.fit_seconds.to_numpy()[front], rows.test_mse.to_numpy()[front],
                            where="post", color="0.4", linewidth=1.5, linestyle="--",
                            zorder=1)
        handles["Pareto front"] = line
        for method, group in rows.groupby(Param.METHOD):
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
                  ncols=min(len(handles), _LEGEND_COLUMNS))
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
