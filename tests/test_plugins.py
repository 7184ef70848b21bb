"""Methods and data sets from outside dimred: a file beside the suite, an entry point, an
import path; refused with file and line when they cannot be used."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pytest

from dimred._plugins import ENTRY_POINT_GROUP, registered_methods, resolve_method
from dimred.benchmark import SuiteError, load_suite, run_suite
from dimred.schema import Metric, Tag
from tests._suites import cell_runs, write_suite

EXAMPLE = Path(__file__).parents[1] / "examples" / "random_projection.py"

#: A suite over a small digits split, with one method named by the caller.
SUITE = """
[suite]
name = "plugins"
latent_sizes = [2, 4]
seeds = [0]

[datasets.digits]
n_train = 300
n_test = 100

[methods.POD]

[methods.mine]
estimator = "{estimator}"
"""


def _beside(folder: Path, module: str) -> None:
    """The example method, copied beside a suite as ``module.py``."""
    shutil.copy(EXAMPLE, folder / f"{module}.py")


def test_a_method_in_a_file_beside_the_suite_runs_and_its_model_loads_elsewhere(tmp_path):
    _beside(tmp_path, "beside_method")
    suite = write_suite(tmp_path, SUITE.format(estimator="beside_method:RandomProjection"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = run_suite(load_suite(suite), tracking_uri=uri, progress=False)
    assert summary.ok and len(summary.finished) == 4
    runs = {run.info.run_name: run for run in cell_runs(uri, "plugins")}
    mine = runs["digits/mine/k=4/seed=0"]
    assert mine.info.status == "FINISHED"
    assert mine.data.params["estimator"] == "beside_method:RandomProjection"
    # It reconstructs, so it has the errors; its score is no likelihood, so no ELBO.
    assert 0 < mine.data.metrics[Metric.TEST_RELATIVE_ERROR] < 1
    assert Metric.TEST_ELBO not in mine.data.metrics
    assert Tag.LIKELIHOOD not in mine.data.tags
    assert Metric.TEST_ELBO in runs["digits/POD/k=4/seed=0"].data.metrics
    # Every metric logged is one the schema names.
    assert {name for run in runs.values() for name in run.data.metrics} <= set(Metric)
    # The model carries the module: a fresh process, away from the suite, loads it.
    model_uri = mine.data.tags[Tag.MODEL_URI]
    script = textwrap.dedent(f"""
        import mlflow, numpy as np
        mlflow.set_tracking_uri({uri!r})
        model = mlflow.pyfunc.load_model({model_uri!r})
        print(model.predict(np.ones((3, 64))).shape)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd="/", capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("(3, 4)")


