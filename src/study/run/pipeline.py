"""Run the study: execute every notebook with papermill into a fresh run folder.

A run folder `reports/<run-name>-<YYYYmmdd-HHMMSS>/` holds the executed notebooks, an HTML
rendering of each, the figures (PNG and SVG), `estimates.csv`, the resolved parameters and a
provenance record (package and dependency versions, SHA-256 of every input file). Parameters
come from a YAML file and are checked against each notebook's `parameters` cell (names and
annotated types; the cells are generated from the declaration in `study.run.parameters`)
before anything is written.

This module imports pandas and numpy (`study.run.disclosure`), yaml, pydantic
(`study.run.parameters`) and matplotlib (`study.run.recorder`) in the functions that use them,
so importing it is cheap. What a worker process runs (papermill, the HTML export) is in
`study.run.worker`, which imports none of them.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import hashlib
import importlib.metadata
import io
import json
import multiprocessing
import platform
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from study import __version__, config
from study.errors import StudyInputError
from study.run.signals import RunInterrupted, signals_blocked, stop_processes
from study.run.worker import execute_notebook, quiet_worker

if TYPE_CHECKING:
    import pandas as pd

    from study.run.parameters import NotebookParameter

_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}
_DATA_SUFFIXES = {".csv", ".parquet", ".xlsx", ".xls"}


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook of the study and the parameters it declares."""

    name: str
    path: Path
    parameters: dict[str, NotebookParameter]

    @property
    def number(self) -> str:
        return self.name.split("_", 1)[0]


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: which notebooks, with which parameters, from which file, and the
    run's disclosure threshold (`study.run.disclosure`)."""

    params_file: Path
    run_name: str
    notebooks: list[NotebookSpec]
    parameters: dict[str, dict[str, object]]
    disclosure_threshold: int


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    notebooks: list[str]
    n_estimates: int
    seconds: dict[str, float] = field(default_factory=dict)


class NotebookFailed(RuntimeError):
    """A notebook raised during execution; the partial notebook is kept in the run folder."""

    def __init__(self, notebook: str, cell: int, error: str, kept: Path):
        self.notebook, self.cell, self.error, self.kept = notebook, cell, error, kept
        super().__init__(
            f"notebook {notebook} failed at cell {cell}: {error} "
            f"(partially executed notebook kept at {kept})"
        )


def parameters_cell_declarations(source: str) -> dict[str, NotebookParameter]:
    """The parameters a `parameters` cell declares, as papermill's inspection reads them
    (`papermill.inspect_notebook`: name, annotated type or "None", the value's source text and
    the line's comment as help), without importing papermill: the cells are generated one
    `name: type = value  # help` per line (`study.run.parameters`). A cell that is not valid
    Python declares nothing (papermill ignores inspection errors too)."""
    from study.run.parameters import NotebookParameter

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = source.splitlines()
    comments: dict[int, str] = {}
    with contextlib.suppress(tokenize.TokenError):
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string[1:].strip()
    params = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            type_name = ast.unparse(node.annotation).strip("'\"")
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            type_name = "None"
        else:
            continue
        if node.value is None:
            continue
        name = node.target.id if isinstance(node, ast.AnnAssign) else node.targets[0].id
        if node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            default = line[node.value.col_offset : node.value.end_col_offset]
        else:
            default = ast.get_source_segment(source, node.value) or ""
        params[name] = NotebookParameter(
            name, type_name, default, comments.get(node.end_lineno, "")
        )
    return params


def discover_notebooks(folder: Path = config.NOTEBOOKS_DIR) -> list[NotebookSpec]:
    """The study's notebooks (`NN_*.ipynb`, reading order) and their declared parameters
    (`parameters_cell_declarations` of the cell tagged `parameters`; read as JSON, so planning a
    run needs neither papermill nor nbformat)."""
    specs = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise StudyInputError(
                f"{path}: not a readable notebook ({exc.__class__.__name__})"
            ) from None
        params: dict[str, NotebookParameter] = {}
        for cell in cells:
            if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get(
                "tags", []
            ):
                source = cell.get("source", "")
                params = parameters_cell_declarations(
                    "".join(source) if isinstance(source, list) else source
                )
                break
        specs.append(NotebookSpec(path.stem, path, params))
    return specs


