"""Checks for method authors: does a reducer keep dimred's contract?

:func:`check_reducer` runs scikit-learn's estimator checks and the contract's own (the
dtype rule, what ``score`` means, ``n_parameters_``, the capability declarations), the
way ``sklearn.utils.estimator_checks.check_estimator`` does for scikit-learn's. A method
that passes is measured by the benchmark like the built-ins.

Examples
--------
>>> from dimred import PCA
>>> from dimred.testing import check_reducer
>>> check_reducer(PCA(n_components=2))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils.estimator_checks import check_estimator

from dimred.contract.capabilities import capabilities, likelihood_kind
from dimred.linear._pod import POD
from dimred.schema import EXACT
from dimred.tasks import Task, TaskResult

#: The scale of the change of variables in the units check of an exact likelihood:
#: X -> e^2 X shifts a log-density in nats over d features by exactly -2 d.
_LOG_SCALE = 2.0
#: How far that shift may stray from -2 d, as a share of it: an exact likelihood moves
#: by that up to rounding; bits (x 1.44) or a mean over features (x 1/d) fall outside.
_UNITS_TOLERANCE = 0.25
#: Rows of fresh data on which Gibbs' inequality is checked.
_N_FRESH = 2000


class ContractError(AssertionError):
    """A reducer breaks dimred's contract; the message lists every broken rule."""


#: The check data's distribution: a rank-2 Gaussian signal plus isotropic noise.
_MIXING = np.random.default_rng(0).standard_normal((2, 6))
_NOISE_STD = 0.3


def contract_data(n_samples: int = 300, seed: int = 0) -> np.ndarray:
    """Rows the contract checks fit on, drawn from ``N(0, M^T M + 0.09 I)`` with a fixed
    ``M`` of shape (2, 6): float64, of shape (n_samples, 6)."""
    rng = np.random.default_rng(seed + 1)
    signal = rng.standard_normal((n_samples, 2)) @ _MIXING
    return signal + _NOISE_STD * rng.standard_normal((n_samples, _MIXING.shape[1]))


def _entropy() -> float:
    """Differential entropy of the check data's distribution, in nats."""
    covariance = _MIXING.T @ _MIXING + _NOISE_STD**2 * np.eye(_MIXING.shape[1])
    return 0.5 * float(np.linalg.slogdet(2 * np.pi * np.e * covariance)[1])


def check_reducer(estimator: Any, *, sklearn_checks: bool = True,
                  expected_failed_checks: dict[str, str] | None = None) -> None:
    """Check that ``estimator`` keeps the contract of :class:`dimred.ReducerMixin`.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted; it is cloned for every fit. Its ``n_components`` should be at most 4,
        the width of the check data minus 2.
    sklearn_checks : bool, default=True
        Also run scikit-learn's estimator checks (``check_estimator``).
    expected_failed_checks : dict, default=None
        scikit-learn checks known not to apply, by name, with the reason (as in
        ``check_estimator``).

    Raises
    ------
    ContractError
        Naming every rule the estimator breaks (an ``AssertionError``).
    """
    failures = []
    if sklearn_checks:
        for result in check_estimator(estimator, on_fail=None, on_skip=None,
                                      expected_failed_checks=expected_failed_checks):
            if result["status"] == "failed":
                failures.append(f"scikit-learn's {result['check_name']}: "
                                f"{type(result['exception']).__name__}: {result['exception']}")
    for check in CONTRACT_CHECKS:
        try:
            check(estimator)
        except Exception as error:  # every broken rule is reported, not only the first
            failures.append(f"{check.__name__.removeprefix('_check_')}: {error}")
    if failures:
        raise ContractError(f"{estimator!r} breaks dimred's contract:\n- "
                            + "\n- ".join(failures))


def _fitted(estimator: Any, X: np.ndarray) -> Any:
    return clone(estimator).fit(X)


