"""Suites on a real Dask LocalCluster, logging to a real ``mlflow server``; a worker
killed mid-cell."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time

import pytest
from distributed import LocalCluster

from dimred.benchmark import load_suite, run_suite
from dimred.cli import main
from tests._suites import TINY, cell_runs, write_suite
from tests.test_plugins import EXAMPLE

#: Dask clusters of real worker processes: run by ``nox -s full``, not the README's test line.
pytestmark = pytest.mark.slow


def test_suite_on_a_two_worker_local_cluster(mlflow_server, tmp_path, capsys):
    # Beside the built-ins, a method from a file beside the suite: the workers import it
    # from the suite's folder themselves.
    shutil.copy(EXAMPLE, tmp_path / "worker_method.py")
    suite = write_suite(tmp_path, TINY.replace("latent_sizes = [2]", "latent_sizes = [2, 4]")
                        + '[methods.mine]\nestimator = "worker_method:RandomProjection"\n')
    command = ["bench", str(suite), "--tracking-uri", mlflow_server, "--scheduler", "local:2",
               "--no-progress"]
    assert main(command) == 0
    runs = cell_runs(mlflow_server)
    names = sorted(run.info.run_name for run in runs)
    assert names == sorted(c.run_name for c in load_suite(suite).cells({"digits": 64}))
    assert len(names) == len(set(names)) == 10
    assert all(run.info.status == "FINISHED" for run in runs)
    mine = [run for run in runs if "/mine/" in run.info.run_name]
    assert len(mine) == 2 and all(0 < r.data.metrics["test_relative_error"] < 1 for r in mine)
    workers = {run.data.tags["dimred.worker"] for run in runs}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert all(run.data.tags["dimred.host"] for run in runs)
    # Two workers on 2 cores: each pinned to one thread.
    assert {run.data.tags["dimred.threads"] for run in runs} == {
        str(max(1, os.cpu_count() // 2))}
    # Resume semantics are those of the in-process path.
    capsys.readouterr()
    assert main(command) == 0
    assert "0 cell(s) run, 10 skipped" in capsys.readouterr().out
    assert len(cell_runs(mlflow_server)) == 10


def test_a_worker_killed_mid_cell_is_rerun_not_duplicated(tmp_path):
    suite = write_suite(tmp_path, TINY.replace("latent_sizes = [2]", "latent_sizes = [2, 4]")
                        .replace("max_epochs = 3", "max_epochs = 80"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    killed = []

    def kill_first_running_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                runs = cell_runs(uri)
            except Exception:  # the store may be mid-creation
                runs = []
            for run in runs:
                if run.info.status == "RUNNING" and run.data.params.get("method") == "AE":
                    os.kill(int(run.data.tags["dimred.pid"]), signal.SIGKILL)
                    killed.append(run.info.run_name)
                    return
            time.sleep(0.1)

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster:
        killer = threading.Thread(target=kill_first_running_worker)
        killer.start()
        summary = run_suite(load_suite(suite), tracking_uri=uri,
                            scheduler=cluster.scheduler_address, progress=False)
        killer.join()
    assert killed, "no AE cell was seen running"
    assert summary.ok, summary.report()
    runs = cell_runs(uri)
    finished = [run.info.run_name for run in runs if run.info.status == "FINISHED"]
    assert len(finished) == len(set(finished)) == 8
    assert [run.info.run_name for run in runs if run.info.status == "KILLED"] == killed
    assert not [run for run in runs if run.info.status == "RUNNING"]


@pytest.fixture(autouse=True)
def _single_threaded_torch(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
