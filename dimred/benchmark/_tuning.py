"""Tuning inside a suite: every method with a search space gets the same number of
Optuna trials, fitted on the training rows minus a validation split that respects the
data's structure, scored on that split; the best is refitted on the whole training set
and only that model meets the test set.

A suite declares the budget once and each method its space::

    [suite.tuning]
    n_trials = 16            # the same for every method that has a search space
    sampler = "tpe"          # or "random", or "grid" (every combination of choices)
    pruner = "median"        # or "none": stop a trial whose validation loss lags
    validation_fraction = 0.2

    [methods.mine.search]
    learning_rate = { low = 1e-4, high = 1e-2, log = true }
    hidden_layer_sizes = { choices = [[256, 64], [512, 128]] }

Trials live in Optuna's storage beside the MLflow store (``optuna.db``), one study per
cell, so that a cell resumed after its process died redoes no completed trial. Each
trial is also an MLflow run (``dimred.kind = trial``) tagged with its cell.

``per_seed = false`` tunes once per dataset, method and latent size instead: the trials
run at the suite's first seed, in one study that every seed's cell shares, and each seed
refits the chosen parameters. Cells of one study may run at once (two invocations, Dask
workers): a trial starts only while fewer than ``n_trials`` live or finished trials
precede it, so the study holds exactly ``n_trials``, and a cell whose study is full
waits for the last trials to end. A trial whose process died is failed and replaced.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch

from dimred.arrays._streams import relative_error
from dimred.benchmark._environment import process_alive, process_tags
from dimred.datasets import validation_split
from dimred.schema import Tag
from dimred.tasks import held_out

#: Keys of ``[suite.tuning]`` and their defaults.
TUNING_DEFAULTS = {"n_trials": 16, "sampler": "tpe", "pruner": "median",
                   "validation_fraction": 0.2}
#: Optional keys, absent unless set (so that the cells of older suites keep their hashes).
TUNING_OPTIONAL = {"per_seed", "objective"}
#: How often a waiting cell looks at its study again, s; Optuna's trial heartbeat, s, and
#: the silence after which another host's trial counts as dead.
POLL_SECONDS, HEARTBEAT_SECONDS, GRACE_SECONDS = 2.0, 30, 120
SAMPLERS, PRUNERS = ("tpe", "random", "grid"), ("median", "none")


def check_tuning(table: Any) -> dict[str, Any]:
    """``[suite.tuning]`` with its defaults, or a ``(key, message)`` ValueError."""
    if not isinstance(table, dict):
        raise ValueError("tuning", "suite.tuning must be a table")
    for key in set(table) - set(TUNING_DEFAULTS) - TUNING_OPTIONAL:
        raise ValueError(key, f"unknown key suite.tuning.{key}; expected one of "
                              f"{sorted(set(TUNING_DEFAULTS) | TUNING_OPTIONAL)}")
    tuning = {**TUNING_DEFAULTS, **table}
    if not isinstance(tuning.get("per_seed", True), bool):
        raise ValueError("per_seed", "suite.tuning.per_seed must be true or false")
    n_trials = tuning["n_trials"]
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError("n_trials", f"suite.tuning.n_trials must be an int ≥ 1, got {n_trials!r}")
    if tuning["sampler"] not in SAMPLERS:
        raise ValueError("sampler", f"suite.tuning.sampler must be one of {SAMPLERS}")
    if tuning["pruner"] not in PRUNERS:
        raise ValueError("pruner", f"suite.tuning.pruner must be one of {PRUNERS}")
    fraction = tuning["validation_fraction"]
    if not isinstance(fraction, float) or not 0 < fraction < 1:
        raise ValueError("validation_fraction",
                         "suite.tuning.validation_fraction must be a float in (0, 1)")
    return tuning


def check_search(table: Any, estimator_class: type, fixed: dict[str, Any],
                 label: str) -> dict[str, dict[str, Any]]:
    """A method's search space, checked before anything runs: every key a parameter the
    suite may set and not fixed beside it, every range non-empty, every choice and both
    ends of every range accepted by the estimator. Raises ``ValueError(key, message)``;
    :func:`check_grid` checks a space against the grid sampler."""
    table_name = f"methods.{label}.search"
    if not isinstance(table, dict) or not table:
        raise ValueError("search", f"{table_name} must be a non-empty table")
    valid = clone(estimator_class()).get_params()
    space = {}
    for name, spec in table.items():
        if name not in valid or name in ("n_components", "random_state"):
            raise ValueError(name, f"{table_name}.{name} is not a parameter of "
                                   f"{estimator_class.__name__} that tuning may set")
        if name in fixed:
            raise ValueError(name, f"{table_name}.{name} is also fixed in methods.{label}")
        space[name] = _check_dimension(name, spec, table_name)
        for value in _ends(space[name]):
            _validate(estimator_class, {**fixed, name: value}, name, table_name)
    return space


def check_grid(space: dict[str, dict[str, Any]], label: str) -> None:
    """The grid sampler takes choices only: ``ValueError(key, message)`` for a range."""
    for name, dimension in space.items():
        if "choices" not in dimension:
            raise ValueError(name, f"methods.{label}.search.{name}: sampler = \"grid\" needs "
                                   "choices, not a range")


def _check_dimension(name: str, spec: Any, table_name: str) -> dict[str, Any]:
    where = f"{table_name}.{name}"
    if not isinstance(spec, dict):
        raise ValueError(name, f"{where} must be a table: {{ low, high[, log] }} or {{ choices }}")
    if "choices" in spec:
        if set(spec) != {"choices"} or not isinstance(spec["choices"], list) or not spec["choices"]:
            raise ValueError(name, f"{where}: choices must be a non-empty list, alone")
        return {"choices": spec["choices"]}
    if set(spec) - {"low", "high", "log"} or not {"low", "high"} <= set(spec):
        raise ValueError(name, f"{where} needs low and high (and optionally log)")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not isinstance(log, bool):
        raise ValueError(name, f"{where}: low and high must be numbers, log a boolean")
    if not low < high:
        raise ValueError(name, f"{where} is an empty range: low = {low} is not below "
                               f"high = {high}")
    if log and low <= 0:
        raise ValueError(name, f"{where}: a log range needs low > 0, got {low}")
    integer = isinstance(low, int) and isinstance(high, int)
    return {"low": low, "high": high, "log": log, "int": integer}


def _ends(dimension: dict[str, Any]) -> list[Any]:
    return dimension["choices"] if "choices" in dimension else [dimension["low"],
                                                                dimension["high"]]


def _validate(estimator_class: type, params: dict, name: str, table_name: str) -> None:
    from dimred._sklearn_compat import validate_parameters

    try:
        validate_parameters(estimator_class(**params))
    except (TypeError, ValueError) as error:
        raise ValueError(name, f"{table_name}.{name}: {error}") from error


def suggest(trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The trial's parameters, drawn from ``space``."""
    params = {}
    for name, dimension in space.items():
        if "choices" in dimension:
            # Optuna's choices must be scalars: draw an index, return the value.
            index = trial.suggest_categorical(name, list(range(len(dimension["choices"]))))
            params[name] = dimension["choices"][index]
        elif dimension["int"]:
            params[name] = trial.suggest_int(name, dimension["low"], dimension["high"],
                                             log=dimension["log"])
        else:
            params[name] = trial.suggest_float(name, dimension["low"], dimension["high"],
                                               log=dimension["log"])
    return params


