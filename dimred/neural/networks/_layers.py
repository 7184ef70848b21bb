"""The building blocks every network is made of: activations, the weight initialisation
that suits each, a dense stack, and the wrapper that folds extra leading axes into the
batch."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}
OUTPUT_ACTIVATIONS = {"identity": nn.Identity, "sigmoid": nn.Sigmoid}


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
        # against 93.77); pythae, on PyTorch's default init, reached 93.8-93.9
        # (docs/measurements.md).
        bound = math.sqrt(3.0 / layer.weight[0].numel())  # weight[0]: one unit's fan-in
        nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
    else:
        nn.init.xavier_uniform_(layer.weight, generator=generator)
    nn.init.zeros_(layer.bias)
    return layer


class Rows(nn.Module):
    """Applies a module made for ``(batch, width)`` to inputs with more leading axes
    (the VAE decodes ``(draws, batch, k)`` codes): they are folded into the batch and
    unfolded after, so convolutions and the user's modules see one batch axis."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return self.module(x)
        out = self.module(x.reshape(-1, x.shape[-1]))
        return out.reshape(*x.shape[:-1], out.shape[-1])


def add_scalars(network: nn.Module, names) -> nn.Module:
    """Give ``network`` one learned scalar per name, starting at zero (the VAE's
    ``log_noise_variance``): an objective's own parameters, trained with the weights and
    saved in the same state dict."""
    for name in names:
        setattr(network, name, nn.Parameter(torch.zeros(())))
    return network


def start_output_at_the_mean(decoder: nn.Module, logit_mean) -> None:
    """Start a sigmoid-output decoder at the data's mean: the bias of its last biased
    layer becomes ``logit_mean`` (one value per feature), or its average per channel
    when that layer is a convolution (whose bias is per channel, rows being channel-major).

    A sigmoid whose pre-activation starts far from the data saturates, and under the
    squared error passes almost no gradient back (a deep convolutional AE on MNIST
    settled on the all-black image in its first epoch). A layer of another width (a
    user's decoder) is left as it is.
    """
    biases = [module.bias for module in decoder.modules()
              if isinstance(getattr(module, "bias", None), torch.Tensor)]
    if not biases:
        return
    bias, target = biases[-1], torch.as_tensor(logit_mean, dtype=torch.float64)
    if bias.numel() != target.numel():
        if target.numel() % bias.numel():
            return
        target = target.reshape(bias.numel(), -1).mean(dim=1)
    with torch.no_grad():
        bias.copy_(target.reshape(bias.shape).to(bias.dtype))
