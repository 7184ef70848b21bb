"""Variational autoencoder with the ELBO in nats and importance-weighted likelihood."""

from __future__ import annotations

import hashlib
import math
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import Interval, StrOptions
from dimred.arrays._streams import ColumnStatistics, column_statistics
from dimred.neural import _options
from dimred.neural._base import NeuralReducer
from dimred.neural._options import Option
from dimred.neural.networks import start_at_pod

#: Posterior draws per sample in ``score_samples``.
ELBO_SAMPLES = 16
#: A latent unit is active when its posterior mean varies over the data by more than
#: this (variance, in the prior's unit); Burda et al. (2015).
ACTIVE_UNIT_THRESHOLD = 0.01
#: The least noise variance, per standardised feature (the data's mean variance is 1),
#: that ``init="pod"`` starts from: data the modes reconstruct exactly has none, and its
#: log would be -inf.
NOISE_FLOOR = 1e-8
_ELBO_SALT = 0
#: (importance samples x rows) decoded per forward pass in ``log_likelihood``.
_IWAE_CHUNK = 2**15
_LOG_2PI = math.log(2 * math.pi)

#: VAE's options: the shared ones, its decoder's output, and its own.
OPTIONS = _options.merge(_options.SHARED, [
    _options.shared("output_activation", doc="""
        Applied to the Gaussian decoder's mean; None means ``"identity"``. A Bernoulli
        decoder outputs logits and its mean is always their sigmoid (None or
        ``"sigmoid"``)."""),
    Option("likelihood", "gaussian", [StrOptions({"gaussian", "bernoulli"})],
           '{"gaussian", "bernoulli"}',
           'Decoder distribution. ``"bernoulli"`` needs data in [0, 1].'),
    Option("noise_variance", "learned",
           [StrOptions({"learned"}), Interval(Real, 0, None, closed="neither")],
           '"learned" or float',
           "Variance ``c`` of the Gaussian decoder, learned (one scalar) or fixed."),
    Option("beta", 1.0, [Interval(Real, 0, None, closed="left")], "float", """
        Weight of the KL term in the training loss (beta-VAE). Scores always use the
        true ELBO, beta = 1."""),
    Option("kl_warmup_epochs", 0, [Interval(Integral, 0, None, closed="left")], "int", """
        Epochs over which the KL weight rises linearly from ``beta / kl_warmup_epochs``
        to ``beta``."""),
    Option("dynamic_binarization", False, ["boolean"], "bool", """
        Redraw every training batch as Bernoulli(intensity), a fresh binary image each
        epoch (Bernoulli likelihood only)."""),
])


