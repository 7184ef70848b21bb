"""MLflow bookkeeping for suites: experiments, parent and cell runs, resume and recovery.

Every call into MLflow goes through :func:`tracking_errors`, so that a tracking failure
is reported as one :class:`TrackingError` naming the store, never mistaken for a failed
cell and never swallowed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dimred.benchmark._browse import view_tags
from dimred.benchmark._environment import process_alive
from dimred.schema import CELL_KIND, SUITE_KIND, Tag

#: MLflow's HTTP retry settings for a tracking server, unless the user set them: brief
#: (about 7 s over 3 tries), where MLflow's own defaults wait for minutes.
RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}

#: MLflow accepts at most this many metrics per log_batch call.
BATCH_LIMIT = 1000

KIND_TAG, HASH_TAG = Tag.KIND, Tag.CONFIG_HASH
#: How a store words a unique-constraint violation (SQLite, PostgreSQL, MySQL), and
#: how often a dataset input is logged before such a lost race is an error.
_UNIQUE_VIOLATION = ("UNIQUE constraint failed", "duplicate key value", "Duplicate entry")
_INPUT_ATTEMPTS = 3

#: The invocation (suite run) a cell run belongs to.
PARENT_TAG = Tag.SUITE_RUN_ID


class TrackingError(RuntimeError):
    """The tracking store failed (after MLflow's retries)."""


@contextlib.contextmanager
def tracking_errors(uri: str) -> Iterator[None]:
    """Turn any failure of an MLflow call into a TrackingError naming the store."""
    try:
        yield
    except (MlflowException, OSError) as error:
        raise TrackingError(f"tracking store {uri} failed: {error}") from error
    except Exception as error:  # requests / SQLAlchemy errors surface as their own types
        module = type(error).__module__.split(".")[0]
        if module in {"requests", "urllib3", "sqlalchemy", "mlflow"}:
            raise TrackingError(f"tracking store {uri} failed: {error!r}") from error
        raise


@dataclass
class CellRecord:
    """What the store already holds for one config hash."""

    finished: int = 0
    running_elsewhere: int = 0


class SuiteTracker:
    """One experiment per suite; a parent run per invocation; a run per cell, tagged with
its invocation's run id."""

    def __init__(self, tracking_uri: str, experiment: str):
        for name, value in RETRY_DEFAULTS.items():
            os.environ.setdefault(name, value)
        self.uri, self.experiment = tracking_uri, experiment
        with tracking_errors(tracking_uri), _store_lock(tracking_uri):
            mlflow.set_tracking_uri(tracking_uri)
            self.client = MlflowClient(tracking_uri)
            self.experiment_id = self._experiment_id(experiment)

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found:
            return found.experiment_id
        try:
            return self.client.create_experiment(
                name, artifact_location=_artifact_location(self.uri, name), tags=view_tags())
        except MlflowException as error:
            # Another invocation created it between our lookup and our create.
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise error from None
            return found.experiment_id

    def errors(self):
        return tracking_errors(self.uri)

    def _search(self, filter_string: str):
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string, max_results=1000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def index(self, *, recover: bool) -> tuple[dict[str, CellRecord], list[str]]:
        """Index the cell runs by config hash; with ``recover``, first close runs left
        RUNNING by dead processes as KILLED.

        Returns the records by config hash and the names of the runs (to be) closed as
        KILLED. Without ``recover`` nothing is changed, and such runs count as neither
        finished nor running.
        """
        records: dict[str, CellRecord] = {}
        killed = []
        with self.errors():
            for run in self._search(""):
                tags, status = run.data.tags, run.info.status
                if _orphaned(run):
                    if recover:
                        self.client.set_terminated(run.info.run_id, "KILLED")
                    killed.append(run.info.run_name)
                    continue
                if tags.get(KIND_TAG) != CELL_KIND:
                    continue
                record = records.setdefault(tags.get(HASH_TAG, ""), CellRecord())
                if status == "FINISHED":
                    record.finished += 1
                elif status == "RUNNING":
                    record.running_elsewhere += 1
        return records, killed

    def claim_cell(self, parent_id: str, run_name: str, config_hash: str,
                   tags: dict[str, str]) -> tuple[str | None, str]:
        """Start the cell's run as a claim on its config hash; keep it only if it wins.

        MLflow has no compare-and-set, so a claim is a RUNNING run, and after creating
        it the store is read again: the claim wins when no run with the same hash is
        FINISHED and no live claim started earlier (by start time, then run id). Any
        number of processes, on any hosts sharing the store, can claim one cell
        together and at most one goes on. A claim made while a rival's creation was
        still in flight can win wrongly; :meth:`holds_claim`, asked again before the
        results are logged, settles that case, so one run finishes.

        Returns
        -------
        run_id, state : (str, "won") or (None, "finished" | "running")
            The active run when the claim wins; otherwise why it lost (the run created
            for it is deleted).
        """
        run_id = self.start_cell(parent_id, run_name, tags={HASH_TAG: config_hash, **tags})
        state = self.holds_claim(run_id, config_hash)
        if state != "won":
            self.withdraw(run_id)
            return None, state
        return run_id, state

    def holds_claim(self, run_id: str, config_hash: str) -> str:
        """``"won"`` when ``run_id`` is the earliest live claim on ``config_hash`` and
        no run of it has finished; else ``"finished"`` or ``"running"``. Claims of dead
        processes are closed as KILLED on the way."""
        with self.errors():
            runs = self._search(f"tags.`{HASH_TAG}` = '{config_hash}'")
            mine, rivals = None, []
            for run in runs:
                if run.info.run_id == run_id:
                    mine = run
                elif run.info.status == "FINISHED":
                    return "finished"
                elif _orphaned(run):
                    self.client.set_terminated(run.info.run_id, "KILLED")
                elif run.info.status == "RUNNING":
                    rivals.append(run)
        if mine is None:
            raise TrackingError(f"tracking store {self.uri} lost the run {run_id} it "
                                "just created.")
        earliest = min([mine, *rivals], key=lambda r: (r.info.start_time, r.info.run_id))
        return "won" if earliest is mine else "running"

    def withdraw(self, run_id: str) -> None:
        """End and delete the active cell run of a lost claim: it holds no result."""
        with self.errors():
            mlflow.end_run("KILLED")
            self.client.delete_run(run_id)

    def start_parent(self, run_name: str, tags: dict[str, str], params: dict) -> str:
        # Created through the client, not the fluent API, so that cell runs in other
        # processes (Dask workers) can refer to it by id.
        with self.errors():
            run = self.client.create_run(
                self.experiment_id, run_name=run_name, tags={KIND_TAG: SUITE_KIND, **tags}
            )
            self.client.log_batch(
                run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()]
            )
        return run.info.run_id

    def end_parent(self, run_id: str, status: str) -> None:
        with self.errors():
            self.client.set_terminated(run_id, status)

    def start_cell(self, parent_id: str, run_name: str, tags: dict[str, str]) -> str:
        # Linked to the invocation's run by a tag of ours, not MLflow's parentRunId: the
        # UI folds nested runs under one collapsed parent row (and no shared view state
        # can unfold them), which would hide the comparison on first view.
        with self.errors():
            run = mlflow.start_run(
                experiment_id=self.experiment_id,
                run_name=run_name,
                tags={KIND_TAG: CELL_KIND, PARENT_TAG: parent_id, **tags},
            )
        return run.info.run_id

    def log_values(self, run_id: str, metrics: dict[str, float],
                   curves: dict[str, list[float]], tags: dict[str, str], *,
                   step: int = 0) -> None:
        """Metrics at ``step``, step metrics (one value per epoch) and tags in as few
        calls as MLflow allows (1000 values each), not one call per value or per kind.

        A cell logs its metrics at its latent size as the step, so that MLflow's line
        charts, with the runs grouped by method, draw each measure against k."""
        now = int(time.time() * 1000)
        values = [Metric(name, value, timestamp=now, step=step)
                  for name, value in metrics.items()]
        values += [
            Metric(name, value, timestamp=now, step=step)
            for name, points in curves.items()
            for step, value in enumerate(points)
        ]
        with self.errors():
            for start in range(0, max(1, len(values)), BATCH_LIMIT):
                self.client.log_batch(
                    run_id, metrics=values[start : start + BATCH_LIMIT],
                    tags=[RunTag(k, v) for k, v in tags.items()] if start == 0 else [])

    def log_inputs(self, datasets: dict) -> None:
        """Log ``{context: mlflow Dataset}`` as the active run's inputs.

        MLflow records a dataset once per experiment with a get-or-create that is not
        atomic: cells in other processes logging the same dataset at the same moment
        make all but one insert fail on the store's unique constraint. The row then
        exists, so the call is repeated, and finds it.
        """
        for attempt in range(_INPUT_ATTEMPTS):
            try:
                with self.errors():
                    mlflow.log_inputs(list(datasets.values()), contexts=list(datasets),
                                      tags_list=[None] * len(datasets))
                return
            except TrackingError as error:
                lost_race = any(word in str(error) for word in _UNIQUE_VIOLATION)
                if not lost_race or attempt == _INPUT_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def end_cell(self, status: str) -> None:
        with self.errors():
            mlflow.end_run(status)


@contextlib.contextmanager
def _store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite store while it is opened: the first
    opening creates and migrates its schema, which MLflow does not make safe against
    another process doing the same (it fails, or leaves a half-migrated store). A
    tracking server migrates once, at its own start, so needs none."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _orphaned(run) -> bool:
    """A RUNNING run whose process is known to be dead (killed, crashed, lost worker)."""
    tags = run.data.tags
    return run.info.status == "RUNNING" and process_alive(
        tags.get(Tag.HOST), tags.get(Tag.PID), tags.get(Tag.PROCESS_START)
    ) is False


def _artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Beside the database for a SQLite store (MLflow would use ``./mlruns`` under
    whatever folder the command ran in); the server's or MLflow's choice otherwise."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///")).resolve()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", experiment)
    return (database.parent / "mlartifacts" / slug).as_uri()
