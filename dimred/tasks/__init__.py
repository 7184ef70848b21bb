"""Tasks: what the codes are for, measured in the cell on the reducer it fitted.

One task per module (benchopt's one plugin per file): :mod:`.parametric` (a reduced-order
model at new parameters), :mod:`.forecast` (dynamics on the codes, rolled forward) and
:mod:`.neighbours` (neighbourhoods and classes). A suite names them::

    [tasks.rom]
    task = "parametric"        # a built-in name, or "my_module:MyTask"
    regressor = "rbf"          # the task's own options

A user's task subclasses :class:`Task`; :func:`dimred.testing.check_task` checks it.
"""

from __future__ import annotations

from typing import Any

from dimred._plugins import SearchPath, is_import_path, load_object
from dimred.tasks._base import SIDE_INFORMATION, Task, TaskResult, held_out
from dimred.tasks.forecast import Forecast
from dimred.tasks.neighbours import Neighbours
from dimred.tasks.parametric import Parametric

#: Built-in task name -> class.
TASKS: dict[str, type[Task]] = {"parametric": Parametric, "forecast": Forecast,
                                "neighbours": Neighbours}


def resolve_task(spec: str, search_path: SearchPath = None) -> type[Task]:
    """The task class a suite's ``task = spec`` names: a built-in name or
    ``module:Class``.

    Raises
    ------
    ValueError
        If ``spec`` is neither, or cannot be imported.
    TypeError
        If it names something that is not a :class:`Task` subclass.
    """
    if spec in TASKS:
        return TASKS[spec]
    if not is_import_path(spec):
        raise ValueError(f"unknown task {spec!r}: not one of {sorted(TASKS)}, nor "
                         "'module:Class'")
    task = load_object(spec, search_path)
    if not (isinstance(task, type) and issubclass(task, Task)):
        raise TypeError(f"{spec} is not a task: a subclass of dimred.tasks.Task")
    return task


def build_task(options: dict[str, Any], search_path: SearchPath = None) -> Task:
    """The task of a suite's ``[tasks.NAME]`` table: ``task`` and its options."""
    options = dict(options)
    return resolve_task(options.pop("task"), search_path)(**options)


__all__ = ["SIDE_INFORMATION", "TASKS", "Forecast", "Neighbours", "Parametric", "Task",
           "TaskResult", "build_task", "held_out", "resolve_task"]
