"""Reading benchmark runs back from MLflow into one tidy table."""

from __future__ import annotations

from functools import lru_cache

import mlflow
import numpy as np
import pandas as pd

from dimred.references import NETWORK_PARAMS
from dimred.schema import CELL_KIND, TRIAL_KIND, Metric, Param, Tag

#: Metrics a report reads; a run lacking one (a method without a likelihood) gets NaN.
METRICS = tuple(Metric)
PARAMS = tuple(Param)
TAGS = tuple(Tag)


def load_runs(tracking_uri: str, experiments: list[str]) -> pd.DataFrame:
    """Every cell run of ``experiments``, one row each, whatever its status.

    Columns: ``run_id``, ``experiment``, ``status``, ``start_time``, ``artifact_uri``,
    the :data:`PARAMS` (``n_components`` and ``seed`` as ints), :data:`METRICS` and
    :data:`TAGS` (without the ``dimred.`` prefix). Missing values are NaN.

    Raises
    ------
    ValueError
        If an experiment does not exist in the store.
    """
    client = mlflow.MlflowClient(tracking_uri)
    frames = []
    for name in experiments:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            known = sorted(e.name for e in client.search_experiments())
            raise ValueError(f"no experiment {name!r} in {tracking_uri}; it has {known}.")
        runs = _search(tracking_uri, experiment.experiment_id)
        runs["experiment"] = name
        frames.append(runs)
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    table = pd.DataFrame({
        "run_id": runs.get("run_id"),
        "experiment": runs.get("experiment"),
        "status": runs.get("status"),
        "start_time": runs.get("start_time"),
        "artifact_uri": runs.get("artifact_uri"),
    })
    for name in (*PARAMS, *NETWORK_PARAMS):
        table[name] = runs.get(f"params.{name}")
    for name in METRICS:
        table[name] = pd.to_numeric(runs.get(f"metrics.{name}"), errors="coerce")
    for column in runs.columns:  # the tasks' metrics (a user task's too): TASK/metric
        task, _, name = column.removeprefix("metrics.").rpartition("/")
        if column.startswith("metrics.") and task and name:
            table[f"{task}/{name}"] = pd.to_numeric(runs[column], errors="coerce")
    for name in TAGS:
        table[name.removeprefix("dimred.")] = runs.get(f"tags.{name}")
    _name_cells_by_their_tag(table)
    for name in (Param.N_COMPONENTS, Param.SEED):
        table[name] = pd.to_numeric(table[name], errors="coerce").astype("Int64")
    return table


#: A cell's ``suite_cell`` tag, ``dataset/method/k=K/seed=S`` (its run name), in parts.
SUITE_CELL_PATTERN = (r"^(?P<dataset>.+)/(?P<method>[^/]+)/k=(?P<n_components>\d+)"
                      r"/seed=(?P<seed>-?\d+)$")


def _name_cells_by_their_tag(table: pd.DataFrame) -> None:
    """Fill a cell run's dataset, method, k and seed from its ``suite_cell`` tag where
    its parameters are missing: a process killed before it logged them (they come after
    tuning) leaves a run tagged at its claim, which must still count as its cell's (and
    not as "nan/nan"), so that the cell's later finished run supersedes it."""
    if "suite_cell" not in table or table["suite_cell"].isna().all():
        return
    named = table["suite_cell"].astype("string").str.extract(SUITE_CELL_PATTERN)
    for column in (Param.DATASET, Param.METHOD, Param.N_COMPONENTS, Param.SEED):
        missing = table[column].isna() & named[column].notna()
        table[column] = table[column].astype(object)
        table.loc[missing, column] = named.loc[missing, column].astype(object)


def load_trials(tracking_uri: str, experiments: list[str]) -> pd.DataFrame:
    """The finished tuning trials of ``experiments``: one row each, with the cell's
    ``dataset``, ``method``, ``n_components`` and ``seed`` (from its run name), its
    ``study`` (the trials of one tuning, shared by every seed's cell when the suite
    tunes once per latent size), the trial number, its validation error (NaN if pruned)
    and its fit seconds."""
    client = mlflow.MlflowClient(tracking_uri)
    frames = [_search(tracking_uri, experiment.experiment_id, TRIAL_KIND)
              for name in experiments
              if (experiment := client.get_experiment_by_name(name)) is not None]
    runs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if runs.empty:
        return pd.DataFrame(columns=["dataset", "method", "n_components", "seed", "study",
                                     "trial", "value", "seconds"])
    runs = runs[runs.status == "FINISHED"]
    cells = runs[f"tags.{Tag.SUITE_CELL}"].str.extract(SUITE_CELL_PATTERN)
    return pd.DataFrame({
        **{column: cells[column] for column in ("dataset", "method")},
        "n_components": pd.to_numeric(cells.n_components),
        "seed": pd.to_numeric(cells.seed),
        "study": runs[f"tags.{Tag.TRIAL_OF}"],
        "trial": pd.to_numeric(runs[f"tags.{Tag.TRIAL}"]),
        "value": pd.to_numeric(runs.get(f"metrics.{Metric.VALIDATION_RELATIVE_ERROR}"),
                               errors="coerce"),
        "seconds": pd.to_numeric(runs.get(f"metrics.{Metric.FIT_SECONDS}"), errors="coerce"),
    }).reset_index(drop=True)


def _search(tracking_uri: str, experiment_id: str, kind: str = CELL_KIND) -> pd.DataFrame:
    # mlflow.search_runs (the pandas form) reads the global tracking URI.
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        return mlflow.search_runs(
            [experiment_id], filter_string=f"tags.`{Tag.KIND}` = '{kind}'", max_results=50000
        )
    finally:
        mlflow.set_tracking_uri(previous)


@lru_cache(maxsize=64)
def load_examples(artifact_uri: str, tracking_uri: str) -> dict[str, np.ndarray]:
    """The arrays a cell logged in ``examples.npz`` (cached: one run may feed several
    figures). Empty when the run logged none."""
    try:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{artifact_uri}/examples.npz", tracking_uri=tracking_uri)
    except OSError:
        return {}
    with np.load(path, allow_pickle=False) as archive:
        return dict(archive)


#: The columns that name a cell: one (dataset, method, k, seed) of an experiment.
CELL = ["experiment", Param.DATASET, Param.METHOD, Param.N_COMPONENTS, Param.SEED]


def latest_finished(runs: pd.DataFrame) -> pd.DataFrame:
    """The finished runs, the latest one per cell. A cell finishes twice when its
    configuration changed between two invocations (a new default is a new config hash,
    so the runner runs it again); the earlier result is superseded, and counting both
    would pair one seed with itself in the verdicts."""
    finished = runs[runs.status == "FINISHED"]
    return finished.sort_values("start_time").drop_duplicates(CELL, keep="last").sort_index()


def first_per_method(rows: pd.DataFrame) -> pd.DataFrame:
    """Each method's run with the lowest seed, by method."""
    return rows.sort_values([Param.METHOD, Param.SEED]).drop_duplicates(Param.METHOD)


def gallery_k(rows: pd.DataFrame) -> int:
    """The latent size a gallery shows: the one most methods share, the larger on ties."""
    counts = rows.groupby(Param.N_COMPONENTS).method.nunique()
    return int(counts[counts == counts.max()].index.max())
