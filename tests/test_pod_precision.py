"""POD numerics for real data: float32 spectra that span many decades, Gram matrices
too large for memory, and dask arrays over memory maps in bounded memory."""

from __future__ import annotations

import threading
import time

import dask.array as da
import numpy as np
import pytest

from dimred import POD
from dimred.linear._pod import _ROUNDING_MARGIN
from dimred.linear._pod_solvers import leading_modes


def _spectrum(rng, n_samples, n_features, decades, offset=3.0):
    """float32 data whose centred energies fall log-uniformly over ``decades`` decades,
    with delocalised modes and an offset: what a Gram matrix in float32 loses."""
    rank = min(n_samples, n_features) - 1
    left, _ = np.linalg.qr(rng.standard_normal((n_samples, rank)))
    left -= left.mean(axis=0)  # centred columns: the energies are exactly these
    right, _ = np.linalg.qr(rng.standard_normal((n_features, rank)))
    singular = np.logspace(0, -decades / 2, rank)
    return ((left * singular) @ right.T + offset).astype(np.float32)


def _families(rng):
    """Data sets with different error structure, each float32."""
    grid = np.linspace(0, 1, 300)
    centres = rng.uniform(size=(2000, 1))
    return {
        "steep tall": _spectrum(rng, 3000, 300, decades=11),
        "steep wide": _spectrum(rng, 300, 3000, decades=11),
        "moving bump": np.exp(-((grid - centres) ** 2) / 0.002).astype(np.float32),
        "low rank plus noise": (
            rng.standard_normal((4000, 20)) @ rng.standard_normal((20, 200))
            + 0.1 * rng.standard_normal((4000, 200)) + 5.0
        ).astype(np.float32),
        "independent features": (
            rng.standard_normal((3000, 100)) * np.logspace(0, -5, 100)
        ).astype(np.float32),
    }


@pytest.mark.parametrize("n_features", [300, 3000], ids=["covariance", "snapshots"])
def test_float32_steep_spectrum_keeps_every_energy_above_1e_10(rng, n_features):
    n_samples = 3000 if n_features == 300 else 300
    X = _spectrum(rng, n_samples, n_features, decades=12)
    k = min(X.shape) - 2  # every mode but the one centring removes
    reference = POD(k).fit(X.astype(np.float64))
    pod = POD(k).fit(X)
    exact = reference.explained_variance_
    assert exact[-1] / exact[0] < 1e-10  # the spectrum spans more than 10 decades
    resolved = exact / exact[0] >= 1e-10
    np.testing.assert_allclose(
        pod.explained_variance_[resolved], exact[resolved], rtol=1e-3
    )
    assert pod.compute_dtype_ == np.float64
    assert pod.components_.dtype == np.float32


def test_float32_products_alone_lose_the_small_modes(rng):
    """What the recovery fixes: the float32 Gram matrix's own energies."""
    X = _spectrum(rng, 3000, 300, decades=11)
    found = leading_modes(X, True, None, "covariance", 250, np.float32)
    exact = POD(250).fit(X.astype(np.float64)).explained_variance_ * (X.shape[0] - 1)
    error = np.abs(found.energies - exact) / exact
    assert error[exact / exact[0] >= 1e-10].max() > 1e-2


def test_well_conditioned_float32_stays_in_float32(mnist):
    """MNIST's 50 leading modes (down to 2% of the largest energy): float32 products are
    accurate there, and POD keeps their speed."""
    X = mnist.X_train[:10000]
    pod = POD(50).fit(X)
    assert pod.compute_dtype_ == np.float32
    exact = POD(50).fit(X.astype(np.float64)).explained_variance_
    np.testing.assert_allclose(pod.explained_variance_, exact, rtol=1e-4)


