"""Shared timing helper for the benchmark scripts (imported as `timing` from this folder)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def min_and_median(
    fn: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float]:
    """Seconds of `fn()`: min and median over `repeats` calls after one warm-up call (wall
    time; `clock=time.process_time` for this process's CPU time)."""
    fn()  # warm-up (first-touch memory, imports)
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times), statistics.median(times)
