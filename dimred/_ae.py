"""Deterministic autoencoder."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from dimred._neural import NeuralReducer


class AE(NeuralReducer):
    """Deterministic autoencoder in PyTorch, trained on the mean squared error.

    Parameters
    ----------
    n_components : int, default=2
        Latent width.
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Widths of the encoder's dense layers (after the convolutions for
        ``architecture="conv"``); the decoder mirrors them. ``()`` with ``"mlp"`` gives a
        linear autoencoder.
    architecture : {"mlp", "conv"}, default="mlp"
        ``"mlp"``: fully connected. ``"conv"``: for data on a grid, strided
        convolutions (kernel 3, stride 2, one per ``conv_channels`` entry) down to the
        dense layers, mirrored by upsampling convolutions in the decoder.
    input_shape : tuple of int, default=None
        The grid of a row, ``(channels, length)`` or ``(channels, height, width)``; a row
        of X is that array flattened in C order. Required for ``"conv"``; its size must
        be ``n_features``, and one entry may be -1 (inferred, as in ``numpy.reshape``).
    conv_channels : tuple of int, default=(16, 32, 64)
        Channels of the encoder's convolutions; each halves every grid axis.
    padding : {"zeros", "circular"}, default="zeros"
        ``"circular"`` makes every convolution periodic, for fields on periodic domains.
    encoder, decoder : torch.nn.Module, default=None
        Your own networks, given together, replacing the built-in architecture. The
        encoder maps a batch ``(batch, n_features)`` to ``(batch, n_components)`` (the
        VAE's to ``2 * n_components``: mean, then log-variance); the decoder maps
        ``(batch, n_components)`` back to ``(batch, n_features)``. Each fit trains a copy
        of them; wrong output widths are refused with a ValueError at fit.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Hidden activation. Weights are initialised to suit it (He for ReLU, LeCun for
        tanh and logistic, Glorot for linear layers); biases start at zero.
    output_activation : {"identity", "sigmoid"}, default="identity"
        Decoder output; ``"sigmoid"`` suits data scaled to [0, 1]. Under the squared
        error a saturated sigmoid passes almost no gradient, so a deep network can
        settle on an all-black image early and never leave it (seen with
        ``architecture="conv"`` on MNIST, one seed in two); ``"identity"`` cannot.
        ``fit`` warns (``ConvergenceWarning``) when its last epoch's loss is no lower
        than that of predicting every row by the data's mean.
    max_epochs : int, default=100
        Epochs per ``fit``.
    batch_size : int, default=128
    learning_rate : float, default=1e-3
        AdamW step size.
    learning_rate_schedule : {"cosine", "constant", "burda"}, default="cosine"
        ``"cosine"``: constant for the first 70% of ``max_epochs``, then a cosine decay
        to 1%. ``"burda"``: Burda et al. (2015)'s, ``10^(-i/7)`` of the rate for ``3^i``
        epochs, i = 0..7 (3280 epochs in all; ``max_epochs`` cuts it short).
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop once the validation loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the best weights.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split. With the same value
        results are identical on CPU.
    device : {"auto", "cpu", "cuda"}, default="auto"
        ``"auto"`` uses CUDA when present.
    warm_start : bool, default=False
        ``fit`` continues from the current weights instead of starting afresh.
    verbose : bool, default=False
        Show a progress bar with the loss.

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
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.input_shape = input_shape
        self.conv_channels = conv_channels
        self.padding = padding
        self.encoder = encoder
        self.decoder = decoder
        self.activation = activation
        self.output_activation = output_activation
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.warm_start = warm_start
        self.verbose = verbose

    def _objective(self, network, batch, epoch, generator) -> torch.Tensor:
        reconstruction = network.decoder(network.encoder(batch))
        return torch.nn.functional.mse_loss(reconstruction, batch)

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
