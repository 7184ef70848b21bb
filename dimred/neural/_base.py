"""What AE and VAE share: the hooks a neural reducer provides, fitting and inference.

A new objective (a beta-TCVAE, a Laplace decoder, a denoising AE) is one subclass that
provides the hooks declared abstract below; the base class never asks which subclass
it serves.
"""

from __future__ import annotations

import dataclasses
from abc import ABCMeta, abstractmethod
from collections.abc import Callable

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from dimred._sklearn_compat import _fit_context
from dimred.arrays._out_of_core import is_dask_array
from dimred.arrays._streams import ColumnStatistics, is_streamed, map_row_chunks, read_ahead
from dimred.contract._reducer import ReducerMixin, non_finite_message
from dimred.neural import _options
from dimred.neural._batches import rows_of, split
from dimred.neural._building import BuildsNetworks
from dimred.neural._pickling import PicklesWeights
from dimred.neural._training import Rows, train
from dimred.neural.networks import fixed_mode_count

#: Rows per forward pass at inference: bounds memory, whatever the size of X.
INFERENCE_BATCH = 4096


class NeuralReducer(BuildsNetworks, PicklesWeights, ReducerMixin, BaseEstimator,
                    metaclass=ABCMeta):
    """Base of the PyTorch estimators: a subclass provides the objective and the scores.

    What a subclass provides (each hook is declared below with its contract):

    - :meth:`_loss`: the named parts of the training loss of a batch, ``"loss"`` among
      them (pythae's ``loss_function``);
    - :meth:`_encode`: the code of a batch (and, for a posterior, its log-variance);
    - :meth:`score_samples`: the per-sample score of the contract, in nats or minus an
      error;
    - :attr:`_n_encoder_outputs`: the encoder's output width per latent unit (1 unless
      the code is a distribution);

    and may refine :meth:`_bernoulli_setting` (a decoder of logits),
    :meth:`_decode_mean`, :meth:`_decoder_output_activation`, :meth:`_learned_scalars`,
    :meth:`_check_data`, :meth:`_initialise` and :meth:`_check_learned`. Its
    hyper-parameters are :data:`_options.SHARED` plus its own
    (:mod:`dimred.neural._options`), from which ``_parameter_constraints`` and the
    docstring derive.

    Training is in float32 whatever the input. Inference runs in the input's float
    precision (the float32 weights are cast for the call), so float64 input gives
    float64 results that do not depend on how rows are batched.
    """

    _hyperparameters: tuple[_options.Option, ...] = _options.SHARED
    _parameter_constraints: dict = _options.constraints(_options.SHARED)

    shows_progress = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        # n_features_in_ is set before training starts; only a trained network counts.
        return hasattr(self, "network_")

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None, *, X_validation: ArrayLike | None = None,
            epoch_callback: Callable[[int, float], None] | None = None):
        """Train the network for up to ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like, numpy.memmap or dask array of shape (n_samples, n_features)
            A memory map or a dask array is streamed (see :class:`StreamedRows`): never
            read whole, its rows are read a few blocks at a time by a background thread
            while the network trains, in an order shuffled by block and then by row.
        y : Ignored
        X_validation : array-like of shape (n_validation, n_features), default=None
            Rows to validate on after every epoch, instead of the random
            ``validation_fraction`` of ``X`` that ``early_stopping`` holds out: a split
            that respects the data's structure (whole trajectories, a block of time).
            ``validation_scores_`` records minus their loss per epoch.
        epoch_callback : callable, default=None
            ``epoch_callback(epoch, validation_loss)`` after every epoch that has
            validation rows; it may raise to stop the fit (a pruned tuning trial).

        Returns
        -------
        self
        """
        continuing = self.warm_start and hasattr(self, "network_")
        X = self._validate_rows(X, reset=not continuing)
        self._check_architecture(X)
        generator = self._generator()
        if X_validation is not None:
            X_validation = self._validate_rows(X_validation, reset=False)
            training, validation = self._rows(X), self._rows(X_validation)
        elif self.early_stopping:
            training, validation = split(X, self.validation_fraction, generator,
                                         self.batch_size, self._device())
        else:
            training, validation = self._rows(X), None
        statistics = self._statistics(training)
        if validation is not None:
            self._statistics(validation)
        self._train(training, statistics, _options.training_config(self), generator,
                    restart=not continuing, X_validation=validation,
                    epoch_callback=epoch_callback)
        self._check_learned(statistics)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: ArrayLike, y: None = None):
        """One epoch over ``X`` at the constant learning rate, continuing any earlier fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self
        """
        first_call = not hasattr(self, "network_")
        X = self._validate_rows(X, reset=first_call)
        self._check_architecture(X)
        rows = self._rows(X)
        statistics = self._statistics(rows)
        if not hasattr(self, "_partial_fit_generator"):
            self._partial_fit_generator = self._generator()
        config = dataclasses.replace(_options.training_config(self), max_epochs=1,
                                     early_stopping=False, learning_rate_schedule="constant")
        result = self._train(
            rows,
            statistics,
            config,
            self._partial_fit_generator,
            restart=first_call,
            optimizer=getattr(self, "_optimizer", None),
            epoch_offset=getattr(self, "n_iter_", 0),
        )
        self._optimizer = result.optimizer
        return self

    def _train(self, rows: Rows, statistics: ColumnStatistics, config, generator, *,
               restart: bool, **options):
        """The one call into the training loop that fit and partial_fit share: a new
        network when ``restart``, else the fitted one, trained on ``rows`` and recorded."""
        # Building the network reads only the generator's seed, so doing it after fit's
        # train/validation split leaves the weights as they were; data-dependent
        # initialisation sees the training rows' statistics only, never the validation's.
        network = self._new_network(rows, statistics, generator) if restart else self.network_
        result = train(network, self._loss, rows, config, generator,
                       loss_has_zero=self._loss_has_zero, **options)
        self._record(network, result, restart=restart)
        return result

    def _record(self, network, result, *, restart: bool) -> None:
        """Store the fitted network and extend (or restart) the history."""
        self.network_ = network
        self.n_components_ = self.n_components
        previous = [] if restart else list(getattr(self, "loss_curve_", []))
        self.loss_curve_ = previous + result.loss_curve
        self.n_iter_ = len(self.loss_curve_)
        if result.validation_scores:
            self.validation_scores_ = result.validation_scores
            self.best_validation_score_ = max(result.validation_scores)
        self.device_ = str(next(network.parameters()).device)

    # --------------------------------------------------------------- inference
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Encode ``X``: the latent code (the posterior mean for a VAE).

        Parameters
        ----------
        X : array-like, numpy.memmap or dask array of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), dtype of ``X``
            A dask array, encoded chunk by chunk, for dask input.
        """
        check_is_fitted(self)
        X = self._validate_rows(X, reset=False)
        if is_dask_array(X):
            return map_row_chunks(X, self.transform, self.n_components_, self._float_dtype(X))
        return self._map(X, lambda net, x, block: self._encode(net, x)[0])

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Decode latent codes to the mean of the reconstruction.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_components)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features), dtype of the codes
            A dask array, decoded chunk by chunk, for dask codes.
        """
        if is_dask_array(X):
            check_is_fitted(self)
            return map_row_chunks(X, self.inverse_transform, self.n_features_in_,
                                  self._float_dtype(X))
        codes = self._validate_codes(X)
        return self._map(codes, lambda net, z, block: self._decode_mean(net, z))

    def _map(self, X, function, batch: int = INFERENCE_BATCH) -> np.ndarray:
        """Apply ``function(network, x, block)`` in X's precision, a batch of rows at a
        time, and stack the results.

        ``block`` is a batch of rows of ``X`` as a numpy array, ``x`` its tensor. A
        memory-mapped or dask ``X`` is read by a background thread, a batch ahead.
        """
        dtype = self._float_dtype(X)
        network = self._network_in(dtype)
        n_rows = X.shape[0]
        bounds = [slice(start, min(start + batch, n_rows)) for start in range(0, n_rows, batch)]
        blocks = read_ahead(X, ([rows] for rows in bounds), dtype) if is_streamed(X) \
            else (np.asarray(X[rows], dtype=dtype) for rows in bounds)
        with torch.inference_mode():
            outputs = [function(network, self._to_tensor(block, dtype), block).cpu()
                       for block in blocks]
        return torch.cat(outputs).numpy()

    def _network_in(self, dtype) -> torch.nn.Module:
        """The fitted network with weights in ``dtype``; a cast copy, so self is unchanged."""
        if np.dtype(dtype) == np.float32:
            return self.network_
        network = self._build_network(self.n_features_in_, torch.Generator())
        network.load_state_dict(self.network_.state_dict())
        return network.to(device=self.device_, dtype=_TORCH_DTYPES[np.dtype(dtype)]).eval()

    # ------------------------------------------------------------------ hooks
    #: Whether the loss is bounded below by zero (a squared error, Bernoulli nats): the
    #: convergence check judges its fall by its value, else per feature.
    _loss_has_zero: bool = True

    @abstractmethod
    def _loss(self, network: torch.nn.Module, batch: torch.Tensor, epoch: int | None,
              generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The named parts of the loss of ``batch``, ``"loss"`` among them: the mean per
        sample that training minimises. ``epoch`` is None when the loss is evaluated
        (validation), not trained on; noise is drawn from ``generator``."""

    @abstractmethod
    def _encode(self, network: torch.nn.Module,
                x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The code of ``x`` (``transform``'s output) and, for a posterior, its
        log-variance (None for a deterministic code)."""

    @abstractmethod
    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """The contract's per-sample score of ``X``, higher is better: a log-likelihood
        (or a bound on one) in nats, or minus an error when ``has_likelihood`` is False."""

    def _bernoulli_setting(self) -> str | None:
        """The setting under which the decoder outputs Bernoulli logits (e.g.
        ``"loss='bce'"``), or None: then its mean is their sigmoid, and the data must lie
        in [0, 1]."""
        return None

    def _decode_mean(self, network: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
        """The mean of the reconstruction of codes ``z`` (``inverse_transform``)."""
        output = network.decoder(z)
        return torch.sigmoid(output) if self._bernoulli_setting() else output

    def _decoder_output_activation(self) -> str:
        """The activation the decoder's last layer ends with: none under logits."""
        setting = self._bernoulli_setting()
        if setting is None:
            return self.output_activation or "identity"
        if self.output_activation not in (None, "sigmoid"):
            raise ValueError(f"{setting} decodes logits whose mean is their sigmoid; "
                             "output_activation must be None or 'sigmoid', got "
                             f"{self.output_activation!r}.")
        return "identity"

    def _learned_scalars(self) -> tuple[str, ...]:
        """Names of scalar parameters the objective learns beside the weights (each a
        network attribute starting at 0, e.g. a decoder's log-variance)."""
        return ()

    def _check_data(self, statistics: ColumnStatistics) -> None:
        """Refuse data the objective cannot model, known by its column statistics: a
        Bernoulli's outside [0, 1]."""
        setting = self._bernoulli_setting()
        if setting is not None:
            low, high = statistics.minimum, statistics.maximum
            if low < 0 or high > 1:
                raise ValueError(f"{setting} needs data in [0, 1]; got values in "
                                 f"[{low:.4g}, {high:.4g}]. Scale the data (e.g. scale01) "
                                 "first.")

    def _initialise(self, network: torch.nn.Module, statistics: ColumnStatistics) -> None:
        """Data-dependent initialisation of a new network from the training rows' column
        statistics (none by default)."""

    def _check_learned(self, statistics: ColumnStatistics) -> None:
        """Warn after ``fit`` if the network has visibly learned nothing, judged against
        the training rows' column statistics (none by default)."""

    # ------------------------------------------------------------------ helpers
    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested but no CUDA device is available.")
        return torch.device(self.device)

    def _generator(self) -> torch.Generator:
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return torch.Generator(device=self._device()).manual_seed(seed)

    def _rows(self, X) -> Rows:
        return rows_of(X, self.batch_size, self._device())

    def _statistics(self, rows: Rows) -> ColumnStatistics:
        """The column statistics of ``rows``, in one pass; refuses non-finite or
        unmodellable data (:meth:`_check_data`) before any network is built."""
        statistics = rows.statistics()
        if not statistics.finite:
            raise ValueError(non_finite_message(type(self).__name__))
        self._check_data(statistics)
        return statistics

    def _to_tensor(self, X: np.ndarray, dtype=np.float32) -> torch.Tensor:
        # A copy: the input may be read-only (memmap) and must not alias the weights' math.
        X = np.ascontiguousarray(X, dtype=dtype)
        return torch.tensor(X, device=self._device_for_inference())

    def _device_for_inference(self) -> torch.device:
        return torch.device(self.device_) if hasattr(self, "device_") else self._device()

    def _count_parameters(self) -> int:
        # The POD modes the network holds fixed were fitted to the data too.
        return (sum(parameter.numel() for parameter in self.network_.parameters())
                + fixed_mode_count(self.network_))


_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
