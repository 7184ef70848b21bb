"""The runner against real MLflow stores: SQLite in a temporary folder and a real
``mlflow server`` on 127.0.0.1, with real crashes (a failing cell, a SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from dimred.benchmark import load_suite, run_suite
from dimred.cli import main
from dimred.datasets import load_dataset
from tests._suites import TINY, cell_runs, write_suite
from tests.conftest import free_port

METRICS = {
    "train_mse", "test_mse", "test_sse_per_sample", "test_relative_error",
    "test_explained_variance", "fit_seconds",
    "fit_samples_per_s", "transform_samples_per_s", "inverse_transform_samples_per_s",
    "peak_memory_mb", "n_parameters",
}
PARAMS = {"dataset", "method", "n_components", "seed", "n_features", "n_train", "n_test"}
TAGS = {
    "dimred.config_hash", "dimred.version", "dimred.torch_version", "dimred.sklearn_version",
    "dimred.numpy_version", "dimred.cpu", "dimred.gpu", "dimred.threads", "dimred.host",
}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    """The tiny suite run once into a fresh SQLite store: (uri, suite, summary)."""
    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    suite = load_suite(write_suite(folder))
    summary = run_suite(suite, tracking_uri=uri, progress=False)
    return uri, suite, summary


def test_every_cell_finishes_with_the_public_schema(tiny_store):
    uri, _, summary = tiny_store
    assert summary.ok and len(summary.finished) == 4
    runs = {run.data.params["method"]: run for run in cell_runs(uri)}
    assert set(runs) == {"POD", "PCA", "AE", "VAE"}
    client = MlflowClient(uri)
    for method, run in runs.items():
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"digits/{method}/k=2/seed=0"
        assert PARAMS <= set(run.data.params)
        assert run.data.params["n_train"] == "300" and run.data.params["n_features"] == "64"
        assert TAGS <= set(run.data.tags)
        assert run.data.tags["dimred.suite_run_id"] == summary.parent_run_id
        assert METRICS <= set(run.data.metrics)
        assert ("test_elbo" in run.data.metrics) == (method != "AE")
        assert ("test_log_likelihood" in run.data.metrics) == (method == "VAE")
        assert run.data.metrics["test_mse"] > 0
        assert {d.dataset.name for d in run.inputs.dataset_inputs} == {
            "digits-training", "digits-testing"
        }
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert {"figures/reconstructions.png", "figures/latent.png"} <= figures
        assert ("figures/samples.png" in figures) == (method == "VAE")
        losses = client.get_metric_history(run.info.run_id, "train_loss")
        assert len(losses) == (3 if method in ("AE", "VAE") else 0)  # one per epoch
        examples = np.load(mlflow.artifacts.download_artifacts(
            f"{run.info.artifact_uri}/examples.npz", tracking_uri=uri))
        assert examples["reconstructions"].shape == examples["originals"].shape == (16, 64)
        assert examples["latent_codes"].shape == (100, 2)
        assert ("samples" in examples) == (method == "VAE")
    # Every method hyper-parameter is a param.
    assert runs["AE"].data.params["max_epochs"] == "3"
    assert runs["PCA"].data.params["svd_solver"] == "auto"
    # The linear methods agree: POD is PCA.
    for metric in ("test_mse", "test_elbo"):
        assert runs["POD"].data.metrics[metric] == pytest.approx(
            runs["PCA"].data.metrics[metric], rel=1e-6)
    # Training curves are step metrics, one per epoch.
    history = client.get_metric_history(runs["AE"].info.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1, 2]


def test_the_parent_run_carries_the_suites_summary(tiny_store):
    """Someone browsing MLflow alone sees the result on the invocation's run."""
    uri, _, summary = tiny_store
    client = MlflowClient(uri)
    parent = client.get_run(summary.parent_run_id)
    cell = next(run for run in cell_runs(uri) if run.data.params["method"] == "POD")
    assert parent.data.metrics["digits/POD/k2/test_mse"] == pytest.approx(
        cell.data.metrics["test_mse"])
    assert "digits/AE/k2/test_elbo" not in parent.data.metrics  # the AE has no likelihood
    logged = {a.path for a in client.list_artifacts(summary.parent_run_id, "report")}
    assert {"report/README.md", "report/digits_measures.png"} <= logged
    markdown = Path(client.download_artifacts(summary.parent_run_id, "report/README.md"))
    assert "| POD | 2 |" in markdown.read_text()


