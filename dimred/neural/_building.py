"""How a neural reducer builds its network from its parameters: the architecture's
checks, the built-in network or the user's modules, and its data-dependent start (the
data's units, the objective's own initialisation, POD's modes for ``init="pod"``).

A mixin of :class:`~dimred.neural._base.NeuralReducer`, whose hooks it calls
(``_bernoulli_setting``, ``_decoder_output_activation``, ``_learned_scalars``,
``_initialise``, ``_device``); kept apart so that the base holds fitting and inference.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch

from dimred.arrays._streams import ColumnStatistics
from dimred.neural._pod_start import Subspace, principal_subspace
from dimred.neural._training import Rows
from dimred.neural.networks import (
    build_network,
    check_architecture,
    check_widths,
    data_scale,
    set_coefficient_modes,
    set_data_units,
    start_at_pod,
)


class BuildsNetworks:
    """The network-building half of a neural reducer (see the module docstring)."""

    #: Encoder outputs per latent unit: 1 for a code, 2 for a mean and a log-variance.
    _n_encoder_outputs: int = 1
    #: What the encoder's outputs are, for the message refusing a user's encoder.
    _encoder_outputs_are = "n_components"

    def _start_at_pod(self, network: torch.nn.Module, subspace: Subspace) -> None:
        """Set the linear path of ``init="pod"`` from the training rows' POD modes: the
        AE's code is POD's, whitened (unit variance, as a nonlinear decoder's inputs
        should be), and its decoder undoes the whitening, so it starts at POD's error."""
        spread = np.sqrt(np.maximum(subspace.variances, np.finfo(float).tiny))
        start_at_pod(network, subspace.modes, 1 / spread, spread)

    def _check_architecture(self, X: np.ndarray) -> None:
        """Refuse an inconsistent architecture before any network is built."""
        self.input_shape_ = check_architecture(
            architecture=self.architecture, input_shape=self.input_shape,
            encoder=self.encoder, decoder=self.decoder, n_features=X.shape[1])
        self._hidden_sizes()
        if self.architecture == "conv":
            self._positive_ints(self.conv_channels, "conv_channels", "channel counts")
        self.n_pod_modes_ = self._check_pod_modes(X)
        if self.init == "pod" and (self.encoder is not None or self._bernoulli_setting()
                                   or self._decoder_output_activation() != "identity"):
            raise ValueError("init='pod' starts a built-in network at a linear decoder of "
                             "the data's values; it takes no encoder/decoder of your own, "
                             "no sigmoid output and no logits (loss='bce', "
                             "likelihood='bernoulli').")

    def _build_network(self, n_features: int, generator: torch.Generator) -> torch.nn.Module:
        seeded = torch.Generator().manual_seed(generator.initial_seed())
        output = self._decoder_output_activation()
        network = build_network(
            n_features=n_features, n_components=self.n_components,
            n_outputs=self._n_encoder_outputs * self.n_components,
            architecture=self.architecture, hidden_layer_sizes=self._hidden_sizes(),
            activation=self.activation, output_activation=output,
            input_shape=getattr(self, "input_shape_", None),
            conv_channels=self.conv_channels, padding=self.padding, encoder=self.encoder,
            decoder=self.decoder, scalars=self._learned_scalars(), generator=seeded,
            linear_output=output == "identity" and self._bernoulli_setting() is None,
            pod_path=self.init == "pod", n_modes=getattr(self, "n_pod_modes_", None))
        return network.to(self._device())

    def _new_network(self, rows: Rows, statistics: ColumnStatistics,
                     generator: torch.Generator) -> torch.nn.Module:
        network = self._build_network(self.n_features_in_, generator)
        if self.encoder is not None:  # the user's modules: check their widths first
            check_widths(network, rows.first(2), self.n_components,
                         self._n_encoder_outputs * self.n_components,
                         self._encoder_outputs_are)
        set_data_units(network, statistics.mean, statistics.variance)
        self._initialise(network, statistics)
        n_modes = self.n_pod_modes_ or 0
        if self.init == "pod" or n_modes:
            subspace = principal_subspace(rows, statistics, data_scale(statistics.variance),
                                          max(n_modes, self.n_components), generator)
            if n_modes:
                set_coefficient_modes(network, subspace.leading(n_modes).modes)
            if self.init == "pod":
                self._start_at_pod(network, subspace.leading(self.n_components))
        return network

    def _check_pod_modes(self, X) -> int | None:
        """The POD modes a network on coefficients uses: ``pod_modes``, at most the
        data's rank bound; refused for a conv or user's network, or below the code."""
        if self.pod_modes is None:
            return None
        if self.architecture != "mlp" or self.encoder is not None:
            raise ValueError("pod_modes puts the built-in MLP on POD coefficients; it takes "
                             "no conv architecture and no encoder/decoder of your own.")
        if self.pod_modes < self.n_components:
            raise ValueError(f"pod_modes={self.pod_modes} must be at least n_components="
                             f"{self.n_components}: the code is made from the coefficients.")
        return min(self.pod_modes, *X.shape)

    def _hidden_sizes(self) -> tuple[int, ...]:
        return self._positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes", "layer widths")

    @staticmethod
    def _positive_ints(values, name: str, what: str) -> tuple[int, ...]:
        sizes = tuple(np.atleast_1d(np.asarray(values, dtype=object)).tolist())
        for size in sizes:
            if not isinstance(size, Integral) or isinstance(size, bool) or size <= 0:
                raise ValueError(f"{name} must contain positive ints ({what}), got {values!r}.")
        return sizes

