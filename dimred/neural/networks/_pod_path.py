"""Networks built around POD modes: one that starts at POD, and one on POD coefficients.

A network that starts at POD has a fixed linear path through the leading POD modes
beside the nonlinear one, whose last layers start at zero.

The encoder gives ``e(x) + A^T x`` and the decoder ``d(z) + B z``, with ``A = V
diag(encoder_scale)`` and ``B = V diag(decoder_scale)`` for the leading POD modes ``V``
of the (standardised) training rows. With the last layers of ``e`` and ``d`` at zero the
first epoch starts exactly at the linear model (POD's projection for an AE, probabilistic
PCA's posterior and mean for a VAE); the nonlinear path then learns what the modes miss.
The modes are buffers, saved with the weights and never trained: Adam's steps, sized for
the nonlinear weights, would move them off the optimum they already sit at.

A network on POD coefficients (POD-DL-ROM, Fresca & Manzoni 2022; EZyRB's ``PODAE``)
projects the rows on their leading M POD modes, maps those M coefficients to the code
and back with its layers, and lifts the decoded coefficients back by the same modes.
Its layers are M wide at both ends instead of n_features, so it trains faster, and its
reconstruction lies in the span of the M modes, as POD's at M does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class _LinearPath(nn.Module):
    """A nonlinear module and, beside it, fixed modes and one scale per mode."""

    def __init__(self, nonlinear: nn.Module, n_features: int, n_components: int):
        super().__init__()
        self.nonlinear = nonlinear
        self.register_buffer("modes", torch.zeros(n_features, n_components))
        self.register_buffer("scale", torch.zeros(n_components))


class PODEncoder(_LinearPath):
    """``nonlinear(x)``, plus ``(x @ V) * encoder_scale`` on its first ``n_components``
    outputs (the code, or a VAE's posterior mean)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.nonlinear(x)
        k = self.scale.shape[0]
        linear = (x @ self.modes) * self.scale
        return torch.cat([out[..., :k] + linear, out[..., k:]], dim=-1)


class PODDecoder(_LinearPath):
    """``nonlinear(z) + (z * decoder_scale) @ V^T``."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(z) + (z * self.scale) @ self.modes.T


class OnCoefficients(nn.Module):
    """``layers(x @ V)`` (``lift=False``, the encoder) or ``layers(z) @ V^T``
    (``lift=True``, the decoder), for the leading POD modes ``V``."""

    def __init__(self, layers: nn.Module, n_features: int, n_modes: int, *, lift: bool):
        super().__init__()
        self.layers, self.lift = layers, lift
        self.register_buffer("modes", torch.zeros(n_features, n_modes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.lift:
            return self.layers(x) @ self.modes.T
        return self.layers(x @ self.modes)


def on_coefficients(network: nn.Module, n_features: int, n_modes: int) -> nn.Module:
    """Make ``network``, built for ``n_modes`` inputs, take and give rows of
    ``n_features`` through the POD modes set by :func:`set_coefficient_modes`."""
    network.encoder = OnCoefficients(network.encoder, n_features, n_modes, lift=False)
    network.decoder = OnCoefficients(network.decoder, n_features, n_modes, lift=True)
    return network


def set_coefficient_modes(network: nn.Module, modes: np.ndarray) -> None:
    """Set the modes of an :func:`on_coefficients` network: shape ``(n_features,
    n_modes)``, orthonormal columns."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, OnCoefficients):
                module.modes.copy_(torch.as_tensor(modes, dtype=module.modes.dtype))


def fixed_mode_count(network: nn.Module) -> int:
    """The entries of the POD modes a network holds fixed, counted once per set of
    modes (the encoder's and the decoder's are the same modes)."""
    return sum(module.modes.numel() for module in network.modules()
               if isinstance(module, OnCoefficients | PODEncoder)
               and not getattr(module, "lift", False))


def with_pod_path(network: nn.Module, n_features: int, n_components: int) -> nn.Module:
    """Put a linear path (zero until :func:`start_at_pod`) beside ``network``'s encoder
    and decoder; both keep their input and output widths."""
    network.encoder = PODEncoder(network.encoder, n_features, n_components)
    network.decoder = PODDecoder(network.decoder, n_features, n_components)
    return network


def start_at_pod(network: nn.Module, modes: np.ndarray, encoder_scale: np.ndarray,
                 decoder_scale: np.ndarray, log_variance: np.ndarray | None = None) -> None:
    """Set the linear path of a :func:`with_pod_path` network to ``modes`` (shape
    ``(n_features, n_components)``, orthonormal columns) and zero the last layer of each
    nonlinear path, so the network computes the linear model exactly. A VAE's
    log-variance outputs start at ``log_variance`` (one per latent unit) instead of 0."""
    pairs = [module for module in network.modules() if isinstance(module, PODEncoder | PODDecoder)]
    with torch.no_grad():
        for path in pairs:
            path.modes.copy_(torch.as_tensor(modes, dtype=path.modes.dtype))
            scale = encoder_scale if isinstance(path, PODEncoder) else decoder_scale
            path.scale.copy_(torch.as_tensor(scale, dtype=path.scale.dtype))
            last = [module for module in path.nonlinear.modules()
                    if isinstance(getattr(module, "weight", None), torch.Tensor)][-1]
            last.weight.zero_()
            last.bias.zero_()
            if isinstance(path, PODEncoder) and log_variance is not None:
                last.bias[len(scale):] = torch.as_tensor(log_variance, dtype=last.bias.dtype)
