"""The command line: exit codes and one-line errors; nothing written on bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from study import config
from study.run.cli import app

runner = CliRunner()


def reports_snapshot() -> set[Path]:
    return set(config.REPORTS_DIR.iterdir()) if config.REPORTS_DIR.exists() else set()


def test_missing_params_file_exits_2_and_writes_nothing(tmp_path):
    before = reports_snapshot()
    result = runner.invoke(app, ["run", "--params", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "parameters file does not exist" in result.output
    assert reports_snapshot() == before


def test_unknown_parameter_exits_2_and_writes_nothing(tmp_path):
    params = tmp_path / "bad.yaml"
    params.write_text("parameters:\n  not_a_parameter: 1\n")
    before = reports_snapshot()
    result = runner.invoke(app, ["run", "--params", str(params)])
    assert result.exit_code == 2
    assert "unknown parameter(s) ['not_a_parameter']" in result.output
    assert reports_snapshot() == before


def test_unknown_notebook_exits_2(tmp_path):
    result = runner.invoke(app, ["run", "--only", "99", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no such notebook" in result.output
    assert not (tmp_path / "run").exists()


def test_list_shows_every_notebook():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for nb in sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        assert nb.stem[:20] in result.output


def test_check_published_reports_the_discrepancy_and_exits_0():
    result = runner.invoke(app, ["check-published"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "discrepancy" in result.output
    assert "1 discrepancy(ies)" in result.output.splitlines()[-1]


def test_validate_broken_file_exits_2_with_a_problem_table(tmp_path):
    bad = tmp_path / "weekly.csv"
    bad.write_text("week_start,site,series,count\n2020-01-06,harrow,new_long_term_starts,-3\n")
    before = bad.read_bytes()
    result = runner.invoke(app, ["validate", str(bad)], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "count" in result.output and "1 problem" in result.output
    assert bad.read_bytes() == before


def test_broken_published_file_stops_the_run_before_anything_is_written(tmp_path, monkeypatch):
    import shutil

    published = tmp_path / "published"
    shutil.copytree(config.PUBLISHED_DIR, published)
    lines = (published / "figures.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",70,=,", ",seventy,=,")
    (published / "figures.csv").write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(config, "PUBLISHED_DIR", published)
    result = runner.invoke(app, ["run", "--out", str(tmp_path / "run")], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "figures.csv line 3, column 'value'" in result.output
    assert not (tmp_path / "run").exists()