def select_notebooks(notebooks: list[NotebookSpec], only: Sequence[str]) -> list[NotebookSpec]:
    """Notebooks matching `only` (number `01` or full name); all of them when `only` is empty."""
    if not only:
        return notebooks
    chosen = []
    for key in only:
        hits = [nb for nb in notebooks if key in (nb.number, nb.name, nb.path.name)]
        if not hits:
            names = ", ".join(nb.name for nb in notebooks)
            raise StudyInputError(f"--only {key!r}: no such notebook (have: {names})")
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen, key=lambda nb: nb.name)


def _dates_as_text(value: object) -> object:
    """YAML reads an unquoted 2019-06-03 as a date; the notebooks take 'YYYY-MM-DD' text."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_params_file(path: Path) -> dict:
    """Read and validate a parameters YAML (`study.run.parameters`): `run_name`,
    `description`, `only`, `parameters` (shared) and `notebooks` (per-notebook values)."""
    import yaml

    from study.run.parameters import check_not_empty, validate_params

    if not path.is_file():
        raise StudyInputError(f"{path}: parameters file does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise StudyInputError(f"{path}{where}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise StudyInputError(f"{path}: expected a mapping at the top level")
    check_not_empty(raw, path)
    validate_params(raw, path)
    return _dates_as_text(raw)


def _check_type(value: object, p: NotebookParameter, where: str) -> None:
    expected = _TYPES.get(p.type_name)
    if expected is None:
        return
    if isinstance(value, bool) and p.type_name != "bool":
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise StudyInputError(
            f"{where}: parameter '{p.name}' must be {p.type_name}, "
            f"got {type(value).__name__} {value!r}"
        )


def plan_run(
    params_file: Path = config.DEFAULT_PARAMS,
    only: Sequence[str] = (),
    notebooks: list[NotebookSpec] | None = None,
) -> RunPlan:
    """Check the parameters file against the notebooks and resolve each notebook's parameters.

    Unknown names, wrong types and unknown notebooks are errors (StudyInputError, one line).
    """
    from study.run.parameters import check_run_name

    params_file = Path(params_file)
    raw = load_params_file(params_file)
    all_notebooks = notebooks if notebooks is not None else discover_notebooks()
    chosen = select_notebooks(all_notebooks, only or raw.get("only") or ())
    shared: dict = raw.get("parameters") or {}
    overrides: dict = raw.get("notebooks") or {}

    declared = {name for nb in all_notebooks for name in nb.parameters}
    unknown = sorted(set(shared) - declared)
    if unknown:
        raise StudyInputError(
            f"{params_file}: unknown parameter(s) {unknown}; no notebook declares them "
            "(see 'study list')"
        )
    by_name = {nb.name: nb for nb in all_notebooks}
    for nb_name, values in overrides.items():
        if nb_name not in by_name:
            raise StudyInputError(f"{params_file}: 'notebooks' names unknown notebook {nb_name!r}")
        if not isinstance(values, dict):
            raise StudyInputError(f"{params_file}: notebooks.{nb_name} must be a mapping")
        extra = sorted(set(values) - set(by_name[nb_name].parameters))
        if extra:
            raise StudyInputError(
                f"{params_file}: notebook {nb_name} does not declare parameter(s) {extra}"
            )

    resolved: dict[str, dict[str, object]] = {}
    for nb in chosen:
        values = {k: v for k, v in shared.items() if k in nb.parameters}
        values.update(overrides.get(nb.name) or {})
        values.pop("run_dir", None)
        for name, value in values.items():
            _check_type(value, nb.parameters[name], str(params_file))
        resolved[nb.name] = values
    run_name = str(raw.get("run_name") or params_file.stem)
    try:
        run_name = check_run_name(run_name)
    except StudyInputError as exc:
        raise StudyInputError(f"{params_file}: {exc}") from None
    threshold = _disclosure_threshold(raw, shared, overrides, params_file)
    for nb in chosen:  # the run's one threshold, handed to every notebook that declares it
        if "disclosure_threshold" in nb.parameters:
            resolved[nb.name]["disclosure_threshold"] = threshold
    return RunPlan(params_file, run_name, chosen, resolved, threshold)


def _disclosure_threshold(raw: dict, shared: dict, overrides: dict, params_file: Path) -> int:
    """The run's disclosure threshold: `parameters: disclosure_threshold` (the older top-level
    key is read as the same setting), default DEFAULT_THRESHOLD; one value per run, so
    per-notebook values and a top-level key that disagrees are refused."""
    from study.run.disclosure import DEFAULT_THRESHOLD

    per_notebook = sorted(nb for nb, v in overrides.items() if "disclosure_threshold" in v)
    if per_notebook:
        raise StudyInputError(
            f"{params_file}: disclosure_threshold is one value per run; set it under "
            f"parameters:, not under notebooks: ({', '.join(per_notebook)})"
        )
    top, shared_value = raw.get("disclosure_threshold"), shared.get("disclosure_threshold")
    if top is not None and shared_value is not None and top != shared_value:
        raise StudyInputError(
            f"{params_file}: disclosure_threshold is given twice ({top} at the top level, "
            f"{shared_value} under parameters:); keep the one under parameters:"
        )
    value = shared_value if shared_value is not None else top
    return int(value) if value is not None else DEFAULT_THRESHOLD


def notebook_values(plan: RunPlan, nb: NotebookSpec) -> dict[str, object]:
    """Every parameter a notebook runs with: its cell's defaults, then the planned values."""
    defaults = {name: ast.literal_eval(p.default) for name, p in nb.parameters.items()}
    return {**defaults, **plan.parameters[nb.name]}


