"""Every file in examples/ runs: the user's method keeps the contract, and the example
suite runs it beside the built-ins through the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from dimred.schema import Metric
from dimred.testing import check_reducer
from tests._suites import cell_runs

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_every_example_is_run_here():
    """A new file in examples/ needs a test in this module."""
    assert sorted(path.name for path in EXAMPLES.iterdir()) == [
        "random_projection.py", "suite.toml"]


@pytest.fixture
def random_projection(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    from random_projection import RandomProjection

    return RandomProjection


def test_random_projection_keeps_the_contract(random_projection):
    check_reducer(random_projection(n_components=2))


def test_the_example_suite_runs(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    subprocess.run([sys.executable, "-m", "dimred.cli", "bench", str(EXAMPLES / "suite.toml"),
                    "--tracking-uri", uri, "--no-progress"], check=True, cwd=tmp_path,
                   capture_output=True)
    runs = cell_runs(uri, "example")
    assert len(runs) == 9 and {run.info.status for run in runs} == {"FINISHED"}
    errors = {run.data.params["method"]: run.data.metrics[Metric.TEST_RELATIVE_ERROR]
              for run in runs if run.data.params["n_components"] == "32"}
    # At k = 32 on the 64-pixel digits, POD beats a random projection, as it must.
    assert errors["POD"] < errors["random_projection"] < 1
    mlflow.set_tracking_uri(None)
