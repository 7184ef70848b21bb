"""POD on an 8 GiB on-disk float32 array: peak memory and time against one read.

The file (2^23 snapshots × 256 features, low rank plus noise) is generated once into
``$DIMRED_SCALE_DIR`` (default ``~/.cache/dimred/scale``) and reused; it is never part
of the repository. Both the fit and the reference reads start from a cold page cache
(``posix_fadvise(DONTNEED)`` on the file), so "time to read the file once" is the I/O
limit; it is measured before and after the fit, and the faster read is used. The fit
runs in a fresh process, so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import write_low_rank_file

N_SAMPLES, N_FEATURES, RANK = 2**23, 256, 16
ROWS_PER_WRITE = 2**18

FIT = """
import json, resource, sys, time
import numpy as np
from dimred import POD
X = np.load(sys.argv[1], mmap_mode="r")
start = time.perf_counter()
pod = POD(n_components=16).fit(X)
seconds = time.perf_counter() - start
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # kB on Linux
print(json.dumps({"fit_seconds": seconds, "peak_rss_mb": peak_rss_mb,
                  "energy_in_16_modes": float(pod.explained_variance_ratio_.sum())}))
"""


def scale_file() -> Path:
    """The 8 GiB array: X = Z S B + noise + offset."""
    return write_low_rank_file(N_SAMPLES, N_FEATURES, RANK, scales=np.logspace(1, -1, RANK),
                               offset=100.0, rows_per_write=ROWS_PER_WRITE)


def drop_from_page_cache(path: Path) -> None:
    with open(path, "rb") as stream:
        os.posix_fadvise(stream.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def read_once(path: Path) -> float:
    """Seconds to read the whole file sequentially, 32 MiB at a time."""
    buffer = bytearray(32 * 2**20)
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as stream:
        while stream.readinto(buffer):
            pass
    return time.perf_counter() - start


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="needs posix_fadvise")
def test_pod_on_an_8_gib_memory_mapped_file(benchmark):
    path = scale_file()
    size_gb = path.stat().st_size / 1e9
    drop_from_page_cache(path)
    reads = [read_once(path)]
    drop_from_page_cache(path)

    def fit():
        completed = subprocess.run([sys.executable, "-c", FIT, str(path)], check=True,
                                   capture_output=True, text=True)
        return json.loads(completed.stdout)

    result = benchmark.pedantic(fit, rounds=1, iterations=1)
    drop_from_page_cache(path)
    reads.append(read_once(path))
    # The disk's speed drifts between minutes; the faster read is the stricter limit.
    read_seconds = min(reads)
    ratio = result["fit_seconds"] / read_seconds
    benchmark.extra_info.update(file_gb=size_gb, read_seconds=read_seconds,
                                read_seconds_before_and_after=reads,
                                ratio_to_read_once=ratio, **result)
    print(f"\nPOD on {size_gb:.2f} GB: fit {result['fit_seconds']:.1f} s, one read "
          f"{read_seconds:.1f} s ({ratio:.2f}x, target <= 2), peak RSS "
          f"{result['peak_rss_mb']:.0f} MB (target < 2000)")
    assert result["peak_rss_mb"] < 2000
    assert result["energy_in_16_modes"] > 0.9
