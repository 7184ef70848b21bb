"""Nothing a user saved is lost: models pickled and logged to MLflow at commit 170c60e,
before the package was laid out by layer (``tests/fixtures/legacy/make_models.py``),
load today and are the same models.

"The same model" is checked on this machine, bit for bit: a neural model loaded from
its old pickle against today's network rebuilt by hand from the weights the pickle
holds, read without dimred's loading code (their i-th layer into today's i-th layer).
The outputs stored at 170c60e were computed on another processor, whose float32
kernels may sum in another order, so they are compared within a tolerance argued
from the arithmetic (:data:`ULPS`), never exactly.
"""

from __future__ import annotations

import copy
import io
import pickle
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch

import dimred
import dimred.neural._pickling

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
EXPECTED = np.load(LEGACY / "expected.npz")
NAMES = ["pod", "pca", "ae", "ae_conv", "vae"]
NEURAL = ["ae", "ae_conv", "vae"]

#: Tolerance on outputs computed on another processor, in units in the last place of
#: the output's scale (its largest magnitude). Each output is two or three float32
#: layers of sums of at most 16 products: a kernel that sums in another order (oneDNN
#: picks 8 or 16 lanes by the CPU's vector width) moves each sum by a few ulps of its
#: terms, and weights of norm about 1 carry that through. Measured: 1.7 ulps between
#: an Intel Xeon and an AMD EPYC.
ULPS = 16


def assert_close_to_stored(actual: np.ndarray, stored: np.ndarray) -> None:
    assert actual.dtype == stored.dtype == np.float32
    scale = float(np.abs(stored).max())
    np.testing.assert_allclose(actual, stored, rtol=0,
                               atol=ULPS * np.finfo(np.float32).eps * scale)


class _Saved:
    """Stands for any dimred class while a pickle is read without dimred: it keeps the
    state the pickle hands it, nothing else."""

    def __setstate__(self, state):
        self.state = state


class _NeutralUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.split(".")[0] == "dimred":
            return _Saved
        return super().find_class(module, name)


def saved_layers(name: str) -> list[list[np.ndarray]]:
    """The network weights the pickle ``name`` holds, as read by the pickle module alone:
    one ``[weight, bias]`` per layer, in the order the saved network declared them."""
    raw = _NeutralUnpickler(io.BytesIO((LEGACY / f"{name}.pkl").read_bytes())).load()
    weights = raw.state["_network_weights"]
    layers = [[weights[key], weights[key.removesuffix("weight") + "bias"]]
              for key in weights if key.endswith(".weight")]
    assert sum(map(len, layers)) == len(weights)  # nothing but weights and biases
    return layers


def rebuilt(loaded, name: str):
    """``loaded`` with today's network built afresh and the saved weights put in by
    hand: the i-th saved layer into today's i-th layer with weights."""
    model = copy.deepcopy(loaded)
    network = model._build_network(model.n_features_in_, torch.Generator())
    layers = [module for module in network.modules()
              if isinstance(module, torch.nn.Linear | torch.nn.Conv2d)]
    saved = saved_layers(name)
    assert len(layers) == len(saved)
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, saved, strict=True):
            layer.weight.copy_(torch.from_numpy(weight))
            layer.bias.copy_(torch.from_numpy(bias))
    model.network_ = network.eval()
    return model


def assert_same_model(loaded, name: str) -> None:
    """``loaded`` encodes and decodes exactly as the rebuilt model, on this machine."""
    reference = rebuilt(loaded, name)
    X = EXPECTED["X"]
    codes = loaded.transform(X)
    np.testing.assert_array_equal(codes, reference.transform(X))
    np.testing.assert_array_equal(loaded.inverse_transform(codes),
                                  reference.inverse_transform(codes))


def load(name: str):
    return pickle.loads((LEGACY / f"{name}.pkl").read_bytes())


@pytest.mark.parametrize("name", NAMES)
def test_a_pickle_from_before_the_move_loads_as_todays_class_and_transforms_as_it_did(name):
    model = load(name)
    assert type(model) is getattr(dimred, type(model).__name__)  # today's public class
    assert_close_to_stored(model.transform(EXPECTED["X"]), EXPECTED[name])


@pytest.mark.parametrize("name", NEURAL)
def test_a_neural_pickle_from_before_the_move_is_the_saved_network(name):
    assert_same_model(load(name), name)


@pytest.mark.parametrize("name", NEURAL)
def test_the_check_catches_saved_weights_read_into_the_wrong_layer(name, monkeypatch):
    """Plant the fault: loading swaps two same-shaped tensors of different layers."""
    upgrade = dimred.neural._pickling.weights_in_data_units

    def misplaced(network, weights):
        weights = dict(upgrade(network, weights))
        keys = [key for key in weights if key.endswith((".weight", ".bias"))]
        first, second = next((a, b) for i, a in enumerate(keys) for b in keys[i + 1:]
                             if weights[a].shape == weights[b].shape
                             and a.rsplit(".", 1)[0] != b.rsplit(".", 1)[0])
        weights[first], weights[second] = weights[second], weights[first]
        return weights

    monkeypatch.setattr(dimred.neural._pickling, "weights_in_data_units", misplaced)
    with pytest.raises(AssertionError, match="Mismatched elements"):
        assert_same_model(load(name), name)


def test_an_mlflow_model_from_before_the_move_predicts_as_the_saved_network():
    model = mlflow.pyfunc.load_model(str(LEGACY / "mlflow_ae"))
    X = EXPECTED["X"]
    np.testing.assert_array_equal(model.predict(X), rebuilt(load("ae"), "ae").transform(X))
    assert_close_to_stored(model.predict(X), EXPECTED["ae"])
