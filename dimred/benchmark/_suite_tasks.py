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
"""

from __future__ import annotations

from typing import Any

from dimred.benchmark._locator import Locator
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
