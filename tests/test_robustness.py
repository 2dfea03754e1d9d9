"""Careless input through the command line: `study validate` and `study run` on wrong
dialects, wrong sheets, wrong kinds, near misses, dates out of range, empty extracts, folders and
a 200,000-row extract with one repeated mistake.

Every case asserts the exit code, no traceback and that the inputs are left byte-identical
(and nothing is written beside them). The wording cases assert that the command prints exactly
what `study.data.records.check_file` says (`.text`, `.full_text`, `.summary`), so validate and
run word problems the same way; timings are measured by benchmarks/bench_validate.py, not
asserted here.

The commands run in this process with 80-column consoles (`cli_helpers.invoke`; an exception
escaping a command fails the test); `test_all_lists_every_problem` and
`test_run_says_a_folder_is_a_folder` run `python -m study` in a subprocess (COLUMNS=80), so the
real entry point is covered for both commands.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, study_process

from study.config import SYNTHETIC_DIR
from study.data.records import check_file

FIXTURES = Path(__file__).parent / "fixtures" / "records"
GOOD = FIXTURES / "good_conversations.csv"


def study_cli(*args: object) -> tuple[int, list[str]]:
    """`study ARGS` in this process, on 80-column consoles: (exit code, output lines)."""
    return invoke(*args, width=80)


def snapshot(folder: Path) -> dict[str, str]:
    """Name → sha256 of every file under `folder` (to show inputs are untouched)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def no_traceback(lines: list[str]) -> bool:
    return not any("Traceback" in line or line.startswith("  File ") for line in lines)


# --------------------------------------------------------------------------------------------
# The careless inputs (each written into its own folder)


def _good() -> pd.DataFrame:
    return pd.read_csv(GOOD, dtype=str, keep_default_na=False)


def _semicolon(folder: Path) -> Path:
    path = folder / "conversations.csv"
    _good().to_csv(path, sep=";", index=False)
    return path


def _semicolon_decimal_comma(folder: Path) -> Path:
    path = folder / "reviews.csv"
    path.write_bytes((FIXTURES / "semicolon_reviews.csv").read_bytes())
    return path


def _second_sheet(folder: Path) -> Path:
    path = folder / "extract.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"About this extract": ["exported 2021-05-01"]}).to_excel(
            book, sheet_name="Notes", index=False
        )
        _good().to_excel(book, sheet_name="Data", index=False)
    return path


def _copy(name: str):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes((FIXTURES / name).read_bytes())
        return path

    return make


def _blank_rows(folder: Path) -> Path:
    path = folder / "weekly.csv"
    path.write_text("week_start,site,series,count\n" + ",,,\n" * 300)
    return path


def _folder(folder: Path) -> Path:
    target = folder / "extract.csv"
    target.mkdir()
    return target


def _latin1(folder: Path) -> Path:
    path = folder / "weekly.csv"
    path.write_bytes("week_start,site,series,count\n2020-01-06,h\xe9rrow,x,3\n".encode("latin-1"))
    return path


def _unknown(folder: Path) -> Path:
    path = folder / "extract.csv"
    path.write_text("person_id,team,review_start\nP1,innovation_site_3,2020-08-03\n")
    return path


# name: (make input, extra arguments, exit code of `study validate`)
CASES = {
    "near miss site (Harrow, harow)": (_copy("near_miss_site.csv"), (), 2),
    "semicolon-delimited": (_semicolon, (), 0),
    "semicolon, decimal comma": (_semicolon_decimal_comma, (), 2),
    "data on the second sheet": (_second_sheet, (), 2),
    "data on the second sheet, --kind": (_second_sheet, ("--kind", "conversations"), 2),
    "dates in the future and before 2000": (_copy("future_date.csv"), (), 2),
    "header only": (_copy("header_only.csv"), (), 2),
    "blank rows only": (_blank_rows, (), 2),
    "a folder": (_folder, ("--kind", "conversations"), 2),
    "no such file": (lambda folder: folder / "nope.csv", ("--kind", "weekly"), 2),
    "wrong --kind": (_copy("good_conversations.csv"), ("--kind", "weekly"), 2),
    "kind cannot be told": (_unknown, (), 2),
    "corrupt workbook": (_copy("corrupt.xlsx"), ("--kind", "conversations"), 2),
    "unsupported type": (_copy("wrong_type.txt"), (), 2),
    "not UTF-8": (_latin1, (), 2),
}


