"""Dataset loaders against the real MNIST files and real broken copies of them."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from dimred.datasets import get_data_home, load_fashion_mnist, load_mnist, read_idx
from dimred.datasets._mnist import IDX_FILES


def test_mnist_has_the_official_split_scaled_to_unit_interval(mnist):
    assert mnist.X_train.shape == (60000, 784)
    assert mnist.X_test.shape == (10000, 784)
    assert mnist.X_train.dtype == np.float32
    assert mnist.X_train.min() == 0.0
    assert mnist.X_train.max() == 1.0
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert mnist.image_shape == (28, 28)


def test_data_home_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DIMRED_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("DIMRED_DATA")
    assert get_data_home().parts[-2:] == (".cache", "dimred")


def test_missing_files_name_the_files_and_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "fashion_mnist") in message
    for filename in IDX_FILES.values():
        assert filename in message


def test_fashion_mnist_reads_the_same_format(tmp_path, mnist):
    # A real IDX copy under the other name: same format and file names.
    source = get_data_home() / "mnist"
    shutil.copytree(source, tmp_path / "fashion_mnist")
    fashion = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(fashion.X_test, mnist.X_test)


def test_truncated_idx_is_refused(tmp_path):
    source = get_data_home() / "mnist" / IDX_FILES["test_labels"]
    with gzip.open(source, "rb") as stream:
        raw = stream.read()
    broken = tmp_path / "labels.gz"
    with gzip.open(broken, "wb") as stream:
        stream.write(raw[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(broken)
    not_idx = tmp_path / "text"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(not_idx)


def test_load_mnist_from_an_explicit_folder(tmp_path):
    shutil.copytree(get_data_home() / "mnist", tmp_path / "mnist")
    assert load_mnist(tmp_path).X_test.shape == (10000, 784)
