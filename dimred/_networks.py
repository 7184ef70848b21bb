"""The encoder/decoder network shared by AE and VAE."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}
OUTPUT_ACTIVATIONS = {"identity": nn.Identity, "sigmoid": nn.Sigmoid}


class AutoencoderNetwork(nn.Module):
    """An MLP encoder and its mirrored MLP decoder.

    Parameters
    ----------
    n_features : int
        Input and output width.
    n_components : int
        Latent width.
    hidden_layer_sizes : sequence of int
        Encoder widths; the decoder mirrors them. Empty means a linear map each way.
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS`.
    output_activation : str
        Decoder output activation, one of :data:`OUTPUT_ACTIVATIONS`.
    variational : bool
        If True the encoder outputs a mean and a log-variance (``2 * n_components``).
    learned_noise : bool
        If True the network carries a learned scalar ``log_noise_variance`` for a
        Gaussian decoder.
    generator : torch.Generator
        Source of the initial weights (CPU).
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        hidden_layer_sizes: Sequence[int],
        activation: str,
        output_activation: str,
        *,
        variational: bool,
        learned_noise: bool,
        generator: torch.Generator,
    ):
        super().__init__()
        encoder_widths = [n_features, *hidden_layer_sizes]
        n_outputs = 2 * n_components if variational else n_components
        self.encoder = mlp([*encoder_widths, n_outputs], activation, nn.Identity, generator)
        self.decoder = mlp(
            [n_components, *reversed(encoder_widths)],
            activation,
            OUTPUT_ACTIVATIONS[output_activation],
            generator,
        )
        if learned_noise:
            self.log_noise_variance = nn.Parameter(torch.zeros(()))


def mlp(widths: list[int], activation: str, output_layer, generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    n_layers = len(widths) - 1
    for index, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        linear = nn.Linear(n_in, n_out)
        last = index == n_layers - 1
        initialise(linear, "identity" if last else activation, generator)
        layers.append(linear)
        layers.append(output_layer() if last else ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def initialise(layer: nn.Module, activation: str, generator: torch.Generator) -> nn.Module:
    """He (Kaiming) for ReLU, LeCun (weight variance 1 / fan-in) for tanh and logistic,
    Glorot (Xavier) for linear layers; zero biases. For linear and convolutional layers
    alike; returns the layer."""
    if activation == "relu":
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu", generator=generator)
    elif activation in ("tanh", "logistic"):
        # Glorot with tanh's gain (5/3) left Burda et al.'s tanh VAE 4.3 nats (test NLL)
        # behind the same network with LeCun's variance after 30 epochs on MNIST (98.08
        # against 93.77); pythae, on PyTorch's default init, reached 93.8-93.9 (README).
        bound = math.sqrt(3.0 / layer.weight[0].numel())  # weight[0]: one unit's fan-in
        nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
    else:
        nn.init.xavier_uniform_(layer.weight, generator=generator)
    nn.init.zeros_(layer.bias)
    return layer
