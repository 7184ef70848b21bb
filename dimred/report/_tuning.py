"""What tuning bought: Dodge et al. (2019)'s expected best validation error after n
trials, per method, computed from the trials already run (no re-running), against the
number of trials and against the tuning time it costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def expected_best(values, n: int) -> float:
    """The expected minimum of ``n`` draws, with replacement, from ``values`` (the
    validation errors of the trials run): Dodge et al. (2019), eq. 1, for a loss.

    With the values sorted, ``v_(1) <= ... <= v_(N)``, the minimum of ``n`` draws is
    ``v_(i)`` with probability ``((N - i + 1) / N)^n - ((N - i) / N)^n``.
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    n_values = len(ordered)
    if n_values == 0 or n < 1:
        raise ValueError(f"expected_best needs values and n >= 1, got {n_values} values "
                         f"and n = {n}.")
    rank = np.arange(1, n_values + 1)
    weights = ((n_values - rank + 1) / n_values) ** n - ((n_values - rank) / n_values) ** n
    return float(weights @ ordered)


def expected_best_curves(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per method: the expected best validation error after n = 1..N trials and the
    expected seconds they take, averaged over the method's studies (each tuning: a latent
    size and seed, or a latent size whose seeds share their trials). Pruned trials count
    in the time only."""
    curves = {}
    for method, rows in trials.groupby("method"):
        per_cell = []
        for _, cell in rows.groupby("study"):
            values = cell.value.dropna().to_numpy()
            if len(values) == 0:
                continue
            mean_seconds = cell.seconds.mean()
            per_cell.append(pd.DataFrame({
                "n": np.arange(1, len(cell) + 1),
                "best": [expected_best(values, n) for n in range(1, len(cell) + 1)],
                "seconds": mean_seconds * np.arange(1, len(cell) + 1)}))
        if per_cell:
            curves[method] = pd.concat(per_cell).groupby("n").mean().reset_index()
    return curves


def tuning_figure(trials: pd.DataFrame, dataset: str, colours: dict[str, str]) -> Figure:
    """Expected best validation error against trials and against tuning seconds."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    by_trials, by_seconds = figure.subplots(1, 2, sharey=True)
    for method, curve in expected_best_curves(trials).items():
        colour = colours.get(method, "black")
        by_trials.plot(curve.n, curve.best, marker="o", color=colour, label=method)
        by_seconds.plot(curve.seconds, curve.best, marker="o", color=colour, label=method)
    by_trials.set_xlabel("tuning trials n")
    by_trials.xaxis.set_major_locator(MaxNLocator(integer=True))
    by_seconds.set_xlabel("expected tuning time of n trials, s (log)")
    by_seconds.set_xscale("log")
    by_trials.set_ylabel("expected best validation ‖X − X̂‖ / ‖X‖")
    by_trials.legend(fontsize="small")
    figure.suptitle(f"{dataset}: what tuning buys (Dodge et al. 2019)")
    return figure
