"""Parameters: the one declaration, validation of every value, the shipped sets, `study
new-params` and `study params`."""

from __future__ import annotations

import ast
import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from study import config, its
from study.errors import StudyInputError
from study.run.cli import app
from study.run.param_sets import find_params_file
from study.run.parameters import BY_NAME as PARAMETERS_BY_NAME
from study.run.parameters import (
    NOTEBOOKS,
    PARAMETER_NAMES,
    PARAMETERS,
    StudyParameters,
    check_declaration,
    default_params_text,
    generated_files,
    notebook_number,
    notebook_parameters,
    notebooks_using,
    python_literal,
    validate_params,
    write_generated,
    yaml_literal,
)
from study.run.pipeline import discover_notebooks, load_params_file, plan_run

SETS = ["default", "birmingham-6m", "birmingham-12m", "harrow-2019-20", "harrow-2020-21"]


@pytest.fixture(scope="module")
def notebooks():
    return discover_notebooks()


@pytest.fixture()
def default_raw():
    return yaml.safe_load(config.DEFAULT_PARAMS.read_text(encoding="utf-8"))


def problems_of(raw) -> list[str]:
    with pytest.raises(StudyInputError) as info:
        validate_params(raw, "x.yaml")
    return [line.strip() for line in str(info.value).splitlines()[1:]]


def test_model_covers_exactly_the_notebook_parameters(notebooks):
    declared = {n for nb in notebooks for n in nb.parameters} - {"run_dir"}
    assert declared == set(PARAMETER_NAMES)


@pytest.mark.parametrize("name", SETS)
def test_shipped_parameter_sets_are_valid(name, notebooks):
    plan = plan_run(config.PARAMS_DIR / f"{name}.yaml", notebooks=notebooks)
    assert plan.run_name == name
    assert plan.notebooks


def test_sets_differ_where_the_evaluations_differ(notebooks):
    six = plan_run(config.PARAMS_DIR / "birmingham-6m.yaml", notebooks=notebooks)
    twelve = plan_run(config.PARAMS_DIR / "birmingham-12m.yaml", notebooks=notebooks)
    assert [nb.number for nb in six.notebooks] == ["01", "02", "04"]
    assert six.parameters["04_cost_avoidance"]["birmingham_window_weeks"] == 26
    assert twelve.parameters["04_cost_avoidance"]["birmingham_window_weeks"] == 52
    assert "12m" in twelve.parameters["01_conversation_split"]["conversations_path"]
    year1 = plan_run(config.PARAMS_DIR / "harrow-2019-20.yaml", notebooks=notebooks)
    assert year1.parameters["03_interrupted_time_series"]["last_week"] == "2020-03-16"


def test_every_problem_is_reported_once_with_its_key(default_raw):
    raw = copy.deepcopy(default_raw)
    p = raw["parameters"]
    p["alpha"] = 1.5
    p["harrow_fy_start"] = "2019-13-01"
    p["windows"] = {"a": ["2020-01-01", "2019-01-01"]}
    p["periods"]["innovation_site_1"]["kind"] = "treatment"
    p["family"] = "gaussian"
    p["harrow_geography_code"] = "Harrow"
    p["repeat_denominators"] = [0, 100]
    raw["notebooks"]["03_interrupted_time_series"]["seed"] = -1
    lines = problems_of(raw)
    assert len(lines) == 8
    text = "\n".join(lines)
    for key in (
        "parameters.alpha:",
        "parameters.harrow_fy_start: not a date",
        "parameters.windows: window 'a' ends (2019-01-01) before it starts (2020-01-01)",
        "parameters.periods.innovation_site_1.kind:",
        "parameters.family:",
        "parameters.harrow_geography_code:",
        "parameters.repeat_denominators.0:",
        "notebooks.03_interrupted_time_series.seed:",
    ):
        assert key in text, key


def test_wrong_types_are_not_coerced(default_raw):
    raw = copy.deepcopy(default_raw)
    raw["parameters"]["n_resamples"] = "10000"
    raw["parameters"]["bham_baseline_long_term"] = 200.5
    raw["parameters"]["harmonics"] = True
    assert len(problems_of(raw)) == 3


