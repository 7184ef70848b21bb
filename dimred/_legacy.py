"""Module paths from before the package was laid out by layer, kept importable.

A pickle names each object's class by its module (``dimred._pod.POD``), and so does an
MLflow model logged by the runner (its code file imports ``dimred.benchmark._model``).
Models saved before the move must load unchanged: each old path below resolves to the
module that now holds its code (``tests/test_legacy_models.py`` loads such models).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Old module path -> the module that holds its code today.
MOVED = {
    "dimred._base": "dimred.contract._reducer",
    "dimred.capabilities": "dimred.contract.capabilities",
    "dimred._pod": "dimred.linear._pod",
    "dimred._pca": "dimred.linear._pca",
    "dimred._ppca": "dimred.linear._ppca",
    "dimred._pod_solvers": "dimred.linear._pod_solvers",
    "dimred._blocks": "dimred.linear._blocks",
    "dimred._out_of_core": "dimred.linear._out_of_core",
    "dimred._neural": "dimred.neural._base",
    "dimred._ae": "dimred.neural._ae",
    "dimred._vae": "dimred.neural._vae",
    "dimred._training": "dimred.neural._training",
    "dimred._networks": "dimred.neural.networks._mlp",
    "dimred._architectures": "dimred.neural.networks",
    "dimred._figures": "dimred.figures._drawing",
    "dimred._modal": "dimred.figures._modal",
    "dimred.references": "dimred.references",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and hands back the module that replaced it, so that both
    names are the same module object (and a class keeps one identity)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module) -> None:
        """Nothing to run: the module was executed under its own name."""


def install() -> None:
    """Make the old paths importable (idempotent)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
