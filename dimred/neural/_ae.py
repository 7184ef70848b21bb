"""Deterministic autoencoder."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from dimred.neural import _options
from dimred.neural._base import NeuralReducer

#: AE's own options: its documentation of the sigmoid output.
OPTIONS = _options.merge(_options.SHARED, [
    _options.shared("output_activation", doc="""
        Decoder output; ``"sigmoid"`` suits data scaled to [0, 1]. Under the squared
        error a saturated sigmoid passes almost no gradient, so a deep network can
        settle on an all-black image early and never leave it (seen with
        ``architecture="conv"`` on MNIST, one seed in two); ``"identity"`` cannot.
        ``fit`` warns (``ConvergenceWarning``) when its last epoch's loss is no lower
        than that of predicting every row by the data's mean."""),
])


@_options.document(OPTIONS)
class AE(NeuralReducer):
    """Deterministic autoencoder in PyTorch, trained on the mean squared error.

    Parameters
    ----------
    %(options)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained encoder and decoder (float32).
    loss_curve_ : list of float
        Training loss per epoch: mean squared error per entry.
    validation_scores_ : list of float
        Minus the validation loss per epoch (with ``early_stopping``).
    n_iter_ : int
        Epochs run.
    n_parameters_ : int
        Number of trainable weights.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    device_ : str

    Notes
    -----
    ``score_samples`` is not a likelihood, since the AE defines no density: it is minus
    the mean squared reconstruction error of each sample (per entry), so ``score`` is
    ``-reconstruction_error`` and higher is better, as scikit-learn model selection
    expects.

    Examples
    --------
    >>> import numpy as np
    >>> from dimred import AE
    >>> X = np.random.default_rng(0).uniform(size=(200, 20))
    >>> ae = AE(n_components=3, max_epochs=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (200, 3)
    """

    _hyperparameters = OPTIONS
    _parameter_constraints: dict = _options.constraints(OPTIONS)
    # score_samples is minus the squared error: not a likelihood.
    has_likelihood = False

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        architecture="mlp",
        input_shape=None,
        conv_channels=(16, 32, 64),
        padding="zeros",
        encoder=None,
        decoder=None,
        activation="relu",
        output_activation="identity",
        max_epochs=100,
        batch_size=128,
        learning_rate=1e-3,
        learning_rate_schedule="cosine",
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="auto",
        warm_start=False,
        verbose=False,
    ):
        _options.store(self, locals())

    def _loss(self, network, batch, epoch, generator) -> dict[str, torch.Tensor]:
        """The mean squared error per entry."""
        reconstruction = network.decoder(network.encoder(batch))
        return {"loss": torch.nn.functional.mse_loss(reconstruction, batch)}

    def _encode(self, network, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return network.encoder(x), None

    def _check_learned(self, X: np.ndarray) -> None:
        # A network stuck at one output for every row (a saturated sigmoid, dead ReLUs)
        # trains without any error; only its loss, no lower than the mean's, tells.
        # The mean predictor's squared error per entry, E|x|^2/d - |mean|^2/d: sums in
        # float64 without the n-by-d temporary that np.var would allocate.
        n_samples, n_features = X.shape
        mean = X.mean(axis=0, dtype=np.float64)
        mean_predictor = float(np.einsum("ij,ij->", X, X, dtype=np.float64)
                               / (n_samples * n_features) - mean @ mean / n_features)
        if self.loss_curve_[-1] >= mean_predictor:
            warnings.warn(
                f"training ended at a loss of {self.loss_curve_[-1]:.4g} per entry, no "
                f"better than predicting every row by the data's mean ({mean_predictor:.4g})"
                ". A short training may simply need more epochs; a network stuck at one "
                "output stays there whatever the budget (a sigmoid output saturated under "
                "the squared error, dead units): try output_activation='identity', another "
                "random_state or a lower learning_rate.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Minus the mean squared reconstruction error of each sample (not a likelihood).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype of ``X``
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._map(
            X, lambda net, x, rows: -((net.decoder(net.encoder(x)) - x) ** 2).mean(dim=1)
        )