def test_rerunning_a_finished_suite_adds_no_cell_runs(tiny_store):
    uri, suite, _ = tiny_store
    before = {run.info.run_id for run in cell_runs(uri)}
    again = run_suite(suite, tracking_uri=uri, progress=False)
    assert again.finished == [] and len(again.skipped) == 4
    assert {run.info.run_id for run in cell_runs(uri)} == before


def test_logged_models_predict_equals_transform(tiny_store):
    uri, suite, _ = tiny_store
    mlflow.set_tracking_uri(uri)
    data = load_dataset("digits", n_train=300, n_test=100)
    cells = {cell.run_name: cell for cell in suite.cells({"digits": 64})}
    for run in cell_runs(uri):
        model = mlflow.pyfunc.load_model(run.data.tags["dimred.model_uri"])
        # The same cell fitted again here (fits are deterministic given the seed).
        estimator = cells[run.info.run_name].build_estimator().fit(data.X_train)
        np.testing.assert_allclose(model.predict(data.X_test), estimator.transform(data.X_test),
                                   rtol=1e-5, atol=1e-6, err_msg=run.info.run_name)


def test_failing_cell_is_failed_with_its_traceback_and_the_suite_goes_on(tmp_path, capsys):
    # A Bernoulli VAE on data outside [0, 1] refuses to fit: a real failure.
    text = TINY.replace("[methods.VAE]", "[methods.VAE]\nlikelihood = \"bernoulli\"")
    suite = write_suite(tmp_path, text.replace("n_test = 100", "n_test = 100\nstandardize = true"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["bench", str(suite), "--tracking-uri", uri, "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "3 cell(s) run" in out and "1 failed" in out and "FAILED digits/VAE/k=2/seed=0" in out
    runs = {run.data.params["method"]: run for run in cell_runs(uri)}
    assert runs["VAE"].info.status == "FAILED"
    assert {runs[m].info.status for m in ("POD", "PCA", "AE")} == {"FINISHED"}
    traceback = mlflow.artifacts.load_text(f"{runs['VAE'].info.artifact_uri}/traceback.txt")
    assert "Traceback" in traceback and "ValueError" in traceback
    # The failed cell is retried on the next invocation; the finished ones are not.
    assert main(["bench", str(suite), "--tracking-uri", uri, "--no-progress"]) == 1
    assert "0 cell(s) run, 3 skipped" in capsys.readouterr().out


def test_dry_run_and_only_select_cells(tmp_path, capsys):
    suite = write_suite(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Repeated, --only runs the cells that any of its globs matches.
    assert main(["bench", str(suite), "--tracking-uri", uri, "--only", "digits/POD/*",
                 "--only", "digits/PCA/*", "--no-progress"]) == 0
    assert {run.data.params["method"] for run in cell_runs(uri)} == {"POD", "PCA"}
    capsys.readouterr()
    assert main(["bench", str(suite), "--tracking-uri", uri, "--dry-run"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert sorted(line.split("]")[0].strip("[ ") for line in listing) == [
        "done", "done", "to run", "to run"
    ]
    assert len(cell_runs(uri)) == 2  # a dry run runs nothing


def test_bad_suite_file_exits_2_naming_the_key(tmp_path, capsys):
    suite = write_suite(tmp_path, TINY.replace("max_epochs = 3", "max_epoch = 3", 1))
    assert main(["bench", str(suite), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]) == 2
    assert "suite.toml:18: methods.AE.max_epoch" in capsys.readouterr().err


def _bench_process(suite: Path, uri: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri", uri,
         "--no-progress"],
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.mark.slow  # real processes killed mid-suite
def test_sigkill_mid_suite_then_rerun_leaves_exactly_one_finished_run_per_cell(tmp_path):
    # Cells long enough (about a second each) that the kill lands inside one.
    suite = write_suite(tmp_path, TINY.replace("latent_sizes = [2]", "latent_sizes = [2, 4, 8]")
                        .replace("max_epochs = 3", "max_epochs = 60"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = _bench_process(suite, uri)
    deadline = time.monotonic() + 240
    while True:
        assert process.poll() is None, "the suite ended before it could be killed"
        assert time.monotonic() < deadline, "no cell finished in time"
        try:
            statuses = [run.info.status for run in cell_runs(uri)]
        except Exception:  # the experiment may not exist yet
            statuses = []
        if "FINISHED" in statuses and "RUNNING" in statuses:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = [run.info.run_name for run in cell_runs(uri) if run.info.status == "RUNNING"]
    assert interrupted, "the kill should leave a cell RUNNING"

    summary = run_suite(load_suite(suite), tracking_uri=uri, progress=False)
    assert summary.ok and set(interrupted) <= set(summary.killed)
    runs = cell_runs(uri)
    finished = [run.info.run_name for run in runs if run.info.status == "FINISHED"]
    assert sorted(finished) == sorted(c.run_name for c in load_suite(suite).cells({"digits": 64}))
    assert len(finished) == len(set(finished)) == 12
    assert not [run for run in runs if run.info.status == "RUNNING"]
    assert {run.info.run_name for run in runs if run.info.status == "KILLED"} == set(interrupted)
    # The killed invocation's parent run is closed too.
    parents = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("tiny").experiment_id],
        "tags.`dimred.kind` = 'suite'")
    assert sorted(run.info.status for run in parents) == ["FINISHED", "KILLED"]


@pytest.mark.slow  # a real mlflow server (about 25 s)
def test_a_suite_against_a_real_tracking_server(mlflow_server, tmp_path, capsys):
    suite = write_suite(tmp_path, TINY.replace("[methods.AE]", "[methods.AE]\ndatasets = []"))
    assert main(["bench", str(suite), "--tracking-uri", mlflow_server, "--no-progress"]) == 0
    runs = cell_runs(mlflow_server)
    assert sorted(run.data.params["method"] for run in runs) == ["PCA", "POD", "VAE"]
    assert all(run.info.status == "FINISHED" for run in runs)
    # Artifacts went through the server to its artifact store.
    vae = next(run for run in runs if run.data.params["method"] == "VAE")
    assert (tmp_path / "artifacts").is_dir()
    mlflow.set_tracking_uri(mlflow_server)
    model = mlflow.pyfunc.load_model(vae.data.tags["dimred.model_uri"])
    assert model.predict(load_dataset("digits").X_test[:5]).shape == (5, 2)
    # Resuming over HTTP skips every finished cell.
    assert main(["bench", str(suite), "--tracking-uri", mlflow_server, "--no-progress"]) == 0
    assert "0 cell(s) run, 3 skipped" in capsys.readouterr().out


def test_an_unreachable_tracking_server_is_reported_not_swallowed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    uri = f"http://127.0.0.1:{free_port()}"
    assert main(["bench", str(write_suite(tmp_path)), "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert f"tracking store {uri} failed" in err and "run the same command again" in err


GRIDS = '''
import numpy as np
from sklearn.utils import Bunch


def line():
    rng = np.random.default_rng(0)
    return Bunch(X_train=rng.random((48, 12), dtype=np.float32),
                 X_test=rng.random((16, 12), dtype=np.float32), field_shape=(1, 12))


def plane():
    rng = np.random.default_rng(1)
    return Bunch(X_train=rng.random((48, 32), dtype=np.float32),
                 X_test=rng.random((16, 32), dtype=np.float32), field_shape=(2, 4, 4))
'''


def test_a_conv_method_takes_each_datasets_grid(tmp_path):
    (tmp_path / "grids.py").write_text(GRIDS)
    suite = write_suite(tmp_path, """
[suite]
name = "grids"
latent_sizes = [2]
[datasets.line]
source = "grids:line"
[datasets.plane]
source = "grids:plane"
[methods.AE]
architecture = "conv"
conv_channels = [4]
hidden_layer_sizes = [8]
max_epochs = 2
""")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert run_suite(load_suite(suite), tracking_uri=uri, progress=False).ok
    shapes = {run.data.params["dataset"]: run.data.params["input_shape"]
              for run in cell_runs(uri, "grids")}
    assert shapes == {"line": "(1, 12)", "plane": "(2, 4, 4)"}
