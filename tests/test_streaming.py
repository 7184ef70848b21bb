"""AE and VAE on data they never hold whole: memory-mapped files and dask arrays.

The data here is small, but wide enough (600 float32 features, 2400 bytes a row) that
it spans several of the 2 MB blocks a stream is shuffled by, and the shuffle buffer is
shrunk to two blocks, so that every stage of the streamed shuffle runs.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import torch

from dimred import AE, POD, VAE
from dimred.arrays import _streams
from dimred.arrays._streams import BLOCK_BYTES, column_statistics, read_ahead
from dimred.neural import _batches

N_ROWS, N_FEATURES, RANK = 3000, 600, 6
SETTINGS = {"hidden_layer_sizes": (32,), "max_epochs": 4, "batch_size": 128,
            "random_state": 0}


@pytest.fixture(autouse=True)
def two_block_buffers(monkeypatch):
    rows_per_block = BLOCK_BYTES // (N_FEATURES * 4)
    monkeypatch.setattr(_batches, "BUFFER_BYTES", 2 * rows_per_block * N_FEATURES * 4)


@pytest.fixture(scope="module")
def low_rank():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((N_ROWS, RANK)) * np.logspace(0, -1, RANK)
    X = latent @ rng.standard_normal((RANK, N_FEATURES)) / np.sqrt(RANK)
    return (X + 0.05 * rng.standard_normal(X.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def on_disk(low_rank, tmp_path_factory):
    """The data as an .npy file opened memory-mapped, as a user would."""
    path = tmp_path_factory.mktemp("streaming") / "X.npy"
    np.save(path, low_rank)
    return np.load(path, mmap_mode="r")


def as_dask(X):
    # Chunks that do not line up with the 873-row blocks: the blocks do not depend on them.
    return da.from_array(X, chunks=(1000, N_FEATURES))


def weights(model):
    return [tensor.detach().numpy() for tensor in model.network_.state_dict().values()]


def test_the_data_spans_several_blocks_and_buffers(on_disk):
    rows = _batches.StreamedRows.of(on_disk, 128, torch.device("cpu"))
    assert len(rows.blocks) == 4 and rows.blocks_per_buffer == 2
    seen = torch.cat(list(rows.shuffled(torch.Generator().manual_seed(0))))
    # Every row once per epoch, and not in file order.
    np.testing.assert_array_equal(np.sort(seen.numpy(), axis=0), np.sort(on_disk, axis=0))
    assert not np.array_equal(seen.numpy(), np.asarray(on_disk))


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_memmap_and_dask_train_identically_and_like_memory(Estimator, low_rank, on_disk):
    streamed = Estimator(n_components=RANK, **SETTINGS).fit(on_disk)
    from_dask = Estimator(n_components=RANK, **SETTINGS).fit(as_dask(on_disk))
    in_memory = Estimator(n_components=RANK, **SETTINGS).fit(low_rank)
    for mapped, computed in zip(weights(streamed), weights(from_dask), strict=True):
        np.testing.assert_array_equal(mapped, computed)
    assert streamed.loss_curve_ == from_dask.loss_curve_
    # Block shuffling orders rows differently from a full shuffle: the same loss within
    # 5%, not the same weights. Measured at seeds 0 to 2: streamed within 2% of in-memory,
    # while in-memory seeds spread over 13% (AE) and 4% (VAE).
    np.testing.assert_allclose(streamed.loss_curve_[-1], in_memory.loss_curve_[-1], rtol=0.05)
    assert streamed.loss_curve_[-1] < 0.8 * streamed.loss_curve_[0]


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_inference_streams_and_equals_inference_in_memory(Estimator, low_rank, on_disk):
    model = Estimator(n_components=RANK, **SETTINGS).fit(low_rank)
    codes = model.transform(low_rank)
    np.testing.assert_array_equal(model.transform(on_disk), codes)
    np.testing.assert_array_equal(model.score_samples(on_disk), model.score_samples(low_rank))
    lazy_codes = model.transform(as_dask(on_disk))
    assert isinstance(lazy_codes, da.Array)
    np.testing.assert_array_equal(lazy_codes.compute(), codes)
    lazy_decoded = model.inverse_transform(da.from_array(codes, chunks=700))
    assert isinstance(lazy_decoded, da.Array)
    np.testing.assert_array_equal(lazy_decoded.compute(), model.inverse_transform(codes))


def test_early_stopping_holds_out_whole_blocks(on_disk):
    settings = {**SETTINGS, "early_stopping": True, "validation_fraction": 0.2}
    streamed = AE(n_components=RANK, **settings).fit(on_disk)
    from_dask = AE(n_components=RANK, **settings).fit(as_dask(on_disk))
    assert len(streamed.validation_scores_) == streamed.n_iter_
    assert streamed.validation_scores_ == from_dask.validation_scores_
    training, validation = _batches.split(on_disk, 0.2, torch.Generator().manual_seed(0), 128,
                                          torch.device("cpu"))
    held_out = {(block.start, block.stop) for block in validation.blocks}
    assert not held_out & {(block.start, block.stop) for block in training.blocks}
    assert validation.n_samples == pytest.approx(0.2 * N_ROWS, rel=0.05)
    assert training.n_samples + validation.n_samples == N_ROWS


def test_a_streamed_validation_set_is_evaluated_every_epoch(low_rank, on_disk):
    model = AE(n_components=RANK, **SETTINGS).fit(low_rank[:2000],
                                                  X_validation=on_disk[2000:])
    assert len(model.validation_scores_) == SETTINGS["max_epochs"]
    final = -model.validation_scores_[-1]
    np.testing.assert_allclose(final, model.reconstruction_error(low_rank[2000:]), rtol=1e-5)


@pytest.mark.parametrize("source", ["memory", "memmap"])
def test_partial_fit_over_chunks_matches_fit(source, low_rank, on_disk):
    """An epoch of partial_fit over chunks reaches fit's loss at the same rate."""
    X = low_rank if source == "memory" else on_disk
    settings = {**SETTINGS, "learning_rate_schedule": "constant"}
    whole = AE(n_components=RANK, **settings).fit(X)
    chunked = AE(n_components=RANK, **settings)
    for _epoch in range(SETTINGS["max_epochs"]):
        for start in range(0, N_ROWS, 1000):
            chunked.partial_fit(X[start : start + 1000])
    np.testing.assert_allclose(chunked.reconstruction_error(low_rank),
                               whole.reconstruction_error(low_rank), rtol=0.1)


