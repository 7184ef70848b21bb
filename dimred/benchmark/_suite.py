"""Suites: TOML files naming datasets, methods with parameters, latent sizes and seeds.

A suite expands into cells, one per (dataset, method, latent size, seed). The runner
sees only cells: an estimator class, its parameters and a dataset's options.

.. code-block:: toml

    [suite]
    name = "quick"                 # the MLflow experiment, unless --experiment says
    latent_sizes = [2, 8, 32]      # clipped to each dataset's width
    seeds = [0]
    n_importance_samples = 100     # k of the importance-weighted likelihood
    python_path = ["../my_methods"]  # more folders for import paths, after this file's

    [datasets.mnist]               # the table name labels the dataset in run names
    source = "mnist"               # default: the label
    n_train = 5000

    [methods.deep]                 # the table name labels the method
    estimator = "my_nets:Deep"     # default: the label; see below
    datasets = ["mnist"]           # default: every dataset
    latent_sizes = [30]            # default: the suite's
    max_epochs = 20                # any other key is an estimator parameter

    [tasks.rom]                    # what the codes are for: see ._suite_tasks
    task = "parametric"

An estimator is a built-in name (``dimred.ESTIMATORS``), a registered entry point
(``dimred.methods``) or ``package.module:Class``; a dataset ``source`` a built-in name,
``file:PATH`` or ``package.module:function``. Import paths resolve in the suite's folder,
then its ``python_path`` folders (relative to it), then the installed packages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator

from dimred._plugins import resolve_method
from dimred._sklearn_compat import validate_parameters
from dimred.benchmark._locator import Locator, SuiteError
from dimred.benchmark._suite_tasks import parse_objectives, parse_tasks, tasks_of, tuning_of
from dimred.benchmark._tuning import check_grid, check_search, check_tuning
from dimred.datasets._registry import (
    PREPROCESSING_OPTIONS,
    loader_options,
    resolve_file_options,
)

_SUITE_KEYS = {"name", "latent_sizes", "seeds", "n_importance_samples", "description",
               "python_path", "tuning"}
#: Estimator parameters that change what is displayed, not what is computed.
_DISPLAY_PARAMS = {"verbose"}


@dataclass(frozen=True)
class Cell:
    """One run of the benchmark: a method at a latent size and seed on a dataset."""

    dataset: str
    dataset_options: dict[str, Any]
    method: str
    estimator: str
    params: dict[str, Any]
    n_components: int
    seed: int
    evaluation: dict[str, Any]
    #: Folders searched first for import paths (the suite's, then its python_path); not
    #: part of the result's definition, so a suite folder can move without re-running.
    search_path: tuple[str, ...] = ()
    #: The method's search space and the suite's tuning budget; None: fitted as given.
    search: dict[str, Any] | None = None
    tuning: dict[str, Any] | None = None

    @property
    def run_name(self) -> str:
        return f"{self.dataset}/{self.method}/k={self.n_components}/seed={self.seed}"

    def build_estimator(self) -> BaseEstimator:
        """A fresh, unfitted estimator with this cell's parameters."""
        estimator = resolve_method(self.estimator, self.search_path)(**self.params)
        settings = {"n_components": self.n_components}
        if "random_state" in estimator.get_params():
            settings["random_state"] = self.seed
        return estimator.set_params(**settings)

    @property
    def tuning_cell(self) -> Cell:
        """The cell whose trials this one uses: itself, or with ``per_seed = false`` the
        same cell at the suite's first seed, shared by every seed's cell."""
        seed = self.tuning.get("seed", self.seed) if self.tuning else self.seed
        return self if seed == self.seed else dataclasses.replace(self, seed=seed)

    @property
    def study_name(self) -> str:
        """The Optuna study of this cell's trials: the tuning cell's config hash, with
        its tasks left out but the one it is tuned for (``objective``): the trials of a
        cell that adds a task, tuned for the reconstruction, are the cell's without it."""
        cell = self.tuning_cell
        tasks = cell.evaluation.get("tasks")
        if tasks:
            tuned_for = (cell.tuning or {}).get("objective", "").partition("/")[0]
            evaluation = {key: value for key, value in cell.evaluation.items()
                          if key != "tasks"}
            if tuned_for in tasks:
                evaluation["tasks"] = {tuned_for: tasks[tuned_for]}
            cell = dataclasses.replace(cell, evaluation=evaluation)
        return cell.config_hash

    @property
    def config_hash(self) -> str:
        """Stable hash of everything that defines the result: data, preprocessing,
        estimator class and all its resolved parameters (defaults included, so a changed
        default is a new cell), latent size, seed and evaluation settings."""
        params = {
            name: value
            for name, value in self.build_estimator().get_params().items()
            if name not in _DISPLAY_PARAMS
        }
        definition = {
            "dataset": self.dataset_options,
            "estimator": self.estimator,
            "params": params,
            "seed": self.seed,
            "evaluation": self.evaluation,
        }
        if self.search is not None:  # untuned cells keep the hashes they always had
            definition.update(search=self.search, tuning=self.tuning)
        canonical = json.dumps(definition, sort_keys=True, default=repr)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass
