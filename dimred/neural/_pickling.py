"""Pickling a neural reducer: its weights travel as numpy arrays and the network is
rebuilt on load, so nothing torch-specific is unpickled and a model fitted on a GPU
loads on a CPU."""

from __future__ import annotations

import torch

from dimred.neural.networks import weights_in_data_units


class PicklesWeights:
    """Mixin of :class:`dimred.neural._base.NeuralReducer`: ``__getstate__`` and
    ``__setstate__`` over ``network_``'s weights. The host provides ``_build_network``
    and ``_hyperparameters``."""

    def __getstate__(self):
        # Weights travel as numpy arrays and the network is rebuilt on load: nothing
        # torch-specific is unpickled, and a model fitted on a GPU loads on a CPU.
        state = dict(super().__getstate__())  # a copy: object.__getstate__ is __dict__ itself
        state.pop("_optimizer", None)
        state.pop("_partial_fit_generator", None)
        network = state.pop("network_", None)
        if network is not None:
            state["_network_weights"] = {
                name: tensor.detach().cpu().numpy() for name, tensor in network.state_dict().items()
            }
        return state

    def __setstate__(self, state):
        weights = state.pop("_network_weights", None)
        # A model saved before an option existed behaves as that option's default.
        for option in self._hyperparameters:
            state.setdefault(option.name, option.default)
        super().__setstate__(state)
        if weights is not None:
            self.device_ = "cpu" if not torch.cuda.is_available() else self.device_
            network = self._build_network(self.n_features_in_, torch.Generator())
            weights = {name: torch.from_numpy(w) for name, w in weights.items()}
            network.load_state_dict(weights_in_data_units(network, weights))
            self.network_ = network.to(self.device_).eval()
