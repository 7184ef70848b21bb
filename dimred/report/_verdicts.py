"""Verdicts with their uncertainty: which methods no other beats beyond the noise.

A difference between two methods counts only if it holds over the seeds they share:
a paired, one-sided t-test at 5% on the per-seed differences (seeds pair the data
order and the initialisation the suite gives both). One seed has no noise estimate, so
it gives no verdict. Every mean is shown with its 95% Student-t interval over seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from dimred.schema import Metric, Param

#: One-sided level of the paired test.
SIGNIFICANCE = 0.05
#: Coverage of the intervals shown beside every mean.
COVERAGE = 0.95
#: Relative differences below this are round-off, not a result: two linear methods that
#: reach the same subspace by two float routes differ by ~1e-8 of the error on every seed.
RESOLUTION = 1e-6


def interval_half_width(values: np.ndarray) -> float:
    """Half the width of the Student-t interval of the mean at :data:`COVERAGE`; NaN for
    fewer than two values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan
    quantile = stats.t.ppf(0.5 + COVERAGE / 2, df=len(values) - 1)
    return float(quantile * values.std(ddof=1) / math.sqrt(len(values)))


def mean_and_interval(values: pd.Series, fmt: str) -> str:
    """``mean ± half-width`` of the 95% interval (the mean alone for one value)."""
    values = values.dropna()
    if values.empty:
        return ""
    mean = fmt.format(values.mean())
    half_width = interval_half_width(values.to_numpy())
    return mean if not math.isfinite(half_width) else f"{mean} ± {half_width:.2g}"


def beats(lower: pd.Series, higher: pd.Series) -> bool:
    """Whether ``lower`` (per-seed values, indexed by seed) is below ``higher`` beyond
    the noise, over the seeds both have: a paired one-sided t-test at
    :data:`SIGNIFICANCE`. Differences without spread (two deterministic methods) count
    when every one has the same sign, and none counts below :data:`RESOLUTION`."""
    paired = pd.concat([lower, higher], axis=1, join="inner").dropna()
    if len(paired) < 2:
        return False
    differences = (paired.iloc[:, 0] - paired.iloc[:, 1]).to_numpy()
    if np.all(np.abs(differences) <= RESOLUTION * np.abs(paired.to_numpy()).max()):
        return False
    if np.all(differences == differences[0]):
        return bool(differences[0] < 0)
    return bool(stats.ttest_rel(paired.iloc[:, 0], paired.iloc[:, 1],
                                alternative="less").pvalue < SIGNIFICANCE)


def unbeaten(per_seed: dict[str, pd.Series]) -> set[str]:
    """The methods that no other method beats beyond the noise (lower is better)."""
    return {method for method, values in per_seed.items()
            if not any(beats(other, values)
                       for name, other in per_seed.items() if name != method)}


def verdict_table(rows: pd.DataFrame, metric: str = Metric.TEST_RELATIVE_ERROR,
                  fmt: str = "{:.3g}", *, higher_is_better: bool = False) -> list[str]:
    """Markdown lines: per latent size, each method's mean and 95% interval of
    ``metric`` (lower is better, unless ``higher_is_better``), with ★ on the methods no
    other beats beyond the noise; nothing when no cell logged ``metric``."""
    if metric not in rows or rows[metric].isna().all():
        return []
    rows = rows.dropna(subset=[metric])
    sign = -1 if higher_is_better else 1
    methods = sorted(rows[Param.METHOD].unique())
    n_seeds = rows.groupby([Param.METHOD, Param.N_COMPONENTS]).seed.nunique().max()
    better = "higher" if higher_is_better else "lower"
    lines = [f"Verdict on {metric} ({better} is better): mean ± the half-width of its 95% "
             "interval over seeds; ★ marks the methods that no other beats beyond the "
             f"noise (paired one-sided t-test over shared seeds, {SIGNIFICANCE:.0%})."
             + (" One seed per cell: no verdict." if n_seeds < 2 else ""), "",
             "| k | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for k, at_k in rows.groupby(Param.N_COMPONENTS, sort=True):
        per_seed = {method: group.set_index("seed")[metric]
                    for method, group in at_k.groupby(Param.METHOD)}
        best = unbeaten({method: sign * values for method, values in per_seed.items()}
                        ) if n_seeds >= 2 else set()
        cells = [mean_and_interval(per_seed[method], fmt) + (" ★" if method in best else "")
                 if method in per_seed else "" for method in methods]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return [*lines, ""]
