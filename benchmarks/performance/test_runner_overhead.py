"""The runner's own cost per cell: everything outside fit and evaluation (starting the
run, params, tags, metrics, figures, the logged model, the dataset inputs), against the
fit it wraps. Measured on a real SQLite store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import numpy as np

from dimred.benchmark import load_suite, run_suite

SUITE = """
[suite]
name = "overhead"
latent_sizes = [2, 8, 32]
seeds = [0]
n_importance_samples = 10

[datasets.digits]

[methods.POD]

[methods.AE]
hidden_layer_sizes = [256, 128]
max_epochs = 30
"""


def _run_fresh_store() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.toml"
        path.write_text(SUITE)
        uri = f"sqlite:///{Path(folder) / 'mlflow.db'}"
        run_suite(load_suite(path), tracking_uri=uri, progress=False)
        mlflow.set_tracking_uri(uri)
        runs = mlflow.search_runs(experiment_names=["overhead"],
                                  filter_string="tags.`dimred.kind` = 'cell'")
    overhead = runs["metrics.cell_seconds"] - runs["metrics.fit_seconds"] \
        - runs["metrics.evaluation_seconds"]
    fit = runs["metrics.fit_seconds"]
    neural = runs["params.method"] == "AE"
    return {
        "overhead_seconds_per_cell": float(np.median(overhead)),
        "fit_seconds_per_ae_cell": float(np.median(fit[neural])),
        "overhead_to_ae_fit": float(np.median(overhead[neural] / fit[neural])),
        "evaluation_seconds_per_cell": float(np.median(runs["metrics.evaluation_seconds"])),
    }


def test_runner_overhead_per_cell(timed, benchmark):
    figures = {}
    timed("runner_6_cells_digits", lambda: figures.update(_run_fresh_store()), rounds=2)
    benchmark.extra_info.update(figures)
    print("\nrunner: " + ", ".join(f"{k} = {v:.3g}" for k, v in figures.items()))
    assert figures["overhead_seconds_per_cell"] > 0
