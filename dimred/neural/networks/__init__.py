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

import math
from collections.abc import Sequence

import torch
from torch import nn

from dimred.neural.networks._conv import ConvAutoencoderNetwork
from dimred.neural.networks._layers import (
    ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    add_scalars,
    data_scale,
    in_data_units,
    set_data_units,
    start_output_at_the_mean,
    weights_in_data_units,
)
from dimred.neural.networks._mlp import AutoencoderNetwork
from dimred.neural.networks._pod_path import (
    fixed_mode_count,
    on_coefficients,
    set_coefficient_modes,
    start_at_pod,
    with_pod_path,
)
from dimred.neural.networks._user import UserNetwork, check_widths

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


def build_network(*, n_features: int, n_components: int, n_outputs: int,
                  architecture: str, hidden_layer_sizes: Sequence[int], activation: str,
                  output_activation: str, input_shape: tuple[int, ...] | None,
                  conv_channels: Sequence[int], padding: str, encoder: nn.Module | None,
                  decoder: nn.Module | None, scalars: Sequence[str] = (),
                  linear_output: bool = False, pod_path: bool = False,
                  n_modes: int | None = None, generator: torch.Generator) -> nn.Module:
    """A new network: the user's ``encoder`` and ``decoder`` when given, else the
    built-in ``architecture``, with weights drawn from ``generator``; ``scalars`` names
    the learned scalars the objective adds (each starts at 0).

    A built-in network with ``linear_output`` (a decoder of the data's values, not of
    probabilities or logits) works in standardised units (:func:`in_data_units`): its
    encoder centres and scales the rows, and its decoder maps back, once
    :func:`set_data_units` has set the units from the training data. The user's modules
    see the rows as they are.

    ``n_outputs`` is the encoder's output width (``n_components`` for a code, twice that
    for a mean and a log-variance); the decoder always takes ``n_components``. With
    ``pod_path`` a built-in network gets a linear path beside its layers
    (:mod:`~dimred.neural.networks._pod_path`), inside the data's units, set by
    :func:`start_at_pod`. With ``n_modes`` an MLP's layers take and give the rows'
    leading ``n_modes`` POD coefficients (:func:`on_coefficients`), the modes set by
    :func:`set_coefficient_modes`.
    """
    if encoder is not None:
        return add_scalars(UserNetwork(encoder, decoder), scalars)
    common = dict(hidden_layer_sizes=hidden_layer_sizes, activation=activation,
                  output_activation=output_activation, generator=generator)
    if architecture == "conv":
        network = ConvAutoencoderNetwork(input_shape, n_components, n_outputs,
                                         channels=tuple(conv_channels), padding=padding,
                                         **common)
    else:
        network = AutoencoderNetwork(n_modes or n_features, n_components, n_outputs, **common)
        if n_modes is not None:
            network = on_coefficients(network, n_features, n_modes)
    if pod_path:
        network = with_pod_path(network, n_features, n_components)
    if linear_output:
        network = in_data_units(network, n_features)
    return add_scalars(network, scalars)


__all__ = ["ACTIVATIONS", "ARCHITECTURES", "OUTPUT_ACTIVATIONS", "PADDINGS",
           "build_network", "check_architecture", "check_widths", "data_scale",
           "fixed_mode_count", "set_coefficient_modes", "set_data_units", "start_at_pod",
           "start_output_at_the_mean", "weights_in_data_units"]
