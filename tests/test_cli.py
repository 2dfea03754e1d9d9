"""The command line: exit codes and one-line errors; nothing written on bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from study import config
from study.cli import app

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
