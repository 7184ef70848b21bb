"""scikit-learn's PCA under the dimred contract."""

from __future__ import annotations

from numbers import Integral

from sklearn.decomposition import PCA as _SklearnPCA
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from dimred._base import ReducerMixin


class PCA(ReducerMixin, _SklearnPCA):
    """Principal component analysis: :class:`sklearn.decomposition.PCA`, unchanged.

    Fitting, transforming and scoring are scikit-learn's own; this subclass only adds the
    contract shared by every dimred method: ``reconstruction_error`` (mean squared error
    per entry) and ``n_parameters_``. ``score_samples`` is scikit-learn's exact
    probabilistic-PCA log-likelihood in nats (Tipping & Bishop 1999).

    Parameters are those of :class:`sklearn.decomposition.PCA`, except that
    ``n_components=0`` is refused.

    Examples
    --------
    >>>     >>> from dimred import PCA
    >>> X = np.random.default_rng(0).normal(size=(100, 10))
    >>> pca = PCA(n_components=2).fit(X)
    >>> round(pca.reconstruction_error(X), 3) > 0
    True
    """

    # The contract refuses n_components=0, which scikit-learn's PCA accepts.
    _parameter_constraints: dict = {
        **_SklearnPCA._parameter_constraints,
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
    }

    def _count_parameters(self) -> int:
        return self.components_.size + self.mean_.size
