"""The one training loop, shared by AE and VAE.

The two differ only in the objective they hand in: a callable that maps a batch to the
named parts of its loss, ``"loss"`` (the mean per sample, minimised) among them, and may
draw noise from the generator it is given.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from dimred.neural._batches import InMemoryRows, StreamedRows

Rows = InMemoryRows | StreamedRows

# (network, batch, epoch or None when evaluating, generator) -> named parts of the loss,
# "loss" (the mean per sample, minimised) among them
Objective = Callable[[torch.nn.Module, torch.Tensor, int | None, torch.Generator],
                     dict[str, torch.Tensor]]

#: Share of the epochs run at the full learning rate before the cosine decay. Constant
#: Adam stalls at its noise floor (1.2% short of the pPCA optimum in a linear VAE); a
#: decay over the last epochs gets within 0.2%.
_DECAY_START = 0.7
_FINAL_LR_FACTOR = 0.01


@dataclass
class TrainingResult:
    """Per-epoch history. ``validation_scores`` is minus the validation loss."""

    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] = field(default_factory=list)
    optimizer: torch.optim.Optimizer | None = None


def train(
    network: torch.nn.Module,
    objective: Objective,
    rows: Rows,
    config,
    generator: torch.Generator,
    *,
    X_validation: Rows | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    epoch_offset: int = 0,
    epoch_callback: Callable[[int, float], None] | None = None,
    loss_has_zero: bool = True,
) -> TrainingResult:
    """Train ``network`` in place on ``rows`` by minibatch AdamW.

    ``config`` is a :class:`dimred.neural._options.TrainingConfig`: the estimator's
    training options, read here by name. ``rows`` (and ``X_validation``) give the
    minibatches (:mod:`dimred.neural._batches`): a fresh random order each epoch, from
    a tensor in memory or streamed from a file; the loss is read back to the host once
    per epoch.

    With ``X_validation``, its loss is evaluated after every epoch (``validation_scores``
    is minus it) and handed to ``epoch_callback(epoch, loss)``, which may raise to stop
    the training (a pruned tuning trial); ``config.early_stopping`` stops on it.
    ``loss_has_zero`` says whether the loss is bounded below by zero, which
    :func:`check_converged` judges its fall by.

    Raises
    ------
    FloatingPointError
        If an epoch's loss is NaN or infinite. ``network`` is then left as it was before
        that epoch, never with NaN weights.
    """
    if config.max_epochs is None:
        config = dataclasses.replace(
            config, max_epochs=budgeted_epochs(rows.n_samples, config.batch_size))
    if optimizer is None:
        optimizer = torch.optim.AdamW(
            network.parameters(),
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            fused=True,  # one kernel for all parameters instead of a Python loop over them
        )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: lr_factor(epoch, config.max_epochs, config.learning_rate_schedule)
    )
    result = TrainingResult(optimizer=optimizer)
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0
    n_samples = rows.n_samples

    epochs = tqdm(range(config.max_epochs), desc="training", disable=not bool(config.verbose),
                  unit="epoch", leave=False)
    for epoch in epochs:
        before_epoch = copy.deepcopy(network.state_dict())
        network.train()
        total = torch.zeros((), device=rows.device)
        for batch in rows.shuffled(generator):
            with torch.autocast(rows.device.type, dtype=torch.bfloat16,
                                enabled=config.precision == "bf16"):
                loss = objective(network, batch, epoch_offset + epoch, generator)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * batch.shape[0]
        scheduler.step()

        epoch_loss = float(total) / n_samples  # the one host sync of the epoch
        if not math.isfinite(epoch_loss):
            network.load_state_dict(before_epoch)
            raise FloatingPointError(
                f"training diverged: the loss became {epoch_loss} in epoch "
                f"{epoch_offset + epoch + 1}. The learning rate "
                f"({config.learning_rate}) is likely too high, or the data is not scaled "
                "(standardise it or scale it to [0, 1])."
            )
        result.loss_curve.append(epoch_loss)
        epochs.set_postfix(loss=f"{epoch_loss:.4g}")

        if X_validation is None:
            continue
        validation_loss = evaluate(network, objective, X_validation, generator)
        result.validation_scores.append(-validation_loss)
        if epoch_callback is not None:
            epoch_callback(epoch_offset + epoch, validation_loss)
        if config.early_stopping:
            if validation_loss < best_loss - config.tol:
                best_loss, epochs_without_improvement = validation_loss, 0
                best_state = copy.deepcopy(network.state_dict())
            else:
                epochs_without_improvement += 1
            if epochs_without_improvement >= config.n_iter_no_change:
                break

    if best_state is not None:
        network.load_state_dict(best_state)
    elif len(result.loss_curve) == config.max_epochs:  # not stopped early on validation
        check_converged(result.loss_curve, config, loss_has_zero=loss_has_zero,
                        n_features=rows.X.shape[1])
    network.eval()
    return result


#: With ``max_epochs=None``: at least this many optimizer updates ...
MIN_UPDATES = 2000
#: ... and at least this many epochs.
MIN_EPOCHS = 100


def budgeted_epochs(n_samples: int, batch_size: int) -> int:
    """Epochs that give at least :data:`MIN_UPDATES` optimizer updates and
    :data:`MIN_EPOCHS` epochs. Measured on the cylinder wake (192 snapshots, AE at
    k = 2, seed 0), on the raw fields: 200 updates ended at a relative test error of
    0.134, 1000 at 0.077 and 2000 at 0.065 (POD: 0.040); in standardised units, 2000
    updates reach 0.0036."""
    updates_per_epoch = math.ceil(n_samples / batch_size)
    return max(MIN_EPOCHS, math.ceil(MIN_UPDATES / updates_per_epoch))


#: A loss still falling by more than this fraction of its scale over the last tenth of
#: the epochs at the full learning rate is far from convergence (see check_converged).
UNCONVERGED_DROP = 0.05


def check_converged(loss_curve: list[float], config, *, loss_has_zero: bool = True,
                    n_features: int = 1) -> None:
    """Warn if the loss was still falling fast when the learning rate began to decay:
    over the last tenth of the full-rate epochs it fell by more than
    :data:`UNCONVERGED_DROP` of its scale.

    For a loss bounded below by zero (a squared error, Bernoulli nats) the scale is its
    value before the fall. A loss in nats of a continuous density has no such zero: it
    moves with the data's units and may be negative, so a percentage of its value means
    nothing (a fall from 4.4 to 1.0 nats was read as 343%). Its scale is per feature: a Gaussian's
    nats per sample are ``d/2 log(variance)`` plus a constant, so a fall of ``Δ`` nats
    is a variance falling by ``1 - exp(-2Δ/d)`` (at most 100%), judged as the squared
    error's relative fall is."""
    full_rate = config.max_epochs if config.learning_rate_schedule != "cosine" \
        else int(_DECAY_START * config.max_epochs)
    window = max(2, full_rate // 10)
    curve = loss_curve[:full_rate]
    if full_rate < 2 * window or (loss_has_zero and min(curve) <= 0):
        return
    earlier = sum(curve[full_rate - 2 * window : full_rate - window]) / window
    later = sum(curve[full_rate - window : full_rate]) / window
    drop = earlier - later
    if loss_has_zero:
        # The share of its value lost, at most 100%: a loss that fell to a ninth was
        # said to have fallen by 798% when the fall was divided by where it ended.
        share, fell = drop / earlier, f"by {drop / earlier:.0%}"
    else:
        share = -math.expm1(-2 * drop / n_features)
        fell = (f"by {drop:.4g} nats per sample ({drop / n_features:.3g} per feature: a "
                f"Gaussian noise variance falling by {share:.0%})")
    if share <= UNCONVERGED_DROP:
        return
    warnings.warn(
        f"training stopped far from convergence: over epochs {full_rate - window + 1} "
        f"to {full_rate}, at the full learning rate, the loss still fell {fell}. Raise "
        f"max_epochs (now {config.max_epochs}), or leave it None to budget by optimizer "
        "updates.",
        ConvergenceWarning,
        stacklevel=6,  # the caller of fit: past train, _train, fit and sklearn's wrapper
    )


@torch.no_grad()
def evaluate(network, objective, rows: Rows, generator) -> float:
    """Mean loss per sample of ``objective`` over ``rows``, without gradients."""
    network.eval()
    total = torch.zeros((), device=rows.device)
    for batch in rows.in_order():
        total += objective(network, batch, None, generator)["loss"] * batch.shape[0]
    return float(total) / rows.n_samples


#: The learning-rate schedules :func:`lr_factor` knows.
SCHEDULES = ("cosine", "constant", "burda")

#: Burda et al. (2015)'s schedule: stage i lasts 3^i epochs at 10^(-i/7) of the rate.
BURDA_STAGES = 8


def lr_factor(epoch: int, max_epochs: int, schedule: str) -> float:
    """The learning rate of ``epoch`` (0-based) as a fraction of the set one."""
    if schedule == "constant":
        return 1.0
    if schedule == "burda":
        stage, end = 0, 1
        while epoch >= end and stage < BURDA_STAGES - 1:
            stage += 1
            end += 3**stage
        return 10.0 ** (-stage / 7)
    decay_start = int(_DECAY_START * max_epochs)
    if epoch < decay_start:
        return 1.0
    progress = (epoch - decay_start + 1) / max(max_epochs - decay_start, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return _FINAL_LR_FACTOR + (1 - _FINAL_LR_FACTOR) * cosine
