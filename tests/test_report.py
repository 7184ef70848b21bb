"""`dimred report` on small real MLflow stores: a full one with a failed cell, and one
holding only AE runs."""

from __future__ import annotations

import re

import matplotlib.image
import pytest

from dimred.benchmark import load_suite, run_suite
from dimred.cli import main
from tests._suites import TINY, write_suite

SUITE = TINY.replace("latent_sizes = [2]", "latent_sizes = [2, 4]") + """
[datasets.digits_standardized]
source = "digits"
n_train = 300
n_test = 100
standardize = true

[methods.VAE-bernoulli]        # fails: a Bernoulli likelihood needs data in [0, 1]
estimator = "VAE"
datasets = ["digits_standardized"]
likelihood = "bernoulli"
max_epochs = 2
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    summary = run_suite(load_suite(write_suite(folder, SUITE)), tracking_uri=uri,
                        progress=False)
    assert len(summary.failed) == 2 and len(summary.finished) == 16
    return uri


def _linked_images(markdown: str, folder) -> list:
    return [folder / name for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)]


def test_report_has_leaderboards_figures_and_failures(store, tmp_path):
    out = tmp_path / "report"
    assert main(["report", "--tracking-uri", store, "--experiment", "tiny", "--out",
                 str(out)]) == 0
    markdown = (out / "README.md").read_text()
    for section in ("## Environment", "## Anchors", "## digits", "## digits_standardized",
                    "## Speed against accuracy", "## Cells that did not finish"):
        assert section in markdown
    # Leaderboard: AE has no likelihood, so its ELBO cells are blank, not an error.
    ae_row = next(line for line in markdown.splitlines() if line.startswith("| AE | 2 |"))
    cells = [cell.strip() for cell in ae_row.strip("|").split("|")]
    assert float(cells[2]) > 0 and cells[3] == "" and cells[4] == ""
    vae_row = next(line for line in markdown.splitlines() if line.startswith("| VAE | 2 |"))
    assert all(cell.strip() for cell in vae_row.strip("|").split("|"))
    assert "digits_standardized/VAE-bernoulli/k=2/seed=0 | FAILED | ValueError" in markdown
    assert "| PCA, k = 30: test squared error per image | 13.87 |" in markdown
    images = _linked_images(markdown, out)
    names = {path.name for path in images}
    assert {"digits_measures.png", "digits_gallery.png", "digits_samples.png",
            "digits_latent.png", "pareto.png"} <= names
    for path in images:
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 200, path.name
        assert pixels.std() > 0.01, f"{path.name} is blank"


def test_report_on_a_store_with_only_ae_runs(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    suite = write_suite(tmp_path)
    assert main(["bench", str(suite), "--tracking-uri", uri, "--only", "*/AE/*",
                 "--no-progress"]) == 0
    out = tmp_path / "report"
    assert main(["report", "--tracking-uri", uri, "--out", str(out)]) == 0
    markdown = (out / "README.md").read_text()
    assert "| AE | 2 |" in markdown and "| POD |" not in markdown
    names = {path.name for path in _linked_images(markdown, out)}
    assert "digits_measures.png" in names and "digits_samples.png" not in names
    assert all((out / name).is_file() for name in names)


def test_report_on_an_unknown_experiment_names_it(store, tmp_path, capsys):
    assert main(["report", "--tracking-uri", store, "--experiment", "nope", "--out",
                 str(tmp_path)]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
