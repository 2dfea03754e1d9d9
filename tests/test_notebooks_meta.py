"""Every study notebook follows the project contract (CONTRIBUTING.md)."""

from __future__ import annotations

import ast

import nbformat
import papermill as pm
import pytest
import yaml

from study.config import DEFAULT_PARAMS, NOTEBOOKS_DIR
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


def test_default_params_equal_the_notebook_defaults():
    """The committed outputs are the default run, so default.yaml must match the notebooks."""
    shared = (yaml.safe_load(DEFAULT_PARAMS.read_text()) or {}).get("parameters") or {}
    plan = plan_run(DEFAULT_PARAMS)
    for nb in discover_notebooks():
        for name, value in plan.parameters[nb.name].items():
            assert ast.literal_eval(nb.parameters[name].default) == value, (nb.name, name)
    declared = {n for nb in discover_notebooks() for n in nb.parameters} - {"run_dir"}
    assert set(shared) | {n for v in plan.parameters.values() for n in v} >= declared
