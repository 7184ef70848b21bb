"""Tuning inside a suite, on real Optuna and a real SQLite store: search spaces checked
before anything runs, the test set untouched until the chosen model's fit, completed
trials never redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from dimred.benchmark import SuiteError, load_suite, run_suite
from dimred.report import write_report
from dimred.schema import TRIAL_KIND, Metric, Tag
from tests._suites import cell_runs, write_suite

#: A dataset whose test rows are marked (every value above 1000) and a POD that
#: records what each fit and transform was given: "test" if it saw a test row.
SPY = '''
import json, os, time
import numpy as np
from sklearn.utils import Bunch
from dimred import POD

LOG = os.path.join(os.path.dirname(__file__), "calls.jsonl")


def marked():
    rng = np.random.default_rng(0)
    return Bunch(X_train=rng.normal(size=(200, 8)), X_test=rng.normal(size=(50, 8)) + 2000.0)


class Spy(POD):
    def __init__(self, n_components=None, *, method="auto", weights=None, center=True,
                 pause=0.0):
        super().__init__(n_components, method=method, weights=weights, center=center)
        self.pause = pause

    def _record(self, call, X):
        with open(LOG, "a") as log:
            log.write(json.dumps({"call": call, "test": bool(np.max(X) > 1000),
                                  "rows": len(X), "pid": os.getpid()}) + "\\n")

    def fit(self, X, y=None):
        self._record("fit", X)
        time.sleep(float(os.environ.get("SPY_PAUSE", "0")))
        return super().fit(X)

    def transform(self, X):
        self._record("transform", X)
        return super().transform(X)
'''

SUITE = """
[suite]
name = "tuned"
latent_sizes = [2]
seeds = [0]

[suite.tuning]
n_trials = {n_trials}
sampler = "random"
pruner = "none"

[datasets.marked]
source = "spy:marked"

[methods.spy]
estimator = "spy:Spy"

