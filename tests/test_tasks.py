"""Tasks: what the codes are for. Each built-in task against an exact answer (an
isometry keeps every neighbour, the identity reducer is k-NN on the data, POD with DMD
is a direct DMD, an affine parametric map is recovered to round-off), and tasks in a
suite: run in the cell, logged by name, refused at their line when the data cannot
feed them, and a user's own task beside the suite."""

from __future__ import annotations

import json
import logging
import textwrap
import warnings

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import Bunch

from dimred import PCA, POD
from dimred.benchmark import SuiteError, load_suite, run_suite
from dimred.benchmark._browse import comparison_url
from dimred.datasets import load_dataset
from dimred.report import write_report
from dimred.schema import TaskMetric
from dimred.tasks import Forecast, Neighbours, Parametric, TaskResult
from dimred.testing import check_task
from tests._suites import cell_runs, write_suite

IDENTITY = FunctionTransformer(inverse_func=lambda Z: Z, check_inverse=False)


def labelled(n_train=300, n_test=200, seed=0) -> Bunch:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3, size=(4, 10))
    y = rng.integers(0, 4, n_train + n_test)
    X = centres[y] + rng.normal(size=(n_train + n_test, 10))
    return Bunch(X_train=X[:n_train], X_test=X[n_train:], y_train=y[:n_train],
                 y_test=y[n_train:])


# ------------------------------------------------------------------ neighbours
def test_an_isometry_keeps_every_neighbour_and_a_projection_does_not():
    data = labelled()
    rotation = PCA(n_components=10).fit(data.X_train)  # a rotation and a shift
    kept = Neighbours(n_neighbors=5).run(rotation, data).metrics
    assert kept[TaskMetric.TRUSTWORTHINESS] == pytest.approx(1, abs=1e-12)
    assert kept[TaskMetric.CONTINUITY] == pytest.approx(1, abs=1e-12)
    flattened = Neighbours(n_neighbors=5).run(PCA(n_components=1).fit(data.X_train),
                                               data).metrics
    assert flattened[TaskMetric.TRUSTWORTHINESS] < 0.99
    assert flattened[TaskMetric.CONTINUITY] < 0.99


def test_the_identity_reducers_knn_accuracy_is_knn_on_the_data():
    data = labelled()
    measured = Neighbours(knn=3).run(IDENTITY.fit(data.X_train), data).metrics
    direct = KNeighborsClassifier(3).fit(data.X_train, data.y_train).score(data.X_test,
                                                                           data.y_test)
    assert measured[TaskMetric.KNN_ACCURACY] == direct
    assert 0.5 < measured[TaskMetric.PROBE_ACCURACY] <= 1


def test_times_are_not_classes():
    data = labelled()
    data.y_train = np.linspace(0, 1, len(data.y_train))  # a simulation's y is its time
    assert TaskMetric.KNN_ACCURACY not in Neighbours().run(IDENTITY, data).metrics


# -------------------------------------------------------------------- forecast
def linear_system(n_steps=60, n_features=50, seed=0) -> Bunch:
    """Snapshots of x_{t+1} = A x_t, a damped rotation in 3 planes lifted to 50
    features: POD at k = 6 holds it exactly, and DMD is its exact model."""
    rng = np.random.default_rng(seed)
    blocks = [r * np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])
              for r, w in ((0.99, 0.3), (0.97, 0.7), (1.0, 1.1))]
    A = np.zeros((6, 6))
    for index, block in enumerate(blocks):
        A[2 * index:2 * index + 2, 2 * index:2 * index + 2] = block
    lift = np.linalg.qr(rng.normal(size=(n_features, 6)))[0]
    state, rows = rng.normal(size=6), []
    for _ in range(n_steps):
        rows.append(lift @ state)
        state = A @ state
    X, times = np.array(rows), np.arange(n_steps) * 0.1
    return Bunch(X_train=X[:48], X_test=X[48:], times_train=times[:48],
                 times_test=times[48:])


def test_pod_with_dmd_is_a_direct_dmd_and_forecasts_a_linear_system_exactly():
    data = linear_system()
    pod = POD(n_components=6, center=False).fit(data.X_train)
    codes = pod.transform(data.X_train)
    # numpy's DMD of the codes: the least-squares operator Z_2 Z_1^+, rolled forward.
    operator = codes[1:].T @ np.linalg.pinv(codes[:-1].T)
    state, expected = codes[-1], []
    for _ in range(len(data.X_test)):
        state = operator @ state
        expected.append(state)
    rolled = Forecast("dmd").roll(codes, len(data.X_test))
    np.testing.assert_allclose(rolled, expected, rtol=1e-9, atol=1e-9 * np.abs(codes).max())
    result = Forecast("dmd").run(pod, data)
    assert result.metrics[TaskMetric.FORECAST_ERROR] < 1e-8
    assert len(result.curves[TaskMetric.FORECAST_CURVE]) == len(data.X_test)
    # A model that cannot hold the dynamics (2 of its 6 modes) forecasts badly.
    too_few = Forecast("dmd").run(POD(n_components=2, center=False).fit(data.X_train), data)
    assert too_few.metrics[TaskMetric.FORECAST_ERROR] > 0.3


