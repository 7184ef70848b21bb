"""The POD view of a cell on 2-D fields: a travelling wave, the flow past a cylinder in
miniature. Its first two modes are a pair of equal energy, their coefficients a
quarter period apart, and the figures draw them on the grid."""

from __future__ import annotations

import io

import matplotlib.image
import numpy as np
import pytest
from sklearn.utils import Bunch

from dimred import AE, POD
from dimred.benchmark._evaluation import fit_and_evaluate
from dimred.figures._modal import coefficient_trajectories, energy_ranks, training_spectrum


@pytest.fixture(scope="module")
def wave():
    ny, nx = 12, 24
    x, y = np.meshgrid(np.linspace(0, 4, nx), np.linspace(-1, 1, ny))
    times = np.linspace(0, 10, 200)
    envelope = np.exp(-y**2)
    u = np.stack([envelope * np.cos(2 * np.pi * (x - 0.5 * t)) for t in times])
    v = np.stack([0.5 * envelope * np.sin(2 * np.pi * (x - 0.5 * t)) for t in times])
    fields = np.stack([u, v], axis=1).reshape(len(times), -1)
    return Bunch(name="wave", X_train=fields[:160], X_test=fields[160:], y_train=times[:160],
                 y_test=times[160:], times_train=times[:160], times_test=times[160:],
                 grid=(x[0], y[:, 0]), field_shape=(2, ny, nx), image_shape=None,
                 field_channels=("u", "v"))


def test_pod_view_of_a_travelling_wave(wave):
    result = fit_and_evaluate(POD(4), wave, n_importance_samples=5)
    examples = result.examples
    assert {"spectrum.png", "modes.png", "coefficients.png", "reconstructions.png"} <= set(
        result.figures)
    energies = examples["explained_variance"]
    assert energies[1] == pytest.approx(energies[0], rel=0.1)
    np.testing.assert_allclose(energies[:2], examples["spectrum"][:2], rtol=1e-8)
    assert energy_ranks(examples["spectrum"])[0.9] == 2
    # One trajectory in time, training then test, continuous across the split.
    trajectories = coefficient_trajectories(examples)
    assert list(trajectories) == ["train", "test"]
    a = np.concatenate([trajectories["train"][1], trajectories["test"][1]])
    assert np.corrcoef(a[:, 0], a[:, 1])[0, 1] == pytest.approx(0, abs=0.1)
    assert examples["modes"].shape == (4, 2 * 12 * 24)
    assert list(examples["field_channels"]) == ["u", "v"]
    for name, figure in result.figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        buffer.seek(0)
        assert matplotlib.image.imread(buffer).std() > 0.01, name


def test_a_method_without_linear_modes_gets_reconstructions_only(wave):
    result = fit_and_evaluate(AE(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0),
                              wave, n_importance_samples=5)
    assert "reconstructions.png" in result.figures
    assert not {"spectrum.png", "modes.png", "coefficients.png"} & set(result.figures)
    assert "modes" not in result.examples and "field_shape" in result.examples


def test_training_spectrum_matches_the_svd_on_either_side():
    rng = np.random.default_rng(0)
    for shape in ((50, 8), (8, 50)):
        X = rng.normal(size=shape) * np.geomspace(1, 1e-3, shape[1])
        singular = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
        spectrum = training_spectrum(X)
        np.testing.assert_allclose(spectrum[:len(singular)], singular**2 / (shape[0] - 1),
                                   rtol=1e-8, atol=1e-12)