def preflight(plan: RunPlan) -> None:
    """Check the inputs before anything is written: published data and every data file.

    The published CSVs must load and validate; every `*_path` parameter must name an existing
    file, and a parameter named after a record kind (`conversations_path`, `reviews_path`,
    `weekly_path`) must pass that kind's schema (see `study validate`). Raises
    StudyInputError (one line naming the file) on the first failing input.
    """
    from study.data import published
    from study.data.records import check_file
    from study.data.schema import KINDS

    published.load_figures()
    published.load_events()
    published.load_review_tables()
    checked: dict[tuple[Path, str], object] = {}  # a file several notebooks read: checked once
    read: dict[tuple[Path, str], pd.DataFrame] = {}
    for nb in plan.notebooks:
        for name, value in notebook_values(plan, nb).items():
            if not name.endswith("_path") or not isinstance(value, str) or not value:
                continue
            path = config.resolve_path(value)
            if path.is_dir():
                raise StudyInputError(
                    f"{nb.name}: parameter '{name}': {path} is a folder, not a file"
                )
            if not path.is_file():
                raise StudyInputError(f"{nb.name}: parameter '{name}': no such file {path}")
            kind = next((k for k in KINDS if k in name), None)
            if kind is None:
                continue
            try:
                if (path, kind) not in checked:
                    checked[path, kind] = check_file(path, kind)
                check = checked[path, kind]
            except OSError as exc:
                raise StudyInputError(
                    f"{nb.name}: parameter '{name}': cannot read {path} "
                    f"({exc.strerror or exc.__class__.__name__}); make it readable "
                    "(e.g. chmod u+r) or copy it to a folder you can read"
                ) from None
            if not check.valid:
                raise StudyInputError(
                    f"{nb.name}: parameter '{name}': {check.summary} (see 'study validate {path}')"
                )
        _check_values_against_data(nb, notebook_values(plan, nb), read)


def _check_values_against_data(
    nb: NotebookSpec, values: dict, read: dict[tuple[Path, str], pd.DataFrame] | None = None
) -> None:
    """Dates and spans a notebook would only find wrong mid-run, checked against its data now:
    period/window/`last_week` dates against the weekly series, `bham_extract_months` against
    the dates of the episodes notebook 02 compares (site `lt_site`, teams `lt_teams` and
    `lt_comparison_team`, go-live `lt_go_live`). StudyInputError names the key and the data's span.
    `read`: the tables already read in this preflight, by (path, kind); filled as it goes."""
    import pandas as pd

    from study.analyses.long_term_design import LongTermComparison, compared_episodes
    from study.data.records import read_records
    from study.run.parameters import BY_NAME, dates_outside_series

    read = {} if read is None else read

    def records(value: str, kind: str) -> pd.DataFrame:
        path = config.resolve_path(value)
        if (path, kind) not in read:
            read[path, kind] = read_records(path, kind)
        return read[path, kind]

    if values.get("weekly_path") and ("periods" in values or "windows" in values):
        weekly = records(values["weekly_path"], "weekly")
        site = values.get("site", BY_NAME["site"].default)
        series = values.get("series", BY_NAME["series"].default)
        rows = weekly[(weekly["site"] == site) & (weekly["series"] == series)]
        if rows.empty:
            raise StudyInputError(
                f"{nb.name}: {values['weekly_path']} has no weeks of series {series!r} for site "
                f"{site!r} (parameters 'series' and 'site')"
            )
        weeks = pd.to_datetime(rows["week_start"])
        problems = dates_outside_series(values, weeks.min().date(), weeks.max().date())
        if problems:
            raise StudyInputError(
                f"{nb.name}: " + "; ".join(problems) + f" ({series} for {site} in "
                f"{values['weekly_path']})"
            )
    months = values.get("bham_extract_months")
    if months is not None and values.get("conversations_path"):
        episodes = records(values["conversations_path"], "conversations")
        design = LongTermComparison(
            **{
                field: values.get(name, BY_NAME[name].default)
                for field, name in (("site", "lt_site"), ("teams", "lt_teams"),
                                    ("comparison_team", "lt_comparison_team"),
                                    ("go_live", "lt_go_live"))
            },
            months=months,
        )  # fmt: skip
        try:
            compared_episodes(episodes, design)  # notebook 02's comparison, as it will run
        except StudyInputError as exc:
            raise StudyInputError(f"{nb.name}: parameter 'bham_extract_months': {exc}") from None


