"""The papermill pipeline: parameter checks, run folders, failure handling, provenance."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from study import config
from study.config import project_label
from study.errors import StudyInputError
from study.run.pipeline import (
    NotebookFailed,
    discover_notebooks,
    new_run_dir,
    plan_run,
    preflight,
    run_study,
    sha256,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_discover_reads_parameters_and_types(toy_notebooks):
    specs = discover_notebooks(toy_notebooks)
    assert [s.name for s in specs] == ["01_toy", "02_fails"]
    alpha = specs[0].parameters["alpha"]
    assert (alpha.type_name, alpha.default, alpha.help) == ("float", "0.05", "1 - confidence level")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("parameters:\n  alhpa: 0.1\n", "unknown parameter(s) ['alhpa']"),
        ("parameters:\n  alpha: 'high'\n", "parameters.alpha: Input should be a valid number"),
        ("parameters:\n  n: 2.5\n", "parameter 'n' must be int, got float"),
        ("parameters:\n  n: true\n", "parameter 'n' must be int, got bool"),
        ("parameters: [1, 2]\n", "parameters: must be a mapping"),
        ("paramters:\n  n: 1\n", "unknown top-level key(s) ['paramters']"),
        ("notebooks:\n  07_nope:\n    n: 1\n", "unknown notebook '07_nope'"),
        (
            "notebooks:\n  01_toy:\n    n: 1\n",
            "notebook 01_toy does not declare parameter(s) ['n']",
        ),
        ("parameters:\n  alpha: [\n", "not valid YAML"),
    ],
)
def test_bad_parameters_give_one_clear_line(toy_notebooks, tmp_path, yaml_text, message):
    params = write(tmp_path / "p.yaml", yaml_text)
    with pytest.raises(StudyInputError) as info:
        plan_run(params, notebooks=discover_notebooks(toy_notebooks))
    assert message in str(info.value)
    assert str(params) in str(info.value)
    assert len(str(info.value).splitlines()) <= 2  # the file, then at most one problem line


def test_missing_params_file_and_unknown_notebook(toy_notebooks, tmp_path):
    specs = discover_notebooks(toy_notebooks)
    with pytest.raises(StudyInputError, match="does not exist"):
        plan_run(tmp_path / "nope.yaml", notebooks=specs)
    params = write(tmp_path / "p.yaml", "parameters: {}\n")
    with pytest.raises(StudyInputError, match="--only '09': no such notebook"):
        plan_run(params, only=["09"], notebooks=specs)


def test_plan_resolves_shared_and_per_notebook_values(toy_notebooks, tmp_path):
    params = write(
        tmp_path / "mine.yaml",
        "parameters:\n  alpha: 0.1\n  n: 5\nnotebooks:\n  01_toy:\n    label: y\n",
    )
    plan = plan_run(params, notebooks=discover_notebooks(toy_notebooks))
    assert plan.run_name == "mine"
    assert plan.parameters == {"01_toy": {"alpha": 0.1, "label": "y"}, "02_fails": {"n": 5}}
    only = plan_run(params, only=["02"], notebooks=discover_notebooks(toy_notebooks))
    assert [nb.name for nb in only.notebooks] == ["02_fails"]


def test_new_run_dir_never_reuses_a_folder(toy_notebooks, tmp_path):
    params = write(tmp_path / "p.yaml", "run_name: demo\n")
    plan = plan_run(params, notebooks=discover_notebooks(toy_notebooks))
    reports = tmp_path / "reports"
    first = new_run_dir(plan, reports=reports)
    second = new_run_dir(plan, reports=reports)
    assert first != second and first.name.startswith("demo-") and second.is_dir()
    (first / "x.txt").write_text("kept")
    with pytest.raises(StudyInputError, match="not empty"):
        new_run_dir(plan, out=first)
    assert (first / "x.txt").read_text() == "kept"


def test_run_writes_every_item_and_records_estimates(toy_notebooks, tmp_path):
    params = write(tmp_path / "p.yaml", "parameters:\n  alpha: 0.1\n")
    plan = plan_run(params, only=["01"], notebooks=discover_notebooks(toy_notebooks))
    run_dir = new_run_dir(plan, reports=tmp_path / "reports")
    result = run_study(plan, run_dir)
    assert result.notebooks == ["01_toy"]
    for item in [
        "notebooks/01_toy.ipynb",
        "html/01_toy.html",
        "estimates.csv",
        "params.yaml",
        "provenance.json",
        "README.md",
        "kernel.log",
    ]:
        assert (run_dir / item).is_file(), item
    est = pd.read_csv(run_dir / "estimates.csv")
    assert est.loc[0, "estimate"] == pytest.approx(0.9)
    assert list(est.columns[:4]) == ["key", "site", "notebook", "quantity"]
    assert est["key"].is_unique
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["packages"]["pandas"] == pd.__version__
    assert all(len(h) == 64 for h in prov["inputs_sha256"].values())
    assert any(k.endswith("p.yaml") for k in prov["inputs_sha256"])


def test_failing_notebook_names_notebook_and_cell_and_keeps_partial(toy_notebooks, tmp_path):
    params = write(tmp_path / "p.yaml", "parameters: {}\n")
    plan = plan_run(params, notebooks=discover_notebooks(toy_notebooks))
    run_dir = new_run_dir(plan, reports=tmp_path / "reports")
    with pytest.raises(NotebookFailed) as info:
        run_study(plan, run_dir)
    failure = info.value
    assert failure.notebook == "02_fails"
    assert "ValueError: boom in toy" in str(failure)
    assert (run_dir / "notebooks" / "02_fails.ipynb").is_file()
    assert "02_fails" in (run_dir / "FAILED.txt").read_text()
    assert (run_dir / "html" / "01_toy.html").is_file()


def test_preflight_rejects_missing_and_invalid_data_files(tmp_path):
    from conftest import make_notebook

    folder = tmp_path / "nbs"
    folder.mkdir()
    make_notebook(
        folder / "01_reads.ipynb",
        'weekly_path: str = "data/synthetic/harrow_weekly_synthetic.csv"  # weekly series\n'
        'run_dir: str = ""  # run folder',
        "pass",
    )
    specs = discover_notebooks(folder)
    ok = plan_run(write(tmp_path / "ok.yaml", "parameters: {}\n"), notebooks=specs)
    preflight(ok)  # the shipped synthetic file passes

    missing = write(tmp_path / "m.yaml", f"parameters:\n  weekly_path: {tmp_path / 'no.csv'}\n")
    with pytest.raises(StudyInputError, match="parameter 'weekly_path': no such file"):
        preflight(plan_run(missing, notebooks=specs))

    bad = tmp_path / "weekly.csv"
    bad.write_text("week_start,site,series,count\n2020-01-06,harrow,new_long_term_starts,-3\n")
    before = bad.read_bytes()
    params = write(tmp_path / "b.yaml", f"parameters:\n  weekly_path: {bad}\n")
    with pytest.raises(StudyInputError) as info:
        preflight(plan_run(params, notebooks=specs))
    assert "row 2, column count" in str(info.value) and str(bad) in str(info.value)
    assert bad.read_bytes() == before


def test_sha256_and_the_project_relative_label(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 5000)  # more than one 1 MiB block
    assert sha256(big) == hashlib.sha256(big.read_bytes()).hexdigest()
    assert project_label(config.DEFAULT_PARAMS) == "params/default.yaml"
    assert project_label(config.NOTEBOOKS_DIR / ".." / "params" / "x.yaml") == "params/x.yaml"
    assert project_label(big) == str(big.resolve())