def test_an_entry_point_method_runs(tmp_path, monkeypatch):
    # An installed distribution as importlib.metadata reads one: a *.dist-info folder
    # with entry_points.txt on sys.path, beside the module it points to.
    site = tmp_path / "site"
    site.mkdir()
    _beside(site, "plugin_method")
    info = site / "dimred_plugin_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dimred-plugin-example\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nrandom_projection = plugin_method:RandomProjection\n")
    monkeypatch.syspath_prepend(str(site))
    assert registered_methods()["random_projection"] == "plugin_method:RandomProjection"
    suites = tmp_path / "suites"
    suites.mkdir()
    suite = write_suite(suites, SUITE.format(estimator="random_projection"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = run_suite(load_suite(suite), tracking_uri=uri, progress=False,
                        only="digits/mine/*")
    assert summary.ok and summary.finished == ["digits/mine/k=2/seed=0",
                                                "digits/mine/k=4/seed=0"]


def test_a_dataset_from_a_function_beside_the_suite(tmp_path):
    (tmp_path / "my_data.py").write_text(textwrap.dedent("""
        import numpy as np
        from sklearn.utils import Bunch

        def planes(n_samples=400, seed=0):
            rng = np.random.default_rng(seed)
            X = rng.standard_normal((n_samples, 3)) @ rng.standard_normal((3, 12))
            return Bunch(X_train=X[:300], X_test=X[300:], name="planes")
    """))
    text = SUITE.format(estimator="POD").replace(
        "[datasets.digits]\nn_train = 300\nn_test = 100",
        '[datasets.planes]\nsource = "my_data:planes"\nn_samples = 500\nstandardize = true')
    suite = load_suite(write_suite(tmp_path, text))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert run_suite(suite, tracking_uri=uri, progress=False, only="planes/POD/*").ok
    runs = {run.info.run_name: run for run in cell_runs(uri, "plugins")}
    assert runs["planes/POD/k=2/seed=0"].data.params["n_train"] == "300"
    assert runs["planes/POD/k=2/seed=0"].data.params["n_test"] == "200"
    # Three directions span the data: k = 4 reconstructs it (standardised) exactly.
    assert runs["planes/POD/k=4/seed=0"].data.metrics[Metric.TEST_MSE] < 1e-20


@pytest.mark.parametrize(("estimator", "message"), [
    ("no_such_module:Thing", "cannot import module 'no_such_module'"),
    ("beside_bad:Missing", "has no 'Missing'"),
    ("beside_bad:helper", "is not an estimator class"),
    ("beside_bad:NoTransform", "without transform"),
    ("beside_bad:NoComponents", "has no n_components parameter"),
    ("nonsense", "unknown estimator 'nonsense'"),
])
def test_a_method_that_cannot_be_used_is_refused_with_file_and_line(tmp_path, estimator,
                                                                    message):
    (tmp_path / "beside_bad.py").write_text(textwrap.dedent("""
        from sklearn.base import BaseEstimator

        def helper():
            pass

        class NoTransform(BaseEstimator):
            def __init__(self, n_components=2):
                self.n_components = n_components

            def fit(self, X):
                return self

        class NoComponents(BaseEstimator):
            def fit(self, X):
                return self

            def transform(self, X):
                return X
    """))
    suite = write_suite(tmp_path, SUITE.format(estimator=estimator))
    with pytest.raises(SuiteError, match=message) as raised:
        load_suite(suite)
    line = SUITE.format(estimator=estimator).splitlines().index(f'estimator = "{estimator}"')
    assert str(raised.value).startswith(f"{suite}:{line + 1}: ")


def test_a_scikit_learn_method_gets_its_parameters_checked_at_load(tmp_path):
    text = SUITE.format(estimator="sklearn.decomposition:KernelPCA") + 'kernel = "nonsense"\n'
    suite = write_suite(tmp_path, text)
    with pytest.raises(SuiteError, match="'kernel' parameter of KernelPCA") as raised:
        load_suite(suite)
    assert str(raised.value).startswith(f"{suite}:{len(text.splitlines())}: ")
    suite = write_suite(tmp_path, SUITE.format(estimator="sklearn.manifold:Isomap")
                        + "no_such = 1\n")
    with pytest.raises(SuiteError, match="no_such is not a parameter of"):
        load_suite(suite)


def test_a_dataset_function_that_cannot_be_found_is_refused(tmp_path):
    text = SUITE.format(estimator="POD").replace(
        "[datasets.digits]", '[datasets.digits]\nsource = "nowhere_module:load"')
    with pytest.raises(SuiteError, match="cannot import module 'nowhere_module'"):
        load_suite(write_suite(tmp_path, text))


def test_methods_without_inverse_transform_or_likelihood_finish_with_blanks(tmp_path):
    text = SUITE.format(estimator="sklearn.manifold:Isomap") + textwrap.dedent("""
        [methods.FactorAnalysis]
        estimator = "sklearn.decomposition:FactorAnalysis"

        [methods.KernelPCA]
        estimator = "sklearn.decomposition:KernelPCA"
    """)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = run_suite(load_suite(write_suite(tmp_path, text)), tracking_uri=uri,
                        progress=False, only="*/k=2/*")
    assert summary.ok and len(summary.finished) == 4
    runs = {run.info.run_name.split("/")[1]: run.data for run in cell_runs(uri, "plugins")}
    # Isomap, and KernelPCA without fit_inverse_transform, cannot reconstruct.
    for name in ("mine", "KernelPCA"):
        assert Metric.TEST_MSE not in runs[name].metrics
        assert Metric.TRANSFORM_SAMPLES_PER_S in runs[name].metrics
    # FactorAnalysis's score is an exact likelihood; POD's equals pPCA's, also exact.
    assert runs["FactorAnalysis"].tags[Tag.LIKELIHOOD] == "exact"
    assert np.isfinite(runs["FactorAnalysis"].metrics[Metric.TEST_ELBO])
    assert runs["POD"].tags[Tag.LIKELIHOOD] == "exact"


def test_resolving_a_built_in_needs_no_search(tmp_path):
    import dimred

    assert resolve_method("POD", tmp_path) is dimred.POD
    assert resolve_method("dimred:VAE") is dimred.VAE
    with pytest.raises(ValueError, match="already imported from"):
        (tmp_path / "mlflow.py").write_text("")
        resolve_method("mlflow:MlflowClient", tmp_path)
    assert mlflow.MlflowClient  # the installed module was left in place
