"""Comparing run folders: exact matching of estimates, settings that differ, `study diff`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from study import config
from study.errors import StudyInputError
from study.run.cli import app
from study.run.recorder import REPORT_COLUMNS
from study.run.run_diff import (
    DIFF_COLUMNS,
    ci_overlap,
    compare_estimates,
    compare_mappings,
    compare_runs,
    default_diff_path,
    flatten,
    load_run,
    read_estimates,
)

runner = CliRunner()
NAN = float("nan")


def est(quantity: str, estimate: float, lo: float = 0.0, hi: float = 1.0, **extra) -> dict:
    row = dict(
        site="harrow",
        notebook="01_x",
        quantity=quantity,
        estimate=estimate,
        ci_low=lo,
        ci_high=hi,
        level=0.95,
        method="Wilson score",
        n=100.0,
        data_kind="published",
        source="data/a.csv",
        note="",
    )
    return {**row, **extra}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=REPORT_COLUMNS)


def make_run(
    folder: Path,
    rows: list[dict],
    params: dict | None = None,
    inputs: dict | None = None,
    packages: dict | None = None,
) -> Path:
    """A hand-made run folder with the three files a comparison reads."""
    folder.mkdir(parents=True)
    frame(*rows).to_csv(folder / "estimates.csv", index=False)
    params = params or {"run_name": "t", "notebooks": {"01_x": {"alpha": 0.05}}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    provenance = {
        "git_commit": "abc",
        "inputs_sha256": inputs or {"data/a.csv": "1" * 64},
        "notebooks": ["01_x"],
        "packages": packages or {"pandas": "3.1.1"},
        "params_file": "params/t.yaml",
        "python": "3.11.7",
    }
    (folder / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ---- estimates ----------------------------------------------------------------------------


def test_identical_tables_are_all_same():
    a = frame(est("p", 0.7, 0.6, 0.8), est("q", 0.1, NAN, NAN))
    out = compare_estimates(a, a.copy())
    assert list(out.columns) == DIFF_COLUMNS
    assert out["status"].tolist() == ["same", "same"]
    assert out["change"].tolist() == [0.0, 0.0]
    assert out["relative_change"].tolist() == [0.0, 0.0]
    assert out["changed_fields"].tolist() == ["", ""]
    assert out["ci_overlap"].iloc[0] and pd.isna(out["ci_overlap"].iloc[1])


def test_one_ulp_is_a_change_no_tolerance():
    x = 0.7000668002672011
    bumped = float(np.nextafter(x, 1.0))
    out = compare_estimates(frame(est("p", x)), frame(est("p", bumped)))
    row = out.iloc[0]
    assert row["status"] == "changed"
    assert row["changed_fields"] == "estimate"
    assert row["change"] == bumped - x > 0
    assert row["relative_change"] == pytest.approx((bumped - x) / x)


def test_changed_interval_kind_and_note_are_named():
    a = frame(est("p", 0.5, 0.4, 0.6))
    b = frame(est("p", 0.5, 0.4, 0.65, data_kind="synthetic", note="n = 100"))
    row = compare_estimates(a, b).iloc[0]
    assert row["status"] == "changed"
    assert row["changed_fields"] == "ci_high;data_kind;note"
    assert (row["a_data_kind"], row["b_data_kind"]) == ("published", "synthetic")
    assert row["change"] == 0.0


def test_rows_only_in_one_run_and_their_order():
    a = frame(est("kept", 1.0), est("dropped", 2.0), est("kept too", 3.0))
    b = frame(est("new", 9.0), est("kept", 1.0), est("kept too", 3.5))
    out = compare_estimates(a, b)
    assert out["quantity"].tolist() == ["kept", "dropped", "kept too", "new"]
    assert out["status"].tolist() == ["same", "only in A", "changed", "only in B"]
    dropped, new = out.iloc[1], out.iloc[3]
    assert dropped["a_estimate"] == 2.0 and math.isnan(dropped["b_estimate"])
    assert math.isnan(new["a_estimate"]) and new["b_estimate"] == 9.0
    assert pd.isna(dropped["ci_overlap"]) and pd.isna(new["ci_overlap"])
    assert math.isnan(dropped["change"]) and dropped["changed_fields"] == ""
    assert out.iloc[2]["change"] == 0.5


def test_key_includes_site_and_the_method_of_a_quantity_given_by_several():
    a = frame(est("p", 1.0), est("p", 1.0, method="Katz log"))
    b = frame(
        est("p", 1.0, site="birmingham"), est("p", 1.0), est("p", 1.0, method="Katz log (90%)")
    )
    out = compare_estimates(a, b)
    assert sorted(zip(out["key"], out["status"], strict=True)) == [
        ("01_x/birmingham/p", "only in B"),
        ("01_x/harrow/p/katz-log", "changed"),  # the method text changed, not its name
        ("01_x/harrow/p/wilson-score", "same"),
    ]
    assert out.loc[out["key"] == "01_x/harrow/p/katz-log", "changed_fields"].item() == "method"


def test_rows_match_on_key_whatever_their_level_and_method_text():
    """alpha 0.05 -> 0.1 changes level, limits and method text; the rows still pair up."""
    a = frame(est("p", 0.5, 0.4, 0.6, method="Goodman simultaneous 95%"))
    b = frame(est("p", 0.5, 0.42, 0.58, method="Goodman simultaneous 90%", level=0.9))
    out = compare_estimates(a, b)
    assert out["status"].tolist() == ["changed"]
    assert out["changed_fields"].item() == "method;ci_low;ci_high;level"
    assert out["method"].item() == "Goodman simultaneous 95%"  # A's label


def test_repeated_keys_are_matched_in_row_order():
    a = frame(est("dup", 1.0), est("other", 5.0), est("dup", 2.0))
    b = frame(est("dup", 1.0), est("dup", 3.0), est("dup", 4.0), est("other", 5.0))
    out = compare_estimates(a, b)
    dup = out[out["quantity"] == "dup"]
    base = "01_x/harrow/dup/wilson-score"
    assert dup["key"].tolist() == [base, f"{base}~2", f"{base}~3"]
    assert dup["status"].tolist() == ["same", "changed", "only in B"]
    assert dup["a_estimate"].tolist()[:2] == [1.0, 2.0]
    assert dup["b_estimate"].tolist() == [1.0, 3.0, 4.0]
    assert out.loc[out["quantity"] == "other", "status"].tolist() == ["same"]


def test_a_run_file_with_a_repeated_key_is_refused(tmp_path):
    rows = frame(est("p", 1.0), est("q", 2.0))
    rows.insert(0, "key", ["k", "k"])
    rows.to_csv(tmp_path / "estimates.csv", index=False)
    with pytest.raises(StudyInputError, match=r"data row 2, column 'key': key 'k' repeats"):
        read_estimates(tmp_path / "estimates.csv")


def test_relative_change_against_zero_and_negative_values():
    a = frame(est("zero both", 0.0), est("zero A", 0.0), est("negative", -2.0))
    b = frame(est("zero both", 0.0), est("zero A", 1.0), est("negative", -1.0))
    rel = compare_estimates(a, b)["relative_change"].tolist()
    assert rel[0] == 0.0 and math.isnan(rel[1]) and rel[2] == 0.5


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.0, 1.0), (1.0, 2.0), True),  # touching at 1.0: closed intervals share it
        ((1.0, 2.0), (0.0, 1.0), True),  # touching from the other side
        ((0.0, 1.0), (float(np.nextafter(1.0, 2.0)), 2.0), False),  # one ulp apart
        ((0.0, 10.0), (2.0, 3.0), True),  # nested
        ((0.2, 0.3), (0.2, 0.3), True),  # identical
        ((0.0, 0.0), (0.0, 0.0), True),  # degenerate, same point
        ((-3.0, -2.0), (2.0, 3.0), False),  # disjoint
        ((NAN, 1.0), (0.0, 2.0), None),  # a missing bound: unknown
        ((0.0, 1.0), (0.0, NAN), None),
    ],
)
def test_ci_overlap_boundaries(a, b, expected):
    result = ci_overlap([a[0]], [a[1]], [b[0]], [b[1]]).iloc[0]
    assert pd.isna(result) if expected is None else bool(result) is expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_estimates_csv_round_trip_is_exact(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("rt") / "estimates.csv"
    frame(*(est(f"q{i}", v) for i, v in enumerate(values))).to_csv(path, index=False)
    back = read_estimates(path)["estimate"].to_numpy()
    original = np.array(values, dtype=float)
    assert np.array_equal(back, original, equal_nan=True)
    numbers = ~np.isnan(original)
    assert np.array_equal(np.signbit(back[numbers]), np.signbit(original[numbers]))  # -0.0


# ---- settings -------------------------------------------------------------------------------


def test_flatten_makes_dotted_keys_and_keeps_lists_and_empty_mappings():
    nested = {"a": {"b": {"c": 1}, "d": [1, 2], "e": {}}, "f": "x"}
    assert flatten(nested) == {"a.b.c": 1, "a.d": [1, 2], "a.e": {}, "f": "x"}


def test_compare_mappings_lists_added_removed_and_changed_keys_exactly():
    a = {"same": 1, "gone": "x", "int_vs_float": 1, "text": "1", "list": [1, 2]}
    b = {"same": 1, "new": True, "int_vs_float": 1.0, "text": 1, "list": [1, 2, 3]}
    out = compare_mappings(a, b)
    assert out.to_dict("records") == [
        {"key": "gone", "a": "x", "b": "", "status": "removed"},
        {"key": "int_vs_float", "a": "1", "b": "1.0", "status": "changed"},
        {"key": "list", "a": "[1, 2]", "b": "[1, 2, 3]", "status": "changed"},
        {"key": "new", "a": "", "b": "true", "status": "added"},
        {"key": "text", "a": "1", "b": "1", "status": "changed"},
    ]
    assert compare_mappings(a, dict(a)).empty


def test_compare_runs_reports_parameters_inputs_and_packages(tmp_path):
    rows = [est("p", 0.5)]
    a = make_run(
        tmp_path / "A",
        rows,
        params={"run_name": "t", "params_file": "/abs/p.yaml", "notebooks": {"01_x": {"n": 1}}},
        inputs={"data/kept.csv": "1" * 64, "data/edited.csv": "2" * 64, "data/gone.csv": "3" * 64},
        packages={"pandas": "3.1.1", "numpy": "2.4.6"},
    )
    b = make_run(
        tmp_path / "B",
        rows,
        params={"run_name": "t", "params_file": "p.yaml", "notebooks": {"01_x": {"n": 2}}},
        inputs={"data/kept.csv": "1" * 64, "data/edited.csv": "4" * 64, "data/new.csv": "5" * 64},
        packages={"pandas": "3.1.2", "numpy": "2.4.6"},
    )
    result = compare_runs(load_run(a), load_run(b))
    assert result.status_counts() == {"same": 1, "changed": 0, "only in A": 0, "only in B": 0}
    assert result.parameters[["key", "a", "b", "status"]].values.tolist() == [
        ["notebooks.01_x.n", "1", "2", "changed"]
    ]  # the params_file path as typed is not a parameter
    assert dict(zip(result.inputs["key"], result.inputs["status"], strict=True)) == {
        "data/edited.csv": "changed",
        "data/gone.csv": "removed",
        "data/new.csv": "added",
    }
    assert result.packages.values.tolist() == [["pandas", "3.1.1", "3.1.2", "changed"]]
    assert result.provenance.empty


# ---- run folders and the command line -------------------------------------------------------


def test_load_run_rejects_folders_that_are_not_runs(tmp_path):
    with pytest.raises(StudyInputError, match="not a run folder \\(no such folder\\)"):
        load_run(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "estimates.csv").write_text("x\n")
    with pytest.raises(StudyInputError) as info:
        load_run(tmp_path / "half")
    assert "not a run folder (missing params.yaml, provenance.json)" in str(info.value)
    assert "\n" not in str(info.value)


def test_non_numeric_estimate_names_the_row_and_column(tmp_path):
    run = make_run(tmp_path / "A", [est("p", 0.5), est("q", 0.6)])
    text = (run / "estimates.csv").read_text().replace("0.6,", "six,", 1)
    (run / "estimates.csv").write_text(text)
    with pytest.raises(StudyInputError, match="data row 2, column 'estimate': 'six' is not"):
        load_run(run)


def test_diff_command_rejects_a_non_run_folder_with_exit_2(tmp_path):
    run = make_run(tmp_path / "A", [est("p", 0.5)])
    out = tmp_path / "d.csv"
    result = runner.invoke(
        app, ["diff", str(run), str(tmp_path), "--out", str(out)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a run folder (missing estimates.csv" in lines[0]
    assert not out.exists()


def test_diff_command_writes_the_default_csv_and_never_touches_the_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path / "reports")
    a = make_run(tmp_path / "reports" / "run-A", [est("p", 0.5), est("gone", 1.0)])
    b = make_run(
        tmp_path / "reports" / "run-B",
        [est("p", 0.25, 0.1, 0.3), est("new", 2.0)],
        packages={"pandas": "9.9"},
    )
    before = snapshot(a), snapshot(b)
    result = runner.invoke(app, ["diff", str(a), str(b)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    target = default_diff_path(a, b)
    assert target == tmp_path / "reports" / "diffs" / "run-A__vs__run-B.csv"
    written = pd.read_csv(target, keep_default_na=False)
    assert list(written.columns) == DIFF_COLUMNS
    assert written["status"].tolist() == ["changed", "only in A", "only in B"]
    assert (snapshot(a), snapshot(b)) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp file left
    summary = result.output.strip().splitlines()[-1]
    assert "3 estimates: 0 same, 1 changed, 1 only in A, 1 only in B" in summary
    assert "1 package difference(s)" in summary
    assert "pandas" in result.output and "9.9" in result.output


def test_diff_changed_prints_only_the_estimates_that_differ(tmp_path):
    a = make_run(tmp_path / "A", [est("kept", 0.5), est("moved", 0.5)])
    b = make_run(tmp_path / "B", [est("kept", 0.5), est("moved", 0.6)])
    out = tmp_path / "d.csv"
    result = runner.invoke(
        app, ["diff", str(a), str(b), "--out", str(out), "--changed"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "moved" in result.output and "kept" not in result.output
    assert pd.read_csv(out)["quantity"].tolist() == ["kept", "moved"]  # the CSV has them all


def test_diff_command_refuses_to_write_inside_a_run_folder(tmp_path):
    a = make_run(tmp_path / "A", [est("p", 0.5)])
    b = make_run(tmp_path / "B", [est("p", 0.5)])
    before = snapshot(b)
    result = runner.invoke(app, ["diff", str(a), str(b), "--out", str(b / "diff.csv")])
    assert result.exit_code == 2
    assert "inside run folder" in result.output
    assert snapshot(b) == before


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
def test_a_rerun_with_the_same_inputs_and_seed_shows_no_difference(run_01, tmp_path):
    """Determinism: `study run --only 01` twice (the first is the shared `run_01`), then
    `study diff` -> nothing differs."""
    runs = [run_01, tmp_path / "run"]
    result = runner.invoke(app, ["run", "--only", "01", "--out", str(runs[1])])
    assert result.exit_code == 0, result.output
    out = tmp_path / "diff.csv"
    result = runner.invoke(
        app, ["diff", *map(str, runs), "--out", str(out)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    comparison = compare_runs(*map(load_run, runs))
    counts = comparison.status_counts()
    assert counts["same"] == len(read_estimates(runs[0] / "estimates.csv")) > 0
    assert counts["changed"] == counts["only in A"] == counts["only in B"] == 0
    assert comparison.parameters.empty and comparison.inputs.empty
    assert comparison.packages.empty and comparison.provenance.empty
    assert (pd.read_csv(out)["status"] == "same").all()
    # the index pages of the two runs (same folder name) are byte-identical, too
    assert (runs[0] / "index.html").read_bytes() == (runs[1] / "index.html").read_bytes()


def test_runs_written_before_the_source_column_still_compare(tmp_path):
    run = make_run(tmp_path / "A", [est("p", 0.5)])
    frame = pd.read_csv(run / "estimates.csv").drop(columns=["source"])
    frame.to_csv(run / "estimates.csv", index=False)
    assert load_run(run).estimates["source"].tolist() == [""]
