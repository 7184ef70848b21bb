"""POD on data that is not in memory: memory-mapped ``.npy`` files and dask arrays."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dimred import POD
from dimred.benchmark._memory import MemoryGrowth
from dimred.linear._blocks import BLOCK_BYTES


def _low_rank(rng, n_samples, n_features, rank=8, offset=3.0):
    scales = np.logspace(0, -2, rank)
    X = (rng.normal(size=(n_samples, rank)) * scales) @ rng.normal(size=(rank, n_features))
    return X + 0.01 * rng.normal(size=(n_samples, n_features)) + offset


@pytest.fixture(params=["covariance", "snapshots"])
def case(request, rng, tmp_path):
    shape = (3000, 40) if request.param == "covariance" else (60, 3000)
    X = _low_rank(rng, *shape)
    path = tmp_path / "X.npy"
    np.save(path, X)
    weights = rng.uniform(0.5, 2.0, shape[1])
    return request.param, X, np.load(path, mmap_mode="r"), weights


@pytest.mark.parametrize("kind", ["memmap", "dask"])
@pytest.mark.parametrize("weighted", [False, True])
def test_out_of_core_equals_in_memory(case, kind, weighted):
    method, X, mapped, weights = case
    data = mapped if kind == "memmap" else da.from_array(X, chunks=(X.shape[0] // 7 + 1,
                                                                    X.shape[1] // 5 + 1))
    w = weights if weighted else None
    reference = POD(10, method=method, weights=w).fit(X)
    pod = POD(10, method=method, weights=w).fit(data)
    assert pod.method_ == method and pod.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(pod.explained_variance_, reference.explained_variance_,
                               rtol=1e-8)
    # Modes 9 and 10 are noise modes about 1% apart, so their vectors are determined only
    # to about eps * lambda_1 / gap ~ 3e-9: both routes sit ~1e-10 from an exact SVD.
    np.testing.assert_allclose(pod.components_, reference.components_, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(pod.mean_, reference.mean_, rtol=1e-10)
    codes = pod.transform(data)
    assert isinstance(codes, da.Array) == (kind == "dask")
    np.testing.assert_allclose(np.asarray(codes), reference.transform(X), rtol=1e-8,
                               atol=1e-10)
    back = pod.inverse_transform(da.from_array(reference.transform(X), chunks=(500, 10))
                                 if kind == "dask" else reference.transform(X))
    np.testing.assert_allclose(np.asarray(back), reference.inverse_transform(
        reference.transform(X)), rtol=1e-8, atol=1e-10)


def test_float32_dask_keeps_float32(rng):
    X = _low_rank(rng, 2000, 30).astype(np.float32)
    pod = POD(5).fit(da.from_array(X, chunks=(300, 30)))
    assert pod.components_.dtype == np.float32
    assert pod.transform(da.from_array(X, chunks=(300, 30))).dtype == np.float32
    np.testing.assert_allclose(pod.explained_variance_, POD(5).fit(X).explained_variance_,
                               rtol=1e-4)


def test_randomized_route_approximates_the_leading_modes(rng):
    X = _low_rank(rng, 4000, 300, rank=12)
    exact = POD(8).fit(X)
    for data in (X, da.from_array(X, chunks=(500, 300))):
        pod = POD(8, method="randomized").fit(data)
        assert pod.method_ == "randomized"
        np.testing.assert_allclose(pod.explained_variance_, exact.explained_variance_,
                                   rtol=1e-6)
        overlap = np.abs(pod.components_ @ exact.components_.T)
        np.testing.assert_allclose(np.diag(overlap), 1.0, atol=1e-6)


def test_out_of_core_bad_input_is_refused(rng, tmp_path):
    X = _low_rank(rng, 100, 10)
    X[7, 3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity: POD reduces complete rows"):
        POD(2).fit(da.from_array(X, chunks=30))
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(ValueError, match="X contains NaN or infinity: POD reduces complete rows"):
        POD(2).fit(np.load(tmp_path / "nan.npy", mmap_mode="r"))
    with pytest.raises(ValueError, match="must be 2-D"):
        POD(2).fit(da.zeros((10, 3, 2)))
    pod = POD(2).fit(_low_rank(rng, 100, 10))
    with pytest.raises(ValueError, match="10 features"):
        pod.transform(da.zeros((5, 11)))


def test_memory_mapped_fit_keeps_one_block_resident(rng, tmp_path):
    # A 192 MB file: an in-memory fit would hold it all; a streamed fit about a block.
    X = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32,
                                  shape=(200_000, 240))
    for start in range(0, X.shape[0], 20_000):
        X[start:start + 20_000] = _low_rank(rng, 20_000, 240).astype(np.float32)
    X.flush()
    del X
    mapped = np.load(tmp_path / "big.npy", mmap_mode="r")
    with MemoryGrowth() as growth:
        pod = POD(10).fit(mapped)
        pod.transform(mapped)
    assert growth.megabytes < 6 * BLOCK_BYTES / 1e6, f"peak RSS grew by {growth.megabytes:.0f} MB"
    in_memory = POD(10).fit(np.array(mapped))
    np.testing.assert_allclose(pod.explained_variance_, in_memory.explained_variance_,
                               rtol=1e-6)


@pytest.mark.parametrize("threads", [1, 3])
def test_fit_does_not_depend_on_the_thread_count(case, threads):
    # Blocks are shared among as many threads as BLAS may use; 1 runs them all on the
    # calling thread, 3 gives uneven shares on this 2-block data.
    method, X, mapped, weights = case
    reference = POD(8, method=method, weights=weights).fit(X)
    for data in (X, mapped):
        with threadpool_limits(threads):
            pod = POD(8, method=method, weights=weights).fit(data)
        np.testing.assert_allclose(pod.explained_variance_, reference.explained_variance_,
                                   rtol=1e-10)
        np.testing.assert_allclose(np.abs(np.sum(pod.components_ * reference.components_
                                                 * weights, axis=1)), 1.0, atol=1e-8)
        np.testing.assert_allclose(pod.mean_, reference.mean_, rtol=1e-12)
