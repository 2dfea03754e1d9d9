"""Benchmark: `study validate` on a 200,000-row extract with one repeated mistake.

Requirement (issue "Reliability", item 4): 200,000 conversation records with `site` = `Harrow`
on every row validate in under 10 s and print under 50 lines; `study run` on the same file
says it in one line, in the same words.

The extract is the committed synthetic conversations file (data/synthetic/), repeated to N rows
with fresh episode ids and `site` = `Harrow` on every row, written to a temporary CSV. Stages:

1. library — `study.data.records.check_file(path)` and its `.text` (what `study validate`
   prints), in this process: wall seconds, printed lines, peak RSS of this process;
2. `study validate PATH` in a subprocess (COLUMNS=80): wall seconds (interpreter start-up
   included), lines printed (stdout + stderr), exit code, peak RSS of the child;
3. `study run --only 01` with `conversations_path` pointing at the file, in a subprocess: the
   preflight refuses it; lines printed and whether its problem line is the one `validate`
   printed.

Peak memory is the maximum resident set size (resource.getrusage; RUSAGE_CHILDREN for the
subprocesses, includes the interpreter and libraries). Run:
`.venv/bin/python benchmarks/bench_validate.py [N] [--no-cli]`.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from study.config import SYNTHETIC_DIR
from study.data.records import check_file

TARGET_SECONDS = 10.0
TARGET_LINES = 50
CLI_TIMEOUT = 300  # seconds; the unwired CLI printed a 600,000-line table in about 80 s


def repeated_mistake_extract(path: Path, n: int = 200_000) -> Path:
    """Write N conversation records with `site` = 'Harrow' (not an allowed value) on every row."""
    base = pd.read_csv(
        SYNTHETIC_DIR / "conversations_synthetic.csv", dtype=str, keep_default_na=False
    )
    reps = -(-n // len(base))
    df = pd.concat([base] * reps, ignore_index=True).head(n)
    df["episode_id"] = pd.Series(np.arange(1, n + 1)).map("E{:07d}".format)
    df["site"] = "Harrow"
    df.to_csv(path, index=False)
    return path


def _child_peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def _run(args: list[str]) -> tuple[float, int, list[str]]:
    env = {**os.environ, "COLUMNS": "80"}
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "study", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    secs = time.perf_counter() - t
    return secs, done.returncode, (done.stdout + done.stderr).splitlines()


def _verdict(secs: float, lines: int) -> str:
    return "met" if secs < TARGET_SECONDS and lines < TARGET_LINES else "NOT met"


def main(n: int = 200_000, cli: bool = True) -> None:
    print(
        f"{n:,} conversation records, site = 'Harrow' on every row; Python "
        f"{platform.python_version()}, pandas {pd.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = repeated_mistake_extract(Path(tmp) / "conversations.csv", n)
        print(f"extract: {path.stat().st_size / 2**20:.0f} MiB CSV")
        print("| stage | seconds | lines printed | exit | peak RSS (GiB) | target |")
        print("| --- | --- | --- | --- | --- | --- |")

        t = time.perf_counter()
        check = check_file(path)
        text = check.text
        secs = time.perf_counter() - t
        lines = text.splitlines()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        verdict = _verdict(secs, len(lines))
        print(f"| check_file + .text | {secs:.2f} | {len(lines)} | – | {peak:.2f} | {verdict} |")
        if not cli:
            print("\n".join(lines))
            return

        secs, code, printed = _run(["validate", str(path)])
        verdict = _verdict(secs, len(printed))
        row = f"| study validate | {secs:.2f} | {len(printed):,} | {code} | {_child_peak_gib():.2f}"
        print(f"{row} | {verdict} |")

        params = Path(tmp) / "params.yaml"
        params.write_text(f'parameters:\n  conversations_path: "{path}"\n', encoding="utf-8")
        secs, code, said = _run(
            ["run", "--only", "01", "--params", str(params), "--out", str(Path(tmp) / "run")]
        )
        print(f"| study run (preflight) | {secs:.2f} | {len(said)} | {code} | – | one line |")
        print()
        print("study validate printed (first 5 lines):")
        print("\n".join("    " + line for line in printed[:5]))
        print("study run printed:")
        print("\n".join("    " + line for line in said))
        same = [line.strip() for line in printed if line.strip() and line.strip() in " ".join(said)]
        print(f"problem line shared by validate and run: {'yes' if same else 'no'}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 200_000, cli="--no-cli" not in sys.argv)
