"""`dimred report` on small real MLflow stores: a full one with a failed cell, and one
holding only AE runs."""

from __future__ import annotations

import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from dimred.benchmark import load_suite, run_suite
from dimred.cli import main
from dimred.schema import CELL_KIND, Metric, Param, Tag
from tests._suites import TINY, cell_runs, write_suite

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
    for section in ("## Environment", "## digits", "## digits_standardized",
                    "## Speed against accuracy", "## Cells that did not finish"):
        assert section in markdown
    # No run on the full MNIST split: no table of published MNIST figures to meet.
    assert "## Anchors" not in markdown and "no run" not in markdown
    # Leaderboard: AE has no likelihood, so its ELBO cells are blank, not an error.
    ae_row = next(line for line in markdown.splitlines() if line.startswith("| AE | 2 |"))
    cells = [cell.strip() for cell in ae_row.strip("|").split("|")]
    assert float(cells[2]) > 0 and float(cells[3]) > 0 and cells[4] == "" and cells[5] == ""
    vae_row = next(line for line in markdown.splitlines() if line.startswith("| VAE | 2 |"))
    assert all(cell.strip() for cell in vae_row.strip("|").split("|"))
    assert "digits_standardized/VAE-bernoulli/k=2/seed=0 | FAILED | ValueError" in markdown
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


FIELDS = """
[suite]
name = "fields"
latent_sizes = [1, 3]
seeds = [0]
n_importance_samples = 10

[datasets.burgers]
n_grid = 64
train_grid = [2, 2]
n_snapshots = 20

[methods.POD]

[methods.PCA]

[methods.AE]
hidden_layer_sizes = [16]
max_epochs = 2
"""


