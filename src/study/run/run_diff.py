"""Compare two run folders: every estimate side by side, and what else differs between the runs.

Estimates are matched on their stable `key` (`study.run.keys`: notebook, site and what is
estimated, never the method or level text), so a run with another alpha, model family or number
of draws pairs every row with its counterpart; runs written before keys existed get theirs from
the same rule. The quantity and method texts are compared like the numbers. The study is
deterministic, so "same" means exactly equal: numbers are read with round-trip float parsing and
compared with `==`, never with a tolerance (a missing value equals a missing value). Parameters
(`params.yaml`, flattened to dotted keys), input checksums and package versions
(`provenance.json`) are compared key by key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from study import config
from study.errors import StudyInputError
from study.run.keys import KEY_COLUMN, estimate_keys
from study.run.recorder import REPORT_COLUMNS

LABEL_COLUMNS = ["notebook", "site", "quantity", "method"]  # shown; from A, else from B
NUMBER_COLUMNS = ["estimate", "ci_low", "ci_high", "level", "n", "p_value"]
TEXT_COLUMNS = [c for c in REPORT_COLUMNS if c not in NUMBER_COLUMNS]
COMPARED_COLUMNS = [
    *("quantity", "method", "estimate", "ci_low", "ci_high", "level", "n", "p_value"),
    *("data_kind", "source", "note"),
]
OPTIONAL_COLUMNS = ("source", "p_value")  # absent from runs written before they existed: ""
RUN_FILES = ("estimates.csv", "params.yaml", "provenance.json")
STATUSES = ("same", "changed", "only in A", "only in B")
DIFF_COLUMNS = [
    KEY_COLUMN,
    *LABEL_COLUMNS,
    "status",
    "a_estimate",
    "b_estimate",
    "change",
    "relative_change",
    "a_ci_low",
    "a_ci_high",
    "b_ci_low",
    "b_ci_high",
    "ci_overlap",
    "a_data_kind",
    "b_data_kind",
    "changed_fields",
]
SETTING_COLUMNS = ["key", "a", "b", "status"]


@dataclass(frozen=True)
class RunFolder:
    """What a comparison reads from a run folder."""

    path: Path
    estimates: pd.DataFrame
    params: dict
    provenance: dict
    incomplete: str = ""  # why the run is incomplete (INTERRUPTED.txt / FAILED.txt), else ""


@dataclass(frozen=True)
class RunComparison:
    """Run A against run B: estimates (DIFF_COLUMNS) and settings that differ (SETTING_COLUMNS)."""

    estimates: pd.DataFrame
    parameters: pd.DataFrame
    inputs: pd.DataFrame
    packages: pd.DataFrame
    provenance: pd.DataFrame

    def status_counts(self) -> dict[str, int]:
        """Number of estimate rows in each status (STATUSES order)."""
        return {s: int((self.estimates["status"] == s).sum()) for s in STATUSES}


def _number(text: str) -> float:
    return float(text) if text else float("nan")


def read_estimates(path: Path) -> pd.DataFrame:
    """Read a run's `estimates.csv` exactly: numbers parsed by `float` (exact round trip of the
    written text), empty numbers missing, empty text kept as ""."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StudyInputError(
            f"{path}: not a readable estimates table ({exc.__class__.__name__})"
        ) from None
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    missing = [c for c in REPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise StudyInputError(f"{path}: missing column(s) {missing}")
    for column in NUMBER_COLUMNS:
        values = []
        for row, text in enumerate(frame[column], start=1):
            try:
                values.append(_number(text))
            except ValueError:
                raise StudyInputError(
                    f"{path} data row {row}, column '{column}': {text!r} is not a number"
                ) from None
        frame[column] = pd.Series(values, index=frame.index, dtype=float)
    if KEY_COLUMN not in frame.columns:  # a run written before keys existed
        frame.insert(0, KEY_COLUMN, estimate_keys(frame))
    repeated = frame[KEY_COLUMN].duplicated()
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0]) + 1
        raise StudyInputError(
            f"{path} data row {row}, column '{KEY_COLUMN}': key "
            f"{frame[KEY_COLUMN].iloc[row - 1]!r} repeats an earlier row (keys are unique)"
        )
    return frame


