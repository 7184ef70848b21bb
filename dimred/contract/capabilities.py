"""What an estimator can be measured on, read from what it has, never from its name.

The runner and the report ask these questions of every method, built-in or not:

- does it reconstruct (``inverse_transform``)? Then the reconstruction errors;
- is its ``score`` a log-likelihood in nats (``has_likelihood``), exact or a lower bound
  (``likelihood_is_bound``)? Then ``test_elbo`` and the likelihood panel;
- does it estimate the likelihood by importance sampling (``log_likelihood``)?
- does it sample (``sample``)? Then samples in the galleries;
- does it report its latent code's use (``latent_diagnostics``)? Then active units,
  rate and distortion;
- does it count its parameters (``n_parameters_``)? Does its ``verbose`` draw a progress
  bar (``shows_progress``)?

A method declares ``has_likelihood`` and ``likelihood_is_bound`` as class attributes
(:class:`dimred.ReducerMixin` documents them). scikit-learn's own estimators declare
nothing, so :data:`SCORE_IS_LOG_LIKELIHOOD` holds the ones whose ``score`` is documented
as the average log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import NotFittedError

from dimred.schema import EXACT, LOWER_BOUND

#: scikit-learn estimators whose ``score`` is the exact mean log-likelihood per sample.
SCORE_IS_LOG_LIKELIHOOD: tuple[type, ...] = (PCA, FactorAnalysis)


@dataclass(frozen=True)
class Capabilities:
    """What a fitted estimator offers to be measured."""

    reconstructs: bool
    likelihood: str | None  #: :data:`~dimred.schema.EXACT`, ``LOWER_BOUND`` or None
    importance_weighted: bool
    samples: bool
    latent_diagnostics: bool
    counts_parameters: bool


def likelihood_kind(estimator: Any) -> str | None:
    """``"exact"``, ``"lower bound"``, or None when ``score`` is not a log-likelihood."""
    declared = getattr(estimator, "has_likelihood", None)
    if declared is None:
        declared = isinstance(estimator, SCORE_IS_LOG_LIKELIHOOD)
    if not declared or not callable(getattr(estimator, "score", None)):
        return None
    return LOWER_BOUND if getattr(estimator, "likelihood_is_bound", False) else EXACT


def shows_progress(estimator: Any) -> bool:
    """Whether ``verbose`` draws a progress bar (and nothing else) on this estimator."""
    return bool(getattr(estimator, "shows_progress", False)) and (
        "verbose" in estimator.get_params())


def capabilities(estimator: Any, codes: Any = None) -> Capabilities:
    """The capabilities of a fitted ``estimator``.

    ``codes`` (a few rows of its ``transform``) lets an estimator that has an
    ``inverse_transform`` method but was fitted without one (scikit-learn's KernelPCA
    with ``fit_inverse_transform=False`` raises NotFittedError) be found out by trying.
    """
    reconstructs = callable(getattr(estimator, "inverse_transform", None))
    if reconstructs and codes is not None:
        try:
            estimator.inverse_transform(codes[:1])
        except NotFittedError:
            reconstructs = False
    return Capabilities(
        reconstructs=reconstructs,
        likelihood=likelihood_kind(estimator),
        importance_weighted=callable(getattr(estimator, "log_likelihood", None)),
        samples=callable(getattr(estimator, "sample", None)),
        latent_diagnostics=callable(getattr(estimator, "latent_diagnostics", None)),
        counts_parameters=_has(estimator, "n_parameters_"),
    )


def _has(estimator: Any, attribute: str) -> bool:
    try:
        getattr(estimator, attribute)
    except (AttributeError, NotFittedError):
        return False
    return True
