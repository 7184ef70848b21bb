"""A suite's ``[tasks.NAME]`` tables: what each cell does with its codes beyond
reconstructing (see :mod:`dimred.tasks`).

::

    [tasks.rom]
    task = "parametric"        # a built-in name, or "module:Class" beside the suite
    regressor = "gpr"          # the task's own options, checked when the suite is read
    datasets = ["burgers"]     # optional: where it runs (default: every dataset)

Each task runs in every cell of its datasets, on the reducer the cell fitted, and logs
``NAME/metric`` into the cell's run. Data that cannot feed a task (no parameters, no
times) is refused before anything runs, at the task's line.

``[suite.tuning] objective = "rom/rom_error"`` (or a list, one per dataset at most)
tunes the methods of the task's datasets for that metric on the validation split
instead of the reconstruction error; the other datasets keep the reconstruction error.
"""

from __future__ import annotations

from typing import Any

from dimred.benchmark._locator import Locator
from dimred.schema import HIGHER_IS_BETTER
from dimred.tasks import build_task


def parse_tasks(tables: Any, datasets: dict, where: Locator, search_path: tuple[str, ...]
                ) -> dict[str, dict[str, Any]]:
    """The checked ``[tasks.NAME]`` tables: label -> ``{"task": spec, "datasets":
    [...], **options}``. ``where`` locates keys for the errors (a :class:`Locator`)."""
    if not isinstance(tables, dict):
        raise where.error("tasks", "tasks must be tables [tasks.NAME]")
    tasks = {}
    for label, spec in tables.items():
        table = f"tasks.{label}"
        if not isinstance(spec, dict) or not isinstance(spec.get("task"), str):
            raise where.error(label, f'{table} needs task = "parametric", "forecast", '
                              '"neighbours" or "module:Class"')
        options = dict(spec)
        restrict = options.pop("datasets", list(datasets))
        for name in restrict:
            if name not in datasets:
                raise where.error("datasets", f"{table}.datasets names unknown {name!r}",
                                  table)
        try:
            build_task(options, search_path)
        except (ImportError, TypeError, ValueError) as error:
            culprit = next((key for key in options if f"{key}" in str(error)), "task")
            raise where.error(culprit, f"{table}: {error}", table) from error
        tasks[label] = {**options, "datasets": restrict}
    return tasks


def tasks_of(tasks: dict[str, dict[str, Any]], dataset: str) -> dict[str, dict[str, Any]]:
    """The tasks that run on ``dataset``, with their options (``datasets`` left out)."""
    return {label: {key: value for key, value in spec.items() if key != "datasets"}
            for label, spec in tasks.items() if dataset in spec["datasets"]}


def parse_objectives(value: Any, tasks: dict[str, dict[str, Any]], where: Locator,
                     search_path: tuple[str, ...]) -> dict[str, str]:
    """``[suite.tuning] objective``, checked: dataset -> ``"TASK/metric"`` for each dataset
    that one of them tunes (at most one per dataset); a metric must be one the task
    declares (:attr:`dimred.tasks.Task.metrics`, where it declares any)."""
    objectives = [value] if isinstance(value, str) else value
    if not isinstance(objectives, list) or not objectives or not all(
            isinstance(objective, str) for objective in objectives):
        raise where.error("objective", 'suite.tuning.objective must be "TASK/metric" or a '
                          "list of them")
    per_dataset: dict[str, str] = {}
    for objective in objectives:
        label, _, metric = objective.partition("/")
        if label not in tasks:
            raise where.error("objective", f"suite.tuning.objective {objective!r}: no task "
                              f"{label!r}; the suite's tasks are {sorted(tasks)}")
        options = {key: value for key, value in tasks[label].items() if key != "datasets"}
        declared = build_task(options, search_path).metrics
        if not metric or (declared and metric not in declared):
            raise where.error("objective", f"suite.tuning.objective {objective!r}: task "
                              f"{label!r} measures {sorted(map(str, declared))}")
        for dataset in tasks[label]["datasets"]:
            if dataset in per_dataset:
                raise where.error("objective", f"suite.tuning.objective: {per_dataset[dataset]!r}"
                                  f" and {objective!r} both run on dataset {dataset!r}")
            per_dataset[dataset] = objective
    return per_dataset


def objective_sign(metric: str) -> float:
    """+1 for an error (minimised as it is), -1 for a score (minimised negated)."""
    return -1.0 if metric in HIGHER_IS_BETTER else 1.0


def tuning_of(tuning: dict[str, Any] | None, dataset: str) -> dict[str, Any] | None:
    """A dataset's ``[suite.tuning]``: ``objective`` the one that tunes it, or left out
    (the reconstruction error), so that a dataset no objective names keeps its hashes."""
    if tuning is None or "objective" not in tuning:
        return tuning
    tuning = dict(tuning)
    objective = tuning.pop("objective").get(dataset)
    return tuning if objective is None else {**tuning, "objective": objective}
