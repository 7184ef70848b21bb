"""Validation splits that respect the data's structure: whole groups, a block of time,
or rows; never a group on both sides, by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import Bunch

from dimred.datasets import load_dataset, validation_split


@settings(max_examples=50, deadline=None)
@given(labels=st.lists(st.integers(0, 6), min_size=4, max_size=60),
       fraction=st.floats(0.1, 0.9), seed=st.integers(0, 1000))
def test_no_group_is_ever_on_both_sides(labels, fraction, seed):
    groups = np.array(labels)
    data = Bunch(X_train=np.zeros((len(groups), 2)), validation="groups", groups_train=groups)
    n_groups = len(np.unique(groups))
    if not 0 < np.ceil(fraction * n_groups) < n_groups:
        with pytest.raises(ValueError, match="leaves a side empty"):
            validation_split(data, fraction, seed)
        return
    fit_rows, validation_rows = validation_split(data, fraction, seed)
    assert not set(groups[fit_rows]) & set(groups[validation_rows])
    assert np.array_equal(np.sort(np.r_[fit_rows, validation_rows]), np.arange(len(groups)))


def test_burgers_holds_out_whole_parameters():
    data = load_dataset("burgers", n_grid=64, n_snapshots=10)
    fit_rows, validation_rows = validation_split(data, 0.25)
    held_out = {tuple(mu) for mu in data.params_train[validation_rows]}
    kept = {tuple(mu) for mu in data.params_train[fit_rows]}
    assert len(held_out) == 4 and len(kept) == 12 and not held_out & kept
    assert len(validation_rows) == 40  # every snapshot of the 4 held-out parameters


def test_a_time_block_is_the_last_stretch_of_time():
    times = np.arange(50.0)
    data = Bunch(X_train=np.zeros((50, 3)), times_train=times, validation="time block")
    fit_rows, validation_rows = validation_split(data, 0.2)
    assert times[fit_rows].max() < times[validation_rows].min()
    assert len(validation_rows) == 10


def test_file_data_keeps_a_group_column_together(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    frame["run"] = np.repeat(np.arange(12), 5)
    frame.to_csv(tmp_path / "runs.csv", index=False)
    data = load_dataset(f"file:{tmp_path / 'runs.csv'}", group="run")
    assert data.X_train.shape[1] == 4  # the group column is no feature
    assert data.validation == "groups" and len(data.groups_train) == data.X_train.shape[0]
    fit_rows, validation_rows = validation_split(data, 0.3)
    assert not set(data.groups_train[fit_rows]) & set(data.groups_train[validation_rows])
    with pytest.raises(ValueError, match="no group column 'trial'"):
        load_dataset(f"file:{tmp_path / 'runs.csv'}", group="trial")


def test_rows_by_default_and_bad_requests_are_named():
    data = load_dataset("digits")
    fit_rows, validation_rows = validation_split(data, 0.2, random_state=1)
    # Rounded up, as scikit-learn's splitters round.
    assert len(validation_rows) == np.ceil(0.2 * data.X_train.shape[0])
    assert len(fit_rows) + len(validation_rows) == data.X_train.shape[0]
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\)"):
        validation_split(data, 1.0)
    with pytest.raises(ValueError, match="needs groups_train"):
        validation_split(Bunch(X_train=np.zeros((4, 1)), validation="groups"))
