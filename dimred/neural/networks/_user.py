"""The user's own encoder and decoder, and the check of their widths."""

from __future__ import annotations

import copy

import torch
from torch import nn

from dimred.neural.networks._layers import Rows


class UserNetwork(nn.Module):
    """The user's encoder and decoder, copied so that every fit starts from the modules
    as given and the estimator's parameters are never trained in place."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder = Rows(copy.deepcopy(encoder))
        self.decoder = Rows(copy.deepcopy(decoder))


def check_widths(network: nn.Module, x: torch.Tensor, n_components: int,
                 n_outputs: int, outputs: str) -> None:
    """Run ``network`` on a couple of rows and refuse wrong output widths with a
    ValueError naming what was expected (rather than a shape error deep in torch).
    ``outputs`` says what the encoder's ``n_outputs`` columns are, for the message."""
    with torch.no_grad():
        try:
            codes = network.encoder(x)
        except Exception as error:
            raise ValueError(f"the encoder failed on a batch of shape {tuple(x.shape)} "
                             f"(rows of X): {error}") from error
        if tuple(codes.shape) != (x.shape[0], n_outputs):
            raise ValueError(f"the encoder must map a batch of shape {tuple(x.shape)} to "
                             f"({x.shape[0]}, {n_outputs}), {outputs}; got "
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
