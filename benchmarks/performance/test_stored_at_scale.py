"""POD and the AE on simulation data as it is stored: an 8.6 GB HDF5 file and Zarr store
against the memory-mapped ``.npy`` route, all three through ``file:`` in one run.

The data is the streamed-training benchmark's (784 float32 features, low rank plus
noise, 2.74 million rows, in ``$DIMRED_SCALE_DIR``), written once more as a contiguous
HDF5 dataset and as an uncompressed Zarr store chunked in whole rows of 2 MB (the block
the methods stream by). Each measurement is a fresh process that opens the file as
``file:`` does (``open_stored``: a dask array of 2 MB whole-row chunks; the ``.npy`` file
memory-mapped with ``np.load``) and fits every row, reporting its own resident
high-water mark (``VmHWM``). The ratio is each format's throughput over the memory-mapped
``.npy``'s, measured in the same run.

Run: ``python -m pytest benchmarks/performance/test_stored_at_scale.py -s`` (about 25
minutes on 2 cores, the first time 10 more to write the files).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_streamed_training import scale_file

#: Rows of a Zarr chunk: about 2 MB of 784 float32 features.
ZARR_CHUNK_ROWS = 2 * 2**20 // (784 * 4)

MEASURE = """
import json, sys, time
import numpy as np
from dimred import AE, POD
from dimred.datasets._stored import open_stored

def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6

path, settings = sys.argv[1], json.loads(sys.argv[2])
if path.endswith(".npy"):
    X = np.load(path, mmap_mode="r")
else:
    X = open_stored(path).X
method = settings.pop("method")
model = {"AE": AE, "POD": POD}[method](**settings)
start = time.perf_counter()
model.fit(X)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": X.shape[0], "samples_per_s": X.shape[0] / seconds,
                  "peak_rss_mb": peak_rss_mb()}))
"""

SETTINGS = {
    "POD": {"method": "POD", "n_components": 16},
    "AE": {"method": "AE", "n_components": 32, "hidden_layer_sizes": [512, 256],
           "batch_size": 256, "max_epochs": 1, "random_state": 0, "device": "cpu"},
}


def stored_copies(npy: Path) -> dict[str, Path]:
    """The ``.npy`` file, and the same rows as HDF5 and Zarr beside it (written once)."""
    import h5py
    import xarray as xr

    from dimred.arrays import dask_from_npy

    X = np.load(npy, mmap_mode="r")
    hdf5, zarr = npy.with_suffix(".h5"), npy.with_suffix(".zarr")
    if not hdf5.exists():
        partial = hdf5.with_suffix(".partial.h5")
        with h5py.File(partial, "w") as file:
            dataset = file.create_dataset("X", shape=X.shape, dtype=X.dtype)  # contiguous
            for start in range(0, len(X), 2**17):
                dataset[start:start + 2**17] = X[start:start + 2**17]
        partial.rename(hdf5)
    if not zarr.exists():
        partial = zarr.with_suffix(".partial.zarr")
        rows = dask_from_npy(npy, chunks=(ZARR_CHUNK_ROWS * 64, X.shape[1]))
        xr.Dataset({"X": (("sample", "feature"), rows)}).to_zarr(
            partial, mode="w", consolidated=False,
            encoding={"X": {"chunks": (ZARR_CHUNK_ROWS, X.shape[1]), "compressors": None}})
        partial.rename(zarr)
    return {"npy": npy, "hdf5": hdf5, "zarr": zarr}


def measure(path: Path, method: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", MEASURE, str(path),
                                json.dumps(SETTINGS[method])],
                               check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def files() -> dict[str, Path]:
    return stored_copies(scale_file())


@pytest.fixture(scope="module")
def npy_rates(files) -> dict[str, dict]:
    return {method: measure(files["npy"], method) for method in SETTINGS}


@pytest.mark.parametrize("method", sorted(SETTINGS))
@pytest.mark.parametrize("kind", ["hdf5", "zarr"])
def test_stored_fields_stream_like_a_memory_mapped_file(benchmark, files, npy_rates, kind,
                                                        method):
    result = benchmark.pedantic(lambda: measure(files[kind], method), rounds=1, iterations=1)
    reference = npy_rates[method]
    ratio = result["samples_per_s"] / reference["samples_per_s"]
    size_gb = sum(f.stat().st_size for f in [files[kind], *files[kind].rglob("*")]
                  if f.is_file()) / 1e9
    benchmark.extra_info.update(size_gb=size_gb, npy=reference, ratio_to_npy=ratio, **result)
    print(f"\n{method} from {kind} ({size_gb:.2f} GB): {result['samples_per_s']:.0f} rows/s, "
          f"{ratio:.2f}x the .npy route ({reference['samples_per_s']:.0f} rows/s, peak RSS "
          f"{reference['peak_rss_mb']:.0f} MB); peak RSS {result['peak_rss_mb']:.0f} MB "
          "(targets: >= 0.8x, < 1500 MB)")
    assert result["peak_rss_mb"] < 1500
    assert ratio >= 0.8
