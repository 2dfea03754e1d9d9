"""Command line: `study run | list | params | new-params | diff | index | validate | synth |
check-published` (also `python -m study`).

Bad input prints one line naming the file or parameter and exits with status 2; a failing
notebook prints which notebook and cell failed and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from study import config
from study.errors import StudyInputError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def run(
    params: Annotated[Path, typer.Option(help="Parameters YAML.")] = config.DEFAULT_PARAMS,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only this notebook (number or name); repeatable.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run folder (must be new or empty).")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Notebooks run at once.")] = 2,
) -> None:
    """Execute the notebooks with papermill into a new run folder under reports/.

    Ctrl-C (SIGINT) or SIGTERM stops the run within seconds, however often it is pressed: the
    workers and kernels are stopped, the run folder is marked INTERRUPTED.txt (what finished)
    with an index.html saying the run is incomplete, and the exit status is 130."""
    from study.run.pipeline import (
        NotebookFailed,
        RunFolderError,
        discard_run_dir,
        new_run_dir,
        plan_run,
        preflight,
        run_study,
    )
    from study.run.signals import EXIT_CODE, RunInterrupted, interrupts_raise

    run_dir = None
    existed = out_dir is not None and Path(out_dir).is_dir()
    try:
        with interrupts_raise():
            try:
                plan = plan_run(params, only or ())
                preflight(plan)
                run_dir = new_run_dir(plan, out_dir)
            except StudyInputError as exc:
                _fail(str(exc))
            err.print(f"run folder: {run_dir}", highlight=False)
            result = _run_with_progress(plan, run_dir, jobs, run_study)
    except RunInterrupted as stop:
        if getattr(stop, "run_dir", None) is None:
            if run_dir is not None:
                discard_run_dir(run_dir, keep_folder=existed)
            _fail(f"interrupted ({stop.signal_name}) before the run started; nothing written",
                  code=EXIT_CODE)  # fmt: skip
        finished = ", ".join(stop.finished) or "no notebook"
        marked = getattr(stop, "marking_error", "") or f"marked {stop.run_dir}/INTERRUPTED.txt"
        _fail(
            f"interrupted ({stop.signal_name}): stopped {len(stop.stopped)} running "
            f"notebook(s); {finished} had finished; incomplete run {marked}",
            code=EXIT_CODE,
        )
    except RunFolderError as exc:
        if run_dir is not None:
            discard_run_dir(run_dir, keep_folder=existed)
        _fail(str(exc))
    except NotebookFailed as exc:
        _fail(str(exc), code=1)
    except StudyInputError as exc:
        _fail(str(exc))
    out.print(
        f"wrote {result.run_dir} ({len(result.notebooks)} notebooks, "
        f"{result.n_estimates} estimates in estimates.csv)",
        highlight=False,
    )


def _run_with_progress(plan, run_dir, jobs, run_study):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("notebooks", total=len(plan.notebooks))
        return run_study(
            plan,
            run_dir,
            on_done=lambda name, s: bar.update(task, advance=1, description=f"{name} done"),
            jobs=jobs,
        )


@app.command("list")
def list_notebooks() -> None:
    """Show the notebooks and the parameters each declares (from study.run.parameters)."""
    from study.run.parameters import NOTEBOOKS, notebook_parameters

    for name in NOTEBOOKS:
        out.print(f"[bold]{name}[/]  ({name}.ipynb)")
        for p in notebook_parameters(name).values():
            out.print(f"  {p.name}: {p.type_name} = {p.default}", highlight=False, soft_wrap=True)
            out.print(f"      {p.help}", highlight=False)


@app.command("params")
def params_files(
    write: Annotated[
        bool, typer.Option("--write", help="Write the files instead of only checking them.")
    ] = False,
) -> None:
    """Check (or --write) what is generated from the parameter declaration in
    study/run/parameters.py: each notebook's `parameters` cell and params/default.yaml.
    Exits 1 if a file is out of date (without --write)."""
    from study.config import project_label
    from study.run.parameters import generated_files, stale_files, write_generated

    where = (config.NOTEBOOKS_DIR, config.DEFAULT_PARAMS)
    try:
        changed = write_generated(*where) if write else stale_files(*where)
    except StudyInputError as exc:
        _fail(str(exc))
    for path in changed:
        verb = "wrote" if write else "out of date:"
        out.print(f"{verb} {project_label(path)}", highlight=False)
    if not changed:
        out.print(f"{len(generated_files(*where))} generated files up to date", highlight=False)
    elif not write:
        _fail("regenerate them with 'study params --write' (make params)", code=1)


def _number_text(value: float, fmt: str) -> str:
    import pandas as pd

    return "" if pd.isna(value) else format(value, fmt)


@app.command()
def diff(
    run_a: Annotated[Path, typer.Argument(help="Run folder A (the reference).")],
    run_b: Annotated[Path, typer.Argument(help="Run folder B, compared with A.")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="CSV to write (default reports/diffs/<A>__vs__<B>.csv)."),
    ] = None,
    changed_only: Annotated[
        bool,
        typer.Option("--changed", help="Print only estimates that differ (the CSV has them all)."),
    ] = False,
) -> None:
    """Compare two run folders: every estimate side by side (printed and written as CSV), and
    the parameters, input checksums and package versions that differ. Run folders are only read."""
    from study.run.run_diff import (
        check_diff_path,
        compare_runs,
        default_diff_path,
        load_run,
        write_csv_atomic,
    )

    try:
        a, b = load_run(run_a), load_run(run_b)
        target = out_file or default_diff_path(run_a, run_b)
        check_diff_path(target, (run_a, run_b))
        comparison = compare_runs(a, b)
        write_csv_atomic(comparison.estimates, target)
    except StudyInputError as exc:
        _fail(str(exc))
    for label, run in (("A", a), ("B", b)):
        if run.incomplete:
            err.print(f"note: {label} ({run.path}) is an {run.incomplete}", highlight=False,
                      soft_wrap=True)  # fmt: skip
    import pandas as pd

    styles = {"changed": "yellow", "only in A": "red", "only in B": "green"}
    table = Table(
        "key", "method", "A", "B", "B - A", "relative",
        "CIs overlap", "status", title=f"estimates: A = {run_a}, B = {run_b}",
    )  # fmt: skip
    shown = comparison.estimates
    if changed_only:
        shown = shown[shown["status"] != "same"]
    for row in shown.itertuples(index=False):
        overlap = "" if pd.isna(row.ci_overlap) else ("yes" if row.ci_overlap else "no")
        table.add_row(
            row.key, row.method,
            _number_text(row.a_estimate, ".6g"), _number_text(row.b_estimate, ".6g"),
            _number_text(row.change, "+.3g"), _number_text(row.relative_change, "+.2%"),
            overlap, row.status, style=styles.get(row.status),
        )  # fmt: skip
    out.print(table)
    sections = [
        ("parameters", comparison.parameters),
        ("input checksums", comparison.inputs),
        ("package versions", comparison.packages),
        ("provenance", comparison.provenance),
    ]
    for title, frame in sections:
        if frame.empty:
            out.print(f"{title}: no differences", highlight=False)
            continue
        settings = Table("key", "A", "B", "status", title=f"{title} that differ")
        for row in frame.itertuples(index=False):
            settings.add_row(row.key, row.a, row.b, row.status)
        out.print(settings)
    counts = comparison.status_counts()
    out.print(
        f"{len(comparison.estimates)} estimates: "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + f"; {len(comparison.parameters)} parameter, {len(comparison.inputs)} input checksum, "
        f"{len(comparison.packages)} package difference(s); wrote {target}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("index")
def index_page(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by 'study run'.")],
) -> None:
    """Write (or rewrite) a run folder's index.html: key estimates next to the published
    figures, links to the notebooks, every figure, the parameters and the provenance."""
    from study.run.index_page import write_index
    from study.run.run_diff import incomplete_note

    try:
        path = write_index(run_dir)
    except StudyInputError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {run_dir}/index.html ({exc.strerror or exc}); make the folder "
              "writable")  # fmt: skip
    note = incomplete_note(run_dir)
    out.print(f"wrote {path}" + (f" (an {note})" if note else ""), highlight=False, soft_wrap=True)


@app.command("new-params")
def new_params(
    source: Annotated[
        str, typer.Option("--from", help="Parameter set to copy (name in params/ or a path).")
    ],
    name: Annotated[str, typer.Option(help="Name of the new parameter set (its run name).")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default params/NAME.yaml).")
    ] = None,
) -> None:
    """Write a commented parameters file for your own run, copied from an existing set."""
    from study.run.param_sets import find_params_file, new_params_text
    from study.run.parameters import check_run_name
    from study.run.pipeline import load_params_file

    try:
        check_run_name(name)
        src = find_params_file(source)
        raw = load_params_file(src)
        target = out_file or config.PARAMS_DIR / f"{name}.yaml"
        if target.exists():
            raise StudyInputError(f"{target} exists; choose another --name or --out")
        text = new_params_text(raw, name=name, source=src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        load_params_file(target)
    except StudyInputError as exc:
        _fail(str(exc))
    out.print(f"wrote {target}; edit it, then: study run --params {target}", highlight=False)


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or Excel file of records.")],
    kind: Annotated[
        str | None, typer.Option(help="conversations | reviews | weekly (default: inferred).")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Excel sheet: its name or 1-based position (default: first).")
    ] = None,
    every_row: Annotated[
        bool,
        typer.Option(
            "--all", help="List every problem (default: one line per column and problem)."
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write every problem to this CSV (file, row, column, problem)."),
    ] = None,
) -> None:
    """Check a record-level file against the documented schema (data/README.md).

    Prints one line per column and problem (how many rows, the first rows, the values).
    Exits with status 2 if there is any problem. The file is only read."""
    from study.data.records import check_file, check_report_path
    from study.run.run_diff import write_csv_atomic

    try:
        check = check_file(path, kind, sheet)
        if report is not None:
            write_csv_atomic(check.problems, check_report_path(report, path))
    except StudyInputError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"--report {report}: cannot write ({exc.strerror or exc})")
    typer.echo(check.full_text if every_row else check.text)
    if report is not None:
        typer.echo(f"wrote {report} ({len(check.problems):,} problems)")
    if not check.valid:
        raise typer.Exit(2)


@app.command()
def synth(
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed (default: study.data.synthetic.DEFAULT_SEED)."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = config.SYNTHETIC_DIR,
) -> None:
    """Generate the synthetic record-level extract calibrated to the published figures."""
    from study.data.synthetic import DEFAULT_SEED, write_synthetic

    try:
        paths = write_synthetic(DEFAULT_SEED if seed is None else seed, out_dir)
    except StudyInputError as exc:
        _fail(str(exc))
    for p in paths:
        out.print(f"wrote {p}", highlight=False)


@app.command("check-published")
def check_published() -> None:
    """Reproduce the published arithmetic and list every cell that does not add up."""
    from study.data.published import check_published_arithmetic, load_figures, load_review_tables

    try:
        checks = check_published_arithmetic(load_figures(), load_review_tables())
    except StudyInputError as exc:
        _fail(str(exc))
    table = Table(*checks.columns)
    for row in checks.itertuples(index=False):
        style = "red" if row.status != "ok" else None
        table.add_row(*(str(v) for v in row), style=style)
    out.print(table)
    bad = int((checks["status"] != "ok").sum())
    out.print(
        f"{len(checks)} checks: {len(checks) - bad} ok, {bad} discrepancy(ies)", highlight=False
    )
