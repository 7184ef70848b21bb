"""Speed as ratios against references measured in the same run.

Each benchmark records its median; a benchmark that names a reference gets
``ratio_to_<reference>`` in its ``extra_info`` (so the ratio is in the saved JSON), and
the terminal summary prints every ratio beside its target.
"""

from __future__ import annotations

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