class Suite:
    """A parsed suite file."""

    name: str
    path: Path
    datasets: dict[str, dict[str, Any]]
    methods: dict[str, dict[str, Any]]
    latent_sizes: list[int]
    seeds: list[int]
    evaluation: dict[str, Any] = field(default_factory=dict)
    #: Folders searched for import paths: the suite's own, then its ``python_path``.
    search_path: tuple[str, ...] = ()
    #: ``[suite.tuning]`` with its defaults (None: no method tunes).
    tuning: dict[str, Any] | None = None
    #: Where each ``[datasets.NAME]`` table starts, ``file:line``, for errors found
    #: only once its data is read.
    dataset_lines: dict[str, str] = field(default_factory=dict)
    #: ``[tasks.NAME]`` (:mod:`._suite_tasks`), and where each table starts.
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_lines: dict[str, str] = field(default_factory=dict)

    def data_error(self, label: str, error: Exception) -> SuiteError:
        """A dataset's data failed to load: the error, at its table's line."""
        where = self.dataset_lines.get(label, str(self.path))
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        return SuiteError(f"{where}: datasets.{label}: {message}")

    def cells(self, widths: dict[str, int]) -> list[Cell]:
        """Every cell, given each dataset's width (n_features) and training rows.

        Latent sizes above ``widths[dataset]`` are clipped to it, and duplicates dropped.
        """
        cells = []
        for dataset, options in self.datasets.items():
            # Only where a task runs is it part of a cell's definition (and hash).
            tasks = tasks_of(self.tasks, dataset)
            evaluation = {**self.evaluation, "tasks": tasks} if tasks else self.evaluation
            tuning = tuning_of(self.tuning, dataset)
            for method, spec in self.methods.items():
                if dataset not in spec["datasets"]:
                    continue
                wanted = spec["latent_sizes"] or self.latent_sizes
                for k in sorted({min(k, widths[dataset]) for k in wanted}):
                    for seed in self.seeds:
                        search = spec.get("search")
                        cells.append(
                            Cell(dataset, options, method, spec["estimator"], spec["params"],
                                 k, seed, evaluation, self.search_path, search,
                                 tuning if search is not None else None)
                        )
        return cells


