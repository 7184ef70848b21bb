"""Convolutional and user-defined networks for AE and VAE: they train, pickle, count
their parameters, and refuse inconsistent settings before torch sees them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from dimred import AE, VAE
from dimred.neural.networks._layers import initialise


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def waves():
    """Bumps travelling round a periodic 1-D grid of 64 points."""
    grid = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    shifts = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    return np.exp(2 * (np.cos(grid[None, :] - shifts[:, None]) - 1)).astype(np.float32)


@pytest.fixture(scope="module")
def blobs():
    """A Gaussian blob at random places on a 12 × 12 grid, in two channels (the second
    half the first), flattened in C order: (channels, height, width)."""
    grid = np.arange(12)
    centres = np.random.default_rng(0).uniform(2, 10, (400, 2))
    blob = np.exp(-((grid[None, :, None] - centres[:, 0, None, None]) ** 2
                    + (grid[None, None, :] - centres[:, 1, None, None]) ** 2) / 4)
    return np.stack([blob, 0.5 * blob], axis=1).reshape(400, -1).astype(np.float32)


def _relative_error(model, X):
    return np.linalg.norm(X - model.inverse_transform(model.transform(X))) / np.linalg.norm(X)


@pytest.mark.parametrize("cls", [AE, VAE])
def test_conv_networks_train_on_images_and_periodic_fields_and_pickle(cls, blobs, waves):
    for X, shape, padding in ((blobs, (2, 12, 12), "zeros"), (waves, (1, 64), "circular")):
        model = cls(n_components=4, architecture="conv", input_shape=shape, padding=padding,
                    conv_channels=(8, 16), hidden_layer_sizes=(64,), max_epochs=40,
                    learning_rate=3e-3, random_state=0).fit(X)
        assert model.input_shape_ == shape
        # Learned: at most half the error of predicting the mean row.
        mean_error = np.linalg.norm(X - X.mean(axis=0)) / np.linalg.norm(X)
        assert _relative_error(model, X) < 0.5 * mean_error
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(restored.transform(X), model.transform(X))
        convolutions = [m for m in model.network_.modules()
                        if isinstance(m, torch.nn.Conv1d | torch.nn.Conv2d)]
        assert convolutions and {m.padding_mode for m in convolutions} == {padding}


def test_circular_padding_makes_the_code_follow_a_rotation(waves):
    # On a periodic grid with circular padding, a shift by the total stride (4 points for
    # two stride-2 stages) moves every feature map exactly: the encoder's first stage
    # commutes with the rotation, which zero padding breaks at the edges.
    model = AE(n_components=4, architecture="conv", input_shape=(1, 64), padding="circular",
               conv_channels=(8, 16), max_epochs=2, random_state=0).fit(waves)
    # After the standardisation (encoder[0]): unflatten, conv, activation.
    first = model.network_.encoder[1].module[:3]
    x = torch.as_tensor(waves[:5])
    with torch.no_grad():
        rolled = first(torch.roll(x, 2, dims=1))
        np.testing.assert_allclose(rolled, torch.roll(first(x), 1, dims=2), atol=1e-6)


def _user_modules(n_features: int, n_outputs: int, k: int):
    encoder = torch.nn.Sequential(torch.nn.Linear(n_features, 32), torch.nn.Tanh(),
                                  torch.nn.Linear(32, n_outputs))
    decoder = torch.nn.Sequential(torch.nn.Linear(k, 32), torch.nn.Tanh(),
                                  torch.nn.Linear(32, n_features))
    return encoder, decoder


@pytest.mark.parametrize("cls", [AE, VAE])
def test_a_user_defined_network_trains_and_its_parameters_are_counted(cls, digits):
    k = 3
    encoder, decoder = _user_modules(64, 2 * k if cls is VAE else k, k)
    before = [p.detach().clone() for p in encoder.parameters()]
    model = cls(n_components=k, encoder=encoder, decoder=decoder, max_epochs=20,
                random_state=0).fit(digits)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    own = sum(p.numel() for p in [*encoder.parameters(), *decoder.parameters()])
    learned_noise = 1 if cls is VAE else 0  # the VAE's decoder variance
    assert model.n_parameters_ == own + learned_noise
    # The estimator trained a copy: the modules it was given are untouched.
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters(), strict=True))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(digits), model.transform(digits))
    if cls is VAE:
        assert restored.sample(4, random_state=0).shape == (4, 64)
        assert np.isfinite(restored.log_likelihood(digits[:5], n_importance_samples=8)).all()
    copy = clone(model)
    assert copy.get_params()["encoder"] is not encoder
    assert repr(copy.get_params()["encoder"]) == repr(encoder)


@pytest.mark.parametrize(("settings", "message"), [
    ({"architecture": "conv"}, "architecture='conv' needs the grid"),
    ({"architecture": "conv", "input_shape": (1, 7, 7)}, "holds 49 values per row, but X "
                                                         "has 64 features"),
    ({"architecture": "conv", "input_shape": (1, -1, -1)}, "one may be -1"),
    ({"architecture": "conv", "input_shape": (1, 2, 3, 4)}, "input_shape must be"),
    ({"encoder": torch.nn.Linear(64, 3)}, "encoder and decoder go together"),
    ({"encoder": torch.nn.Linear(64, 5), "decoder": torch.nn.Linear(3, 64)},
     r"map a batch of shape \(2, 64\) to \(2, 3\)"),
    ({"encoder": torch.nn.Linear(64, 3), "decoder": torch.nn.Linear(3, 60)},
     r"to rows of shape \(2, 64\) \(n_features\), got \(2, 60\)"),
    ({"encoder": torch.nn.Linear(60, 3), "decoder": torch.nn.Linear(3, 64)},
     r"the encoder failed on a batch of shape \(2, 64\)"),
])
def test_inconsistent_architectures_are_refused_with_a_clear_error(digits, settings, message):
    with pytest.raises(ValueError, match=message):
        AE(n_components=3, max_epochs=1, **settings).fit(digits)


@pytest.mark.parametrize(("activation", "variance"), [
    ("tanh", lambda fan_in, fan_out: 1 / fan_in),          # LeCun
    ("logistic", lambda fan_in, fan_out: 1 / fan_in),
    ("relu", lambda fan_in, fan_out: 2 / fan_in),          # He
    ("identity", lambda fan_in, fan_out: 2 / (fan_in + fan_out)),  # Glorot
])
def test_hidden_weights_start_at_the_variance_their_activation_needs(activation, variance):
    # Glorot with tanh's 5/3 gain cost Burda's VAE 4.3 nats of test NLL (docs/measurements.md).
    layer = initialise(torch.nn.Linear(784, 200), activation, torch.Generator().manual_seed(0))
    assert float(layer.weight.detach().var()) == pytest.approx(variance(784, 200), rel=0.02)
    assert not layer.bias.any()
    conv = initialise(torch.nn.Conv2d(8, 16, 3), activation, torch.Generator().manual_seed(0))
    assert float(conv.weight.detach().var()) == pytest.approx(variance(72, 144), rel=0.05)


def test_2d_conv_networks_train_channels_last_and_compute_what_the_plain_layout_does(digits):
    model = AE(n_components=3, architecture="conv", input_shape=(1, 8, 8),
               conv_channels=(4, 8), max_epochs=2, random_state=0).fit(digits)
    network = model.network_
    weights = [module.weight for module in network.modules()
               if isinstance(module, torch.nn.Conv2d)]
    assert weights and all(
        weight.is_contiguous(memory_format=torch.channels_last) for weight in weights)
    plain = pickle.loads(pickle.dumps(network)).to(memory_format=torch.contiguous_format)
    # (a weight with one input channel is contiguous in both layouts)
    assert not any(module.weight.is_contiguous(memory_format=torch.channels_last)
                   for module in plain.modules()
                   if isinstance(module, torch.nn.Conv2d) and module.in_channels > 1)
    rows = torch.as_tensor(digits[:32], dtype=torch.float32)
    with torch.no_grad():
        codes = network.encoder(rows)
        torch.testing.assert_close(codes, plain.encoder(rows), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(network.decoder(codes), plain.decoder(codes),
                                   rtol=1e-5, atol=1e-6)
