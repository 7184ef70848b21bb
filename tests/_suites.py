"""Small real suites for the runner tests, written to disk as users write them."""

from __future__ import annotations

from pathlib import Path

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
