"""Datasets by name, with the preprocessing a benchmark cell records as params."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import Bunch

from dimred._plugins import SearchPath, is_import_path, load_object
from dimred.arrays._streams import affine_columns, column_statistics, is_streamed
from dimred.datasets._burgers import make_burgers
from dimred.datasets._burgers_periodic import make_periodic_burgers
from dimred.datasets._cylinder import make_cylinder
from dimred.datasets._files import load_file
from dimred.datasets._manifolds import make_embedded_manifold
from dimred.datasets._mnist import load_fashion_mnist, load_mnist
from dimred.datasets._well import load_well

#: Seed of the one-off Bernoulli draw that binarises a test set, fixed so every method
#: and seed is scored on the same binary images.
BINARIZE_SEED = 0

BINARIZE_OPTIONS = (False, True, "static", "dynamic")


def load_digits_split(*, random_state: int = 0) -> Bunch:
    """scikit-learn's 8×8 digits, pixel counts 0-16 scaled to [0, 1], split 80/20
    stratified by digit."""
    digits = sklearn.datasets.load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.2, stratify=digits.target,
        random_state=random_state,
    )
    return Bunch(name="digits", X_train=X_train, X_test=X_test, y_train=y_train,
                 y_test=y_test, image_shape=(8, 8), description={})


#: name -> loader. Loaders return the split, unpreprocessed; those that read files take
#: ``data_home``.
LOADERS: dict[str, Callable[..., Bunch]] = {
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "digits": load_digits_split,
    "swiss_roll": partial(make_embedded_manifold, "swiss_roll"),
    "s_curve": partial(make_embedded_manifold, "s_curve"),
    "burgers": make_burgers,
    "burgers_periodic": make_periodic_burgers,
    "cylinder": make_cylinder,
}

#: Options every dataset takes, whatever its loader.
PREPROCESSING_OPTIONS = ("n_train", "n_test", "scale01", "standardize", "binarize")


def loader_of(source: str, search_path: SearchPath = None) -> Callable[..., Bunch]:
    """The function that loads ``source``: a built-in name, ``file:PATH``,
    ``the_well:FOLDER`` (:func:`dimred.datasets.load_well`) or an import path
    ``package.module:function``, resolved in ``search_path`` first (see
    :func:`dimred._plugins.load_object`).

    Raises
    ------
    ValueError
        If ``source`` names no loader.
    """
    if source.startswith("file:"):
        return load_file
    if source.startswith("the_well:"):
        return load_well
    if source in LOADERS:
        return LOADERS[source]
    if is_import_path(source):
        loader = load_object(source, search_path)
        if not callable(loader):
            raise ValueError(f"dataset source {source!r} is not a function")
        return loader
    raise ValueError(f"unknown dataset {source!r}; known: {sorted(LOADERS)}, file:PATH, "
                     "the_well:FOLDER or package.module:function.")


def loader_options(source: str, search_path: SearchPath = None) -> set[str]:
    """The options the loader of ``source`` accepts, besides :data:`PREPROCESSING_OPTIONS`."""
    return _options_of(loader_of(source, search_path))


def _options_of(loader: Callable[..., Bunch]) -> set[str]:
    parameters = inspect.signature(loader).parameters
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name for name, p in parameters.items() if p.kind in named} - {"data_home", "path"}


def load_dataset(
    source: str,
    *,
    data_home: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    scale01: bool = False,
    standardize: bool = False,
    binarize: bool | str = False,
    search_path: SearchPath = None,
    **options,
) -> Bunch:
    """Load a dataset by name and preprocess it, in this order: subset, scale, binarise.

    Parameters
    ----------
    source : str
        One of :data:`LOADERS` (``mnist``, ``fashion_mnist``, ``digits``, ``swiss_roll``,
        ``s_curve``, ``burgers``, ``burgers_periodic``, ``cylinder``), ``file:PATH``
        (see :func:`load_file`), or ``package.module:function``: a function returning a
        Bunch like the built-in loaders' (``X_train``, ``X_test``, and optionally
        ``y_train``, ``y_test``, ``image_shape``, ``name``), given ``data_home`` if it
        takes it and the options below that are not preprocessing.
    data_home : str or path-like, default=None
        Folder holding ``mnist/``, ``fashion_mnist/``, ...; see :func:`get_data_home`.
    n_train, n_test : int, default=None
        Keep the first ``n_train`` training and ``n_test`` test rows (all when None).
    scale01 : bool, default=False
        Min-max scale each feature to [0, 1] with the training set's range.
    standardize : bool, default=False
        Zero mean and unit variance per feature, with the training set's statistics.
    binarize : {False, True, "static", "dynamic"}, default=False
        Bernoulli-sample pixel intensities in [0, 1] to {0, 1}. ``"static"`` (or True)
        samples both sets once. ``"dynamic"`` samples only the test set once and leaves
        the training set as probabilities, for estimators that resample each epoch
        (``VAE(dynamic_binarization=True)``), the protocol of Burda et al. (2015).
    search_path : str, path-like or a sequence of them, default=None
        Folders searched first for the module of a ``package.module:function`` source
        (a suite's own folder and its ``python_path``).
    **options
        Passed to the loader (e.g. ``n_samples`` / ``n_features`` for the manifolds,
        ``n_grid`` / ``train_grid`` for ``burgers``, ``test`` / ``key`` for files).

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test``, ``y_train``, ``y_test`` (None without labels),
        ``image_shape`` (None unless images), ``name``, ``description`` (loader
        metadata, e.g. the PDE grid) and ``preprocessing`` (the options above).
    """
    if scale01 and standardize:
        raise ValueError("scale01 and standardize are exclusive; choose one.")
    if binarize not in BINARIZE_OPTIONS:
        raise ValueError(f"binarize must be one of {BINARIZE_OPTIONS}, got {binarize!r}.")
    loader = loader_of(source, search_path)
    accepted = _options_of(loader)
    unknown = set(options) - accepted
    if unknown:
        raise TypeError(
            f"dataset {source!r} has no option(s) {sorted(unknown)}; it takes "
            f"{sorted(accepted) + list(PREPROCESSING_OPTIONS)}."
        )
    if source.startswith(("file:", "the_well:")):
        data = loader(**resolve_file_options(source, options, search_path))
    elif "data_home" in inspect.signature(loader).parameters:
        data = loader(data_home=data_home, **options)
    else:
        data = loader(**options)
    if not isinstance(data, dict) or "X_train" not in data or "X_test" not in data:
        raise TypeError(f"dataset {source!r} returned {type(data).__name__}, not a Bunch "
                        "with X_train and X_test.")
    data = Bunch(**data)
    data.setdefault("name", source)
    data.setdefault("description", {})
    for key in ("y_train", "y_test", "image_shape"):
        data.setdefault(key, None)
    _keep_first(data, "train", n_train)
    _keep_first(data, "test", n_test)
    if (scale01 or standardize) and is_streamed(data.X_train):
        data.X_train, data.X_test = _scale_streamed(data.X_train, data.X_test, scale01)
    elif scale01 or standardize:
        scaler = (MinMaxScaler() if scale01 else StandardScaler()).fit(data.X_train)
        data.X_train, data.X_test = scaler.transform(data.X_train), scaler.transform(data.X_test)
    if binarize and is_streamed(data.X_train):
        raise ValueError(f"binarize draws the whole of {source!r} at once, which is streamed "
                         "from its file; binarize the data when writing the file.")
    if binarize:
        rng = np.random.default_rng(BINARIZE_SEED)
        data.X_test = _bernoulli(data.X_test, rng)
        if binarize != "dynamic":
            data.X_train = _bernoulli(data.X_train, rng)
    data.preprocessing = {
        "n_train": data.X_train.shape[0],
        "n_test": data.X_test.shape[0],
        "scale01": scale01,
        "standardize": standardize,
        "binarize": binarize if isinstance(binarize, str) else ("static" if binarize else False),
    }
    return data


def resolve_file_options(source: str, options: dict, search_path: SearchPath) -> dict:
    """``load_file``'s arguments, with relative paths (the data, and its ``test`` file)
    resolved against the first search folder (a suite's own folder), else the working
    folder: a suite's data travels with the suite, wherever it is run from."""
    folders = [search_path] if isinstance(search_path, str | os.PathLike) else search_path
    base = Path(folders[0]) if folders else Path.cwd()
    arguments = {**options, "path": source.split(":", 1)[1]}
    for key in ("path", "test"):
        if arguments.get(key) is not None:
            arguments[key] = base / Path(arguments[key]).expanduser()
    return arguments


def _scale_streamed(X_train, X_test, scale01: bool):
    """scale01 or standardize for a training set streamed from a file: its statistics in
    one pass, applied lazily to each block of both sets (a constant column is shifted,
    not divided by zero, as scikit-learn's scalers do)."""
    statistics = column_statistics(X_train)
    if scale01:
        shift, scale = statistics.minima, statistics.maxima - statistics.minima
    else:
        shift, scale = statistics.mean, np.sqrt(statistics.variance)
    scale = np.where(scale > 10 * np.finfo(np.float64).eps, scale, 1.0)
    return affine_columns(X_train, shift, scale), affine_columns(X_test, shift, scale)


def _keep_first(data: Bunch, split: str, n: int | None) -> None:
    """Keep the first ``n`` rows of ``X_<split>`` and of every per-row array beside it
    (labels, snapshot times and parameters)."""
    if n is None:
        return
    n_rows = data[f"X_{split}"].shape[0]
    if n < 1 or n > n_rows:
        raise ValueError(f"n_{split}={n} is outside [1, {n_rows}], the rows available.")
    for key, value in data.items():
        if key.endswith(f"_{split}") and value is not None and np.shape(value)[:1] == (n_rows,):
            data[key] = value[:n]


def _bernoulli(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if X.min() < 0 or X.max() > 1:
        raise ValueError(
            "binarize needs intensities in [0, 1]; found values in "
            f"[{X.min():.3g}, {X.max():.3g}]. Add scale01 = true."
        )
    return (rng.random(X.shape) < X).astype(X.dtype)
