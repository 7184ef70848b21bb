"""Small real suites for the runner tests, written to disk as users write them, and a
reader of the cell runs they leave in a store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

TINY = """
[suite]
name = "tiny"
latent_sizes = [2]
seeds = [0]
n_importance_samples = 10

[datasets.digits]
n_train = 300
n_test = 100

[methods.POD]

[methods.PCA]

[methods.AE]
hidden_layer_sizes = [32]
max_epochs = 3

[methods.VAE]
hidden_layer_sizes = [32]
max_epochs = 3
"""


def write_suite(folder: Path, text: str = TINY, name: str = "suite.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def cell_runs(uri: str, experiment: str = "tiny") -> list:
    """The cell runs (not the parent runs) of ``experiment``; none before it exists."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return [run for run in runs if run.data.tags.get("dimred.kind") == "cell"]