MIN_FREE_BYTES = 100 * 2**20  # a default run folder holds about 8 MB; leave room for kernels


def new_run_dir(plan: RunPlan, out: Path | None = None, reports: Path = config.REPORTS_DIR) -> Path:
    """A new, empty run folder; never reuses a folder that already has content.

    A folder that cannot be created or written, or a drive with less than MIN_FREE_BYTES
    free, raises RunFolderError (one line: the path, the reason and the fix)."""
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise RunFolderError(
                f"--out {out}: is a file, not a folder; choose a new folder with --out DIR"
            )
        if out.is_dir() and any(out.iterdir()):
            raise StudyInputError(f"--out {out}: folder exists and is not empty; choose a new one")
        target = out
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path(reports) / f"{plan.run_name}-{stamp}"
        target, k = base, 1
        while target.exists():
            k += 1
            target = base.with_name(f"{base.name}-{k}")
    existed = target.is_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if not existed:
            discard_run_dir(target)
        raise RunFolderError.from_os_error(exc, target) from None
    free = shutil.disk_usage(target).free
    if free < MIN_FREE_BYTES:
        if not existed:
            discard_run_dir(target)
        raise RunFolderError(
            f"cannot write {target}: only {free / 2**20:.0f} MB free on its drive (a run needs "
            f"{MIN_FREE_BYTES / 2**20:.0f} MB); {_fix_for('No space left')}"
        )
    return target


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _input_files(plan: RunPlan) -> list[Path]:
    files = {plan.params_file.resolve()}
    files.update(p.resolve() for p in config.PUBLISHED_DIR.glob("*") if p.is_file())
    files.update(nb.path.resolve() for nb in plan.notebooks)
    for nb in plan.notebooks:
        for value in notebook_values(plan, nb).values():
            if isinstance(value, str) and Path(value).suffix.lower() in _DATA_SUFFIXES:
                path = config.resolve_path(value)
                if path.is_file():
                    files.add(path.resolve())
    return sorted(files)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(config.PROJ_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(plan: RunPlan) -> dict:
    """Versions of Python, the package and every installed distribution; input checksums."""
    dists = sorted(
        {(d.metadata["Name"], d.version) for d in importlib.metadata.distributions()},
        key=lambda t: t[0].lower(),
    )

    return {
        "study_version": __version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "params_file": config.project_label(plan.params_file),
        "notebooks": [nb.name for nb in plan.notebooks],
        "inputs_sha256": {config.project_label(p): sha256(p) for p in _input_files(plan)},
        "packages": {name: version for name, version in dists},
    }


def _write_run_readme(run_dir: Path, plan: RunPlan, estimates) -> None:
    kinds = estimates["data_kind"].value_counts().to_dict() if len(estimates) else {}
    lines = [
        f"# Run `{run_dir.name}`",
        "",
        f"Parameters: `{plan.params_file.name}` (resolved copy in `params.yaml`).",
        f"Notebooks: {', '.join(nb.name for nb in plan.notebooks)}.",
        "",
        f"`estimates.csv` holds {len(estimates)} estimates by data kind: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
        + ".",
    ]
    if kinds.get("synthetic"):
        lines += [
            "",
            "**Estimates with data_kind = synthetic come from synthetic record-level data "
            "calibrated to the published aggregates. They demonstrate the method; they are "
            "not findings about Birmingham or Harrow.**",
        ]
    lines += [
        "",
        "Contents: `index.html` (start here), `notebooks/` (executed), `html/`, `figures/` "
        "(PNG, SVG), `estimates.csv`, "
        "`params.yaml`, `provenance.json`, `kernel.log` (what the kernels printed).",
        "",
    ]
    (run_dir / "README.md").write_text("\n".join(lines), encoding="utf-8")


_FS_ERRORS = ("OSError", "PermissionError", "FileNotFoundError", "NotADirectoryError")


def _is_run_folder_fault(outcome: dict, run_dir: Path) -> bool:
    """A notebook that failed because it could not write into the run folder (disk full,
    permissions), not because of the analysis."""
    return outcome.get("ename") in _FS_ERRORS and (
        str(run_dir.resolve()) in outcome["error"] or "No space left" in outcome["error"]
    )


def _write_outcome(
    run_dir: Path,
    plan: RunPlan,
    seconds: dict[str, float],
    marker: str = "",
    marker_text: str = "",
) -> int:
    """Write the run's estimates.csv (finished notebooks only), README.md and index.html, and
    the marker file (INTERRUPTED.txt or FAILED.txt) first if the run is incomplete. Returns the
    number of estimates."""
    from study.run.disclosure import write_disclosure_note
    from study.run.index_page import write_index  # the page reads this module's provenance
    from study.run.recorder import gather_estimates

    if marker:
        (run_dir / marker).write_text(marker_text, encoding="utf-8")
    finished = {nb.name for nb in plan.notebooks if nb.name in seconds}
    estimates = gather_estimates(run_dir, notebooks=finished if marker else None)
    estimates.to_csv(run_dir / "estimates.csv", index=False)
    write_disclosure_note(run_dir, estimates)
    _write_run_readme(run_dir, plan, estimates)
    write_index(run_dir)
    return len(estimates)


def interrupted_text(
    plan: RunPlan, seconds: dict[str, float], started: set[str], signal_name: str
) -> str:
    """INTERRUPTED.txt: what finished, what was stopped while running, what never started."""
    done = [nb.name for nb in plan.notebooks if nb.name in seconds]
    stopped = [nb.name for nb in plan.notebooks if nb.name in started and nb.name not in seconds]
    never = [nb.name for nb in plan.notebooks if nb.name not in started]
    lines = [
        f"interrupted by {signal_name}",
        f"finished: {', '.join(done) or 'none'} (their estimates are in estimates.csv)",
        f"stopped before finishing: {', '.join(stopped) or 'none'} "
        "(partial notebooks in notebooks/; their estimates and figures are left out)",
        f"not started: {', '.join(never) or 'none'}",
        "Run again for a complete report (a new run folder; this one is kept as it is).",
    ]
    return "\n".join(lines) + "\n"


def run_study(
    plan: RunPlan,
    run_dir: Path,
    on_done: Callable[[str, float], None] | None = None,
    jobs: int = 2,
) -> RunResult:
    """Execute the planned notebooks into `run_dir` and write the run's summary files.

    Notebooks are independent, so up to `jobs` run at once (worker processes, each with its own
    kernel). If a notebook errors, no further notebook is started, the partially executed
    notebook and FAILED.txt are kept, and NotebookFailed names the first failure in reading order.
    If the run is interrupted (`RunInterrupted`, raised by `signals.interrupts_raise` in the
    main thread), the workers and their kernels are stopped, INTERRUPTED.txt names what had
    finished, estimates.csv and index.html are written from the finished notebooks, and
    `RunInterrupted` is raised again with `.run_dir`, `.finished` and `.stopped` set.
    A run folder that cannot be written (permissions, full disk) raises RunFolderError.
    """
    import yaml

    from study.run.disclosure import write_rule

    if jobs < 1:
        raise StudyInputError(f"jobs must be at least 1, got {jobs}")
    try:
        (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
        (run_dir / "html").mkdir(exist_ok=True)
        resolved = {nb: dict(v) for nb, v in plan.parameters.items()}
        (run_dir / "params.yaml").write_text(
            yaml.safe_dump(
                {
                    "run_name": plan.run_name,
                    "params_file": str(plan.params_file),
                    "notebooks": resolved,
                },
                sort_keys=True,
            ),
            encoding="utf-8",
        )
        (run_dir / "provenance.json").write_text(
            json.dumps(provenance(plan), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        write_rule(run_dir, plan.disclosure_threshold)
        log = run_dir / "kernel.log"
        log.touch()
    except OSError as exc:
        raise RunFolderError.from_os_error(exc, run_dir) from None
    seconds: dict[str, float] = {}
    started: set[str] = set()
    failures: dict[str, NotebookFailed] = {}
    fault: dict | None = None
    context = multiprocessing.get_context("spawn")
    pool = None
    try:
        with signals_blocked():  # workers start with SIGINT blocked, then ignore it
            pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=quiet_worker, initargs=(str(log),)
            )
            futures = {}
            for nb in plan.notebooks:
                out_nb = run_dir / "notebooks" / nb.path.name
                params = {**plan.parameters[nb.name], "run_dir": str(run_dir.resolve())}
                html = run_dir / "html" / f"{nb.name}.html"
                job = (str(nb.path), str(out_nb), params, str(html))
                futures[pool.submit(execute_notebook, *job)] = nb
        for future in as_completed(futures):
            nb = futures[future]
            started.add(nb.name)
            outcome = future.result()
            if "error" in outcome:
                if _is_run_folder_fault(outcome, run_dir):
                    fault = fault or outcome
                kept = run_dir / "notebooks" / nb.path.name
                failures[nb.name] = NotebookFailed(nb.name, outcome["cell"], outcome["error"], kept)
                for other in futures:
                    other.cancel()
                continue
            seconds[nb.name] = outcome["seconds"]
            if on_done:
                on_done(nb.name, outcome["seconds"])
        pool.shutdown(wait=True)
        if fault is not None:
            raise RunFolderError(
                f"cannot write the run folder {run_dir}: {fault['error']}; "
                f"{_fix_for(fault['error'])}"
            )
        if failures:
            first = failures[min(failures)]
            text = "".join(f"{f}\n" for _, f in sorted(failures.items()))
            _write_outcome(run_dir, plan, seconds, "FAILED.txt", text)
            raise first
        n = _write_outcome(run_dir, plan, seconds)
    except RunInterrupted as stop:
        if pool is not None:
            stop_processes(list((pool._processes or {}).values()))
            pool.shutdown(wait=False, cancel_futures=True)
        started |= {
            nb.name for nb in plan.notebooks if (run_dir / "notebooks" / nb.path.name).exists()
        }
        stop.run_dir = run_dir
        stop.finished = [nb.name for nb in plan.notebooks if nb.name in seconds]
        stop.stopped = [n for n in sorted(started) if n not in seconds]
        try:
            _write_outcome(
                run_dir,
                plan,
                seconds,
                "INTERRUPTED.txt",
                interrupted_text(plan, seconds, started, stop.signal_name),
            )
        except (OSError, StudyInputError) as exc:
            stop.marking_error = str(exc)
        raise
    except OSError as exc:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise RunFolderError.from_os_error(exc, run_dir) from None
    ordered = {nb.name: seconds[nb.name] for nb in plan.notebooks}
    return RunResult(run_dir, [nb.name for nb in plan.notebooks], n, ordered)


def _fix_for(text: str) -> str:
    if "No space left" in text or "Disk quota" in text:
        return "free space on that drive, or choose a folder on another drive with --out DIR"
    return "make the folder writable, or choose another with --out DIR"


class RunFolderError(StudyInputError):
    """The run folder (or reports/) cannot be created or written: one line naming the path,
    the reason and the fix. The command exits 2 and removes what it had written."""

    @classmethod
    def from_os_error(cls, exc: OSError, where: Path) -> RunFolderError:
        path = exc.filename or where
        reason = exc.strerror or exc.__class__.__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = _fix_for("No space left")
        elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
            fix = "a file is in the way: remove it, or choose another folder with --out DIR"
        else:
            fix = _fix_for("")
        return cls(f"cannot write {path}: {reason}; {fix}")


def discard_run_dir(run_dir: Path, keep_folder: bool = False) -> None:
    """Remove a run folder this command created (its contents only if `keep_folder`): after a
    file-system fault nothing half-written is left behind."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    for child in run_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
    if not keep_folder:
        with contextlib.suppress(OSError):
            run_dir.rmdir()
