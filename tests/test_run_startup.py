"""Start-up work of a run (issue 18): planning reads the parameters cells without papermill and
gets what papermill's inspection gets; preflight checks and reads each data file once; the CLI
imports no analysis code until a command needs it."""

from __future__ import annotations

import json
import subprocess
import sys

import papermill as pm
import pytest

from study import config
from study.run import pipeline
from study.run.parameters import NotebookParameter


def _papermill(path) -> dict[str, NotebookParameter]:
    declared = pm.inspect_notebook(str(path))
    return {
        name: NotebookParameter(
            name, str(p["inferred_type_name"]), str(p["default"]), str(p["help"])
        )
        for name, p in declared.items()
    }


def test_discovered_parameters_equal_papermill_inspection_of_every_notebook():
    specs = pipeline.discover_notebooks()
    assert [s.path.name for s in specs] == sorted(
        p.name for p in config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")
    )
    for spec in specs:
        assert spec.parameters == _papermill(spec.path), spec.name
        assert spec.parameters  # every study notebook declares parameters


CELLS = [  # cells of assignments, one per line (papermill's own format; generated cells are)
    'alpha: float = 0.05  # 1 - confidence level\nrun_dir: str = ""  # run folder\n',
    "n = 3\nlabel = 'a'  # the label\n",
    'periods: dict = {"a": "2019-06-03"}  # periods, a dict\nflag: bool = True\n',
    "# only a comment\n",
]


@pytest.mark.parametrize("source", CELLS)
def test_parameters_cell_read_as_papermill_reads_it(tmp_path, source):
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Title"},
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {"tags": ["parameters"]},
                "source": source,
                "outputs": [],
                "execution_count": None,
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "01_toy.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    (spec,) = pipeline.discover_notebooks(tmp_path)
    assert spec.parameters == _papermill(path)


def test_a_hash_inside_a_string_default_is_not_a_comment():
    """Where papermill's line regex would cut the value at the '#' (its default "'a", help
    "not a comment' ..."), the tokenizer reads the string whole."""
    params = pipeline.parameters_cell_declarations("label: str = 'a # b'  # the label\n")
    assert params == {"label": NotebookParameter("label", "str", "'a # b'", "the label")}


def test_a_notebook_that_is_not_json_is_one_line_error(tmp_path):
    (tmp_path / "01_broken.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(pipeline.StudyInputError, match="01_broken.ipynb: not a readable"):
        pipeline.discover_notebooks(tmp_path)


def test_preflight_checks_and_reads_each_data_file_once(monkeypatch):
    from study.data import records

    plan = pipeline.plan_run(config.DEFAULT_PARAMS)
    checks, reads = [], []
    check_file, read_records = records.check_file, records.read_records
    monkeypatch.setattr(
        records, "check_file", lambda p, k: checks.append((p, k)) or check_file(p, k)
    )
    monkeypatch.setattr(
        records, "read_records", lambda p, k, **kw: reads.append((p, k)) or read_records(p, k, **kw)
    )
    pipeline.preflight(plan)
    assert checks and len(checks) == len(set(checks))
    assert reads and len(reads) == len(set(reads))
    weekly = [nb for nb in plan.notebooks if "weekly_path" in nb.parameters]
    assert len(weekly) > 1  # several notebooks name the weekly file; it is read once


def test_cli_import_leaves_the_analyses_unimported():
    code = (
        "import sys, study.run.cli; "
        "print(sorted(m for m in ('study.data.synthetic', 'pandas', 'papermill', "
        "'study.run.pipeline', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_planning_a_run_does_not_import_papermill():
    code = (
        "import sys; from study.run.pipeline import plan_run; plan_run(); "
        "print('papermill' in sys.modules, 'nbformat' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
