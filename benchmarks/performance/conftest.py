"""Speed as ratios against references measured in the same run.

Each benchmark records its median; a benchmark that names a reference gets
``ratio_to_<reference>`` in its ``extra_info`` (so the ratio is in the saved JSON), and
the terminal summary prints every ratio beside its target.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_MEDIANS: dict[str, float] = {}
_RATIOS: list[tuple[str, str, float, float | None]] = []


@pytest.fixture
def timed(benchmark):
    """Run ``fn`` under pytest-benchmark and compare it to earlier references.

    Usage: ``timed("pod_tall", fn, rounds=5, against={"bare_product_tall": 1.3})`` where
    ``against`` maps a reference's key to the target ratio (None: no target).
    """

    def run(key, fn, *, rounds=5, against=None, **extra):
        result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
        median = benchmark.stats.stats.median
        _MEDIANS[key] = median
        benchmark.extra_info.update(extra)
        for reference, target in (against or {}).items():
            ratio = median / _MEDIANS[reference]
            benchmark.extra_info[f"ratio_to_{reference}"] = ratio
            _RATIOS.append((key, reference, ratio, target))
        return result

    return run


@pytest.fixture
def medians() -> dict[str, float]:
    """Median seconds of every benchmark run so far in this session, by key."""
    return _MEDIANS


def pytest_terminal_summary(terminalreporter):
    if not _RATIOS:
        return
    terminalreporter.section("dimred speed ratios (median time / reference median time)")
    for key, reference, ratio, target in _RATIOS:
        verdict = "" if target is None else (" ok" if ratio <= target else " MISSED")
        goal = "" if target is None else f" (target <= {target})"
        terminalreporter.write_line(f"{key:>32} / {reference:<28} {ratio:6.3f}{goal}{verdict}")


def write_low_rank_file(n_samples: int, n_features: int, rank: int, *, scales: np.ndarray,
                        basis_scale: float = 1.0, offset: float = 0.0,
                        rows_per_write: int = 2**18) -> Path:
    """A float32 ``.npy`` of ``X = Z diag(scales) B + 0.1 noise + offset`` (Z and noise
    standard normal, B normal times ``basis_scale``, seed 0), written once into
    ``$DIMRED_SCALE_DIR`` (default ``~/.cache/dimred/scale``) a block of rows at a time
    through a memory map, then reused. Never part of the repository."""
    folder = Path(os.environ.get("DIMRED_SCALE_DIR", Path.home() / ".cache/dimred/scale"))
    path = folder / f"lowrank_{n_samples}x{n_features}_float32.npy"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npy")
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(rank, n_features)).astype(np.float32) * np.float32(basis_scale)
    scales = scales.astype(np.float32)
    X = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                  shape=(n_samples, n_features))
    for start in range(0, n_samples, rows_per_write):
        n_rows = min(rows_per_write, n_samples - start)
        latent = rng.standard_normal((n_rows, rank), dtype=np.float32) * scales
        noise = rng.standard_normal((n_rows, n_features), dtype=np.float32)
        X[start : start + n_rows] = latent @ basis + 0.1 * noise + offset
        X.flush()
    del X
    os.replace(partial, path)
    return path