def _make(tmp_path: Path, name: str) -> tuple[Path, tuple[str, ...], int, Path]:
    make, extra, code = CASES[name]
    folder = tmp_path / "in"
    folder.mkdir()
    return make(folder), extra, code, folder


def _library_check(path: Path, extra: tuple[str, ...]):
    opts = dict(zip(extra[::2], extra[1::2], strict=True))
    return check_file(path, opts.get("--kind"), opts.get("--sheet"))


@pytest.fixture(scope="module")
def validate_runs(tmp_path_factory):
    """`study validate` once per case (shared by the two tests below)."""
    cache: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in cache:
            path, extra, code, folder = _make(tmp_path_factory.mktemp("case"), name)
            before, names = snapshot(folder), sorted(p.name for p in folder.iterdir())
            got, lines = study_cli("validate", path, *extra)
            cache[name] = {
                "path": path, "extra": extra, "code": code, "got": got, "lines": lines,
                "untouched": snapshot(folder) == before,
                "nothing_added": sorted(p.name for p in folder.iterdir()) == names,
            }  # fmt: skip
        return cache[name]

    return run


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_exits_cleanly_and_leaves_the_input_alone(validate_runs, name):
    run = validate_runs(name)
    assert run["got"] == run["code"], run["lines"]
    assert no_traceback(run["lines"]), run["lines"]
    assert run["untouched"] and run["nothing_added"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_prints_the_record_check_text(validate_runs, name):
    run = validate_runs(name)
    expected = _library_check(run["path"], run["extra"]).text.splitlines()
    assert run["lines"] == expected
    assert len(run["lines"]) < 50


def test_library_words_the_careless_inputs(tmp_path):
    """What the commands are to print, checked through the public API (no wiring needed)."""
    said = {}
    for name in CASES:
        case = tmp_path / name.replace(" ", "_").replace("/", "_")
        case.mkdir()
        path, extra, code, _ = _make(case, name)
        check = _library_check(path, extra)
        assert check.valid == (code == 0), (name, check.text)
        assert "\n" not in check.summary and len(check.text.splitlines()) < 50
        said[name] = check.text
    assert "semicolon-delimited" in said["semicolon-delimited"]
    assert "(decimal comma? write 250.50)" in said["semicolon, decimal comma"]
    assert (
        "(sheets: 'Notes', 'Data'; 'Data' looks like conversations)"
        in said["data on the second sheet"]
    )
    assert (
        "row 3, column request_date: date is in the future"
        in said["dates in the future and before 2000"]
    )
    assert (
        "row 4, column request_date: date is before 2000-01-01"
        in said["dates in the future and before 2000"]
    )
    assert said["header only"].endswith("no records: the file has a header but no data rows")
    assert said["blank rows only"].endswith("no records: all 300 data rows are empty")
    assert said["a folder"].endswith("is a folder, not a file")
    assert "is this a conversations file?" in said["wrong --kind"]
    assert "closest to reviews (3 of 9 required columns" in said["kind cannot be told"]
    assert "(did you mean 'harrow'?) ×6" in said["near miss site (Harrow, harow)"]


# --------------------------------------------------------------------------------------------
# The options: --sheet, --all, --report (the report must never overwrite the input)


def test_sheet_option_picks_the_sheet(tmp_path):
    path, _, _, folder = _make(tmp_path, "data on the second sheet")
    before = snapshot(folder)
    for sheet in ("Data", "2"):
        code, lines = study_cli("validate", path, "--sheet", sheet)
        assert code == 0 and lines == [f"{path}: valid (conversations, 4 records, sheet 'Data')"]
    code, lines = study_cli("validate", path, "--sheet", "Summary")
    assert code == 2 and len(lines) == 1 and "sheets: 'Notes', 'Data'" in lines[0]
    assert snapshot(folder) == before


def test_all_lists_every_problem(tmp_path):
    path, _, _, _ = _make(tmp_path, "near miss site (Harrow, harow)")
    code, lines = study_process("validate", path, "--all")  # the real entry point
    assert code == 2 and no_traceback(lines)
    assert lines == check_file(path).full_text.splitlines()
    assert len(lines) == 1 + 8


def test_report_writes_every_problem_and_refuses_to_overwrite_the_input(tmp_path):
    path, _, _, folder = _make(tmp_path, "near miss site (Harrow, harow)")
    before = snapshot(folder)
    report = tmp_path / "out" / "problems.csv"
    report.parent.mkdir()
    code, lines = study_cli("validate", path, "--report", report)
    assert code == 2 and lines[-1] == f"wrote {report} (8 problems)"
    written = pd.read_csv(report, dtype={"row": "Int64"}, keep_default_na=False)
    expected = check_file(path).problems
    assert written["problem"].tolist() == expected["problem"].tolist()
    assert written["row"].tolist() == expected["row"].tolist()
    for target, words in [
        (path, "is the file being checked"),
        (tmp_path / "missing" / "problems.csv", "does not exist"),
        (tmp_path / "out", "is a folder"),
    ]:
        code, lines = study_cli("validate", path, "--report", target)
        assert code == 2 and len(lines) == 1 and words in lines[0], lines
    assert snapshot(folder) == before


# --------------------------------------------------------------------------------------------
# 200,000 records with one repeated mistake: fast, short, one line in `study run`


def _repeated_mistake(path: Path, n: int = 200_000) -> Path:
    base = pd.read_csv(
        SYNTHETIC_DIR / "conversations_synthetic.csv", dtype=str, keep_default_na=False
    )
    df = pd.concat([base] * -(-n // len(base)), ignore_index=True).head(n)
    df["episode_id"] = pd.Series(np.arange(1, n + 1)).map("E{:07d}".format)
    df["site"] = "Harrow"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def big_extract(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    return _repeated_mistake(folder / "conversations.csv")


@pytest.fixture(scope="module")
def big_check(big_extract):
    """`check_file` on the 200,000-row extract, kind inferred (about 1.5 s, so once)."""
    return check_file(big_extract)


@pytest.mark.slow  # CI tier (make test-slow): a 200,000-row extract
def test_200k_rows_one_mistake_library_is_short(big_check):
    check = big_check
    text = check.text
    assert len(check.problems) == 200_000
    assert len(text.splitlines()) == 3
    assert "(did you mean 'harrow'?)" in check.lines()[0]


@pytest.mark.slow  # CI tier (make test-slow): a 200,000-row extract
def test_200k_rows_one_mistake_validate_is_short(big_extract, big_check):
    before = snapshot(big_extract.parent)
    code, lines = study_cli("validate", big_extract)
    assert code == 2 and no_traceback(lines)
    assert len(lines) < 50
    assert lines == big_check.text.splitlines()
    assert snapshot(big_extract.parent) == before


def _params(tmp_path: Path, name: str, value: Path) -> Path:
    params = tmp_path / "params.yaml"
    params.write_text(f'parameters:\n  {name}: "{value}"\n', encoding="utf-8")
    return params


def _run_refuses(
    tmp_path: Path, notebook: str, name: str, value: Path, command=study_cli
) -> list[str]:
    out = tmp_path / "run"
    code, lines = command(
        "run", "--only", notebook, "--params", _params(tmp_path, name, value), "--out", out
    )
    assert code == 2 and no_traceback(lines)
    assert len(lines) == 1, lines  # one line, nothing else
    assert not out.exists()
    return lines


@pytest.mark.slow  # CI tier (make test-slow): a 200,000-row extract
def test_run_says_the_200k_mistake_in_one_line_as_validate_does(tmp_path, big_extract, big_check):
    before = snapshot(big_extract.parent)
    (line,) = _run_refuses(tmp_path, "01", "conversations_path", big_extract)
    assert check_file(big_extract, "conversations").summary in line
    assert big_check.lines()[0] in line  # the same words as study validate
    assert snapshot(big_extract.parent) == before


@pytest.mark.parametrize(
    ("case", "notebook", "name", "words"),
    [
        ("header only", "03", "weekly_path", "no records"),
        ("dates in the future and before 2000", "01", "conversations_path", "in the future"),
    ],
)
def test_run_refuses_careless_extracts_in_one_line(tmp_path, case, notebook, name, words):
    path, _, _, folder = _make(tmp_path, case)
    before = snapshot(folder)
    (line,) = _run_refuses(tmp_path, notebook, name, path)
    assert words in line and str(path) in line
    assert snapshot(folder) == before


def test_run_words_merged_values_as_validate_does(tmp_path):
    path, _, _, _ = _make(tmp_path, "near miss site (Harrow, harow)")
    (line,) = _run_refuses(tmp_path, "03", "weekly_path", path)
    assert check_file(path, "weekly").summary in line


def test_run_says_a_folder_is_a_folder(tmp_path):
    folder = tmp_path / "extract.csv"
    folder.mkdir()
    (line,) = _run_refuses(tmp_path, "03", "weekly_path", folder, study_process)  # real entry
    assert "is a folder, not a file" in line