def test_cross_field_and_top_level_checks(default_raw):
    raw = copy.deepcopy(default_raw)
    raw["parameters"]["harrow_full_effect"] = "2019-01-07"  # before harrow_fy_start
    raw["colour"] = "blue"
    raw["only"] = "01"
    lines = problems_of(raw)
    assert any("harrow_full_effect (2019-01-07) is before harrow_fy_start" in x for x in lines)
    assert any("unknown top-level key(s) ['colour']" in x for x in lines)
    assert any(x.startswith("only:") for x in lines)
    no_intervention = copy.deepcopy(default_raw)
    for period in no_intervention["parameters"]["periods"].values():
        period["kind"] = "context"
    assert "at least one period" in "\n".join(problems_of(no_intervention))


def test_unquoted_yaml_dates_are_accepted_as_text(tmp_path, default_raw):
    text = config.DEFAULT_PARAMS.read_text(encoding="utf-8").replace(
        'harrow_fy_start: "2019-04-01"', "harrow_fy_start: 2019-04-01"
    )
    path = tmp_path / "dates.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_params_file(path)["parameters"]["harrow_fy_start"] == "2019-04-01"


def test_only_in_the_file_selects_notebooks_and_the_command_line_wins(notebooks):
    path = config.PARAMS_DIR / "harrow-2019-20.yaml"
    assert [nb.number for nb in plan_run(path, notebooks=notebooks).notebooks] == [
        "02",
        "03",
        "04",
    ]
    assert [nb.number for nb in plan_run(path, ["03"], notebooks=notebooks).notebooks] == ["03"]


def test_find_params_file_by_name_or_path(tmp_path):
    assert find_params_file("harrow-2019-20") == config.PARAMS_DIR / "harrow-2019-20.yaml"
    assert find_params_file(config.DEFAULT_PARAMS) == config.DEFAULT_PARAMS
    with pytest.raises(StudyInputError, match="params/ has:"):
        find_params_file("no-such-set")


def test_new_params_writes_a_commented_copy_that_plans_the_same_run(tmp_path, notebooks):
    target = tmp_path / "my-council.yaml"
    runner = CliRunner()
    result = runner.invoke(
        app, ["new-params", "--from", "harrow-2019-20", "--name", "my-council", "--out", target]
    )
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert "run_name: my-council" in text
    assert "# [03, 04] last week (a Monday)" in text  # help text from the notebook
    assert "  alpha: 0.05  # [02, 03, 04] " in text  # only the notebooks this set runs
    described = yaml.safe_load(text)["description"]
    assert described.startswith("my-council: describe this evaluation here (copied from harrow")
    source = plan_run(config.PARAMS_DIR / "harrow-2019-20.yaml", notebooks=notebooks)
    copy_plan = plan_run(target, notebooks=notebooks)
    assert copy_plan.run_name == "my-council"
    assert copy_plan.parameters == source.parameters
    assert [nb.name for nb in copy_plan.notebooks] == [nb.name for nb in source.notebooks]
    again = runner.invoke(
        app, ["new-params", "--from", "harrow-2019-20", "--name", "my-council", "--out", target]
    )
    assert again.exit_code == 2
    assert "exists" in again.output
    assert target.read_text(encoding="utf-8") == text  # not overwritten


def test_new_params_rejects_bad_names(tmp_path):
    result = CliRunner().invoke(
        app, ["new-params", "--from", "default", "--name", "my council", "--out", tmp_path / "x"]
    )
    assert result.exit_code == 2
    assert "letters, digits" in result.output
    assert not (tmp_path / "x").exists()


def test_run_refuses_an_invalid_parameters_file_before_writing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_name: bad\nparameters:\n  alpha: 2\n  seed: -3\n", encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--params", bad, "--out", out])
    assert result.exit_code == 2
    assert "2 problems" in result.output
    assert not out.exists()


def test_params_dir_holds_only_valid_sets():
    for path in sorted(Path(config.PARAMS_DIR).glob("*.yaml")):
        load_params_file(path)


