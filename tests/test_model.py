"""The logged MLflow model takes ordinary input: float32, float64 and integer arrays,
data frames, and CSV through `mlflow models predict`, on a real SQLite store.

(int64 arrays are the exception MLflow makes: it converts them to double only when every
value is 0 or 1, since int64 does not fit a double exactly in general.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from dimred import POD
from dimred.benchmark._model import log_estimator


@pytest.fixture(scope="module")
def float32_model(tmp_path_factory):
    """POD fitted on float32 digits (pixel counts 0-16), logged as the runner logs it."""
    folder = tmp_path_factory.mktemp("model")
    X = load_digits().data.astype(np.float32)
    pod = POD(5).fit(X[:1000])
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment("models", artifact_location=(folder / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        uri = log_estimator(pod, X[1000:])
    return uri, pod, X[1000:1100], folder


@pytest.mark.parametrize("kind", ["float32", "float64", "int32", "uint8", "frame"])
def test_predict_takes_ordinary_arrays(float32_model, kind):
    uri, pod, X, _ = float32_model
    model = mlflow.pyfunc.load_model(uri)
    given = pd.DataFrame(X.astype(np.float64)) if kind == "frame" else X.astype(kind)
    codes = model.predict(given)
    assert codes.dtype == np.float32  # the model's dtype, whatever came in
    np.testing.assert_allclose(codes, pod.transform(X), rtol=1e-5, atol=1e-4)


def test_signature_says_what_it_accepts(float32_model):
    uri, _, X, _ = float32_model
    signature = mlflow.models.get_model_info(uri).signature
    assert signature.inputs.input_types() == [mlflow.types.DataType.double] * X.shape[1]
    assert signature.outputs.inputs[0].type == np.dtype(np.float32)
    with pytest.raises(mlflow.exceptions.MlflowException, match="declares 64 inputs"):
        mlflow.pyfunc.load_model(uri).predict(X[:, :10])


def test_mlflow_models_predict_reads_a_csv(float32_model):
    uri, pod, X, folder = float32_model
    source, result = folder / "input.csv", folder / "output.json"
    pd.DataFrame(X / 16).to_csv(source, index=False)  # intensities in [0, 1], as decimals
    subprocess.run([sys.executable, "-m", "mlflow", "models", "predict", "-m", uri, "-i",
                    str(source), "-t", "csv", "-o", str(result), "--env-manager", "local"],
                   check=True, capture_output=True,
                   env={**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()})
    predictions = np.asarray(json.loads(result.read_text())["predictions"])
    np.testing.assert_allclose(predictions, pod.transform(X / 16), rtol=1e-5, atol=1e-4)
