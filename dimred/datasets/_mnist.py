"""MNIST and Fashion-MNIST from their original IDX files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from dimred.datasets._home import get_data_home
from dimred.datasets._idx import read_idx

#: The four files of both datasets, with the same names for each.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def load_mnist(data_home: str | os.PathLike | None = None) -> Bunch:
    """Load MNIST handwritten digits with the official train/test split.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``mnist/`` with the four original ``*-ubyte.gz`` files. See
        :func:`get_data_home` for how None is resolved.

    Returns
    -------
    data : Bunch
        ``X_train`` float32 (60000, 784) and ``X_test`` float32 (10000, 784), pixel
        intensities scaled to [0, 1]; ``y_train`` / ``y_test`` uint8 digit labels 0-9;
        ``image_shape`` (28, 28); ``name``.
    """
    return _load_idx_dataset("mnist", data_home)


def load_fashion_mnist(data_home: str | os.PathLike | None = None) -> Bunch:
    """Load Fashion-MNIST (Zalando article images) with the official split.

    Same format, file names, shapes and scaling as :func:`load_mnist`; the files live in
    ``fashion_mnist/`` under ``data_home``.
    """
    return _load_idx_dataset("fashion_mnist", data_home)


def _load_idx_dataset(name: str, data_home: str | os.PathLike | None) -> Bunch:
    folder = get_data_home(data_home) / name
    paths = {key: folder / filename for key, filename in IDX_FILES.items()}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(_missing_message(name, folder, missing))
    arrays = {key: read_idx(path) for key, path in paths.items()}
    return Bunch(
        name=name,
        X_train=_scale_images(arrays["train_images"]),
        y_train=arrays["train_labels"].copy(),
        X_test=_scale_images(arrays["test_images"]),
        y_test=arrays["test_labels"].copy(),
        image_shape=arrays["train_images"].shape[1:],
    )


def _scale_images(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(images.shape[0], -1)
    return flat.astype(np.float32) / np.float32(255)


def _missing_message(name: str, folder: Path, missing: list[str]) -> str:
    return (
        f"{name}: missing file(s) {', '.join(missing)} in {folder}. "
        f"Expected {', '.join(IDX_FILES.values())}. Folders searched: {folder} "
        "(from data_home, else $DIMRED_DATA, else ~/.cache/dimred)."
    )
