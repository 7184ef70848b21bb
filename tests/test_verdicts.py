"""Verdicts with their uncertainty: intervals over seeds, and the methods no other beats
beyond the noise, on tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dimred.report._verdicts import beats, interval_half_width, unbeaten, verdict_table
from dimred.schema import Metric, Param


def test_the_interval_is_students():
    values = np.array([0.10, 0.12, 0.11, 0.15])
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(),
                                 scale=stats.sem(values))
    assert interval_half_width(values) == pytest.approx((high - low) / 2)
    assert np.isnan(interval_half_width(np.array([0.1])))


def _per_seed(values):
    return pd.Series(values, index=range(len(values)))


def test_a_method_beats_another_only_beyond_the_noise():
    a = _per_seed([0.10, 0.11, 0.09, 0.10])
    clearly_worse = _per_seed([0.20, 0.21, 0.19, 0.20])
    within_noise = _per_seed([0.12, 0.08, 0.11, 0.10])
    assert beats(a, clearly_worse) and not beats(clearly_worse, a)
    assert not beats(a, within_noise) and not beats(within_noise, a)
    # Paired: a shared per-seed offset is not noise between the two methods.
    shifted = a + 0.005 + np.array([0.0, 1e-4, -1e-4, 0.0])
    assert beats(a, shifted)
    # Two deterministic methods: the same difference on every seed counts.
    assert beats(_per_seed([0.1, 0.1]), _per_seed([0.2, 0.2]))
    # One shared seed has no noise estimate: no verdict.
    assert not beats(_per_seed([0.1]), _per_seed([0.9]))
    # POD and PCA: the same subspace by two float routes, 7e-10 apart on every seed
    # (the scientific suite's cylinder at k = 2). Round-off is no verdict; 1e-5 is.
    pod = _per_seed([0.0401002358051642] * 3)
    assert not beats(pod - 7e-10, pod) and not beats(pod, pod - 7e-10)
    assert unbeaten({"POD": pod, "PCA": pod - 7e-10}) == {"POD", "PCA"}
    assert beats(pod - 1e-5, pod)
    assert unbeaten({"a": a, "worse": clearly_worse, "noisy": within_noise}) == {"a", "noisy"}


def test_the_verdict_table_marks_the_unbeaten_at_each_k():
    rows = pd.DataFrame([
        {Param.METHOD: method, Param.N_COMPONENTS: k, "seed": seed,
         Metric.TEST_RELATIVE_ERROR: error}
        for k, errors in {2: {"POD": [0.3] * 3, "AE": [0.1, 0.12, 0.11]},
                          8: {"POD": [0.01] * 3, "AE": [0.05, 0.06, 0.04]}}.items()
        for method, per_seed in errors.items() for seed, error in enumerate(per_seed)])
    lines = verdict_table(rows)
    by_k = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    assert by_k["2"].count("★") == 1 and "0.11 ± 0.025 ★" in by_k["2"]
    assert by_k["8"].count("★") == 1 and "| 0.01 ± 0 ★ |" in by_k["8"]  # deterministic
    assert "no verdict" not in lines[0]
    assert "no verdict" in verdict_table(rows[rows.seed == 0])[0]


def test_the_expected_best_equals_brute_force_over_every_draw():
    from itertools import product

    from dimred.report._tuning import expected_best

    values = [0.31, 0.12, 0.5, 0.12, 0.27]
    for n in range(1, 4):
        brute = np.mean([min(draw) for draw in product(values, repeat=n)])
        assert expected_best(values, n) == pytest.approx(brute, rel=1e-12)
    assert expected_best(values, 1) == pytest.approx(np.mean(values))
    assert expected_best(values, 200) == pytest.approx(min(values), abs=1e-9)
