"""The neural contract: a new objective is one subclass, and every hyper-parameter is
defined once (dimred/neural/_options.py), its constraints, documentation and training
configuration derived from that definition."""

from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np
import pytest
import torch

from dimred import AE, VAE
from dimred.neural import _options
from dimred.neural._base import NeuralReducer
from dimred.testing import check_reducer, contract_data

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 40, "random_state": 0}


class LaplaceVAE(VAE):
    """A VAE whose decoder is a Laplace with one learned scale ``b``:
    ``log p(x|z) = -sum |x - f(z)| / b - d log(2 b)``, every constant kept."""

    def _learned_scalars(self) -> tuple[str, ...]:
        return ("log_scale",)

    def _initialise(self, network, statistics) -> None:
        with torch.no_grad():  # b at a Laplace's for the data's variance: sigma / sqrt 2
            network.log_scale.fill_(0.5 * math.log(np.mean(statistics.variance) / 2))

    def _log_px(self, network, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        output = network.decoder(z)
        log_scale = network.log_scale.to(output.dtype)
        return -(torch.abs(x - output) * torch.exp(-log_scale)
                 + math.log(2) + log_scale).sum(-1)


class DenoisingAE(AE):
    """An AE trained to restore rows corrupted by Gaussian noise of std 0.5."""

    def _loss(self, network, batch, epoch, generator) -> dict[str, torch.Tensor]:
        if epoch is None:  # validation scores the clean reconstruction
            return super()._loss(network, batch, epoch, generator)
        noise = torch.randn(batch.shape, generator=generator, dtype=batch.dtype)
        restored = network.decoder(network.encoder(batch + 0.5 * noise))
        return {"loss": torch.nn.functional.mse_loss(restored, batch)}


def test_a_laplace_decoder_is_one_subclass():
    X = contract_data()
    model = LaplaceVAE(2, **SMALL).fit(X)
    # Its own scalar is trained beside the weights and counted as a parameter.
    assert "log_scale" in dict(model.network_.named_parameters())
    assert not hasattr(model.network_, "log_noise_variance")
    assert model.n_parameters_ == VAE(2, **SMALL).fit(X).n_parameters_ - 1 + 1
    # Its score is its own ELBO, not the Gaussian one, and still a density in nats.
    assert model.score(X) != VAE(2, **SMALL).fit(X).score(X)
    check_reducer(LaplaceVAE(2, **SMALL), sklearn_checks=False)


def test_a_denoising_objective_is_one_subclass():
    X = contract_data().astype(np.float32)
    plain, denoising = AE(2, **SMALL).fit(X), DenoisingAE(2, **SMALL).fit(X)
    assert denoising.loss_curve_ != plain.loss_curve_
    # Trained on corrupted rows, its training loss stays above the plain AE's.
    assert denoising.loss_curve_[-1] > plain.loss_curve_[-1]
    check_reducer(DenoisingAE(2, **SMALL), sklearn_checks=False)


def test_the_base_declares_its_hooks():
    assert NeuralReducer.__abstractmethods__ == {"_loss", "_encode", "score_samples"}
    with pytest.raises(TypeError, match="abstract"):
        NeuralReducer()


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_every_option_is_defined_once(Estimator):
    options = {option.name: option for option in Estimator._hyperparameters}
    signature = inspect.signature(Estimator.__init__).parameters
    # The signature scikit-learn reads spells out exactly the options, with their defaults.
    assert list(signature)[1:] and set(list(signature)[1:]) == set(options)
    for name, parameter in list(signature.items())[1:]:
        assert parameter.default == options[name].default, name
    # Constraints and docstring derive from the table.
    assert Estimator._parameter_constraints == _options.constraints(options.values())
    for option in options.values():
        assert option.numpydoc().splitlines()[0] in Estimator.__doc__, option.name
    assert _options.TOKEN not in Estimator.__doc__
    # The training loop's configuration is the training options, read off the estimator.
    config = _options.training_config(Estimator(batch_size=7, learning_rate_schedule="burda"))
    fields = {field.name for field in dataclasses.fields(config)}
    assert fields == {option.name for option in options.values() if option.training}
    assert (config.batch_size, config.learning_rate_schedule) == (7, "burda")


def test_a_new_option_reaches_constraints_docs_and_training():
    """What adding an option touches: its definition, and the signatures."""
    option = _options.Option("gradient_clip", None, [None], "float or None", "Clip norm.",
                             training=True)
    table = _options.merge(_options.SHARED, [option])

    @_options.document(table)
    class Clipped(AE):
        """A clipped AE.

        Parameters
        ----------
        %(options)s
        """

        _hyperparameters = table
        _parameter_constraints = _options.constraints(table)

    assert "gradient_clip : float or None, default=None\n            Clip norm." in Clipped.__doc__
    assert Clipped._parameter_constraints["gradient_clip"] == [None]