def _check_fit_and_shapes(estimator: Any) -> None:
    if "n_components" not in estimator.get_params():
        raise ValueError("__init__ has no n_components parameter")
    X = contract_data()
    fresh = clone(estimator)
    try:
        fresh.n_parameters_  # noqa: B018 - the property itself is the check
    except NotFittedError:
        pass
    else:
        raise ValueError("n_parameters_ answers before fit (it should raise NotFittedError)")
    fitted = fresh.fit(X)
    if fitted is not fresh:
        raise ValueError("fit does not return self")
    codes = fitted.transform(X)
    if codes.shape != (X.shape[0], fitted.n_components_):
        raise ValueError(f"transform gives shape {codes.shape}, not (n_samples, "
                         f"n_components_) = {(X.shape[0], fitted.n_components_)}")
    if not np.array_equal(codes, fitted.transform(X)):
        raise ValueError("transform is not deterministic: two calls differ")
    n_parameters = fitted.n_parameters_
    if not isinstance(n_parameters, int) or n_parameters <= 0:
        raise ValueError(f"n_parameters_ must be a positive int, got {n_parameters!r}")
    if capabilities(fitted, codes).reconstructs:
        shape = fitted.inverse_transform(codes).shape
        if shape != X.shape:
            raise ValueError(f"inverse_transform gives shape {shape}, not {X.shape}")


def _check_dtype_rule(estimator: Any) -> None:
    """float32 in, float32 out; float64 in, float64 out."""
    for dtype in (np.float32, np.float64):
        X = contract_data().astype(dtype)
        fitted = _fitted(estimator, X)
        codes = fitted.transform(X)
        if codes.dtype != dtype:
            raise TypeError(f"transform of {np.dtype(dtype).name} input gives "
                            f"{codes.dtype.name}; the contract keeps the input's float dtype")
        if capabilities(fitted, codes).reconstructs:
            rows = fitted.inverse_transform(codes)
            if rows.dtype != dtype:
                raise TypeError(f"inverse_transform of {np.dtype(dtype).name} codes gives "
                                f"{rows.dtype.name}")


def _check_score(estimator: Any) -> None:
    """``score`` is the mean of ``score_samples``; a likelihood is in nats per sample."""
    X = contract_data()
    fitted = _fitted(estimator, X)
    if not callable(getattr(fitted, "score_samples", None)):
        if likelihood_kind(fitted) is not None:
            raise ValueError("declares a likelihood (has_likelihood) but has no "
                             "score_samples")
        return
    samples = np.asarray(fitted.score_samples(X))
    if samples.shape != (X.shape[0],) or not np.all(np.isfinite(samples)):
        raise ValueError(f"score_samples must give one finite value per sample, got shape "
                         f"{samples.shape}")
    score = fitted.score(X)
    if not math.isclose(score, float(np.mean(samples)), rel_tol=1e-5, abs_tol=1e-8):
        raise ValueError(f"score(X) = {score:.6g} is not the mean of "
                         f"score_samples(X) = {np.mean(samples):.6g}")
    if getattr(fitted, "likelihood_is_bound", False) and likelihood_kind(fitted) is None:
        raise ValueError("likelihood_is_bound = True without has_likelihood")
    if likelihood_kind(fitted) is None:
        return
    # Gibbs: no density has a higher expected log-likelihood than the data's own, -H.
    fresh = np.asarray(fitted.score_samples(contract_data(_N_FRESH, seed=1)))
    ceiling = -_entropy() + 4 * np.std(fresh) / math.sqrt(_N_FRESH)
    if np.mean(fresh) > ceiling:
        raise ValueError(
            f"score is not a log-likelihood in nats per sample: its mean on fresh data, "
            f"{np.mean(fresh):.4g}, exceeds minus the data's entropy, {-_entropy():.4g}, "
            "which no density can (a mean over features, or a dropped constant?). Declare "
            "has_likelihood = False if score is not a likelihood.")
    if likelihood_kind(fitted) != EXACT:
        return
    # Change of variables: a density of e^2 X is the density of X shifted by -2 d nats.
    scaled = _fitted(estimator, np.exp(_LOG_SCALE) * X)
    shift = scaled.score(np.exp(_LOG_SCALE) * X) - fitted.score(X)
    expected = -_LOG_SCALE * X.shape[1]
    if abs(shift - expected) > _UNITS_TOLERANCE * abs(expected):
        raise ValueError(
            f"score is not a log-likelihood in nats per sample: fitted on e^{_LOG_SCALE:g} X "
            f"its mean moved by {shift:.3g}, where a density over {X.shape[1]} features "
            f"moves by {expected:.3g} (bits, or a mean over features, would not). Declare "
            "has_likelihood = False if score is not a likelihood.")
    if callable(getattr(fitted, "log_likelihood", None)):
        importance = np.mean(fitted.log_likelihood(X, n_importance_samples=64,
                                                   random_state=0))
        if importance < np.mean(samples) - 0.05 * abs(np.mean(samples)) - 0.5:
            raise ValueError(f"log_likelihood ({importance:.4g}) falls below the bound "
                             f"score ({np.mean(samples):.4g}) it should exceed")


