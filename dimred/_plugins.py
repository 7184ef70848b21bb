"""Methods and data sets from outside dimred: import paths and entry points.

A method is named in a suite by one of

- a built-in name (``"POD"``, see :data:`dimred.ESTIMATORS`);
- a short name an installed package registers in the entry-point group
  :data:`ENTRY_POINT_GROUP` (``dimred.methods``), ``my_method = "my_package.module:Class"``;
- an import path ``"package.module:Class"``.

An import path resolves against search folders first (a suite's own folder, then the
folders its ``python_path`` lists), then the installed packages, so that a method or a
data set can be one file beside the suite. Resolution takes strings only: a cell carries
the path and the folders, and a Dask worker resolves them again, so nothing is pickled by
value (workers must see the folders: same host, or a shared disk).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

#: Entry-point group through which installed packages register methods by short name.
ENTRY_POINT_GROUP = "dimred.methods"

#: Folders searched, in order, before the installed packages: one, several, or none.
SearchPath = str | Path | Sequence[str | Path] | None


def _folders(search_path: SearchPath) -> list[Path]:
    if search_path is None:
        return []
    if isinstance(search_path, str | Path):
        search_path = [search_path]
    return [Path(folder).resolve() for folder in search_path]


def is_import_path(spec: str) -> bool:
    """Whether ``spec`` reads ``module:attribute``."""
    module, colon, attribute = spec.partition(":")
    return bool(colon and module and attribute)


def registered_methods() -> dict[str, str]:
    """Short name -> import path of every method installed packages register."""
    return {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_method(spec: str, search_path: SearchPath = None) -> type:
    """The estimator class a suite's ``estimator = spec`` names.

    Raises
    ------
    ValueError
        If ``spec`` is neither a built-in, a registered name nor an import path, or its
        module or class cannot be imported (the message says why).
    TypeError
        If it names something that is not an estimator class (a class with ``fit``,
        ``transform``, ``get_params`` and ``set_params``).
    """
    import dimred

    if spec in dimred._ESTIMATOR_MODULES:
        return getattr(dimred, spec)
    path = spec if is_import_path(spec) else registered_methods().get(spec)
    if path is None:
        known = sorted({*dimred._ESTIMATOR_MODULES, *registered_methods()})
        raise ValueError(f"unknown estimator {spec!r}: not one of {known} (built-in or "
                         f"registered in {ENTRY_POINT_GROUP!r}), nor 'module:Class'")
    estimator = load_object(path, search_path)
    missing = [name for name in ("fit", "transform", "get_params", "set_params")
               if not callable(getattr(estimator, name, None))]
    if not isinstance(estimator, type) or missing:
        what = "a class" if isinstance(estimator, type) else type(estimator).__name__
        raise TypeError(f"{path} is not an estimator class: it is {what}"
                        + (f" without {', '.join(missing)}" if missing else ""))
    return estimator


def load_object(path: str, search_path: SearchPath = None) -> Any:
    """The object ``path = "package.module:name"`` names, importing its module from the
    first folder of ``search_path`` that holds it, else from the installed packages.

    Raises
    ------
    ValueError
        If the module cannot be imported or has no such attribute.
    """
    if not is_import_path(path):
        raise ValueError(f"{path!r} is not an import path 'package.module:name'")
    module_name, _, attribute = path.partition(":")
    try:
        module = _import(module_name, search_path)
    except ImportError as error:
        folders = ", ".join(map(str, _folders(search_path)))
        where = f" (searched {folders} first)" if folders else ""
        raise ValueError(f"cannot import module {module_name!r}{where}: {error}") from error
    try:
        target = module
        for part in attribute.split("."):
            target = getattr(target, part)
    except AttributeError as error:
        raise ValueError(f"module {module_name!r} ({module.__file__}) has no "
                         f"{attribute!r}") from error
    return target


def local_source(cls: type, search_path: SearchPath) -> Path | None:
    """The file or package folder in ``search_path`` that defines ``cls``'s top-level
    module (what a saved model must carry to be loaded elsewhere), or None when ``cls``
    comes from an installed package."""
    top = cls.__module__.partition(".")[0]
    file = getattr(sys.modules.get(top), "__file__", None)
    if file is None:
        return None
    file = Path(file).resolve()
    for folder in _folders(search_path):
        if file.parent == folder:
            return file
        if file.parent.parent == folder and file.name == "__init__.py":
            return file.parent
    return None


def _import(module_name: str, search_path: SearchPath):
    top = module_name.partition(".")[0]
    folder = next((f for f in _folders(search_path) if _defines(f, top)), None)
    if folder is None:
        return importlib.import_module(module_name)
    loaded = sys.modules.get(top)
    if loaded is not None:
        origin = Path(getattr(loaded, "__file__", "") or "").resolve()
        if folder in origin.parents:
            return importlib.import_module(module_name)
        if top not in _FROM_FOLDERS:
            raise ImportError(f"a module named {top!r} is already imported from {origin}; "
                              f"rename the one in {folder}")
        # Another suite's folder had a module of this name: this suite's replaces it.
        for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
            del sys.modules[name]
    with _first_on_path(folder):
        module = importlib.import_module(module_name)
    _FROM_FOLDERS.add(top)
    return module


#: Top-level modules imported from search folders (rather than installed packages).
_FROM_FOLDERS: set[str] = set()


def _defines(folder: Path, top: str) -> bool:
    return (folder / f"{top}.py").is_file() or (folder / top).is_dir()


@contextlib.contextmanager
def _first_on_path(folder: Path) -> Iterator[None]:
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
