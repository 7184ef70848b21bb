"""POD.fit against scikit-learn's PCA solvers and the bare product, the irreducible work.

Run with ``nox -s perf`` (or ``pytest benchmarks/performance/test_pod_speed.py``). Order matters:
references run first so that each POD benchmark can divide by them.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from dimred import POD
from dimred.datasets import load_mnist

N_COMPONENTS = 50
STEEP_MODES = 400


@pytest.fixture(scope="module")
def tall():
    """MNIST's 60000 x 784 float32 training images: real, well-conditioned data (the 50th
    energy is 2% of the first), so float32 products keep every energy to 1e-4."""
    return load_mnist().X_train


@pytest.fixture(scope="module")
def steep():
    """60000 x 784 float32 with energies falling log-uniformly over 10 decades and
    delocalised modes: the spectrum a float32 Gram matrix loses below ~1e-6."""
    rng = np.random.default_rng(3)
    scales = np.logspace(0, -5, 784).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.standard_normal((784, 784)))
    return (rng.standard_normal((60000, 784), dtype=np.float32) * scales) @ rotation.astype(
        np.float32
    ) + 5.0


@pytest.fixture(scope="module")
def wide():
    """500 x 100000 float64: few snapshots of a large grid."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((500, 60)) @ rng.standard_normal((60, 100000)) + rng.standard_normal(
        (500, 100000)
    )


def test_bare_product_tall(timed, tall):
    timed("bare_product_tall", lambda: tall.T @ tall)


def test_pca_covariance_eigh_tall(timed, tall):
    timed(
        "pca_covariance_eigh_tall",
        lambda: PCA(N_COMPONENTS, svd_solver="covariance_eigh").fit(tall),
    )


def test_pca_full_tall(timed, tall):
    timed("pca_full_tall", lambda: PCA(N_COMPONENTS, svd_solver="full").fit(tall), rounds=2)


def test_pca_randomized_tall(timed, tall):
    timed(
        "pca_randomized_tall",
        lambda: PCA(N_COMPONENTS, svd_solver="randomized", random_state=0).fit(tall),
        rounds=3,
    )


def test_pod_tall(timed, tall):
    timed(
        "pod_tall",
        lambda: POD(N_COMPONENTS).fit(tall),
        against={
            "bare_product_tall": 1.3,
            "pca_covariance_eigh_tall": 1.0,
            "pca_full_tall": None,
            "pca_randomized_tall": None,
        },
    )


def test_pod_steep_float32(timed, steep):
    """400 modes reaching 1e-6 of the largest energy: float32 products would be off by
    up to ~100% there, so POD decomposes again with float64 products."""
    pod = POD(STEEP_MODES).fit(steep)
    assert pod.compute_dtype_ == np.float64
    timed("pod_steep_float32", lambda: POD(STEEP_MODES).fit(steep), rounds=3,
          against={"pod_tall": None, "bare_product_tall": None})


def test_pod_steep_float64_input(timed, steep):
    """The same data handed over in float64: what the recovery costs beyond it."""
    steep64 = steep.astype(np.float64)
    timed("pod_steep_float64_input", lambda: POD(STEEP_MODES).fit(steep64), rounds=3,
          against={"pod_steep_float32": None})


def _subset_eigh(matrix):
    scipy.linalg.eigh(matrix, subset_by_index=(733, 783), driver="evr")


def test_eigh_one_thread_then_product(timed, tall):
    """What POD does: scipy's eigensolver on one thread, then numpy's next product."""
    matrix = np.cov(tall[:2000].T)

    def run():
        with threadpool_limits(limits=1, user_api="blas"):
            _subset_eigh(matrix)
        return tall.T @ tall

    timed("eigh_one_thread_then_product", run, against={"bare_product_tall": None})


def test_eigh_all_threads_then_product(timed, tall):
    """The same with scipy's OpenBLAS on all its threads: they keep spinning after the
    call and slow numpy's OpenBLAS, which ships separately, on its next product."""
    matrix = np.cov(tall[:2000].T)

    def run():
        _subset_eigh(matrix)
        return tall.T @ tall

    timed("eigh_all_threads_then_product", run,
          against={"eigh_one_thread_then_product": None, "bare_product_tall": None})


def test_bare_product_wide(timed, wide):
    timed("bare_product_wide", lambda: wide @ wide.T, rounds=3)


def test_pca_full_wide(timed, wide):
    timed("pca_full_wide", lambda: PCA(N_COMPONENTS, svd_solver="full").fit(wide), rounds=2)


def test_pca_randomized_wide(timed, wide):
    timed(
        "pca_randomized_wide",
        lambda: PCA(N_COMPONENTS, svd_solver="randomized", random_state=0).fit(wide),
        rounds=3,
    )


def test_pod_wide(timed, wide):
    timed(
        "pod_wide",
        lambda: POD(N_COMPONENTS).fit(wide),
        rounds=3,
        against={"pca_full_wide": 0.3, "bare_product_wide": None, "pca_randomized_wide": None},
    )


@pytest.fixture(scope="module")
def many_snapshots():
    """3000 x 20000 float64: a Gram matrix large enough for the subset eigensolver."""
    rng = np.random.default_rng(2)
    return rng.standard_normal((3000, 40)) @ rng.standard_normal((40, 20000))


def test_pod_all_modes_many_snapshots(timed, many_snapshots):
    timed("pod_all_modes_snapshots", lambda: POD().fit(many_snapshots), rounds=2)


def test_pod_leading_modes_many_snapshots(timed, many_snapshots):
    """50 of 3000 eigenpairs instead of all of them: what the subset solver saves."""
    timed(
        "pod_50_modes_snapshots",
        lambda: POD(N_COMPONENTS).fit(many_snapshots),
        rounds=2,
        against={"pod_all_modes_snapshots": None},
    )