def test_the_network_map_forecasts_one_code_without_a_warning():
    data = linear_system()
    pod = POD(n_components=1, center=False).fit(data.X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn warns on a column-vector target
        result = Forecast("mlp").run(pod, data)
    assert len(result.curves[TaskMetric.FORECAST_CURVE]) == len(data.X_test)
    assert np.isfinite(result.metrics[TaskMetric.FORECAST_ERROR])


def test_a_forecast_needs_a_test_block_after_the_training_rows():
    data = linear_system()
    data.times_test = data.times_test - 5.0  # the test block inside the training span
    assert Forecast().missing(data) == [
        "a test block that follows the training rows in time, evenly spaced"]
    assert Forecast().missing(Bunch(X_train=data.X_train)) == [
        "times (times_train and times_test)"]


# ------------------------------------------------------------------ parametric
def affine(n_train=40, n_test=10, seed=0) -> Bunch:
    rng = np.random.default_rng(seed)
    fields = rng.normal(size=(3, 30))
    mu = rng.uniform(1, 2, size=(n_train + n_test, 2))
    X = fields[0] + mu @ fields[1:]
    return Bunch(X_train=X[:n_train], X_test=X[n_train:], params_train=mu[:n_train],
                 params_test=mu[n_train:])


@pytest.mark.parametrize("regressor", ["rbf", "gpr"])
def test_the_parametric_task_recovers_an_affine_map_to_round_off_with_pod(regressor):
    data = affine()
    result = Parametric(regressor).run(POD(n_components=2).fit(data.X_train), data).metrics
    assert result[TaskMetric.PROJECTION_ERROR] < 1e-12
    assert result[TaskMetric.ROM_ERROR] < (1e-10 if regressor == "rbf" else 1e-4)
    one_mode = Parametric(regressor).run(POD(n_components=1).fit(data.X_train), data)
    assert one_mode.metrics[TaskMetric.ROM_ERROR] > 1e-3  # the planted shortfall


def test_the_gpr_fits_a_kernel_per_code():
    """One code smooth in mu beside eight noisy ones: one kernel for all codes
    (scikit-learn's multi-output GPR) takes them all for noise and predicts the mean;
    a process per code keeps the smooth one."""
    rng = np.random.default_rng(0)
    mu = rng.uniform(0, 1, size=(260, 2))
    X = np.hstack([10 * np.sin(3 * mu[:, :1]) * np.cos(2 * mu[:, 1:]),
                   0.01 * rng.normal(size=(260, 8))])
    data = Bunch(X_train=X[:200], X_test=X[200:], params_train=mu[:200],
                 params_test=mu[200:])
    error = Parametric("gpr", scale_inputs=False).run(IDENTITY.fit(data.X_train), data)
    assert error.metrics[TaskMetric.ROM_ERROR] < 0.02
    kernel = (ConstantKernel() * RBF(np.ones(2), length_scale_bounds=(1e-2, 1e2))
              + WhiteKernel(1e-6, noise_level_bounds=(1e-12, 1e-1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it ends at its bounds: the point
        unit = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0).fit(
            data.params_train, data.X_train).predict(data.params_test)
    assert np.linalg.norm(unit - data.X_test) / np.linalg.norm(data.X_test) > 0.3


def test_a_file_with_params_npy_beside_it_feeds_the_parametric_task(tmp_path):
    data = affine(n_train=50, n_test=0)
    np.save(tmp_path / "snapshots.npy", data.X_train)
    np.save(tmp_path / "params.npy", data.params_train)
    loaded = load_dataset(f"file:{tmp_path / 'snapshots.npy'}", test_fraction=0.2)
    assert loaded.params_train.shape == (40, 2) and loaded.params_test.shape == (10, 2)
    for split in ("train", "test"):  # each row kept its own parameters
        X, mu = np.asarray(loaded[f"X_{split}"]), loaded[f"params_{split}"]
        rows = [np.flatnonzero((data.X_train == row).all(axis=1))[0] for row in X]
        np.testing.assert_array_equal(mu, data.params_train[rows])
    result = Parametric().run(POD(n_components=2).fit(loaded.X_train), loaded).metrics
    assert result[TaskMetric.ROM_ERROR] < 1e-10


# ----------------------------------------------------------------- in a suite
SUITE = """
[suite]
name = "tasks"
latent_sizes = [2]
seeds = [0]

[datasets.mine]
source = "file:{path}"

[methods.POD]

[tasks.rom]
task = "parametric"

[tasks.norm]
task = "beside_task:CodeNorm"
"""

USER_TASK = '''
import numpy as np
from dimred.tasks import Task, TaskResult

class CodeNorm(Task):
    """The mean norm of the test codes: a user's task in a file beside the suite."""

    def run(self, reducer, data):
        norms = np.linalg.norm(np.asarray(reducer.transform(data["X_test"])), axis=1)
        return TaskResult({"mean_code_norm": float(norms.mean())},
                          curves={"code_norm_curve": norms.tolist()})
'''


def _files(tmp_path, with_params=True):
    data = affine(n_train=50, n_test=0)
    np.save(tmp_path / "snapshots.npy", data.X_train)
    if with_params:
        np.save(tmp_path / "params.npy", data.params_train)
    (tmp_path / "beside_task.py").write_text(textwrap.dedent(USER_TASK))
    return write_suite(tmp_path, SUITE.format(path=tmp_path / "snapshots.npy"))


def test_tasks_run_in_the_cell_and_log_under_their_names(tmp_path):
    suite = _files(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    [run] = cell_runs(uri, "tasks")
    metrics = run.data.metrics
    assert metrics["rom/rom_error"] < 1e-10
    assert metrics["rom/projection_error"] < 1e-12
    assert metrics["norm/mean_code_norm"] > 0
    assert {"rom/task_seconds", "norm/task_seconds"} <= set(metrics)
    comparison_url(uri, "tasks")  # what `dimred ui` opens: a chart per task metric
    state = json.loads(MlflowClient(uri).get_experiment_by_name("tasks").tags[
        "mlflow.sharedViewState.dimred-comparison"])
    charted = {chart["metricKey"] for chart in state["compareRunCharts"]}
    assert {"rom/rom_error", "norm/mean_code_norm"} <= charted
    assert "rom/task_seconds" not in charted
    report = write_report(uri, ["tasks"], tmp_path / "report").read_text()
    assert "Verdict on rom/rom_error (lower is better)" in report
    assert "Verdict on rom/task_seconds" not in report
    assert "Verdict on norm/code_norm_curve" not in report  # a curve is drawn, not judged
    for figure in ("mine_rom.png", "mine_norm.png", "mine_norm_code_norm_curve.png"):
        assert f"]({figure})" in report and (tmp_path / "report" / figure).stat().st_size


def test_a_task_its_data_cannot_feed_is_refused_at_its_line(tmp_path):
    suite = _files(tmp_path, with_params=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(SuiteError, match=r"suite.toml:12: tasks.rom: dataset 'mine' has no "
                                         r"params \(params_train and params_test\)"):
        run_suite(load_suite(suite), tracking_uri=uri, progress=False)
    assert not (tmp_path / "mlflow.db").exists()  # refused before the store


def test_bad_task_options_are_refused_when_the_suite_is_read(tmp_path):
    suite = _files(tmp_path)
    suite.write_text(suite.read_text().replace('task = "parametric"',
                                               'task = "parametric"\nregressor = "spline"'))
    with pytest.raises(SuiteError, match=r"suite.toml:14: tasks.rom: regressor must be one"):
        load_suite(suite)


@pytest.mark.slow
def test_a_users_task_runs_on_dask(tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # A .npy with params.npy beside it: memory-mapped and read as dask arrays, which
    # a one-thread worker computes in the cell's own thread (it had waited forever).
    suite = _files(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster:
        summary = run_suite(load_suite(suite), tracking_uri=uri,
                            scheduler=cluster.scheduler_address, progress=False)
    assert summary.ok, summary.report()
    [run] = cell_runs(uri, "tasks")
    assert run.data.metrics["norm/mean_code_norm"] > 0
    assert run.data.metrics["rom/rom_error"] < 1e-10


def test_check_task_passes_the_built_ins_and_catches_a_task_that_refits():
    for task in (*(Parametric(regressor) for regressor in ("rbf", "gpr", "knn", "mlp")),
                 Forecast("dmd"), Forecast("mlp"), Neighbours(subsample=50)):
        check_task(task)

    class Refits(Parametric):
        def run(self, reducer, data):
            reducer.fit(data["X_test"])  # the cell's reducer is not the task's to refit
            return super().run(reducer, data)

    with pytest.raises(AssertionError, match="refit"):
        check_task(Refits())

    class Undeclared(Parametric):
        def run(self, reducer, data):
            result = super().run(reducer, data)
            return TaskResult({**result.metrics, "rom_eror": 0.0})  # a typo

    with pytest.raises(AssertionError, match=r"measured \['rom_eror'\], not among"):
        check_task(Undeclared())
