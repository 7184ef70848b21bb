"""Choosing for a task: a parametric task's own regressor options, chosen on held-out
parameter points, and a suite's tuning for a task's metric instead of the
reconstruction; neither sees the test set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sklearn.utils import Bunch

from dimred import POD
from dimred.benchmark import SuiteError, load_suite, run_suite
from dimred.schema import Tag, TaskMetric
from dimred.tasks import Parametric, held_out
from tests._suites import cell_runs, write_suite


def noisy_affine(n_train=60, n_test=15, noise=0.3, seed=0) -> Bunch:
    """Fields affine in two parameters plus a noise that exact interpolation follows:
    smoothing the regression must win at new parameters."""
    rng = np.random.default_rng(seed)
    fields = rng.normal(size=(3, 30))
    mu = rng.uniform(1, 2, size=(n_train + n_test, 2))
    X = fields[0] + mu @ fields[1:] + noise * rng.normal(size=(len(mu), 1)) * fields[1]
    return Bunch(X_train=X[:n_train], X_test=X[n_train:], params_train=mu[:n_train],
                 params_test=mu[n_train:])


def test_held_out_views_the_validation_rows_as_test_rows_with_their_parameters():
    data = noisy_affine()
    fit, validation = np.arange(0, 60, 2), np.arange(1, 60, 2)
    view = held_out(data, fit, validation)
    np.testing.assert_array_equal(view["X_test"], data.X_train[validation])
    np.testing.assert_array_equal(view["params_train"], data.params_train[fit])
    np.testing.assert_array_equal(view["params_test"], data.params_train[validation])
    assert "times_train" not in view


def test_the_parametric_search_chooses_on_held_out_parameters_not_the_test_set():
    data = noisy_affine()
    reducer = POD(n_components=2).fit(data.X_train)
    task = Parametric(search={"smoothing": [0.0, 1e-3, 10.0]})
    result = task.run(reducer, data)
    # The noise is planted: the smoothest regression wins where interpolation follows it.
    assert result.chosen == {"smoothing": 10.0}
    exact = Parametric().run(reducer, data).metrics[TaskMetric.ROM_ERROR]
    assert result.metrics[TaskMetric.ROM_ERROR] < exact
    assert 0 < result.metrics[TaskMetric.VALIDATION_ROM_ERROR] < 1
    # The test rows changed beyond recognition: the same choice.
    scrambled = Bunch(**{**data, "X_test": -100 * data.X_test})
    assert task.run(reducer, scrambled).chosen == result.chosen
    # A given split (a suite's) is the one used: held out on the fit rows alone.
    given = Bunch(**data, validation_split=(np.arange(45), np.arange(45, 60)))
    assert task.run(reducer, given).metrics[TaskMetric.VALIDATION_ROM_ERROR] != \
        result.metrics[TaskMetric.VALIDATION_ROM_ERROR]


def test_a_search_of_options_the_regressor_lacks_is_refused():
    with pytest.raises(ValueError, match="'n_neighbors' is not an option of regressor 'rbf'"):
        Parametric("rbf", search={"n_neighbors": [3, 5]})
    with pytest.raises(ValueError, match="smoothing must be a non-empty list"):
        Parametric("rbf", search={"smoothing": []})


SUITE = """
[suite]
name = "tuned_for"
latent_sizes = [1]
seeds = [0, 1]

[suite.tuning]
n_trials = 2
sampler = "grid"
per_seed = false
objective = "rom/rom_error"

[datasets.mine]
source = "file:{path}"
test_fraction = 0.2

[methods.QM]
estimator = "QuadraticManifold"

[methods.QM.search]
regularization = {{ choices = [1e-8, 1e2] }}

[tasks.rom]
task = "parametric"
search = {{ smoothing = [0.0, 1.0] }}
"""


def _suite(tmp_path, text=SUITE):
    # Fields on a parabola in one mode: the quadratic manifold's penalty decides.
    rng = np.random.default_rng(0)
    fields, mu = rng.normal(size=(3, 30)), rng.uniform(1, 2, size=(80, 2))
    a = (mu[:, 0] + 0.5 * mu[:, 1])[:, None]
    np.save(tmp_path / "snapshots.npy", fields[0] + a * fields[1] + a**2 * fields[2])
    np.save(tmp_path / "params.npy", mu)
    return write_suite(tmp_path, text.format(path=tmp_path / "snapshots.npy"))


def test_a_suite_tunes_a_method_for_a_tasks_metric(tmp_path):
    suite = load_suite(_suite(tmp_path))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert run_suite(suite, tracking_uri=uri, progress=False).ok
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tuned_for")
    trials = [run for run in client.search_runs([experiment.experiment_id])
              if run.data.tags.get(Tag.KIND) == "trial"]
    assert len(trials) == 2  # one study, shared by both seeds
    scores = {float(run.data.params["regularization"]):
              run.data.metrics["rom/validation_rom_error"] for run in trials}
    assert scores[1e2] > 2 * scores[1e-8]  # the penalty that flattens the parabola
    cells = cell_runs(uri, "tuned_for")
    assert len(cells) == 2
    for run in cells:
        tuned = json.loads(run.data.tags[Tag.TUNED])
        assert tuned["regularization"] == 1e-8 == min(scores, key=scores.get)
        assert set(json.loads(run.data.tags[Tag.TASK_CHOSEN])["rom"]) == {"smoothing"}
        assert run.data.metrics["rom/rom_error"] > 0


def test_tasks_enter_a_study_only_as_its_objective(tmp_path):
    def study(text: str) -> str:
        [cell, _] = load_suite(_suite(tmp_path, text)).cells({"mine": 30})
        return cell.study_name

    tuned_for_task = study(SUITE)
    plain = study(SUITE.replace('objective = "rom/rom_error"\n', ""))
    no_task = study(SUITE.replace('objective = "rom/rom_error"\n', "").split("[tasks.rom]")[0])
    assert plain == no_task  # a task that nothing is tuned for shares the trials
    assert tuned_for_task != plain


@pytest.mark.parametrize(("objective", "message"), [
    ('"fit/rom_error"', r"suite.toml:11: suite.tuning.objective 'fit/rom_error': no task "
                        r"'fit'"),
    ('"rom/accuracy"', r"suite.toml:11: .*task 'rom' measures \['projection_error'"),
    ('["rom/rom_error", "rom/projection_error"]', r"both run on dataset 'mine'"),
])
def test_an_objective_no_task_measures_is_refused_at_its_line(tmp_path, objective, message):
    text = SUITE.replace('"rom/rom_error"', objective)
    with pytest.raises(SuiteError, match=message):
        load_suite(_suite(tmp_path, text))
