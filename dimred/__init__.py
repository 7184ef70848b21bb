"""dimred: a comparative dimensionality-reduction benchmark.

Four methods under one scikit-learn contract (``fit`` / ``transform`` /
``inverse_transform`` / ``score`` in nats / ``reconstruction_error``):
:class:`POD`, :class:`PCA`, :class:`AE` and :class:`VAE`.

A new method implements :class:`ReducerMixin` (the contract, documented there) and is
named in a suite by its import path; see :mod:`dimred._plugins`.

The estimators are imported on first use, so that ``import dimred`` (and ``dimred
--help``) does not pay for torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dimred._ae import AE
    from dimred._base import ReducerMixin
    from dimred._pca import PCA
    from dimred._pod import POD
    from dimred._vae import VAE

#: Public name -> the module defining it.
_ESTIMATOR_MODULES = {"POD": "dimred._pod", "PCA": "dimred._pca", "AE": "dimred._ae",
                      "VAE": "dimred._vae"}

try:
    __version__ = version("dimred")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"


#: Other public names imported on first use, by module.
_LAZY = {"ReducerMixin": "dimred._base"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _ESTIMATOR_MODULES:
        value = getattr(importlib.import_module(_ESTIMATOR_MODULES[name]), name)
    elif name == "ESTIMATORS":
        #: The methods by name, as suites and the runner refer to them.
        value = {key: __getattr__(key) for key in _ESTIMATOR_MODULES}
    else:
        raise AttributeError(f"module 'dimred' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_ESTIMATOR_MODULES, *_LAZY, "ESTIMATORS"])


__all__ = ["AE", "ESTIMATORS", "PCA", "POD", "VAE", "ReducerMixin", "__version__"]
