"""The convolutional encoder and its mirrored decoder, for data on a 1-D or 2-D grid."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from dimred.neural.networks._layers import ACTIVATIONS, OUTPUT_ACTIVATIONS, Rows, initialise, mlp


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

    def __init__(self, input_shape: tuple[int, ...], n_components: int, n_outputs: int, *,
                 channels: Sequence[int], padding: str, hidden_layer_sizes: Sequence[int],
                 activation: str, output_activation: str, generator: torch.Generator):
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
        if n_dims == 2:
            # 2-D convolutions in channels-last layout: the same arithmetic, but oneDNN's
            # fastest CPU kernels, with no reorder of each feature map. The MNIST conv AE
            # (channels 32-64-128, dense 512, batch 128) trains 1.15-1.27x as fast, to
            # the same loss (benchmarks/performance/test_neural_speed.py).
            self.to(memory_format=torch.channels_last)
