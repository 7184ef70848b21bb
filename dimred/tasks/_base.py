"""What a task is: a use of a fitted reducer's codes, measured in the cell that fitted it.

A task declares what it needs (:attr:`Task.needs`: side information of the data set,
and whether the reducer must decode) and measures, in :meth:`Task.run`, the reducer the
cell already fitted: it never refits it. A user's task is a subclass named in a suite by
``module:Class``; :func:`dimred.testing.check_task` checks it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.multiclass import type_of_target

from dimred.contract.capabilities import Capabilities, capabilities

#: Side information a task may need, and the data-set keys (training, test) holding it.
SIDE_INFORMATION: dict[str, tuple[str, str]] = {
    "params": ("params_train", "params_test"),
    "times": ("times_train", "times_test"),
    "labels": ("y_train", "y_test"),
}


@dataclass
class TaskResult:
    """What a task measured: values keyed by :class:`dimred.schema.TaskMetric` names (or
    a user task's own), and curves (one value per step, named ``*_curve``: the report
    draws them against the step)."""

    metrics: dict[str, float]
    curves: dict[str, list[float]] = field(default_factory=dict)
    #: Options the task chose on a validation split (its own search), logged as JSON.
    chosen: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A use of the codes of a fitted reducer.

    A subclass sets :attr:`needs` and :attr:`decodes`, takes its options as keyword
    arguments of ``__init__`` (refusing bad ones with a ``ValueError`` or ``TypeError``,
    which a suite reports at its line), and implements :meth:`run`.
    """

    #: Side information the task reads, from :data:`SIDE_INFORMATION`.
    needs: ClassVar[tuple[str, ...]] = ()
    #: Whether it needs the reducer's ``inverse_transform``; a reducer without one gets
    #: blank metrics, as with any capability it lacks.
    decodes: ClassVar[bool] = False
    #: The names of the metrics :meth:`run` returns (a suite's tuning objective must be
    #: one of them); empty: not declared, and not checked.
    metrics: ClassVar[tuple[str, ...]] = ()

    def missing(self, data: Any) -> list[str]:
        """What ``data`` lacks that the task needs, as phrases for a message."""
        return [f"{need} ({' and '.join(SIDE_INFORMATION[need])})" for need in self.needs
                if not all(_present(data, key) for key in SIDE_INFORMATION[need])
                or (need == "labels" and not _are_classes(data))]

    def can_run(self, reducer: Any, can: Capabilities | None = None) -> bool:
        """Whether the fitted ``reducer`` offers what the task uses, by its capabilities
        (``can``, found from it when not given: pass the ones measured with its codes so
        that a decoder declared but not fitted counts as none)."""
        return not self.decodes or (can or capabilities(reducer)).reconstructs

    @abstractmethod
    def run(self, reducer: Any, data: Any) -> TaskResult:
        """Measure the fitted ``reducer`` on ``data`` (``X_train``, ``X_test`` and the
        side information of :attr:`needs`); never refit it."""

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({options})"


def _present(data: Any, key: str) -> bool:
    return data.get(key) is not None if hasattr(data, "get") else getattr(data, key, None) \
        is not None


def _are_classes(data: Any) -> bool:
    """Labels, not a time or a value: binary or multiclass targets (scikit-learn's
    ``type_of_target``); the simulations' ``y`` is their time."""
    return type_of_target(np.asarray(data["y_train"])) in ("binary", "multiclass")


def held_out(data: Any, fit_rows: np.ndarray, validation_rows: np.ndarray) -> dict[str, Any]:
    """``data`` as a task sees a validation split of its training rows: the fit rows as
    its training rows, the validation rows as its test rows, the side information
    aligned with both. A task measured on it never meets the test set (tuning for a
    task, choosing a task's own options)."""
    X = data["X_train"]
    view = {"X_train": X[fit_rows], "X_test": X[validation_rows]}
    for train_key, test_key in SIDE_INFORMATION.values():
        if _present(data, train_key):
            values = np.asarray(data[train_key])
            view[train_key], view[test_key] = values[fit_rows], values[validation_rows]
    return view
