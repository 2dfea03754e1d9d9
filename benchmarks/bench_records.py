"""Benchmark: generate, validate and aggregate 1,000,000 conversation records.

Target: generate + validate + aggregate in <= 10 s and <= 2 GiB peak memory on 2 cores.
Stages timed separately (wall clock, time.perf_counter):

1. generate — `study.data.synthetic.synthetic_conversations` with Harrow volumes scaled up, cut to
   exactly N rows;
2. validate (frame) — `study.data.records.validate_frame` on the in-memory table (parsing,
   pandera lazy validation, cross-column rules);
3. aggregate — `study.data.aggregate.weekly_series` (all series, all weeks) and
   `conversation_split` (two periods by site and team);
4. (outside the target) write a CSV and a Parquet copy, then `validate_file` on each — the
   path `study validate` takes.

Peak memory is the process's maximum resident set size (resource.getrusage, includes the
interpreter and imported libraries). Run: `.venv/bin/python benchmarks/bench_records.py [N]`.
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from study.data.aggregate import conversation_split, weekly_series
from study.data.records import validate_file, validate_frame
from study.data.synthetic import synthetic_conversations

TARGET_SECONDS = 10.0
TARGET_GIB = 2.0


def peak_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(n: int = 1_000_000, seed: int = 7) -> None:
    base = synthetic_conversations(seed)
    per_unit = (base["site"] == "harrow").sum()
    scale = 1.02 * (n - (base["site"] == "birmingham").sum()) / per_unit
    timings: dict[str, float] = {}

    t = time.perf_counter()
    df = synthetic_conversations(seed, harrow_scale=scale).head(n)
    timings["generate"] = time.perf_counter() - t
    assert len(df) == n, len(df)

    t = time.perf_counter()
    problems = validate_frame(df, "conversations")
    timings["validate (frame)"] = time.perf_counter() - t
    assert problems.empty, problems.head()

    t = time.perf_counter()
    weekly = weekly_series(df)
    split = conversation_split(
        df,
        {"2019-20": ("2019-04-01", "2020-03-31"), "2020-21": ("2020-04-01", "2021-03-31")},
    )
    timings["aggregate"] = time.perf_counter() - t
    assert weekly["count"].sum() > 0 and len(split) > 0
    core = sum(timings.values())
    core_peak = peak_gib()

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "conversations.csv"
        pq = Path(tmp) / "conversations.parquet"
        df.to_csv(csv, index=False, date_format="%Y-%m-%d")
        df.to_parquet(pq, index=False)
        for label, path in (("validate_file (CSV)", csv), ("validate_file (Parquet)", pq)):
            t = time.perf_counter()
            assert validate_file(path).empty
            timings[label] = time.perf_counter() - t
        sizes = {"CSV": csv.stat().st_size / 2**20, "Parquet": pq.stat().st_size / 2**20}

    print(
        f"{n:,} conversation records; Python {platform.python_version()}, "
        f"pandas {pd.__version__}, numpy {np.__version__}, {platform.machine()}"
    )
    print("| stage | seconds |")
    print("| --- | --- |")
    for label, secs in timings.items():
        print(f"| {label} | {secs:.2f} |")
    met = "met" if core <= TARGET_SECONDS and core_peak <= TARGET_GIB else "NOT met"
    print(f"| **generate + validate + aggregate** | **{core:.2f}** |")
    print(
        f"peak RSS after the core stages: {core_peak:.2f} GiB; after file validation: "
        f"{peak_gib():.2f} GiB; target <= {TARGET_SECONDS:g} s and <= {TARGET_GIB:g} GiB: {met}"
    )
    print("file sizes: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in sizes.items()))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
