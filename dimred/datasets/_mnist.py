"""MNIST and Fashion-MNIST from their original IDX files, downloaded when absent."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from dimred.datasets._download import fetch
from dimred.datasets._home import get_data_home
from dimred.datasets._idx import read_idx

#: The four files of both datasets, with the same names for each.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: Published MD5 checksums of the original files.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: Canonical mirrors, tried in order (yann.lecun.com now refuses unauthenticated fetches).
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}


def load_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
) -> Bunch:
    """Load MNIST handwritten digits with the official train/test split.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``mnist/`` with the four original ``*-ubyte.gz`` files. See
        :func:`get_data_home` for how None is resolved.
    download : bool, default=True
        Fetch missing files from ``mirrors`` into ``data_home/mnist/``, checking their
        published MD5 checksums. With False, or when no mirror answers, a missing file
        raises FileNotFoundError naming the files and the folder to put them in.
    mirrors : sequence of str, default=None
        Base URLs to try in order; None uses the canonical ones (:data:`MIRRORS`).

    Returns
    -------
    data : Bunch
        ``X_train`` float32 (60000, 784) and ``X_test`` float32 (10000, 784), pixel
        intensities scaled to [0, 1]; ``y_train`` / ``y_test`` uint8 digit labels 0-9;
        ``image_shape`` (28, 28); ``name``.
    """
    return _load_idx_dataset("mnist", data_home, download, mirrors)


def load_fashion_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
) -> Bunch:
    """Load Fashion-MNIST (Zalando article images) with the official split.

    Same format, file names, shapes, scaling and download behaviour as
    :func:`load_mnist`; the files live in ``fashion_mnist/`` under ``data_home``.
    """
    return _load_idx_dataset("fashion_mnist", data_home, download, mirrors)


def _load_idx_dataset(name, data_home, download, mirrors) -> Bunch:
    folder = get_data_home(data_home) / name
    paths = {key: folder / filename for key, filename in IDX_FILES.items()}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing and download:
        try:
            for filename in missing:
                fetch(filename, CHECKSUMS[name][filename], folder, mirrors or MIRRORS[name])
        except OSError as error:
            raise FileNotFoundError(_missing_message(name, folder, missing, error)) from error
    elif missing:
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


def _missing_message(name: str, folder: Path, missing: list[str], error=None) -> str:
    message = (
        f"{name}: missing file(s) {', '.join(missing)} in {folder}. "
        f"Expected {', '.join(IDX_FILES.values())}; put them in {folder} "
        "(data_home, else $DIMRED_DATA, else ~/.cache/dimred)."
    )
    if error is not None:
        message += f" Downloading them failed ({error})."
    return message