def test_column_statistics_are_numpys_in_one_pass(low_rank, on_disk, monkeypatch):
    monkeypatch.setattr(_streams, "STATISTICS_BLOCK_BYTES", 10**6)  # several blocks
    for X in (low_rank, on_disk, as_dask(on_disk)):
        statistics = column_statistics(X)
        assert statistics.n_samples == N_ROWS
        np.testing.assert_allclose(statistics.mean, low_rank.mean(0, dtype=np.float64),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(statistics.variance, low_rank.var(0, dtype=np.float64),
                                   rtol=1e-9)
        assert (statistics.minimum, statistics.maximum) == (low_rank.min(), low_rank.max())


def test_read_ahead_stops_when_its_reader_stops(on_disk):
    groups = [[slice(start, start + 100)] for start in range(0, N_ROWS, 100)]
    stream = read_ahead(on_disk, groups)
    np.testing.assert_array_equal(next(stream), on_disk[:100])
    stream.close()  # cancels the reads queued behind it, raises nothing


@pytest.mark.parametrize("Estimator", [AE, VAE, POD])
def test_what_cannot_be_streamed_is_refused_before_reading(Estimator, low_rank, tmp_path):
    model = Estimator(n_components=2)
    unknown = as_dask(low_rank)
    unknown = unknown[unknown[:, 0] > 0]  # boolean indexing: row counts unknown
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        model.fit(unknown)
    complex_file = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+",
                                             dtype=np.complex64, shape=(10, 4))
    with pytest.raises(TypeError, match=r"dtype complex64.*real numbers"):
        model.fit(complex_file)
    flat = np.lib.format.open_memmap(tmp_path / "flat.npy", mode="w+", dtype=np.float32,
                                     shape=(40,))
    with pytest.raises(ValueError, match=r"must be 2-D.*shape \(40,\)"):
        model.fit(flat)


@pytest.mark.parametrize("Estimator", [AE, VAE])
def test_non_finite_rows_in_a_file_are_refused_before_training(Estimator, low_rank, tmp_path):
    X = low_rank.copy()
    X[2500, 7] = np.nan  # in the last block
    np.save(tmp_path / "nan.npy", X)
    model = Estimator(n_components=2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.fit(np.load(tmp_path / "nan.npy", mmap_mode="r"))
    assert not hasattr(model, "network_")  # refused by the statistics pass, untrained
