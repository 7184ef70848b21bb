"""Several `dimred bench` invocations of one suite at once, as real processes: on a
fresh SQLite store, against a real `mlflow server`, and a Dask cluster beside an
in-process run. Each cell must finish exactly once, nothing may stay RUNNING, and every
invocation must exit 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from dimred.benchmark import load_suite
from tests._suites import TINY, cell_runs, write_suite

#: Concurrency with real processes: run by ``nox -s full``, not the README's test line.
pytestmark = pytest.mark.slow

#: 4 methods x 3 latent sizes x 2 seeds: 24 cells of about half a second each.
SHARED = (TINY.replace("latent_sizes = [2]", "latent_sizes = [2, 4, 8]")
          .replace("seeds = [0]", "seeds = [0, 1]"))


def _start(suite, uri, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dimred.cli", "bench", str(suite), "--tracking-uri", uri,
         "--no-progress", *extra],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _run_together(suite, uri, extras) -> list[int]:
    """Start one invocation per entry of ``extras`` at once; return the cells each ran."""
    processes = [_start(suite, uri, *extra) for extra in extras]
    ran = []
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
        ran.append(int(re.search(r"(\d+) cell\(s\) run", output).group(1)))
    return ran


def _assert_each_cell_finished_once(suite, uri, ran) -> None:
    expected = sorted(c.run_name for c in load_suite(suite).cells({"digits": 64}))
    runs = cell_runs(uri)
    finished = Counter(run.info.run_name for run in runs if run.info.status == "FINISHED")
    assert sorted(finished) == expected
    duplicated = {name: n for name, n in finished.items() if n > 1}
    assert not duplicated, f"cells finished more than once: {duplicated}"
    assert not [run.info.run_name for run in runs if run.info.status == "RUNNING"]
    assert sum(ran) == len(expected), ran
    assert sum(n > 0 for n in ran) >= 2, f"the invocations did not share the work: {ran}"


@pytest.mark.parametrize("n_processes", [2, 3])
def test_invocations_share_the_cells_of_a_fresh_sqlite_store(tmp_path, n_processes):
    suite = write_suite(tmp_path, SHARED)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # does not exist yet: all race to create it
    ran = _run_together(suite, uri, [()] * n_processes)
    _assert_each_cell_finished_once(suite, uri, ran)


def test_invocations_share_the_cells_on_a_tracking_server(mlflow_server, tmp_path):
    suite = write_suite(tmp_path, SHARED)
    ran = _run_together(suite, mlflow_server, [(), ()])
    _assert_each_cell_finished_once(suite, mlflow_server, ran)


def test_a_dask_invocation_beside_an_in_process_one(tmp_path):
    suite = write_suite(tmp_path, SHARED)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ran = _run_together(suite, uri, [("--scheduler", "local:1"), ()])
    _assert_each_cell_finished_once(suite, uri, ran)
