"""The building blocks every network is made of: activations, the weight initialisation
that suits each, a dense stack, and the wrapper that folds extra leading axes into the
batch."""

from __future__ import annotations

import itertools
import math

import numpy as np
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


class Standardise(nn.Module):
    """``(x - shift) / scale``, or with ``inverse`` its inverse ``x * scale + shift``: a
    fixed change of units, set from the training data (:func:`set_data_units`) and
    saved with the weights, never trained. ``shift`` has one value per feature; ``scale``
    is one scalar."""

    def __init__(self, n_features: int, *, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.register_buffer("shift", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inverse:
            return x * self.scale + self.shift
        return (x - self.shift) / self.scale


def in_data_units(network: nn.Module, n_features: int) -> nn.Module:
    """Make ``network``'s encoder take standardised rows and its decoder give rows in
    the data's units. The units start as the identity; :func:`set_data_units` sets them
    from the data.

    For a decoder of the data's values only. One of probabilities (a sigmoid, logits)
    models data in [0, 1], whose units are already fixed; there, standardising the input
    made the H&S AE on 10 000 MNIST images worse (test squared error 6.68 against 6.25
    per image, seed 0, 20 epochs).
    """
    network.encoder = nn.Sequential(Standardise(n_features), network.encoder)
    network.decoder = nn.Sequential(network.decoder, Standardise(n_features, inverse=True))
    return network


def set_data_units(network: nn.Module, mean, variance) -> None:
    """Set every :class:`Standardise` of ``network`` from the training data: the shift
    is each feature's mean, the scale the root of the mean feature variance (one scalar,
    so that near-constant features, an image's border, are not blown up).

    Raw simulation fields sit far from the origin (Burgers' velocity is 3.8 +/- 1.7): fed
    as they were, a VAE's first epoch averaged 7.8e5 nats per sample, and it settled
    where its decoder variance stayed at the data's (c = 3.0; relative test error 0.076
    at k = 8, seed 0, against 0.010 standardised; docs/measurements.md).
    """
    scale = data_scale(variance)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, Standardise):
                module.shift.copy_(torch.as_tensor(np.asarray(mean), dtype=module.shift.dtype))
                module.scale.fill_(scale)


def data_scale(variance) -> float:
    """The one scale of :func:`set_data_units`: the root of the mean column variance
    (1 for constant data)."""
    scale = float(np.sqrt(np.mean(variance)))
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def weights_in_data_units(network: nn.Module, weights: dict) -> dict:
    """``weights`` (a state dict) for ``network``, including those saved before the
    built-in networks worked in data units (dimred 0.x up to commit eb8e383): their keys
    move under the :func:`in_data_units` wrappers, whose units stay the identity, as the
    saved network had none."""
    expected = network.state_dict()
    if set(weights) == set(expected):
        return weights
    prefixes = {"encoder.1.": "encoder.", "decoder.0.": "decoder."}
    upgraded, used = {}, set()
    for key, identity in expected.items():
        saved = next((old + key[len(new):] for new, old in prefixes.items()
                      if key.startswith(new)), key)
        if saved in weights:
            upgraded[key] = weights[saved]
            used.add(saved)
        elif key.endswith((".shift", ".scale")):
            upgraded[key] = identity
    # Weights of another network entirely: left for load_state_dict to refuse by name.
    return upgraded if used == set(weights) else weights


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
