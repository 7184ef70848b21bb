"""Deterministic autoencoder."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import StrOptions
from dimred.arrays._streams import ColumnStatistics
from dimred.neural import _options
from dimred.neural._base import NeuralReducer
from dimred.neural._options import Option
from dimred.neural.networks import start_output_at_the_mean

#: AE's own options: its loss, and the output that suits it.
OPTIONS = _options.merge(_options.SHARED, [
    _options.shared("output_activation", doc="""
        The decoder's mean. None: ``"identity"`` with ``loss="mse"``, ``"sigmoid"`` with
        ``loss="bce"`` (the only one it takes). ``"sigmoid"`` suits data in [0, 1]; its
        bias starts at the logit of the data's mean, so that training starts from the
        mean image rather than deep in the sigmoid's saturation. ``fit`` warns
        (``ConvergenceWarning``) when its last epoch's loss is no lower than that of
        predicting every row by the data's mean."""),
    Option("loss", "mse", [StrOptions({"mse", "bce"})], '{"mse", "bce"}', """
        ``"mse"``: the squared error per entry. ``"bce"``: the Bernoulli cross-entropy per
        entry in nats, for data in [0, 1] such as images: the decoder outputs logits
        and its mean is their sigmoid. A saturated sigmoid passes almost no gradient
        under the squared error; under the cross-entropy it does."""),
])


@_options.document(OPTIONS)
class AE(NeuralReducer):
    """Deterministic autoencoder in PyTorch, trained on the squared error or, for data in
    [0, 1], the Bernoulli cross-entropy.

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
        init="random",
        pod_modes=None,
        activation="relu",
        output_activation=None,
        loss="mse",
        max_epochs=None,
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
        precision="float32",
        warm_start=False,
        verbose=False,
    ):
        _options.store(self, locals())

    def _loss(self, network, batch, epoch, generator) -> dict[str, torch.Tensor]:
        """The squared error, or the cross-entropy in nats, per entry."""
        output = network.decoder(network.encoder(batch))
        if self.loss == "bce":
            return {"loss": torch.nn.functional.binary_cross_entropy_with_logits(output, batch)}
        return {"loss": torch.nn.functional.mse_loss(output, batch)}

    def _bernoulli_setting(self) -> str | None:
        return "loss='bce'" if self.loss == "bce" else None

    def _initialise(self, network, statistics: ColumnStatistics) -> None:
        if self.loss == "bce" or self.output_activation == "sigmoid":
            mean = np.clip(statistics.mean, 1e-4, 1 - 1e-4)
            start_output_at_the_mean(network.decoder, np.log(mean / (1 - mean)))

    def _encode(self, network, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return network.encoder(x), None

    def _check_learned(self, statistics: ColumnStatistics) -> None:
        # A network stuck at one output for every row (a saturated sigmoid, dead ReLUs)
        # trains without any error; only its loss, no lower than the mean's, tells.
        mean_predictor = self._mean_predictor_loss(statistics)
        if self.loss_curve_[-1] >= mean_predictor:
            warnings.warn(
                f"training ended at a loss of {self.loss_curve_[-1]:.4g} per entry, no "
                f"better than predicting every row by the data's mean ({mean_predictor:.4g})"
                ". A short training may simply need more epochs; a network stuck at one "
                "output stays there whatever the budget (a sigmoid output saturated under "
                "the squared error, dead units): try loss='bce' for data in [0, 1], "
                "another random_state or a lower learning_rate.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _mean_predictor_loss(self, statistics: ColumnStatistics) -> float:
        """The loss per entry of predicting every row by the data's mean: the mean
        column variance for the squared error, the mean Bernoulli entropy for the
        cross-entropy (both are linear in x given the mean)."""
        if self.loss == "bce":
            mean = np.clip(statistics.mean, 1e-12, 1 - 1e-12)
            return float(-np.mean(mean * np.log(mean) + (1 - mean) * np.log1p(-mean)))
        return float(np.mean(statistics.variance))

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
        X = self._validate_rows(X, reset=False)
        return self._map(
            X, lambda net, x, rows: -((self._decode_mean(net, self._encode(net, x)[0]) - x)
                                      ** 2).mean(dim=1))
