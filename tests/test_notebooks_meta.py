"""Every study notebook follows the project contract (CONTRIBUTING.md)."""

from __future__ import annotations

import ast

import nbformat
import papermill as pm
import pytest
from conftest import make_notebook

from study.config import DEFAULT_PARAMS, NOTEBOOKS_DIR
from study.run.parameters import (
    BY_NAME,
    default_params_text,
    notebook_number,
    notebook_parameters,
    parameters_cell,
)
from study.run.parameters import NOTEBOOKS as NOTEBOOK_PARAMETERS
from study.run.pipeline import discover_notebooks, plan_run

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "run_dir" in tagged[0].source
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    titles = [
        ln
        for c in nb.cells
        if c.cell_type == "markdown"
        for ln in c.source.splitlines()
        if ln.startswith("# ")
    ]
    assert titles == [first.source.splitlines()[0]], "one H1 title, in the first cell"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, "committed notebooks carry the default run"
            for output in cell.outputs:
                assert output.get("name") != "stderr", f"stderr output in {path.name}"
                assert output.output_type != "error"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_only_typed_literals(path):
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = []
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.AnnAssign), f"untyped or derived line in {path.name}"
        ast.literal_eval(node.value)
        names.append(node.target.id)
    # papermill must read every line (it cannot parse some comments, e.g. one holding '=')
    assert list(pm.inspect_notebook(str(path))) == names


def test_the_declaration_names_every_notebook():
    assert list(NOTEBOOK_PARAMETERS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_generated_from_the_declaration(path):
    """Each notebook's `parameters` cell is written from study.run.parameters.

    Regenerate: .venv/bin/study params --write (make params)"""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert cell.source == parameters_cell(path.stem)


def test_default_params_is_generated_from_the_declaration():
    """params/default.yaml is written from study.run.parameters, like the cells, so the
    committed notebook outputs are the default run.

    Regenerate: .venv/bin/study params --write (make params)"""
    assert DEFAULT_PARAMS.read_text(encoding="utf-8") == default_params_text()


def test_papermill_reads_the_generated_cells_as_declared(tmp_path):
    for name in NOTEBOOK_PARAMETERS:
        make_notebook(tmp_path / f"{name}.ipynb", parameters_cell(name), "pass")
    for nb in discover_notebooks(tmp_path):
        assert nb.parameters == notebook_parameters(nb.name), nb.name
        assert list(nb.parameters)[-1] == "run_dir"


def test_the_default_set_runs_every_notebook_at_its_declared_defaults():
    plan = plan_run(DEFAULT_PARAMS)
    for name in NOTEBOOK_PARAMETERS:
        number = notebook_number(name)
        declared = {n: BY_NAME[n].default_in(number) for n in NOTEBOOK_PARAMETERS[name]}
        assert plan.parameters[name] == declared, name
