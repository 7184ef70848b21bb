"""The validation split of a training set, as the data's structure demands.

Rows of simulation data are not independent: snapshots of one trajectory, or of one
parameter value, are near-copies of each other, and successive snapshots of a limit
cycle repeat. A random split would then validate on rows the fit has all but seen.
Each dataset says how to hold out (``Bunch.validation``):

- ``"groups"``: whole groups of rows (``Bunch.groups_train``: a parameter value, a
  trajectory), so that no group has rows on both sides;
- ``"time block"``: the last rows in time, the way its test set is held out;
- ``"given"``: the rows the data names (``Bunch.validation_rows``: The Well's valid
  files);
- ``"rows"`` (the default): rows at random.

Only the training set is split: the test set is never part of it.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils import Bunch

#: The kinds of validation split a dataset may declare.
VALIDATION_KINDS = ("rows", "groups", "time block", "given")


def validation_split(data: Bunch, fraction: float = 0.2,
                     random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``data.X_train`` to fit on and to validate on.

    Parameters
    ----------
    data : Bunch
        A dataset from :func:`dimred.datasets.load_dataset`.
    fraction : float, default=0.2
        Share of the training rows (of the groups, for ``"groups"``) held out.
    random_state : int, default=0
        Seeds the choice of rows or groups (a time block has none).

    Returns
    -------
    fit_rows, validation_rows : ndarray of int
        Sorted and disjoint; together every training row.

    Raises
    ------
    ValueError
        For an unknown ``data.validation``, ``groups_train`` missing or of the wrong
        length, fewer than two groups, or a fraction that leaves either side empty.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must lie in (0, 1), got {fraction!r}.")
    kind = data.get("validation") or "rows"
    n_rows = data.X_train.shape[0]
    if kind == "time block":
        n_validation = _check_both_sides(fraction, n_rows, "rows")
        return np.arange(n_rows - n_validation), np.arange(n_rows - n_validation, n_rows)
    if kind == "given":  # the fraction is the data's own
        held_out = np.zeros(n_rows, dtype=bool)
        held_out[np.asarray(data.get("validation_rows"), dtype=int)] = True
        if held_out.all() or not held_out.any():
            raise ValueError("the given validation rows leave a side empty.")
        return np.flatnonzero(~held_out), np.flatnonzero(held_out)
    if kind == "groups":
        groups = np.asarray(data.get("groups_train"))
        if groups.shape != (n_rows,):
            raise ValueError(f"validation by groups needs groups_train, one label per training "
                             f"row ({n_rows}); got shape {groups.shape}.")
        _check_both_sides(fraction, len(np.unique(groups)), "groups")
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=random_state)
        fit_rows, validation_rows = next(splitter.split(np.empty((n_rows, 1)), groups=groups))
    elif kind == "rows":
        _check_both_sides(fraction, n_rows, "rows")
        splitter = ShuffleSplit(n_splits=1, test_size=fraction, random_state=random_state)
        fit_rows, validation_rows = next(splitter.split(np.empty((n_rows, 1))))
    else:
        raise ValueError(f"unknown validation split {kind!r}; one of {VALIDATION_KINDS}.")
    return np.sort(fit_rows), np.sort(validation_rows)


def _check_both_sides(fraction: float, n_units: int, units: str) -> int:
    """The number of ``units`` held out (rounded up, as scikit-learn's splitters do),
    or a ValueError when a side would be empty."""
    n_held_out = int(np.ceil(fraction * n_units))
    if not 0 < n_held_out < n_units:
        raise ValueError(f"a validation fraction of {fraction:g} of {n_units} {units} leaves "
                         "a side empty.")
    return n_held_out