def test_report_draws_the_pod_view_of_snapshot_data(tmp_path):
    """Burgers snapshots: every method's reconstructions on the grid, and the spectrum,
    modes and coefficients of the methods that have linear modes, from their logged
    arrays; the latent-size table from the relative errors."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = run_suite(load_suite(write_suite(tmp_path, FIELDS)), tracking_uri=uri,
                        progress=False)
    assert len(summary.finished) == 6
    out = tmp_path / "report"
    assert main(["report", "--tracking-uri", uri, "--out", str(out)]) == 0
    markdown = (out / "README.md").read_text()
    names = {path.name for path in _linked_images(markdown, out)}
    assert {"burgers_snapshots.png", "burgers_spectrum.png", "burgers_modes.png",
            "burgers_coefficients.png"} <= names
    for name in names:
        assert matplotlib.image.imread(out / name).std() > 0.01, f"{name} is blank"
    assert re.search(r"90\.0% of the energy in \d+ modes", markdown)

    from dimred.report._runs import load_examples, load_runs

    runs = load_runs(uri, ["fields"]).set_index(["method", "n_components"])
    table = markdown.split("Smallest latent size")[1].split("\n\n")[1]
    pod_row = next(line for line in table.splitlines() if line.startswith("| POD |"))
    error_at_3 = runs.loc[("POD", 3), "test_relative_error"]
    assert pod_row.endswith(f"| {error_at_3:.3g} (k = 3) |")
    assert 0 < error_at_3 < runs.loc[("POD", 1), "test_relative_error"] < 1
    pod = load_examples(runs.loc[("POD", 3), "artifact_uri"], uri)
    ae = load_examples(runs.loc[("AE", 3), "artifact_uri"], uri)
    assert "field_shape" in ae and "modes" not in ae  # no linear modes, no POD view
    # The method's energies lie on the training set's full spectrum.
    np.testing.assert_allclose(pod["explained_variance"], pod["spectrum"][:3], rtol=1e-6)
    assert pod["modes"].shape == (3, 64) and pod["coefficients_test"].shape[1] == 3
    assert pod["params_test"].shape == (pod["coefficients_test"].shape[0], 2)


def test_anchors_appear_beside_runs_on_the_full_mnist_split():
    from dimred.report._report import _anchors

    runs = pd.DataFrame({
        Param.DATASET_SOURCE: ["mnist", "mnist", "digits"], "n_train": ["60000"] * 3,
        "n_test": ["10000"] * 3, "estimator": ["PCA", "PCA", "PCA"],
        "n_components": [30, 30, 30], "binarize": [False, False, False],
        "dataset": ["mnist"] * 3, "method": ["PCA"] * 3,
        Metric.TEST_SSE_PER_SAMPLE: [13.86, 13.88, 99.0],
        Metric.TEST_LOG_LIKELIHOOD: [np.nan] * 3})
    lines = _anchors(runs)
    assert "| PCA, k = 30: test squared error per image | 13.87 | Hinton & Salakhutdinov " \
           "(2006) | 13.87 ± 0.13 | mnist/PCA, 2 seed(s) |" in lines
    assert any(line.startswith("| VAE z = 50") and "no run" in line for line in lines)
    assert _anchors(runs[runs[Param.DATASET_SOURCE] == "digits"]) == []


def test_an_anchor_is_met_only_by_a_network_of_its_shape():
    from dimred.report._report import _anchors

    def ae(shape, architecture="mlp", error=2.9):
        return {Param.DATASET_SOURCE: "mnist", "n_train": "60000", "n_test": "10000",
                "estimator": "AE", "n_components": 30, "binarize": False,
                "dataset": "mnist", "method": f"AE {shape}", "hidden_layer_sizes": shape,
                "architecture": architecture, Metric.TEST_SSE_PER_SAMPLE: error,
                Metric.TEST_LOG_LIKELIHOOD: np.nan}

    def line(rows):
        return next(line for line in _anchors(pd.DataFrame(rows))
                    if line.startswith("| AE 784-1000-500-250-30"))

    # Another shape at the same k (a smaller network, a conv net with the same dense
    # widths) measures something else: no run meets Hinton & Salakhutdinov's figure.
    assert "no run" in line([ae("[512, 256]", error=6.5),
                             ae("[1000, 500, 250]", architecture="conv", error=4.8)])
    assert "2.90 | mnist/AE (1000, 500, 250), 1 seed(s)" in line(
        [ae("[512, 256]", error=6.5), ae("(1000, 500, 250)")])


def test_a_cell_killed_then_run_again_to_the_end_is_not_listed_as_unfinished():
    from dimred.report._report import _failures

    runs = pd.DataFrame({
        "experiment": ["e"] * 3, "dataset": ["d", "d", "d"], "method": ["AE", "AE", "AE"],
        "n_components": [2, 2, 3],
        "seed": [0, 0, 0], "status": ["KILLED", "FINISHED", "KILLED"], "error": [None] * 3})
    lines = _failures(runs)
    assert "| d/AE/k=3/seed=0 | KILLED |  |" in lines
    assert not any("k=2" in line for line in lines)


def test_a_cell_killed_before_it_logged_its_parameters_is_known_by_its_name(tmp_path):
    """A process killed while tuning leaves a cell run with its tags and no parameters:
    the report names it by its ``suite_cell`` tag, and drops it once the cell finished."""
    from dimred.report._report import _failures
    from dimred.report._runs import load_runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_suite(load_suite(write_suite(tmp_path)), tracking_uri=uri, progress=False,
              only="digits/PCA/*")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny").experiment_id
    for name in ("digits/PCA/k=2/seed=0", "digits/AE/k=2/seed=0"):  # finished; never
        run = client.create_run(experiment, run_name=name, tags={
            Tag.KIND: CELL_KIND, Tag.SUITE_CELL: name})
        client.set_terminated(run.info.run_id, "KILLED")
    runs = load_runs(uri, ["tiny"])
    killed = runs[runs.status == "KILLED"]
    assert sorted(killed.method) == ["AE", "PCA"] and set(killed.n_components) == {2}
    lines = _failures(runs)
    assert "| digits/AE/k=2/seed=0 | KILLED |  |" in lines
    assert not any("PCA" in line or "nan" in line for line in lines)


def test_a_cell_run_again_under_a_changed_configuration_counts_once(tmp_path):
    """A suite whose AE changed between two invocations (as a new default does) runs the
    AE's cells again under the same names. The report takes each cell's latest result:
    both would pair each seed with itself in the verdict, whose paired test refused the
    duplicate seeds with a pandas error."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    suite = TINY.replace("seeds = [0]", "seeds = [0, 1]").replace(
        "[methods.VAE]\nhidden_layer_sizes = [32]\nmax_epochs = 3\n", "")
    for epochs in (1, 2):
        edited = suite.replace("max_epochs = 3", f"max_epochs = {epochs}")
        summary = run_suite(load_suite(write_suite(tmp_path, edited)), tracking_uri=uri,
                            progress=False)
        assert not summary.failed
    ae = [run for run in cell_runs(uri) if run.data.params["method"] == "AE"]
    assert sorted(run.data.params["max_epochs"] for run in ae) == ["1", "1", "2", "2"]
    latest = [run.data.metrics[Metric.TEST_MSE] for run in ae
              if run.data.params["max_epochs"] == "2"]

    out = tmp_path / "report"
    assert main(["report", "--tracking-uri", uri, "--experiment", "tiny", "--out",
                 str(out)]) == 0
    markdown = (out / "README.md").read_text()
    assert "8 cell runs, 8 finished, 0 failed, 0 running or killed; 2 earlier finished " \
           "run(s) of a cell that finished again later left out." in markdown
    ae_row = next(line for line in markdown.splitlines() if line.startswith("| AE | 2 |"))
    cells = [cell.strip() for cell in ae_row.strip("|").split("|")]
    assert cells[-1] == "2"  # seeds
    assert float(cells[2].split(" ± ")[0]) == pytest.approx(np.mean(latest), rel=1e-3)
    verdict = markdown.split("Verdict on")[1]
    assert "★" in verdict