@_options.document(OPTIONS)
class VAE(NeuralReducer):
    """Variational autoencoder (Kingma & Welling 2014) in PyTorch.

    The encoder outputs the mean and log-variance of a diagonal Gaussian posterior
    ``q(z|x)``, sampled by reparameterisation; the prior is ``N(0, I)`` and the KL term is
    analytic. The decoder is a Gaussian ``N(f(z), c I)`` or a Bernoulli with logits
    ``f(z)``.

    Parameters
    ----------
    %(options)s

    Attributes
    ----------
    network_, loss_curve_, validation_scores_, n_iter_, n_parameters_, n_features_in_, \
feature_names_in_, device_
        As in :class:`dimred.AE`; ``loss_curve_`` is the training loss, the negative
        (beta-weighted) ELBO in nats per sample.
    noise_variance_ : float or None
        Fitted (or fixed) Gaussian decoder variance ``c``; None for Bernoulli.

    Examples
    --------
    >>> import numpy as np
    >>> from dimred import VAE
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> vae = VAE(n_components=2, max_epochs=5, random_state=0).fit(X)
    >>> vae.sample(3, random_state=0).shape
    (3, 10)
    >>> bool(np.all(vae.log_likelihood(X[:5], n_importance_samples=50, random_state=0)
    ...             >= vae.score_samples(X[:5]) - 1.0))
    True
    """

    _hyperparameters = OPTIONS
    _parameter_constraints: dict = _options.constraints(OPTIONS)
    _n_encoder_outputs = 2
    _encoder_outputs_are = "2 * n_components (mean and log-variance)"
    likelihood_is_bound = True  # score is the ELBO

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
        likelihood="gaussian",
        noise_variance="learned",
        beta=1.0,
        kl_warmup_epochs=0,
        dynamic_binarization=False,
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

    # ------------------------------------------------------------- the model
    def _loss(self, network, batch, epoch, generator) -> dict[str, torch.Tensor]:
        """The negative ELBO per sample, its KL weighted by beta and the warm-up, and its
        parts in nats per sample: ``reconstruction`` (``-log p(x|z)`` at one draw) and
        ``kl`` (``KL(q(z|x) || p(z))``)."""
        if self.dynamic_binarization and epoch is not None:
            batch = _binarised(batch, generator)
        mean, log_variance = self._encode(network, batch)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * log_variance) * noise
        reconstruction = -self._log_px(network, batch, z).mean()
        kl = _kl_to_prior(mean, log_variance).mean()
        loss = reconstruction + self.beta * self._warmup(epoch) * kl
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def _encode(self, network, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and log-variance."""
        mean, log_variance = network.encoder(x).chunk(2, dim=-1)
        # Bounded so that exp() cannot overflow in float32 early in training.
        return mean, log_variance.clamp(-30.0, 20.0)

    def _log_px(self, network, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x|z)`` in nats, summed over features, every constant kept."""
        output = network.decoder(z)
        if self.likelihood == "bernoulli":
            return -torch.nn.functional.binary_cross_entropy_with_logits(
                output, x.expand_as(output), reduction="none"
            ).sum(-1)
        log_c = self._log_noise_variance(network).to(output.dtype)
        squared = ((x - output) ** 2).sum(-1)
        return -0.5 * (squared * torch.exp(-log_c) + x.shape[-1] * (_LOG_2PI + log_c))

    def _log_noise_variance(self, network) -> torch.Tensor:
        if self.noise_variance == "learned":
            return network.log_noise_variance
        return torch.tensor(math.log(self.noise_variance))

    def _bernoulli_setting(self) -> str | None:
        return "likelihood='bernoulli'" if self.likelihood == "bernoulli" else None

    @property
    def _loss_has_zero(self) -> bool:  # Bernoulli nats are ≥ 0; a density's may be < 0
        return self.likelihood == "bernoulli"

    def _warmup(self, epoch: int | None) -> float:
        if epoch is None or self.kl_warmup_epochs == 0:
            return 1.0
        return min(1.0, (epoch + 1) / self.kl_warmup_epochs)

    def _learned_scalars(self) -> tuple[str, ...]:
        learned = self.likelihood == "gaussian" and self.noise_variance == "learned"
        return ("log_noise_variance",) if learned else ()

    def _check_data(self, statistics: ColumnStatistics) -> None:
        if self.dynamic_binarization and self.likelihood != "bernoulli":
            raise ValueError("dynamic_binarization=True needs likelihood='bernoulli'.")
        super()._check_data(statistics)

    def _initialise(self, network, statistics: ColumnStatistics) -> None:
        # Start c at the data's mean variance rather than 1: on [0, 1] images the optimum
        # is ~100x smaller, thousands of Adam steps away on the log scale.
        if "log_noise_variance" in self._learned_scalars():
            variance = float(np.mean(statistics.variance))
            with torch.no_grad():
                network.log_noise_variance.fill_(math.log(max(variance, 1e-6)))

    def _start_at_pod(self, network, subspace) -> None:
        """Start at probabilistic PCA's maximum-likelihood solution on the k modes
        (Tipping & Bishop 1999), where the ELBO is tight: decoder ``V (L - s2)^1/2``,
        posterior mean ``L^-1 (L - s2)^1/2 V^T x`` and variance ``s2 / L``, with ``L``
        the modes' variances and ``s2`` the mean variance they leave out; a learned
        noise variance starts at ``s2`` (in the data's units)."""
        tiny = np.finfo(np.float64).tiny
        noise = max(subspace.residual, NOISE_FLOOR)
        variances = np.maximum(subspace.variances, noise)
        spread = np.sqrt(np.maximum(variances - noise, tiny))
        start_at_pod(network, subspace.modes, spread / variances, spread,
                     log_variance=np.log(noise / variances))
        if "log_noise_variance" in self._learned_scalars():
            with torch.no_grad():
                network.log_noise_variance.fill_(math.log(noise * subspace.unit**2))

    @property
    def noise_variance_(self) -> float | None:
        check_is_fitted(self)
        if self.likelihood == "bernoulli":
            return None
        return float(torch.exp(self._log_noise_variance(self.network_).detach()))

    # ---------------------------------------------------------------- scores
    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Evidence lower bound of each sample, in nats.

        ``E_q[log p(x|z)] - KL(q(z|x) || p(z))`` with every constant of the likelihood
        kept. The expectation is a Monte Carlo average over :data:`ELBO_SAMPLES`
        reparameterised draws seeded by the row's own values: a row's ELBO is
        deterministic and independent of the rest of ``X``, while distinct rows get
        independent draws, so the Monte Carlo error averages out over a data set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        elbo : ndarray of shape (n_samples,), dtype of ``X``
        """
        terms = self._elbo_terms(X)
        return -(terms[:, 0] + terms[:, 1])

    def latent_diagnostics(self, X: ArrayLike) -> dict[str, float]:
        """How the model uses its latent space on ``X``: the split of the ELBO into rate
        and distortion, and the number of active units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        diagnostics : dict
            ``active_units``: latent dimensions ``j`` with ``Cov_x(E_q[z_j]) > 0.01``
            (Burda et al. 2015); the others have collapsed to the prior and carry no
            information about ``x``. ``rate``: ``KL(q(z|x) || p(z))``, nats per sample,
            the information the code carries. ``distortion``: ``-E_q log p(x|z)``,
            nats per sample, with the draws of :meth:`score_samples`, so that
            ``-(rate + distortion)`` is the mean of ``score_samples(X)``.
        """
        terms = self._elbo_terms(X)
        variances = np.var(terms[:, 2:], axis=0, dtype=np.float64)
        return {
            "active_units": int(np.sum(variances > ACTIVE_UNIT_THRESHOLD)),
            "rate": float(np.mean(terms[:, 0], dtype=np.float64)),
            "distortion": float(np.mean(terms[:, 1], dtype=np.float64)),
        }

    def _elbo_terms(self, X: ArrayLike) -> np.ndarray:
        """Per row of ``X``: the rate ``KL(q(z|x) || p(z))``, the distortion
        ``-E_q log p(x|z)`` (over :data:`ELBO_SAMPLES` draws seeded by the row's values),
        then the posterior mean, as columns of an array in ``X``'s dtype."""
        check_is_fitted(self)
        X = self._validate_rows(X, reset=False)
        self._check_data(column_statistics(X))

        def terms(network, x, block):
            mean, log_variance = self._encode(network, x)
            noise = self._row_noise(block, ELBO_SAMPLES, _ELBO_SALT, x)
            z = mean + torch.exp(0.5 * log_variance) * noise
            distortion = -self._log_px(network, x, z).mean(0)
            return torch.stack([_kl_to_prior(mean, log_variance), distortion, *mean.T], 1)

        return self._map(X, terms, batch=max(1, _IWAE_CHUNK // ELBO_SAMPLES))

    def log_likelihood(
        self, X: ArrayLike, n_importance_samples: int = 1000, random_state=None
    ) -> np.ndarray:
        """Importance-weighted estimate of ``log p(x)`` for each sample, in nats.

        ``log (1/k) sum_j p(x, z_j) / q(z_j|x)`` with ``z_j ~ q(z|x)`` (Burda et al.
        2015). With ``k = 1`` it is an unbiased estimate of the ELBO; its expectation is
        at least the ELBO and does not decrease as ``k`` grows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_importance_samples : int, default=1000
            ``k``, the number of posterior draws per sample.
        random_state : int, RandomState instance or None, default=None
            Salts the draws; each row's draws are also seeded by its own values, so
            a row's estimate does not depend on the other rows.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,), dtype of ``X``
        """
        check_is_fitted(self)
        check_scalar(n_importance_samples, "n_importance_samples", Integral, min_val=1)
        X = self._validate_rows(X, reset=False)
        self._check_data(column_statistics(X))
        salt = int(check_random_state(random_state).randint(2**31 - 1))
        rows_per_pass = max(1, _IWAE_CHUNK // n_importance_samples)
        samples_per_pass = max(1, _IWAE_CHUNK // rows_per_pass)

        def importance_weighted(network, x, block):
            mean, log_variance = self._encode(network, x)
            std = torch.exp(0.5 * log_variance)
            noise = self._row_noise(block, n_importance_samples, salt, x)
            log_weights = []
            for start in range(0, n_importance_samples, samples_per_pass):
                eps = noise[start : start + samples_per_pass]
                z = mean + std * eps
                log_prior = -0.5 * (z**2 + _LOG_2PI).sum(-1)
                log_posterior = -0.5 * (eps**2 + _LOG_2PI + log_variance).sum(-1)
                log_weights.append(self._log_px(network, x, z) + log_prior - log_posterior)
            log_weights = torch.cat(log_weights)
            return torch.logsumexp(log_weights, dim=0) - math.log(n_importance_samples)

        return self._map(X, importance_weighted, batch=rows_per_pass)

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Decode draws from the prior ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float32
            The decoder's mean at each draw (probabilities for a Bernoulli decoder).
        """
        check_is_fitted(self)
        check_scalar(n_samples, "n_samples", Integral, min_val=1)
        z = check_random_state(random_state).standard_normal((n_samples, self.n_components))
        return self.inverse_transform(z.astype(np.float32))

    def _row_noise(self, rows: np.ndarray, n_draws: int, salt: int, like: torch.Tensor):
        """Standard normal draws of shape (n_draws, n_rows, n_components), seeded per row.

        Each row's generator is seeded by a hash of its float64 values and ``salt``: the
        same row always gets the same draws, whatever batch or order it comes in.
        """
        draws = np.empty((n_draws, rows.shape[0], self.n_components))
        for index, row in enumerate(np.asarray(rows, dtype=np.float64)):
            digest = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
            seed = [salt, *np.frombuffer(digest, dtype=np.uint32).tolist()]
            draws[:, index] = np.random.default_rng(seed).standard_normal(
                (n_draws, self.n_components)
            )
        return torch.as_tensor(draws, dtype=like.dtype, device=like.device)


def _binarised(intensity: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Bernoulli(``intensity``) draw of each pixel, as ``u < intensity`` for uniform
    ``u``: what ``torch.bernoulli`` does on CPU, draw for draw, at a quarter of the cost
    (its per-element sampler took 1.5 ms for a batch of 100 MNIST images against 0.38 ms
    here, in ``benchmarks/performance/test_neural_speed.py``; about a tenth of an MLP
    VAE's training step saved)."""
    uniform = torch.rand(intensity.shape, generator=generator, device=intensity.device,
                         dtype=intensity.dtype)
    return (uniform < intensity).to(intensity.dtype)


def _kl_to_prior(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(log_variance)) || N(0, I))`` per sample, in nats."""
    return 0.5 * (mean**2 + torch.exp(log_variance) - 1.0 - log_variance).sum(-1)
