"""Parameter sets: validation of every value, the shipped sets, and `study new-params`."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from study import config
from study.errors import StudyInputError
from study.run.cli import app
from study.run.parameters import PARAMETER_NAMES, find_params_file, validate_params
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