[methods.spy.search]
method = {{ choices = ["covariance", "snapshots"] }}
pause = {{ low = 0.0, high = 1.0 }}
"""


def _calls(folder):
    path = folder / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def suite_folder(tmp_path):
    (tmp_path / "spy.py").write_text(SPY)
    return tmp_path


def test_a_tuned_cell_reads_the_test_set_only_after_its_final_fit(suite_folder):
    suite = write_suite(suite_folder, SUITE.format(n_trials=5))
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    calls = [call for call in _calls(suite_folder) if call["rows"] != 64]  # not the warm-up
    fits = [index for index, call in enumerate(calls) if call["call"] == "fit"]
    first_test = min(index for index, call in enumerate(calls) if call["test"])
    # Five trials, each fitted on the 160 rows outside the validation split, then the
    # chosen model on all 200 training rows; only after it does a test row appear.
    assert [calls[i]["rows"] for i in fits] == [160] * 5 + [200]
    assert fits[-1] < first_test
    cell, = cell_runs(uri, "tuned")
    assert cell.data.metrics[Metric.N_TRIALS_COMPLETE] == 5
    assert cell.data.metrics[Metric.TUNING_SECONDS] > 0
    chosen = json.loads(cell.data.tags[Tag.TUNED])
    assert cell.data.params["Spy.method"] == chosen["method"]  # prefixed: "method" is the label
    trials = _trial_runs(uri)
    assert sorted(int(run.data.tags[Tag.TRIAL]) for run in trials) == list(range(5))
    best = min(trials, key=lambda run: run.data.metrics[Metric.VALIDATION_RELATIVE_ERROR])
    assert best.data.params["method"] == chosen["method"]


def _trial_runs(uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tuned")
    return [run for run in client.search_runs([experiment.experiment_id])
            if run.data.tags.get(Tag.KIND) == TRIAL_KIND and run.info.status == "FINISHED"]


@pytest.mark.parametrize(("search", "message"), [
    ("nonsense = { low = 1, high = 2 }", "search.nonsense is not a parameter of Spy"),
    ("pause = { low = 1.0, high = 0.5 }", "pause is an empty range: low = 1.0"),
    ("pause = { choices = [] }", "choices must be a non-empty list"),
    ("method = { choices = ['covariance', 'qr'] }", "search.method: The 'method' parameter"),
    ("pause = { low = 0.0, high = 1.0, log = true }", "a log range needs low > 0"),
])
def test_a_bad_search_space_is_refused_with_its_line(suite_folder, search, message):
    text = SUITE.format(n_trials=2).replace(
        'method = { choices = ["covariance", "snapshots"] }\npause = { low = 0.0, high = 1.0 }',
        search)
    suite = write_suite(suite_folder, text)
    with pytest.raises(SuiteError, match=message) as refused:
        load_suite(suite)
    assert f"{suite}:{text.splitlines().index(search) + 1}:" in str(refused.value)


@pytest.mark.slow  # a real process killed mid-tuning
def test_kill_9_mid_tuning_then_resume_redoes_no_completed_trial(suite_folder):
    suite = write_suite(suite_folder, SUITE.format(n_trials=6))
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    bench = subprocess.Popen(
        [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri", uri,
         "--no-progress"], cwd=suite_folder, env={**os.environ, "SPY_PAUSE": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    storage = f"sqlite:///{suite_folder / 'optuna.db'}"
    deadline = time.monotonic() + 120
    while _completed(storage) < 2:
        assert bench.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    bench.send_signal(signal.SIGKILL)
    bench.wait()
    before = _completed(storage)
    assert 2 <= before < 6
    fits_before = sum(call["call"] == "fit" and call["rows"] == 160
                      for call in _calls(suite_folder))
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    fits = sum(call["call"] == "fit" and call["rows"] == 160 for call in _calls(suite_folder))
    # The resumed cell ran only the trials still missing (the killed one's included).
    assert fits - fits_before == 6 - before
    assert _completed(storage) == 6
    # Each completed trial is one MLflow run; the killed one left none.
    trials = [int(run.data.tags[Tag.TRIAL]) for run in _trial_runs(uri)]
    assert len(trials) == len(set(trials)) == 6


def test_seeds_that_share_their_tuning_run_its_trials_once(suite_folder):
    suite = write_suite(suite_folder, SUITE.format(n_trials=3).replace(
        "seeds = [0]", "seeds = [0, 1, 2]").replace('pruner = "none"',
                                                   'pruner = "none"\nper_seed = false'))
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    fits = [call["rows"] for call in _calls(suite_folder) if call["call"] == "fit"
            and call["rows"] != 64]
    # Three trials for the three seeds together, then one refit per seed.
    assert fits == [160] * 3 + [200] * 3
    cells = cell_runs(uri, "tuned")
    assert sorted(cell.data.params["seed"] for cell in cells) == ["0", "1", "2"]
    assert len({cell.data.tags[Tag.TUNED] for cell in cells}) == 1
    trials = _trial_runs(uri)
    assert len(trials) == 3 and len({run.data.tags[Tag.TRIAL_OF] for run in trials}) == 1
    assert {run.data.tags[Tag.SUITE_CELL] for run in trials} == {"marked/spy/k=2/seed=0"}
    # The report counts one study, not one per seed, and draws what it bought.
    report = write_report(uri, ["tuned"], suite_folder / "report").read_text()
    assert "averaged over the method's studies (spy: 1)" in report
    assert (suite_folder / "report" / "marked_tuning.png").is_file()


def test_per_seed_must_be_a_boolean(suite_folder):
    suite = write_suite(suite_folder, SUITE.format(n_trials=3).replace(
        'pruner = "none"', 'pruner = "none"\nper_seed = "no"'))
    with pytest.raises(SuiteError, match="per_seed must be true or false"):
        load_suite(suite)


@pytest.mark.slow  # two real processes
@pytest.mark.parametrize(("per_seed", "n_studies"), [("true", 3), ("false", 1)])
def test_two_processes_on_one_tuned_suite_run_each_trial_once(suite_folder, per_seed,
                                                              n_studies):
    suite = write_suite(suite_folder, SUITE.format(n_trials=3).replace(
        "seeds = [0]", "seeds = [0, 1, 2]").replace(
        'pruner = "none"', f'pruner = "none"\nper_seed = {per_seed}'))
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    command = [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri", uri,
               "--no-progress"]
    environment = {**os.environ, "SPY_PAUSE": "0.3"}
    benches = [subprocess.Popen(command, cwd=suite_folder, env=environment,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    assert [bench.wait(timeout=300) for bench in benches] == [0, 0]
    calls = _calls(suite_folder)
    assert sum(call["call"] == "fit" and call["rows"] == 160 for call in calls) == 3 * n_studies
    assert _completed(f"sqlite:///{suite_folder / 'optuna.db'}") == 3 * n_studies
    assert len(_trial_runs(uri)) == 3 * n_studies
    # Whichever cell ran a trial, it is named after the cell of the seed that tunes.
    assert len({run.data.tags[Tag.SUITE_CELL] for run in _trial_runs(uri)}) == n_studies
    assert {run.info.status for run in cell_runs(uri, "tuned")} == {"FINISHED"}


def _completed(storage: str) -> int:
    """COMPLETE trials over every study in ``storage`` (0 before it exists)."""
    try:
        studies = optuna.get_all_study_summaries(storage)
    except Exception:  # not created yet
        return 0
    complete = (optuna.trial.TrialState.COMPLETE,)
    return sum(len(optuna.load_study(study_name=study.study_name, storage=storage)
                   .get_trials(states=complete)) for study in studies)


def test_the_grid_sampler_takes_choices_only(suite_folder):
    text = SUITE.format(n_trials=2).replace('sampler = "random"', 'sampler = "grid"')
    suite = write_suite(suite_folder, text)
    with pytest.raises(SuiteError, match='sampler = "grid" needs choices, not a range'):
        load_suite(suite)
    grid = write_suite(suite_folder, text.replace("pause = { low = 0.0, high = 1.0 }\n", ""))
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    assert run_suite(load_suite(grid), tracking_uri=uri, progress=False).ok
    # Every point of the grid once, whatever n_trials asked beyond it.
    assert sorted(run.data.params["method"] for run in _trial_runs(uri)) == [
        "covariance", "snapshots"]


@pytest.mark.slow  # a real process killed mid-trial
def test_a_grid_point_whose_trial_was_killed_is_scored_on_resume(suite_folder):
    text = SUITE.format(n_trials=4).replace('sampler = "random"', 'sampler = "grid"')
    text = text.replace("pause = { low = 0.0, high = 1.0 }",
                        "center = { choices = [true, false] }")
    suite = write_suite(suite_folder, text)
    uri = f"sqlite:///{suite_folder / 'mlflow.db'}"
    bench = subprocess.Popen(
        [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri", uri,
         "--no-progress"], cwd=suite_folder, env={**os.environ, "SPY_PAUSE": "60"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(call["call"] == "fit" and call["rows"] == 160
                  for call in _calls(suite_folder)):  # the first trial is fitting
        assert bench.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    bench.send_signal(signal.SIGKILL)
    bench.wait()
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    # Every point of the grid scored once, the killed trial's included, and no repeat.
    points = sorted((run.data.params["method"], run.data.params["center"])
                    for run in _trial_runs(uri))
    assert points == sorted({(method, center) for method in ("covariance", "snapshots")
                             for center in ("True", "False")})