MARKERS = ("INTERRUPTED.txt", "FAILED.txt")  # what an incomplete run folder holds


def incomplete_note(path: Path) -> str:
    """One line saying why a run folder is incomplete (from its marker file), or ""."""
    for name in MARKERS:
        marker = Path(path) / name
        if marker.is_file():
            lines = [x.strip() for x in marker.read_text(encoding="utf-8").splitlines()]
            kept = [x for x in lines if x and not x.startswith("Run again")]
            if name == "INTERRUPTED.txt" and kept:
                return f"incomplete run ({kept[0]}): " + "; ".join(kept[1:])
            return f"incomplete run ({name}): " + "; ".join(kept)
    return ""


def load_run(path: Path) -> RunFolder:
    """Read a run folder written by `study run` (StudyInputError if it is not one); an
    interrupted or failed run is read too, with `incomplete` saying so."""
    path = Path(path)
    if not path.is_dir():
        raise StudyInputError(f"{path}: not a run folder (no such folder)")
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing and (path / "params.yaml").is_file():
        raise StudyInputError(
            f"{path}: an unfinished run folder (missing {', '.join(missing)}): the run stopped "
            "before writing its summary (killed, or from an older version); run it again"
        )
    if missing:
        raise StudyInputError(f"{path}: not a run folder (missing {', '.join(missing)})")
    try:
        params = yaml.safe_load((path / "params.yaml").read_text(encoding="utf-8")) or {}
        provenance = json.loads((path / "provenance.json").read_text(encoding="utf-8"))
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        where = exc.__class__.__name__
        raise StudyInputError(
            f"{path}: unreadable params.yaml or provenance.json ({where})"
        ) from None
    if not isinstance(params, dict) or not isinstance(provenance, dict):
        raise StudyInputError(f"{path}: params.yaml and provenance.json must be mappings")
    estimates = read_estimates(path / "estimates.csv")
    return RunFolder(path, estimates, params, provenance, incomplete_note(path))


def ci_overlap(a_low, a_high, b_low, b_high) -> pd.Series:
    """Whether closed intervals [a_low, a_high] and [b_low, b_high] share a point (touching
    counts); missing where any bound is missing."""
    bounds = [np.asarray(x, dtype=float) for x in (a_low, a_high, b_low, b_high)]
    with np.errstate(invalid="ignore"):
        overlap = np.maximum(bounds[0], bounds[2]) <= np.minimum(bounds[1], bounds[3])
    missing = np.isnan(bounds).any(axis=0)
    return pd.Series(overlap, dtype="boolean").mask(missing)


def _equal(a: pd.Series, b: pd.Series) -> pd.Series:
    """Exact equality, with missing == missing."""
    return (a == b) | (a.isna() & b.isna())


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[KEY_COLUMN, *LABEL_COLUMNS, *COMPARED_COLUMNS]].copy()
    out = out.loc[:, ~out.columns.duplicated()]
    out["order"] = np.arange(len(out))
    return out


