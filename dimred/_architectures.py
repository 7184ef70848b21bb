"""The networks AE and VAE train: a fully connected one, a convolutional one for data on
a grid, or the user's own encoder and decoder.

Every network maps flat rows to flat rows, so that the training loop, the ELBO, IWAE,
``sample`` and pickling see one interface: ``network.encoder`` takes a batch of shape
``(batch, n_features)`` to ``(batch, n_outputs)`` (``n_components``, or twice that for a
VAE's mean and log-variance), and ``network.decoder`` takes codes back to
``(batch, n_features)``. A convolutional network reshapes a row to its grid in C order
inside, so a row of X is the array ``input_shape`` flattened.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from dimred._networks import (
    ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    AutoencoderNetwork,
    initialise,
    mlp,
)

ARCHITECTURES = ("mlp", "conv")
PADDINGS = ("zeros", "circular")


def check_architecture(*, architecture: str, input_shape, encoder, decoder,
                       n_features: int) -> tuple[int, ...] | None:
    """Refuse an inconsistent architecture before anything is allocated; returns the
    validated ``input_shape`` (None for an MLP without one).

    Raises
    ------
    ValueError
        ``architecture="conv"`` without ``input_shape``; an ``input_shape`` that is not
        ``(channels, *grid)`` with one or two grid axes, or whose size is not
        ``n_features``; one of ``encoder`` / ``decoder`` without the other.

    One size may be -1, inferred from ``n_features`` as in ``numpy.reshape``:
    ``(1, -1)`` is one channel on a 1-D grid of any length.
    """
    if (encoder is None) != (decoder is None):
        raise ValueError("encoder and decoder go together: give both torch.nn.Modules, or "
                         "neither for a built-in architecture.")
    if input_shape is None:
        if architecture == "conv" and encoder is None:
            raise ValueError("architecture='conv' needs the grid: input_shape=(channels, "
                             "*grid), e.g. (1, 28, 28) for MNIST or (2, 80, 128) for a 2-D "
                             "velocity field.")
        return None
    shape = tuple(int(size) for size in input_shape)
    known = [size for size in shape if size != -1]
    if not 2 <= len(shape) <= 3 or len(shape) - len(known) > 1 or min(known, default=1) < 1:
        raise ValueError(f"input_shape must be (channels, length) or (channels, height, "
                         f"width) with positive sizes (one may be -1), got {input_shape!r}.")
    if len(known) < len(shape) and n_features % math.prod(known) == 0:
        shape = tuple(n_features // math.prod(known) if size == -1 else size
                      for size in shape)
    if math.prod(shape) != n_features:
        raise ValueError(f"input_shape {shape} holds {math.prod(shape)} values per row, but "
                         f"X has {n_features} features.")
    return shape


def build_network(estimator, n_features: int, generator: torch.Generator) -> nn.Module:
    """A new network for ``estimator``'s settings (weights drawn from ``generator``)."""
    learned_noise = estimator._learned_noise()
    if estimator.encoder is not None:
        return UserNetwork(estimator.encoder, estimator.decoder, learned_noise=learned_noise)
    common = dict(hidden_layer_sizes=estimator._hidden_sizes(),
                  activation=estimator.activation,
                  output_activation=estimator._output_activation(),
                  variational=estimator._variational, learned_noise=learned_noise,
                  generator=generator)
    if estimator.architecture == "conv":
        return ConvAutoencoderNetwork(estimator.input_shape_, estimator.n_components,
                                      channels=tuple(estimator.conv_channels),
                                      padding=estimator.padding, **common)
    return AutoencoderNetwork(n_features, estimator.n_components, **common)


