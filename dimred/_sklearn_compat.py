"""scikit-learn's private APIs, imported here and nowhere else.

dimred builds its estimators the way scikit-learn builds its own: parameter constraints
checked by ``_param_validation`` and ``fit`` wrapped in ``_fit_context``. Neither is
public, so a minor release may move them; when it does, this module is the one place to
adapt, and ``pyproject.toml`` states the scikit-learn versions the tests pass on.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

__all__ = ["Interval", "RealNotInt", "StrOptions", "_fit_context", "validate_parameters"]


def validate_parameters(estimator: Any) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints`` without
    fitting, as ``fit`` would (a no-op for an estimator that declares none).

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A ``ValueError`` and ``TypeError`` naming the parameter.
    """
    validate = getattr(estimator, "_validate_params", None)
    if callable(validate) and hasattr(type(estimator), "_parameter_constraints"):
        validate()
