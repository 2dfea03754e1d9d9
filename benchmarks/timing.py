"""Shared timing helper for the benchmark scripts (imported as `timing` from this folder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def min_and_median(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Seconds of `fn()`: min and median over `repeats` calls after one warm-up call."""
    fn()  # warm-up (first-touch memory, imports)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)
