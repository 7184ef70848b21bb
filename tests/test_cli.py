"""The `dimred` command's edges, as real processes where the behaviour is a process's:
help without heavy imports, --version, --only with no match, and `dimred ui`'s server,
port and store handling."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from dimred.benchmark import load_suite, run_suite
from dimred.cli import main
from tests._suites import TINY, cell_runs, write_suite
from tests.conftest import free_port

_HEAVY = ("torch", "mlflow", "sklearn", "dask")


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"], ["ui", "--help"],
                                  ["report", "--help"], ["--version"]])
def test_help_and_version_import_neither_torch_nor_mlflow(argv):
    probe = ("import sys\nfrom dimred.cli import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit:\n    pass\n"
             f"print('HEAVY', [m for m in {_HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                          text=True, check=True)
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
    if argv == ["--version"]:
        assert done.stdout.startswith("dimred ")


def test_only_matching_nothing_exits_2_and_starts_no_run(tmp_path, capsys):
    suite = write_suite(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["bench", str(suite), "--tracking-uri", uri, "--only", "mnist/*",
                 "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "matches none of the suite's 4 cells" in error and "digits/POD/k=2/seed=0" in error
    assert not (tmp_path / "mlflow.db").exists()  # the store was not even opened


def test_report_and_ui_never_create_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--tracking-uri", "sqlite:///mlflow.db"]) == 2
    assert main(["ui", "--tracking-uri", "sqlite:///mlflow.db", "--port", str(free_port())]) == 2
    assert "no tracking store at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ui_on_a_busy_port_is_a_clear_error(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "mlflow.db").touch()
        assert main(["ui", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
                     "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is busy" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    suite = write_suite(folder, "[suite]\nname = \"tiny\"\nlatent_sizes = [2]\nseeds = [0]\n"
                        "[datasets.digits]\nn_train = 200\nn_test = 50\n[methods.POD]\n")
    run_suite(load_suite(suite), tracking_uri=uri, progress=False)
    return uri


@pytest.mark.slow  # a real MLflow UI server (about 30 s)
def test_ui_prints_the_comparison_and_sigterm_frees_its_port(small_store):
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "dimred.cli", "ui", "--tracking-uri",
                           small_store, "--port", str(port)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = ui.stdout.readline()
        experiment = MlflowClient(small_store).get_experiment_by_name("tiny")
        assert f"http://127.0.0.1:{port}/#/experiments/{experiment.experiment_id}/runs?" in line
        assert "viewStateShareKey=dimred-comparison" in line
        # The view the URL names is stored where the UI reads it.
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        assert "metrics.`test_mse`" in experiment.tags["mlflow.sharedViewState.dimred-comparison"]
        # The URL is printed once the server answers: opening it at once works.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as health:
            assert health.status == 200
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=60) == 0
    finally:
        if ui.poll() is None:
            ui.kill()
    # Server and workers are gone: nothing answers on the port and it can be bound again
    # (as servers bind, past connections' TIME_WAIT notwithstanding).
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, f"port {port} still answers after SIGTERM"
        time.sleep(0.5)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_dry_run_read_by_head_ends_without_a_traceback(tmp_path):
    # 2560 cells, 140 kB of listing: more than a pipe holds, so the writer meets the
    # closed pipe whatever the timing.
    suite = write_suite(tmp_path, TINY.replace("latent_sizes = [2]",
                                               f"latent_sizes = {list(range(1, 65))}")
                        .replace("seeds = [0]", f"seeds = {list(range(10))}"))
    command = (f"{sys.executable} -m dimred.cli bench {suite} --dry-run "
               f"--tracking-uri sqlite:///{tmp_path / 'mlflow.db'} | head -1")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.stdout.startswith("[ to run] digits/")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_the_views_charts_draw_what_the_cells_log_against_k(small_store):
    client = MlflowClient(small_store)
    experiment = client.get_experiment_by_name("tiny")
    state = json.loads(experiment.tags["mlflow.sharedViewState.dimred-comparison"])
    cell, = cell_runs(small_store, "tiny")
    # Grouped by names the cells carry, charted by metrics they log, each at step k.
    assert [key["groupByData"] for key in state["groupBy"]["groupByKeys"]] == [
        "dataset", "method"]
    assert {key["groupByData"] for key in state["groupBy"]["groupByKeys"]} <= set(
        cell.data.params)
    charts = [chart for chart in state["compareRunCharts"] if chart["type"] == "LINE"]
    assert {chart["metricKey"] for chart in charts} >= {"test_relative_error", "test_mse"}
    for chart in charts:
        assert chart["xAxisKey"] == "step"
        history = client.get_metric_history(cell.info.run_id, chart["metricKey"])
        assert [point.step for point in history] == [int(cell.data.params["n_components"])]


@pytest.mark.parametrize("fault", ["text column", "missing key", "text array"])
def test_bad_data_is_one_line_at_the_suites_line_and_exit_2(tmp_path, fault):
    """Bad input, not a bug: no traceback, the suite's file:line and the dataset's
    table; ``--debug`` shows the traceback."""
    if fault == "text column":
        (tmp_path / "data.csv").write_text("u,v,site\n1,2,north\n3,4,south\n5,6,east\n")
        source, expected = "file:data.csv", r"column\(s\) \['site'\] hold text"
    elif fault == "missing key":
        np.savez(tmp_path / "data.npz", fields=np.ones((10, 3)))
        source, expected = "file:data.npz", r"has no array 'snapshots'; it holds \['fields'\]"
    else:
        np.save(tmp_path / "data.npy", np.full((10, 3), "a"))
        source, expected = "file:data.npy", "dtype <U1, not numbers"
    suite = tmp_path / "suite.toml"
    suite.write_text(f'[suite]\nlatent_sizes = [1]\n\n[datasets.mine]\nsource = "{source}"\n'
                     + ('key = "snapshots"\n' if fault == "missing key" else "")
                     + "\n[methods.POD]\n")
    command = [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri",
               f"sqlite:///{tmp_path / 'mlflow.db'}", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith(f"dimred bench: {suite}:4: datasets.mine: ")
    assert re.search(expected, lines[0])
    assert not (tmp_path / "mlflow.db").exists()  # refused before the store is opened
    debug = subprocess.run([*command, "--debug"], capture_output=True, text=True, cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