def compare_estimates(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Every estimate of runs A and B side by side (DIFF_COLUMNS): A's rows in A's order, then
    the rows only in B in B's order.

    `change` = B - A, `relative_change` = (B - A) / |A| (0 when both are 0, missing when only A
    is 0); `changed_fields` names the compared columns that are not exactly equal.
    """
    a, b = (f if KEY_COLUMN in f else f.assign(**{KEY_COLUMN: estimate_keys(f)}) for f in (a, b))
    merged = pd.merge(
        _labelled(a).add_prefix("a_").rename(columns={f"a_{KEY_COLUMN}": KEY_COLUMN}),
        _labelled(b).add_prefix("b_").rename(columns={f"b_{KEY_COLUMN}": KEY_COLUMN}),
        on=KEY_COLUMN,
        how="outer",
        indicator=True,
    )
    for column in LABEL_COLUMNS:
        merged[column] = merged[f"a_{column}"].where(
            merged["_merge"] != "right_only", merged[f"b_{column}"]
        )
    merged = merged.sort_values(["b_order"]).sort_values(["a_order"], kind="stable")
    merged = merged.reset_index(drop=True)
    in_both = merged["_merge"] == "both"
    differs = {c: in_both & ~_equal(merged[f"a_{c}"], merged[f"b_{c}"]) for c in COMPARED_COLUMNS}
    changed_fields = [
        ";".join(c for c in COMPARED_COLUMNS if differs[c].iloc[i]) for i in range(len(merged))
    ]
    status = np.select(
        [merged["_merge"] == "left_only", merged["_merge"] == "right_only"],
        ["only in A", "only in B"],
        default="same",
    )
    status = np.where(in_both & (pd.Series(changed_fields) != ""), "changed", status)
    a_est, b_est = merged["a_estimate"].astype(float), merged["b_estimate"].astype(float)
    change = b_est - a_est
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(a_est != 0, change / a_est.abs(), np.where(change == 0, 0.0, np.nan))
    out = merged.assign(
        status=status,
        change=change,
        relative_change=relative,
        ci_overlap=ci_overlap(
            merged["a_ci_low"], merged["a_ci_high"], merged["b_ci_low"], merged["b_ci_high"]
        ),
        changed_fields=changed_fields,
    )
    return out[DIFF_COLUMNS]


def flatten(mapping: Mapping, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys (`notebooks.01_x.alpha`); lists, scalars and empty
    mappings are leaves."""
    flat: dict[str, object] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def setting_text(value: object) -> str:
    """A setting as shown: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else _canonical(value)


def compare_mappings(a: Mapping[str, object], b: Mapping[str, object]) -> pd.DataFrame:
    """Keys whose values differ (SETTING_COLUMNS), sorted by key; status added (only in B),
    removed (only in A) or changed. Values are compared as canonical JSON, so 1 and 1.0 and "1"
    all differ."""
    rows = []
    for key in sorted(set(a) | set(b)):
        a_text = setting_text(a[key]) if key in a else ""
        b_text = setting_text(b[key]) if key in b else ""
        if key not in b:
            rows.append((key, a_text, b_text, "removed"))
        elif key not in a:
            rows.append((key, a_text, b_text, "added"))
        elif _canonical(a[key]) != _canonical(b[key]):
            rows.append((key, a_text, b_text, "changed"))
    return pd.DataFrame(rows, columns=SETTING_COLUMNS)


def compare_runs(a: RunFolder, b: RunFolder) -> RunComparison:
    """Compare run A with run B: estimates, parameters, input checksums, packages, provenance.

    `params.yaml`'s `params_file` (the path as typed on the command line) is left out of the
    parameters; the provenance compares it normalised to the project root.
    """
    listed = {"inputs_sha256", "packages"}
    return RunComparison(
        estimates=compare_estimates(a.estimates, b.estimates),
        parameters=compare_mappings(*(_parameters(run.params) for run in (a, b))),
        inputs=compare_mappings(
            a.provenance.get("inputs_sha256", {}), b.provenance.get("inputs_sha256", {})
        ),
        packages=compare_mappings(
            a.provenance.get("packages", {}), b.provenance.get("packages", {})
        ),
        provenance=compare_mappings(
            *({k: v for k, v in run.provenance.items() if k not in listed} for run in (a, b))
        ),
    )


def _parameters(params: dict) -> dict[str, object]:
    return flatten({k: v for k, v in params.items() if k != "params_file"})


def default_diff_path(a: Path, b: Path, reports: Path | None = None) -> Path:
    """`reports/diffs/<A>__vs__<B>.csv` (default `config.REPORTS_DIR`), outside both runs."""
    folder = (config.REPORTS_DIR if reports is None else reports) / "diffs"
    return folder / f"{Path(a).resolve().name}__vs__{Path(b).resolve().name}.csv"


def check_diff_path(path: Path, runs: tuple[Path, ...]) -> None:
    """The diff file must not be a folder nor lie inside a run folder (runs are never modified)."""
    target = Path(path).resolve()
    for run in runs:
        if target.is_relative_to(Path(run).resolve()):
            raise StudyInputError(f"--out {path}: inside run folder {run}; run folders are kept")
    if target.is_dir():
        raise StudyInputError(f"--out {path}: is a folder; give a .csv file name")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV (no index) atomically."""
    write_text_atomic(path, frame.to_csv(index=False))
