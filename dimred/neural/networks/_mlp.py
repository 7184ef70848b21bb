"""The fully connected encoder and its mirrored decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dimred.neural.networks._layers import OUTPUT_ACTIVATIONS, mlp


class AutoencoderNetwork(nn.Module):
    """An MLP encoder and its mirrored MLP decoder.

    Parameters
    ----------
    n_features : int
        Input and output width.
    n_components : int
        Latent width: the decoder's input.
    n_outputs : int
        The encoder's output width: ``n_components`` for an AE, twice that for a VAE's
        mean and log-variance.
    hidden_layer_sizes : sequence of int
        Encoder widths; the decoder mirrors them. Empty means a linear map each way.
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS`.
    output_activation : str
        Decoder output activation, one of :data:`OUTPUT_ACTIVATIONS`.
    generator : torch.Generator
        Source of the initial weights (CPU).
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        n_outputs: int,
        hidden_layer_sizes: Sequence[int],
        activation: str,
        output_activation: str,
        *,
        generator: torch.Generator,
    ):
        super().__init__()
        encoder_widths = [n_features, *hidden_layer_sizes]
        self.encoder = mlp([*encoder_widths, n_outputs], activation, nn.Identity, generator)
        self.decoder = mlp(
            [n_components, *reversed(encoder_widths)],
            activation,
            OUTPUT_ACTIVATIONS[output_activation],
            generator,
        )
