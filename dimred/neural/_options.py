"""Every hyper-parameter of the neural estimators, defined once.

An :class:`Option` holds a parameter's default, its scikit-learn constraints and its
numpydoc entry; whether the training loop reads it makes it a field of
:class:`TrainingConfig`. From these the estimators derive their
``_parameter_constraints``, the Parameters section of their docstrings
(:func:`document`) and the configuration they hand the loop (:func:`training_config`).
Adding an option is one entry here plus the estimators' ``__init__`` signatures, which
scikit-learn requires to be spelled out (``tests/test_neural_contract.py`` checks that
they agree with this table).
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import torch

from dimred._sklearn_compat import Interval, StrOptions
from dimred.neural._training import SCHEDULES
from dimred.neural.networks import ACTIVATIONS, ARCHITECTURES, OUTPUT_ACTIVATIONS, PADDINGS


@dataclass(frozen=True)
class Option:
    """One hyper-parameter: its name, default, constraints and documentation."""

    name: str
    default: Any
    #: scikit-learn parameter constraints, as in ``_parameter_constraints``.
    constraints: list
    #: numpydoc type, without the default (added from ``default``).
    type: str
    #: numpydoc description; empty for none.
    doc: str = ""
    #: Whether the training loop reads it (a field of :class:`TrainingConfig`).
    training: bool = False

    def numpydoc(self) -> str:
        """The entry of the Parameters section, indented for a class docstring."""
        default = f'"{self.default}"' if isinstance(self.default, str) else repr(self.default)
        lines = [f"{self.name} : {self.type}, default={default}"]
        if self.doc:
            lines.append(textwrap.indent(textwrap.dedent(self.doc).strip(), "    "))
        return "\n".join(lines)


def _positive(kind) -> list:
    return [Interval(kind, 1, None, closed="left")]


#: The options AE and VAE share, in signature order.
SHARED = (
    Option("n_components", 2, _positive(Integral), "int", "Latent width."),
    Option("hidden_layer_sizes", (256, 128), ["array-like"], "tuple of int", """
        Widths of the encoder's dense layers (after the convolutions for
        ``architecture="conv"``); the decoder mirrors them. ``()`` with ``"mlp"`` gives
        a linear autoencoder."""),
    Option("architecture", "mlp", [StrOptions(set(ARCHITECTURES))], '{"mlp", "conv"}', """
        ``"mlp"``: fully connected. ``"conv"``: for data on a grid, strided
        convolutions (kernel 3, stride 2, one per ``conv_channels`` entry) down to the
        dense layers, mirrored by upsampling convolutions in the decoder. With a decoder
        of the data's values (a linear output; not a sigmoid, not logits), either works
        in standardised units: the encoder takes ``(x - mean) / s``, with the training
        rows' column means and ``s`` the root of their mean column variance, and the
        decoder gives ``mean + s * output``. So such a fit does not depend on the
        data's origin and unit, and raw simulation fields (a velocity of 3.8 +/- 1.7)
        need no scaling first. Data for a decoder of probabilities lies in [0, 1] and
        is taken as it is."""),
    Option("input_shape", None, ["array-like", None], "tuple of int", """
        The grid of a row, ``(channels, length)`` or ``(channels, height, width)``; a
        row of X is that array flattened in C order. Required for ``"conv"``; its size
        must be ``n_features``, and one entry may be -1 (inferred, as in
        ``numpy.reshape``)."""),
    Option("conv_channels", (16, 32, 64), ["array-like"], "tuple of int",
           "Channels of the encoder's convolutions; each halves every grid axis."),
    Option("padding", "zeros", [StrOptions(set(PADDINGS))], '{"zeros", "circular"}',
           '``"circular"`` makes every convolution periodic, for fields on periodic domains.'),
    Option("encoder", None, [torch.nn.Module, None], "torch.nn.Module", """
        Your own encoder, given with ``decoder``, replacing the built-in architecture.
        It maps a batch ``(batch, n_features)`` to ``(batch, n_components)`` (the VAE's
        to ``2 * n_components``: mean, then log-variance). Each fit trains a copy; wrong
        output widths are refused with a ValueError at fit. Your modules see the rows
        as they are (no standardisation)."""),
    Option("decoder", None, [torch.nn.Module, None], "torch.nn.Module",
           "Your own decoder, given with ``encoder``: ``(batch, n_components)`` back to "
           "``(batch, n_features)``."),
    Option("init", "random", [StrOptions({"random", "pod"})], '{"random", "pod"}', """
        ``"pod"`` starts the network at the linear model: a fixed linear path through
        the training rows' leading ``n_components`` POD modes runs beside the layers,
        whose last layers start at zero, so the first epoch starts from POD's
        reconstruction (an AE, with codes whitened to unit variance) or from
        probabilistic PCA's posterior and decoder (a VAE). Training then learns only
        the nonlinear correction. For the built-in networks of a decoder of the data's
        values (not a sigmoid, not logits); conv networks included."""),
    Option("pod_modes", None, [*_positive(Integral), None], "int or None", """
        A network on POD coefficients (POD-DL-ROM, Fresca & Manzoni 2022; EZyRB's
        ``PODAE``): the rows are projected on their leading ``pod_modes`` POD modes
        (fixed, from the training rows), the layers map those coefficients to the code
        and back, and the decoded coefficients are lifted back by the same modes. The
        layers are ``pod_modes`` wide at both ends instead of ``n_features``, so it
        trains faster; its reconstruction lies in the modes' span. At most
        ``min(n_samples, n_features)`` are used, and no fewer than ``n_components``.
        For the ``"mlp"`` architecture; combines with ``init="pod"``."""),
    Option("activation", "relu", [StrOptions(set(ACTIVATIONS))],
           '{"relu", "tanh", "logistic", "identity"}', """
        Hidden activation. Weights are initialised to suit it (He for ReLU, LeCun for
        tanh and logistic, Glorot for linear layers); biases start at zero."""),
    Option("output_activation", None, [StrOptions(set(OUTPUT_ACTIVATIONS)), None],
           '{"identity", "sigmoid"} or None', """
        The decoder's mean; None lets the loss decide (``"identity"`` for a squared
        error)."""),
    Option("max_epochs", None, [*_positive(Integral), None], "int or None", """
        Epochs per ``fit``. None budgets by optimizer updates rather than epochs, since
        an epoch is 2 updates on 192 rows and 469 on MNIST's 60 000 at batch 128: as
        many epochs as give at least 2000 updates, and at least 100 epochs (100 on
        MNIST, 1000 on 192 rows). A fit whose loss was still falling fast when the
        learning rate began to decay warns with a ``ConvergenceWarning``.""",
           training=True),
    Option("batch_size", 128, _positive(Integral), "int", "Rows per optimizer step.",
           training=True),
    Option("learning_rate", 1e-3, [Interval(Real, 0, None, closed="neither")], "float",
           "AdamW step size.", training=True),
    Option("learning_rate_schedule", "cosine", [StrOptions(set(SCHEDULES))],
           '{"cosine", "constant", "burda"}', """
        ``"cosine"``: constant for the first 70% of ``max_epochs``, then a cosine decay
        to 1%. ``"burda"``: Burda et al. (2015)'s, ``10^(-i/7)`` of the rate for
        ``3^i`` epochs, i = 0..7 (3280 epochs in all; ``max_epochs`` cuts it short).""",
           training=True),
    Option("weight_decay", 0.0, [Interval(Real, 0, None, closed="left")], "float",
           "Decoupled weight decay (AdamW).", training=True),
    Option("early_stopping", False, ["boolean"], "bool", """
        Hold out ``validation_fraction`` of the rows, stop once the validation loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the best
        weights.""", training=True),
    Option("validation_fraction", 0.1, [Interval(Real, 0, 1, closed="neither")], "float",
           "Share of the rows held out with ``early_stopping``."),
    Option("n_iter_no_change", 10, _positive(Integral), "int",
           "Epochs without improvement before ``early_stopping`` stops.", training=True),
    Option("tol", 1e-4, [Interval(Real, 0, None, closed="left")], "float",
           "Improvement of the validation loss that counts, in its units.", training=True),
    Option("random_state", None, ["random_state"], "int, RandomState instance or None", """
        Seeds initialisation, shuffling and the validation split. With the same value
        results are identical on CPU."""),
    Option("device", "auto", [StrOptions({"auto", "cpu", "cuda"})], '{"auto", "cpu", "cuda"}',
           '``"auto"`` uses CUDA when present.'),
    Option("precision", "float32", [StrOptions({"float32", "bf16"})], '{"float32", "bf16"}',
           """
        The training's arithmetic. ``"bf16"`` runs the forward pass and the loss under
        ``torch.autocast`` to bfloat16 (on CPU and GPU); weights, gradients and the
        optimizer stay float32, as do validation and inference.""", training=True),
    Option("warm_start", False, ["boolean"], "bool",
           "``fit`` continues from the current weights instead of starting afresh."),
    Option("verbose", False, ["verbose"], "bool", "Show a progress bar with the loss.",
           training=True),
)

#: What the training loop reads: one field per training option, named as the option.
TrainingConfig = dataclasses.make_dataclass(
    "TrainingConfig",
    [(option.name, Any, dataclasses.field(default=option.default))
     for option in SHARED if option.training],
)
TrainingConfig.__module__ = __name__
TrainingConfig.__doc__ = "The training options of an estimator, as the loop reads them."


def shared(name: str, **changes: Any) -> Option:
    """The shared option ``name`` with ``changes``: a subclass's own default,
    constraints or documentation."""
    option = next(option for option in SHARED if option.name == name)
    return dataclasses.replace(option, **changes)


def merge(*groups: Sequence[Option]) -> tuple[Option, ...]:
    """The options of ``groups`` in order; a later option replaces an earlier one of the
    same name in its place (a subclass's own default or documentation)."""
    merged: dict[str, Option] = {}
    for group in groups:
        for option in group:
            merged[option.name] = option
    return tuple(merged.values())


def constraints(options: Sequence[Option]) -> dict[str, list]:
    """``_parameter_constraints`` for ``options``."""
    return {option.name: option.constraints for option in options}


def training_config(estimator: Any) -> Any:
    """The :class:`TrainingConfig` of ``estimator``'s current parameters."""
    return TrainingConfig(**{field.name: getattr(estimator, field.name)
                             for field in dataclasses.fields(TrainingConfig)})


#: The token in a class docstring that :func:`document` replaces by the entries.
TOKEN = "%(options)s"


def document(options: Sequence[Option]) -> Callable[[type], type]:
    """Class decorator: put the numpydoc entries of ``options`` where the class
    docstring says ``%(options)s`` (on a line of its own, indented as the section)."""

    def decorate(cls: type) -> type:
        if cls.__doc__ and TOKEN in cls.__doc__:  # None under python -OO
            indent = cls.__doc__.split(TOKEN)[0].rsplit("\n", 1)[-1]
            entries = "\n".join(option.numpydoc() for option in options)
            cls.__doc__ = cls.__doc__.replace(
                indent + TOKEN, textwrap.indent(entries, indent))
        return cls

    return decorate


def store(estimator: Any, arguments: dict[str, Any]) -> None:
    """Set every ``__init__`` argument as an attribute, unchanged, as scikit-learn
    requires (``arguments`` is ``locals()`` at the top of ``__init__``)."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
