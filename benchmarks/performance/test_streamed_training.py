"""AE training and POD from data larger than what they may hold: peak memory and throughput.

The file (784 float32 features, low rank plus noise, 8.6 GB) is generated once into
``$DIMRED_SCALE_DIR`` (default ``~/.cache/dimred/scale``), as the POD scale benchmark's
is, and reused; it is never part of the repository. Every measurement runs in a fresh
process that reports its own peaks from ``/proc/self/status``: ``VmHWM`` (the resident
set's high-water mark, which a new process image starts afresh) and ``RssAnon`` sampled
every 20 ms (anonymous memory: what the process allocated, as opposed to file pages the
kernel may drop at will). ``ru_maxrss`` is not used: it carries the parent's peak
through fork.

Run: ``python -m pytest benchmarks/performance/test_streamed_training.py -s``
(about 15 minutes on 2 cores, the first time 2 more to write the file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_low_rank_file

N_FEATURES, RANK = 784, 32
N_SAMPLES = 2_740_000  # 8.59 GB of float32
ROWS_PER_WRITE = 2**17
IN_MEMORY_ROWS = 200_000  # the reference: the same network on a subset held in memory

MEASURE = """
import json, sys, threading, time
import numpy as np

def status():
    fields = {}
    for line in open("/proc/self/status"):
        name, _, value = line.partition(":")
        if name in ("VmHWM", "RssAnon"):
            fields[name] = int(value.split()[0]) * 1024 / 1e6
    return fields

peak_anon, done = [0.0], threading.Event()
def sample():
    while not done.is_set():
        peak_anon[0] = max(peak_anon[0], status()["RssAnon"])
        done.wait(0.02)

kind, path = sys.argv[1], sys.argv[2]
settings = json.loads(sys.argv[3])
from dimred import AE, POD
from dimred.arrays import dask_from_npy
X = np.load(path, mmap_mode="r")
if kind == "memory":
    X = np.array(X[: settings.pop("rows")])
elif kind == "dask":
    X = dask_from_npy(path, chunks=(settings.pop("chunk_rows"), X.shape[1]))
method = settings.pop("method")
model = {"AE": AE, "POD": POD}[method](**settings)
before = status()
threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
model.fit(X)
seconds = time.perf_counter() - start
done.set()
after = status()
print(json.dumps({"seconds": seconds, "rows": X.shape[0],
                  "samples_per_s": X.shape[0] / seconds,
                  "peak_rss_mb": after["VmHWM"], "anon_before_mb": before["RssAnon"],
                  "peak_anon_mb": max(peak_anon[0], after["RssAnon"])}))
"""

AE_SETTINGS = {"method": "AE", "n_components": 32, "hidden_layer_sizes": [512, 256],
               "batch_size": 256, "max_epochs": 1, "random_state": 0, "device": "cpu"}


def scale_file() -> Path:
    """The 8.6 GB array: X = Z S B + noise, rank 32."""
    return write_low_rank_file(N_SAMPLES, N_FEATURES, RANK, scales=np.logspace(0, -1, RANK),
                               basis_scale=1 / np.sqrt(RANK), rows_per_write=ROWS_PER_WRITE)


def measure(kind: str, path: Path, **settings) -> dict:
    completed = subprocess.run([sys.executable, "-c", MEASURE, kind, str(path),
                                json.dumps(settings)],
                               check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_file() -> Path:
    return scale_file()


@pytest.fixture(scope="module")
def in_memory_rate(big_file) -> float:
    return measure("memory", big_file, rows=IN_MEMORY_ROWS, **AE_SETTINGS)["samples_per_s"]


@pytest.mark.parametrize("kind", ["memmap", "dask"])
def test_ae_trains_an_epoch_from_a_file_larger_than_its_memory(benchmark, big_file, kind,
                                                               in_memory_rate):
    settings = {**AE_SETTINGS, **({"chunk_rows": 100_000} if kind == "dask" else {})}
    result = benchmark.pedantic(lambda: measure(kind, big_file, **settings), rounds=1,
                                iterations=1)
    ratio = result["samples_per_s"] / in_memory_rate
    file_gb = big_file.stat().st_size / 1e9
    benchmark.extra_info.update(file_gb=file_gb, in_memory_samples_per_s=in_memory_rate,
                                ratio_to_in_memory=ratio, **result)
    print(f"\nAE epoch from {kind} ({file_gb:.2f} GB): {result['samples_per_s']:.0f} "
          f"samples/s, {ratio:.2f}x in memory (target >= 0.8); peak RSS "
          f"{result['peak_rss_mb']:.0f} MB (target < 1500)")
    assert result["peak_rss_mb"] < 1500
    assert ratio >= 0.8


@pytest.mark.parametrize("chunk_rows", [25_000, 100_000, 400_000])
def test_pod_on_dask_holds_a_few_chunks(benchmark, big_file, chunk_rows):
    """POD over a dask array of the file (many times its chunk) built by
    ``dask_from_npy``: dask's own ``from_array`` would copy the memory map whole first
    (dask#11850), whatever POD does."""
    settings = {"method": "POD", "n_components": 16, "chunk_rows": chunk_rows}
    result = benchmark.pedantic(lambda: measure("dask", big_file, **settings), rounds=1,
                                iterations=1)
    chunk_mb = chunk_rows * N_FEATURES * 4 / 1e6
    added_chunks = (result["peak_anon_mb"] - result["anon_before_mb"]) / chunk_mb
    benchmark.extra_info.update(chunk_mb=chunk_mb, added_anon_in_chunks=added_chunks, **result)
    print(f"\nPOD on dask, chunks of {chunk_mb:.0f} MB: {result['seconds']:.1f} s, anonymous "
          f"memory +{result['peak_anon_mb'] - result['anon_before_mb']:.0f} MB "
          f"({added_chunks:.2f} chunks, target <= 4)")
    assert added_chunks <= 4
