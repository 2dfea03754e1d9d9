"""The whole study against its floor: `study run` (default parameters, 2 jobs) on the real
notebooks, and the same pipeline on stub notebooks, alternating, medians over the pairs.

A stub notebook keeps the real notebook's `parameters` cell and the import statements of its
code cells (with `%matplotlib inline`) and nothing else, so a stub run pays what every run pays
whatever the analyses do: CLI start-up, planning and preflight, provenance, kernel start, the
notebooks' imports, papermill, HTML export, estimates.csv and index.html. The ratio of the
medians (real / floor) is what the analyses themselves cost on top of that.

Each run is a fresh process (`python bench_floor.py --one real|floor --out DIR`) that follows
`study run` step by step (`study.run.cli` imported, `plan_run`, `preflight`, `new_run_dir`,
`run_study`), differing only in the notebook folder. Wall time and the CPU time of the process
and its children (workers and kernels) are measured from outside.

Run: `.venv/bin/python benchmarks/bench_floor.py [--pairs 3] [--only 06 --jobs 1]`.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from study import config


def stub_source(source: str) -> str:
    """The import statements (and IPython `%matplotlib` magics) of one code cell, in order."""
    magics = [line for line in source.splitlines() if line.startswith("%matplotlib")]
    body = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return "\n".join(magics)
    imports = [
        ast.get_source_segment(body, node)
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    return "\n".join([*magics, *imports])


def write_stubs(source_dir: Path, target_dir: Path) -> list[Path]:
    """Stub copies of every `NN_*.ipynb` in `source_dir`: parameters cell + imports only."""
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if "parameters" in cell.metadata.get("tags", []):
                cells.append(cell)
                continue
            text = stub_source(cell.source)
            if text:
                cells.append(nbformat.v4.new_code_cell(text))
        for cell in cells:
            cell.outputs, cell.execution_count = [], None
        nb.cells = cells
        out = target_dir / path.name
        nbformat.write(nb, out)
        written.append(out)
    return written


def one_run(kind: str, out: Path, notebooks_dir: Path, only: list[str], jobs: int) -> None:
    """One run as `study run` does it (in this process); `kind` only labels the output."""
    import study.run.cli  # noqa: F401  (the CLI's import cost is part of every run)
    from study.run.pipeline import discover_notebooks, new_run_dir, plan_run, preflight, run_study

    plan = plan_run(config.DEFAULT_PARAMS, only, notebooks=discover_notebooks(notebooks_dir))
    preflight(plan)
    run_dir = new_run_dir(plan, out)
    result = run_study(plan, run_dir, jobs=jobs)
    for name, seconds in result.seconds.items():
        print(f"{kind}\t{name}\t{seconds:.2f}")


def timed(kind: str, out: Path, notebooks_dir: Path, only: list[str], jobs: int) -> dict:
    """Wall and CPU seconds (this child and everything it started) of one run."""
    cmd = [sys.executable, __file__, "--one", kind, "--out", str(out),
           "--notebooks", str(notebooks_dir), "--jobs", str(jobs)]  # fmt: skip
    for key in only:
        cmd += ["--only", key]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    per_nb = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] == kind:
            per_nb[parts[1]] = float(parts[2])
    return {"wall": wall, "cpu": cpu, "notebooks": per_nb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3, help="real/floor pairs (alternating)")
    ap.add_argument("--only", action="append", default=[], help="notebook number or name")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--one", choices=["real", "floor"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--notebooks", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one_run(args.one, args.out, args.notebooks, args.only, args.jobs)
        return
    results: dict[str, list[dict]] = {"real": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        stubs = Path(tmp) / "stubs"
        write_stubs(config.NOTEBOOKS_DIR, stubs)
        dirs = {"real": config.NOTEBOOKS_DIR, "floor": stubs}
        for i in range(args.pairs):
            order = ("real", "floor") if i % 2 == 0 else ("floor", "real")
            for kind in order:
                r = timed(kind, Path(tmp) / f"{kind}-{i}", dirs[kind], args.only, args.jobs)
                results[kind].append(r)
                print(f"pair {i + 1} {kind}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU",
                      file=sys.stderr, flush=True)  # fmt: skip
    med = {
        kind: {
            "wall": statistics.median(r["wall"] for r in rs),
            "cpu": statistics.median(r["cpu"] for r in rs),
        }
        for kind, rs in results.items()
    }
    names = sorted({n for rs in results.values() for r in rs for n in r["notebooks"]})
    print(f"Python {sys.version.split()[0]}, {platform.machine()}, {platform.system()}, "
          f"{os.cpu_count()} CPUs; {args.pairs} pairs, real and floor alternating; "
          f"jobs {args.jobs}{'; only ' + ' '.join(args.only) if args.only else ''}")  # fmt: skip
    print("\n| run | median wall (s) | median CPU (s) | walls (s) |\n| --- | --- | --- | --- |")
    for kind in ("real", "floor"):
        walls = ", ".join(f"{r['wall']:.1f}" for r in results[kind])
        print(f"| {kind} | {med[kind]['wall']:.1f} | {med[kind]['cpu']:.1f} | {walls} |")
    ratios = [r["wall"] / f["wall"] for r, f in zip(results["real"], results["floor"], strict=True)]
    print(
        f"\n**ratio of medians (wall): {med['real']['wall'] / med['floor']['wall']:.2f}**; "
        f"median of the pair ratios: {statistics.median(ratios):.2f}; "
        f"CPU ratio: {med['real']['cpu'] / med['floor']['cpu']:.2f}"
    )
    print("\n| notebook | real (s) | floor (s) |\n| --- | --- | --- |")
    for name in names:
        real = statistics.median(r["notebooks"].get(name, float("nan")) for r in results["real"])
        floor = statistics.median(r["notebooks"].get(name, float("nan")) for r in results["floor"])
        print(f"| {name} | {real:.1f} | {floor:.1f} |")


if __name__ == "__main__":
    main()