def test_new_params_comments_each_notebook_value_with_that_notebooks_help(tmp_path):
    target = tmp_path / "mine.yaml"
    args = ["new-params", "--from", "harrow-2019-20", "--name", "mine", "--out", target]
    assert CliRunner().invoke(app, args).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert "    n_draws: 50000  # Monte Carlo draws (avoided starts x unit cost)" in text
    assert "    n_draws: 2000  # coefficient draws for the counterfactual intervals" in text
    periods = yaml.safe_load(text)["parameters"]["periods"]
    assert list(periods) == list(PARAMETERS_BY_NAME["periods"].default)  # order kept


def test_the_model_is_made_from_the_declaration():
    assert list(StudyParameters.model_fields) == [p.name for p in PARAMETERS]
    for p in PARAMETERS:
        assert StudyParameters.model_fields[p.name].description == p.help
    assert PARAMETERS_BY_NAME["family"].help == " | ".join(its.FAMILIES)


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_declared_defaults_pass_the_model_and_survive_both_literals(name):
    number = notebook_number(name)
    values = {n: PARAMETERS_BY_NAME[n].default_in(number) for n in NOTEBOOKS[name]}
    StudyParameters.model_validate(values)
    for value in values.values():
        assert ast.literal_eval(python_literal(value)) == value
        assert yaml.safe_load(yaml_literal(value)) == value


def test_per_notebook_defaults_and_help():
    n_draws = PARAMETERS_BY_NAME["n_draws"]
    assert (n_draws.default_in("03"), n_draws.default_in("04")) == (2000, 50000)
    assert n_draws.varies and not PARAMETERS_BY_NAME["alpha"].varies
    last_week = PARAMETERS_BY_NAME["last_week"]
    assert "windows" in last_week.help_in("03") and "windows" not in last_week.help_in("04")
    assert notebook_parameters("04_cost_avoidance")["n_draws"].default == "50000"
    assert list(notebook_parameters("03")) == [*NOTEBOOKS["03_interrupted_time_series"], "run_dir"]


def test_a_broken_declaration_is_refused(monkeypatch):
    monkeypatch.setitem(NOTEBOOKS, "99_new", ("alpha", "alhpa", "alpha"))
    with pytest.raises(
        ValueError, match=r"99_new: undeclared \['alhpa'\], listed twice \['alpha'\]"
    ):
        check_declaration()
    monkeypatch.setitem(NOTEBOOKS, "99_new", ("seed",))
    with pytest.raises(ValueError, match="seed: no default or no help in notebook 99"):
        check_declaration()


def test_params_command_checks_then_writes_the_generated_files(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(config.NOTEBOOKS_DIR / f"{name}.ipynb", folder)
    default = tmp_path / "default.yaml"
    default.write_text("run_name: stale\n", encoding="utf-8")
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", folder)
    monkeypatch.setattr(config, "DEFAULT_PARAMS", default)
    runner = CliRunner()
    stale = runner.invoke(app, ["params"])
    assert (
        stale.exit_code == 1 and "out of date:" in stale.output and "default.yaml" in stale.output
    )
    assert default.read_text(encoding="utf-8") == "run_name: stale\n"  # checking writes nothing
    assert runner.invoke(app, ["params", "--write"]).exit_code == 0
    assert default.read_text(encoding="utf-8") == default_params_text()
    fresh = runner.invoke(app, ["params"])
    n_files = len(generated_files(folder, default))
    assert fresh.exit_code == 0 and f"{n_files} generated files up to date" in fresh.output
    before = {p: p.read_bytes() for p in folder.iterdir()}
    assert write_generated(folder, default) == []  # nothing left to write
    assert {p: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize("name", SETS)
def test_notebook_tags_in_a_sets_comments_follow_the_declaration(name):
    """A `[NN, ...]` comment names the notebooks (of those the set runs) that use the value."""
    path = config.PARAMS_DIR / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    runs = {notebook_number(n) for n in raw.get("only") or NOTEBOOKS}
    tagged = re.compile(r"^  (\w+): .*  # \[([\d, ]+)\]")
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := tagged.match(line):
            key, tags = match[1], match[2].split(", ")
            assert tags == [n for n in notebooks_using(key) if n in runs], (name, key)