@pytest.mark.parametrize("family", list(_families(np.random.default_rng(0))))
def test_rounding_estimate_bounds_the_float32_error(rng, family):
    """The margin the recovery trusts: the actual error of every float32 energy, over
    data of different structure, stays below the estimate times half the margin."""
    X = _families(rng)[family]
    method = "snapshots" if X.shape[0] < X.shape[1] else "covariance"
    k = min(X.shape) - 2
    found = leading_modes(X, True, None, method, k, np.float32)
    exact = leading_modes(X, True, None, method, k, np.float64).energies
    error = np.abs(found.energies - exact)
    # Where the estimate says float32 is accurate enough, it is: the recovery's promise.
    trusted = _ROUNDING_MARGIN * found.rounding_error <= 1e-3 * found.energies
    assert np.all(error[trusted] <= 1e-3 * exact[trusted])
    # The estimate is a statistical size (rounding errors of random sign), not a bound:
    # the worst case is d times larger and never happens here. What every BLAS kernel
    # keeps is the measured ratio of error to estimate, at most 101 over these families
    # with OpenBLAS's Haswell, SkylakeX and Zen kernels (run with OPENBLAS_CORETYPE): a
    # safety factor of 2 is asserted against the margin, which leaves 5 over the worst.
    resolved = found.rounding_error > 1e-7 * found.energies
    assert np.all(error[resolved] <= _ROUNDING_MARGIN / 2 * found.rounding_error[resolved])
    # and the recovered fit keeps every resolved energy to 1e-3
    pod = POD(k).fit(X)
    reference = exact / (X.shape[0] - 1)
    resolved = reference / reference[0] >= 1e-10
    np.testing.assert_allclose(pod.explained_variance_[resolved], reference[resolved],
                               rtol=1e-3)


def _sparse_memmap(tmp_path, shape):
    """A memory-mapped .npy of ``shape`` float32 zeros that occupies no disk."""
    path = tmp_path / "large.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    del array
    return np.load(path, mmap_mode="r")


def test_gram_matrix_too_large_is_refused_before_allocation():
    X = np.ones((10, 200_000), dtype=np.float32)
    X[0] = 0.0
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"200000 x 200000 float64 Gram matrix") as error:
        POD(3, method="covariance").fit(X)
    assert time.perf_counter() - start < 1.0
    message = str(error.value)
    assert "method='snapshots'" in message and "randomized" in message
    assert "dask array" in message
    assert "GiB of memory are available" in message


def test_auto_never_picks_a_gram_matrix_that_cannot_fit(tmp_path):
    X = _sparse_memmap(tmp_path, (60_000, 60_000))  # 14 GB of zeros, sparse on disk
    assert POD(5)._choose_method(*X.shape, 5) == "randomized"
    start = time.perf_counter()
    with pytest.raises(ValueError, match="60000 x 60000 float64 Gram matrix"):
        POD(None).fit(X)  # all modes: no randomized route, so a clear refusal
    with pytest.raises(ValueError, match="60000 x 60000 float64 Gram matrix"):
        POD(0.9).fit(X)
    assert time.perf_counter() - start < 2.0


def _anonymous_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_dask_over_a_memmap_runs_in_a_few_chunks_of_memory(tmp_path):
    """``da.from_array`` over a memory map, 12 chunks of 40 MB: the chunk products are
    formed inside their tasks, so the peak anonymous memory stays below 4 chunks."""
    rows, n_features, n_chunks = 12_500, 800, 12
    path = tmp_path / "tall.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                  shape=(rows * n_chunks, n_features))
    rng = np.random.default_rng(0)
    for chunk in range(n_chunks):
        X[chunk * rows:(chunk + 1) * rows] = rng.standard_normal((rows, n_features),
                                                                 dtype=np.float32)
    X.flush()
    del X
    chunk_bytes = rows * n_features * 4
    # Warm BLAS and dask up, so their one-off buffers are not counted.
    POD(2).fit(da.from_array(rng.standard_normal((2000, n_features), dtype=np.float32),
                             chunks=(500, n_features)))
    data = da.from_array(np.load(path, mmap_mode="r"), chunks=(rows, n_features))

    baseline, peak, done = _anonymous_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _anonymous_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        pod = POD(20).fit(data)
    finally:
        done.set()
        sampler.join()
    assert pod.n_components_ == 20
    growth = peak[0] - baseline
    assert growth < 4 * chunk_bytes, f"peak anonymous memory grew {growth / chunk_bytes:.2f} chunks"