def _check_capabilities(estimator: Any) -> None:
    """What the estimator declares it offers works."""
    X = contract_data()
    fitted = _fitted(estimator, X)
    offered = capabilities(fitted, fitted.transform(X[:2]))
    if offered.samples:
        drawn = fitted.sample(3, random_state=0)
        if np.shape(drawn) != (3, X.shape[1]):
            raise ValueError(f"sample(3) gives shape {np.shape(drawn)}, not {(3, X.shape[1])}")
    if offered.latent_diagnostics and not isinstance(fitted.latent_diagnostics(X), dict):
        raise ValueError("latent_diagnostics must return a dict of named figures")
    curve = getattr(fitted, "loss_curve_", None)
    if curve is not None and not all(math.isfinite(value) for value in curve):
        raise ValueError("loss_curve_ holds a value that is not a finite float")


def _check_random_state(estimator: Any) -> None:
    """The same ``random_state`` gives the same model."""
    if "random_state" not in estimator.get_params():
        return
    X = contract_data()
    first = clone(estimator).set_params(random_state=0).fit(X).transform(X)
    second = clone(estimator).set_params(random_state=0).fit(X).transform(X)
    if not np.array_equal(first, second):
        raise ValueError("two fits with random_state=0 give different codes")


#: The contract's own checks, in the order they run.
CONTRACT_CHECKS: tuple[Callable[[Any], None], ...] = (
    _check_fit_and_shapes, _check_dtype_rule, _check_score, _check_capabilities,
    _check_random_state)


def task_data(n_train: int = 60, n_test: int = 20, seed: int = 0) -> Bunch:
    """A small data set with every side information a task may need: fields of
    (mu_1, mu_2, t) with parameters, evenly spaced times (the test block after the
    training rows) and four classes."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    mu, times = rng.uniform(1, 2, size=(n, 2)), np.arange(n) * 0.1
    grid = np.linspace(0, 1, 32)
    X = np.sin(np.outer(mu[:, 0] + times, grid) * 3) + mu[:, 1:] * np.cos(grid * 5)
    y = rng.integers(0, 4, n)
    split = {"train": slice(0, n_train), "test": slice(n_train, n)}
    return Bunch(**{f"{key}_{side}": value[rows] for side, rows in split.items()
                    for key, value in (("X", X), ("params", mu), ("times", times),
                                       ("y", y))})


def check_task(task: Any, data: Bunch | None = None) -> None:
    """Check that ``task`` keeps the contract of :class:`dimred.tasks.Task`.

    It is run on a POD fitted to ``data`` (default :func:`task_data`, which has
    parameters, times and labels) and must: find nothing missing there, leave the
    reducer as fitted (a task never refits), return a :class:`~dimred.tasks.TaskResult`
    of finite float metrics (among :attr:`~dimred.tasks.Task.metrics`, where it declares
    them) and curves (named ``*_curve``), give the same result twice, and, if it
    decodes, decline a reducer without ``inverse_transform``.

    Raises
    ------
    AssertionError
        Naming the rule broken.
    """
    assert isinstance(task, Task), f"{task!r} is not a dimred.tasks.Task"
    data = task_data() if data is None else data
    assert not task.missing(data), f"{task!r}: the check data lacks {task.missing(data)}"
    reducer = POD(n_components=3).fit(data["X_train"])
    codes = reducer.transform(data["X_test"])
    result = task.run(reducer, data)
    assert np.array_equal(reducer.transform(data["X_test"]), codes), (
        f"{task!r} changed the reducer it measured: a task must not refit it")
    assert isinstance(result, TaskResult), f"{task!r}.run returned {type(result).__name__}"
    assert result.metrics, f"{task!r} measured nothing"
    for name, value in [*result.metrics.items(),
                        *((name, v) for name, curve in result.curves.items() for v in curve)]:
        assert isinstance(name, str) and np.isfinite(value), f"{task!r}: {name} = {value!r}"
    assert task.run(reducer, data).metrics == result.metrics, f"{task!r} is not repeatable"
    undeclared = set(result.metrics) - set(task.metrics)
    assert not task.metrics or not undeclared, (
        f"{task!r} measured {sorted(undeclared)}, not among its declared metrics")
    for name in result.curves:
        assert name.endswith("_curve"), f"{task!r}: curve {name!r} must be named *_curve"
    if task.decodes:
        assert not task.can_run(_EncoderOnly()), f"{task!r} would run without a decoder"


class _EncoderOnly:
    """A reducer that encodes and cannot decode."""

    def transform(self, X):
        return X