def load_suite(path: str | Path) -> Suite:
    """Parse and check a suite file.

    Raises
    ------
    SuiteError
        For TOML syntax errors (with TOML's line and column), unknown keys, wrong types,
        unknown estimators or parameters, naming the key and its line.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SuiteError(f"{path}: cannot read the suite file ({error}).") from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SuiteError(f"{path}: invalid TOML: {error}") from error
    where = Locator(path, text)

    for key in set(document) - {"suite", "datasets", "methods", "tasks"}:
        raise where.error(key, f"unknown top-level key {key!r}; expected suite, datasets, "
                          "methods, tasks")
    header = document.get("suite", {})
    for key in set(header) - _SUITE_KEYS:
        raise where.error(key, f"unknown key suite.{key}; expected one of {sorted(_SUITE_KEYS)}")
    latent_sizes = _positive_ints(header.get("latent_sizes"), "latent_sizes", where)
    seeds = _ints(header.get("seeds", [0]), "seeds", where)
    evaluation = {"n_importance_samples": header.get("n_importance_samples", 100)}
    if not _is_int(evaluation["n_importance_samples"]) or evaluation["n_importance_samples"] < 1:
        raise where.error("n_importance_samples", "suite.n_importance_samples must be an int ≥ 1")

    datasets = document.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise where.error("datasets", "a suite needs at least one [datasets.NAME] table")
    search_path = _search_path(path, header.get("python_path", []), where)
    datasets = {label: _dataset(label, spec, where, search_path)
                for label, spec in datasets.items()}
    methods = document.get("methods")
    if not isinstance(methods, dict) or not methods:
        raise where.error("methods", "a suite needs at least one [methods.NAME] table")
    methods = {label: _method(label, spec, datasets, where, search_path)
               for label, spec in methods.items()}
    tasks = parse_tasks(document.get("tasks", {}), datasets, where, search_path)
    tuning = None
    if "tuning" in header or any(spec["search"] is not None for spec in methods.values()):
        with where.refusing("suite.tuning"):
            tuning = check_tuning(header.get("tuning", {}))
        # Out of the cells' hashes either way: per_seed = true is the default, and false
        # is the trials' seed, shared by every seed's cell.
        if tuning.pop("per_seed", True) is False:
            tuning["seed"] = seeds[0]
        if "objective" in tuning:
            tuning["objective"] = parse_objectives(tuning["objective"], tasks, where,
                                                   search_path)
        for label, spec in methods.items():
            if tuning["sampler"] == "grid" and spec["search"] is not None:
                with where.refusing(f"methods.{label}.search"):
                    check_grid(spec["search"], label)
    return Suite(
        name=header.get("name", path.stem),
        path=path,
        datasets=datasets,
        methods=methods,
        latent_sizes=latent_sizes,
        seeds=seeds,
        evaluation=evaluation,
        search_path=search_path,
        tuning=tuning,
        dataset_lines={label: where.at(f"datasets.{label}") for label in datasets},
        tasks=tasks,
        task_lines={label: where.at(f"tasks.{label}") for label in tasks},
    )


def _search_path(path: Path, python_path: Any, where: Locator) -> tuple[str, ...]:
    if not isinstance(python_path, list) or not all(isinstance(p, str) for p in python_path):
        raise where.error("python_path", "suite.python_path must be a list of folder paths")
    folders = [path.parent.resolve()]
    for entry in python_path:
        folder = (path.parent / entry).resolve()
        if not folder.is_dir():
            raise where.error("python_path", f"suite.python_path: {folder} is not a folder")
        folders.append(folder)
    return tuple(map(str, dict.fromkeys(folders)))


def _dataset(label: str, spec: Any, where: Locator,
             search_path: tuple[str, ...]) -> dict[str, Any]:
    table = f"datasets.{label}"
    if not isinstance(spec, dict):
        raise where.error(label, f"{table} must be a table")
    options = dict(spec)
    options.setdefault("source", label)
    if not isinstance(options["source"], str):
        raise where.error("source", f"{table}.source must be a string", table)
    try:
        allowed = loader_options(options["source"], search_path) | set(PREPROCESSING_OPTIONS)
    except ValueError as error:
        key = "source" if "source" in spec else label
        raise where.error(key, f"{table}: {error}", table) from error
    for key in set(options) - allowed - {"source"}:
        raise where.error(key, f"{table}.{key} is not an option; expected {sorted(allowed)}", table)
    if options["source"].startswith(("file:", "the_well:")):  # the data and its test exist
        resolved = resolve_file_options(options["source"], {"test": options.get("test")},
                                        search_path)
        for key, path in (("source", resolved["path"]), ("test", resolved["test"])):
            if path is not None and not Path(path).exists():  # a Zarr store is a folder
                raise where.error(key, f"{table}: no file {path} (a relative path is "
                                       "resolved against the suite's folder)", table)
    return options


def _method(label: str, spec: Any, datasets: dict, where: Locator,
            search_path: tuple[str, ...]) -> dict[str, Any]:
    table = f"methods.{label}"
    if not isinstance(spec, dict):
        raise where.error(label, f"{table} must be a table")
    params = dict(spec)
    estimator = params.pop("estimator", label)
    estimator_key = "estimator" if "estimator" in spec else label
    if not isinstance(estimator, str):
        raise where.error(estimator_key, f"{table}.estimator must be a string", table)
    try:
        cls = resolve_method(estimator, search_path)
        default = cls()
    except (ImportError, TypeError, ValueError) as error:
        raise where.error(estimator_key, f"{table}: {error}", table) from error
    valid = default.get_params()
    if "n_components" not in valid:
        raise where.error(estimator_key, f"{table}: {estimator} has no n_components "
                          "parameter, which the suite's latent_sizes set", table)
    search = params.pop("search", None)
    restrict = params.pop("datasets", list(datasets))
    latent_sizes = params.pop("latent_sizes", None)
    if latent_sizes is not None:
        latent_sizes = _positive_ints(latent_sizes, "latent_sizes", where, table)
    for name in restrict:
        if name not in datasets:
            raise where.error("datasets", f"{table}.datasets names unknown {name!r}", table)
    for key in params:
        if key not in valid or key in ("n_components", "random_state"):
            raise where.error(
                key,
                f"{table}.{key} is not a parameter of {estimator} that a suite sets "
                "(n_components and random_state come from latent_sizes and seeds)",
                table,
            )
    try:
        validate_parameters(cls(**params))
    except (TypeError, ValueError) as error:
        # sklearn's message names the parameter; point at it when it is in the table.
        culprit = next((key for key in params if f"'{key}'" in str(error)), label)
        raise where.error(culprit, f"{table}: {error}", table) from error
    if search is not None:
        with where.refusing(f"{table}.search"):
            search = check_search(search, cls, params, label)
    return {
        "estimator": estimator,
        "params": params,
        "datasets": restrict,
        "latent_sizes": latent_sizes,
        "search": search,
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ints(value: Any, key: str, where: Locator, table: str = "suite") -> list[int]:
    if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
        raise where.error(
            key, f"{table}.{key} must be a non-empty list of ints, got {value!r}", table
        )
    return list(dict.fromkeys(value))


def _positive_ints(value: Any, key: str, where: Locator, table: str = "suite") -> list[int]:
    values = _ints(value, key, where, table)
    if min(values) < 1:
        raise where.error(key, f"{table}.{key} must hold positive ints, got {value!r}", table)
    return values