def storage_url(tracking_uri: str) -> str:
    """Optuna's storage beside a SQLite MLflow store; ``optuna.db`` in the working folder
    beside any other store."""
    if tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
        return f"sqlite:///{database.with_name('optuna.db')}"
    return f"sqlite:///{Path('optuna.db').resolve()}"


@dataclass
class TuningResult:
    """What tuning chose and what it cost."""

    params: dict[str, Any]
    n_complete: int
    n_pruned: int
    seconds: float


def tune(estimator: Any, data: Bunch, space: dict, tuning: dict, *, study_name: str,
         storage: str, seed: int,
         log_trial: Callable[..., None] = lambda *trial: None,
         objective: Callable[[Any, dict], float] | None = None) -> TuningResult:
    """Run the cell's remaining trials and return the chosen parameters.

    Trials fit a clone of ``estimator`` on the training rows outside the validation
    split and score it by the relative error ‖X − X̂‖ / ‖X‖ on the split (the test set
    is not touched). An estimator whose ``fit`` takes an ``epoch_callback`` reports its
    validation loss every epoch, so that the pruner can stop a lagging trial, and the
    chosen parameters include the epochs that validation chose (``max_epochs``).
    ``log_trial(trial_number, params, value, state, curve, fit_seconds)`` records each
    trial.

    ``objective(model, view)``, where given, scores a trial instead: a task's metric on
    the split as :func:`dimred.tasks.held_out` views it (minimised: a score comes
    negated). The validation loss then only chooses the epochs, and prunes nothing.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fit_rows, validation_rows = validation_split(data, tuning["validation_fraction"], seed)
    X_fit, X_validation = data.X_train[fit_rows], data.X_train[validation_rows]
    sampler = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        # Choices are drawn as indices (see suggest): the grid is every index.
        "grid": lambda: optuna.samplers.GridSampler(
            {name: list(range(len(dimension["choices"])))
             for name, dimension in space.items()}, seed=seed),
    }[tuning["sampler"]]()
    pruner = (optuna.pruners.MedianPruner(n_warmup_steps=5) if tuning["pruner"] == "median"
              else optuna.pruners.NopPruner())
    with _stable_enough():
        # A trial whose process died is queued again with its parameters (and its grid
        # point): else a grid sampler counts the dead trial's point as visited and spends
        # the budget on a repeat of another, so the killed point is never scored.
        storage = optuna.storages.RDBStorage(
            storage, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback())
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler,
                                pruner=pruner, direction="minimize", load_if_exists=True)
    per_epoch = "epoch_callback" in inspect.signature(estimator.fit).parameters
    n_trials = tuning["n_trials"]
    tries = surplus = 0

    def run_trial(trial) -> float:
        nonlocal surplus
        for name, value in process_tags().items():  # so that a rival can tell it is alive
            trial.set_user_attr(name, value)
        if _live_before(study, trial.number) >= n_trials:
            surplus += 1
            raise _Surplus  # a rival started the last trial first
        params = suggest(trial, space)
        model = clone(estimator).set_params(**params)
        curve: list[float] = []

        def report(epoch: int, loss: float) -> None:
            curve.append(loss)
            if objective is not None:
                return  # a lagging loss says little of the task: nothing is pruned
            trial.report(loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned

        start = time.perf_counter()
        try:
            # A trial's warnings (a short budget that stops early) are not the cell's.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if per_epoch:
                    model.fit(X_fit, X_validation=X_validation, epoch_callback=report)
                else:
                    model.fit(X_fit)
        except optuna.TrialPruned:
            log_trial(trial.number, params, math.nan, "PRUNED", curve,
                      time.perf_counter() - start)
            raise
        if curve:
            trial.set_user_attr("best_epochs", int(np.argmin(curve)) + 1)
        seconds = time.perf_counter() - start
        if objective is None:
            value = relative_error(X_validation,
                                   model.inverse_transform(model.transform(X_validation)))
        else:
            value = objective(model, held_out(data, fit_rows, validation_rows))
        log_trial(trial.number, params, value, "COMPLETE", curve, seconds)
        return value

    while tries - surplus < n_trials:  # bounds a study whose every trial errors
        _fail_dead(study, storage)
        finished, running = len(_finished(study)), len(_running(study))
        if finished >= n_trials:
            break
        if finished + running >= n_trials:
            time.sleep(POLL_SECONDS)  # the last trials are a rival's: wait for them
            continue
        # One trial at a time, so that the count is read again before each.
        study.optimize(run_trial, n_trials=1, catch=(FloatingPointError, _Surplus))
        tries += 1
    done = _finished(study)
    complete = [t for t in done if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"tuning found no trial that completed in {len(done)} tries")
    best = min(complete, key=lambda t: (t.value, t.number))
    params = {name: (space[name]["choices"][value] if "choices" in space[name] else value)
              for name, value in best.params.items()}
    if "best_epochs" in best.user_attrs:
        params["max_epochs"] = best.user_attrs["best_epochs"]
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in done
                  if t.datetime_complete is not None and t.datetime_start is not None)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in done)
    return TuningResult(params, len(complete), pruned, seconds)


class _Surplus(Exception):
    """A trial beyond the budget, started by a race with another cell: it fails unrun."""


def _finished(study) -> list:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


@contextlib.contextmanager
def _stable_enough() -> Iterator[None]:
    """Optuna's heartbeat has been marked experimental since 2.9 (2021), unchanged."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _running(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


def _live_before(study, number: int) -> int:
    """Trials numbered below ``number`` that are finished or still running."""
    import optuna

    failed = (optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING)
    return sum(t.number < number and t.state not in failed
               for t in study.get_trials(deepcopy=False))


def _fail_dead(study, storage) -> None:
    """Fail the RUNNING trials of processes known to be dead: at once on this host (by
    pid and start time), through Optuna's heartbeat elsewhere; each is queued again by
    the storage's ``heartbeat_stale_trial_callback``."""
    import optuna

    with _stable_enough():
        optuna.storages.fail_stale_trials(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in _running(study):
        attrs = trial.user_attrs
        if process_alive(attrs.get(Tag.HOST), attrs.get(Tag.PID),
                         attrs.get(Tag.PROCESS_START)) is False:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            try:
                storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # a rival failed it first, and queued it again
            storage.get_heartbeat_stale_trial_callback()(study, trial)
