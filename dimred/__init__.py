"""dimred: a comparative dimensionality-reduction benchmark.

Methods under one scikit-learn contract (``fit`` / ``transform`` /
``inverse_transform`` / ``score`` in nats / ``reconstruction_error``):
:class:`POD`, :class:`PCA`, :class:`AE`, :class:`VAE` and :class:`QuadraticManifold`.

A new method implements :class:`ReducerMixin` (the contract, documented there), is
checked by :func:`dimred.testing.check_reducer`, and is named in a suite by its import
path; see :mod:`dimred._plugins`.

The package is laid out by layer, each importing only those below it::

    cli, testing                 entry points
    benchmark                    suites, runner, cells, tracking, executors
    report                       tables and figures from the runs
    figures                      matplotlib drawings shared by cells and reports
    linear, neural, datasets     the methods and the data
    contract                     what every method is (ReducerMixin, capabilities)
    schema, references, _plugins, _sklearn_compat, _legacy
                                 names, anchors, import paths, private APIs

The estimators are imported on first use, so that ``import dimred`` (and ``dimred
--help``) does not pay for torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from dimred import _legacy

if TYPE_CHECKING:
    from dimred.contract._reducer import ReducerMixin
    from dimred.linear._pca import PCA
    from dimred.linear._pod import POD
    from dimred.linear._quadratic import QuadraticManifold
    from dimred.neural._ae import AE
    from dimred.neural._vae import VAE

#: Public name -> the module defining it.
_ESTIMATOR_MODULES = {"POD": "dimred.linear._pod", "PCA": "dimred.linear._pca",
                      "AE": "dimred.neural._ae", "VAE": "dimred.neural._vae",
                      "QuadraticManifold": "dimred.linear._quadratic"}

_legacy.install()  # models pickled before the layout by layer still load

try:
    __version__ = version("dimred")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"


#: Other public names imported on first use, by module.
_LAZY = {"ReducerMixin": "dimred.contract._reducer"}


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


__all__ = ["AE", "ESTIMATORS", "PCA", "POD", "VAE", "QuadraticManifold", "ReducerMixin",
           "__version__"]