def check_widths(network: nn.Module, x: torch.Tensor, n_components: int,
                 variational: bool) -> None:
    """Run ``network`` on a couple of rows and refuse wrong output widths with a
    ValueError naming what was expected (rather than a shape error deep in torch)."""
    n_outputs = 2 * n_components if variational else n_components
    with torch.no_grad():
        try:
            codes = network.encoder(x)
        except Exception as error:
            raise ValueError(f"the encoder failed on a batch of shape {tuple(x.shape)} "
                             f"(rows of X): {error}") from error
        if tuple(codes.shape) != (x.shape[0], n_outputs):
            what = "2 * n_components (mean and log-variance)" if variational else "n_components"
            raise ValueError(f"the encoder must map a batch of shape {tuple(x.shape)} to "
                             f"({x.shape[0]}, {n_outputs}), {what}; got "
                             f"{tuple(codes.shape)}.")
        try:
            rows = network.decoder(codes[:, :n_components])
        except Exception as error:
            raise ValueError(f"the decoder failed on codes of shape "
                             f"{(x.shape[0], n_components)}: {error}") from error
        if rows.shape != x.shape:
            raise ValueError(f"the decoder must map codes of shape {(x.shape[0], n_components)}"
                             f" to rows of shape {tuple(x.shape)} (n_features), got "
                             f"{tuple(rows.shape)}.")


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


class UserNetwork(nn.Module):
    """The user's encoder and decoder, copied so that every fit starts from the modules
    as given and the estimator's parameters are never trained in place."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, learned_noise: bool):
        super().__init__()
        self.encoder = Rows(copy.deepcopy(encoder))
        self.decoder = Rows(copy.deepcopy(decoder))
        if learned_noise:
            self.log_noise_variance = nn.Parameter(torch.zeros(()))


class ConvAutoencoderNetwork(nn.Module):
    """Strided convolutions down to a dense code, mirrored by upsampling convolutions.

    Each encoder stage is a stride-2 convolution (kernel 3) and the activation, halving
    every grid axis (rounding up); the feature maps are flattened and pass through the
    dense ``hidden_layer_sizes`` to the code. The decoder mirrors it: dense layers, then
    per stage an upsampling to the encoder's grid size at that stage and a kernel-3
    convolution, and a last convolution to the input's channels. Upsampling to recorded
    sizes makes any grid size round-trip exactly; ``padding="circular"`` makes every
    convolution periodic, for fields on a periodic domain.
    """

    def __init__(self, input_shape: tuple[int, ...], n_components: int, *,
                 channels: Sequence[int], padding: str, hidden_layer_sizes: Sequence[int],
                 activation: str, output_activation: str, variational: bool,
                 learned_noise: bool, generator: torch.Generator):
        super().__init__()
        n_dims = len(input_shape) - 1
        conv = nn.Conv1d if n_dims == 1 else nn.Conv2d
        grids = [input_shape[1:]]
        for _ in channels:
            grids.append(tuple((size + 1) // 2 for size in grids[-1]))
        widths = [input_shape[0], *channels]
        down: list[nn.Module] = [nn.Unflatten(1, input_shape)]
        for n_in, n_out in itertools.pairwise(widths):
            down += [initialise(conv(n_in, n_out, 3, stride=2, padding=1,
                                     padding_mode=padding), activation, generator),
                     ACTIVATIONS[activation]()]
        flat = widths[-1] * math.prod(grids[-1])
        n_outputs = 2 * n_components if variational else n_components
        self.encoder = Rows(nn.Sequential(*down, nn.Flatten(),
                                          mlp([flat, *hidden_layer_sizes, n_outputs],
                                              activation, nn.Identity, generator)))
        up: list[nn.Module] = [
            mlp([n_components, *reversed(hidden_layer_sizes), flat], activation,
                ACTIVATIONS[activation], generator),
            nn.Unflatten(1, (widths[-1], *grids[-1]))]
        for stage in range(len(channels), 0, -1):  # back up to each encoder grid
            up += [nn.Upsample(size=grids[stage - 1]),
                   initialise(conv(widths[stage], widths[max(stage - 1, 1)], 3, padding=1,
                                   padding_mode=padding), activation, generator),
                   ACTIVATIONS[activation]()]
        up += [initialise(conv(widths[1], input_shape[0], 3, padding=1, padding_mode=padding),
                     "identity", generator),
               nn.Flatten(), OUTPUT_ACTIVATIONS[output_activation]()]
        self.decoder = Rows(nn.Sequential(*up))
        if learned_noise:
            self.log_noise_variance = nn.Parameter(torch.zeros(()))


