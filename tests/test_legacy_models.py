"""Nothing a user saved is lost: models pickled and logged to MLflow at commit 170c60e,
before the package was laid out by layer (``tests/fixtures/legacy/make_models.py``),
load today and give the same ``transform``."""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow
import numpy as np
import pytest

import dimred

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
EXPECTED = np.load(LEGACY / "expected.npz")
NAMES = ["pod", "pca", "ae", "ae_conv", "vae"]


@pytest.mark.parametrize("name", NAMES)
def test_a_pickle_from_before_the_move_transforms_identically(name):
    model = pickle.loads((LEGACY / f"{name}.pkl").read_bytes())
    assert type(model) is getattr(dimred, type(model).__name__)  # today's public class
    np.testing.assert_array_equal(model.transform(EXPECTED["X"]), EXPECTED[name])


def test_an_mlflow_model_from_before_the_move_predicts_identically():
    model = mlflow.pyfunc.load_model(str(LEGACY / "mlflow_ae"))
    np.testing.assert_array_equal(model.predict(EXPECTED["X"]), EXPECTED["ae"])
