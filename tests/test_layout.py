"""The package layout shows the layers, and the notebooks stay thin (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import nbformat
import pytest

from study.config import NOTEBOOKS_DIR, PROJ_ROOT

SRC = PROJ_ROOT / "src" / "study"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
MAX_NOTEBOOK_CODE_LINES = 40
MAX_MODULE_LINES = 900


def code_lines(path) -> list[str]:
    """Non-blank, non-comment lines of a notebook's code cells, the parameters cell aside."""
    nb = nbformat.read(path, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        lines += [
            ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")
        ]
    return lines


def test_code_lines_counts_code_not_comments_or_parameters(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "alpha: float = 0.05  # level", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("# a comment\n\nx = 1\ny = x + 1  # trailing comment"),
        nbformat.v4.new_markdown_cell("not code"),
    ]
    path = tmp_path / "00_x.ipynb"
    nbformat.write(nb, path)
    assert code_lines(path) == ["x = 1", "y = x + 1  # trailing comment"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin(path):
    """At most 40 code lines outside the parameters cell, and no loops (sites, measures...)."""
    lines = code_lines(path)
    assert len(lines) <= MAX_NOTEBOOK_CODE_LINES, f"{path.name}: {len(lines)} code lines"
    source = "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!")))
    loops = [
        type(node).__name__
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.For | ast.While | ast.comprehension)
    ]
    assert not loops, f"{path.name}: loops belong in study.analyses ({loops})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_its_analysis_module(path):
    """notebooks/NN_name.ipynb <-> src/study/analyses/name.py, and the notebook imports it."""
    module = path.stem[3:]
    assert (SRC / "analyses" / f"{module}.py").is_file(), f"no study.analyses.{module}"
    nb = nbformat.read(path, as_version=4)
    imports = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(rf"from study\.analyses import .*\b{module}\b", imports), path.name


def test_layers_are_folders_and_no_module_is_a_god_module():
    for layer in ("data", "analyses", "plots", "run"):
        assert (SRC / layer / "__init__.py").is_file(), f"study.{layer} is not a package"
    sizes = {
        str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
        for p in SRC.rglob("*.py")
    }
    big = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def test_plots_live_in_the_plots_package():
    """Figures are drawn only in study.plots (one convention: study.plots.new_figure)."""
    for path in SRC.rglob("*.py"):
        if path.parent.name == "plots":
            continue
        text = path.read_text(encoding="utf-8")
        assert "Figure(" not in text and "plt.subplots" not in text, path.relative_to(SRC)


def _imported_top_levels() -> set[str]:
    names = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"study"}


def test_every_imported_package_is_declared():
    """Each third-party import of src/study is a declared dependency in pyproject.toml."""
    meta = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in meta["dependencies"]}
    owners = importlib.metadata.packages_distributions()
    undeclared = {}
    for name in sorted(_imported_top_levels()):
        dists = {d.lower() for d in owners.get(name, [name])}
        if not dists & declared:
            undeclared[name] = sorted(dists)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
