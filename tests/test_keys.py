"""Stable estimate keys (`study.run.keys`): what a row estimates, whatever the settings."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from study.errors import StudyInputError
from study.run.cli import app
from study.run.index_page import KEY_ESTIMATES, key_estimate_rows, read_index_inputs
from study.run.keys import estimate_keys, method_name, slug, with_keys
from study.run.recorder import RUN_COLUMNS

runner = CliRunner()


def table(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["notebook", "site", "quantity", "method"])


def test_slug_and_method_name_by_hand():
    assert slug("Harrow C3 share: difference Covid year - pre-Covid") == (
        "harrow-c3-share-difference-covid-year-pre-covid"
    )
    assert method_name("bootstrap BCa (10000 resamples)") == "bootstrap-bca-resamples"
    assert method_name("Monte Carlo percentile (50,000 draws: model + unit cost)") == (
        "monte-carlo-percentile-draws-model-unit-cost"
    )
    its = (
        "2000 draws from the normal sampling distribution of the coefficients (quasi_poisson), "
        "95% percentile interval; context terms kept"
    )
    assert method_name(its, ("quasi_poisson", "poisson")) == (
        "draws-from-the-normal-sampling-distribution-of-the-coefficients-percentile-interval-"
        "context-terms-kept"
    )


def test_key_is_notebook_site_and_quantity_and_kind_of_records_is_one_key():
    keys = estimate_keys(
        table(
            ("01_x", "harrow", "Harrow C3 share (synthetic): difference", "Newcombe"),
            ("01_x", "northfield", "Northfield C3 share (user): difference", "Newcombe"),
            ("06_y", "harrow", "ASC5 Harrow synthetic control: gap", "conformal"),
        )
    )
    assert keys.tolist() == [
        "01_x/harrow/harrow-c3-share-records-difference",
        "01_x/northfield/northfield-c3-share-records-difference",
        "06_y/harrow/asc5-harrow-synthetic-control-gap",  # "synthetic" outside () is kept
    ]


def test_a_quantity_given_by_several_methods_gets_each_methods_name():
    keys = estimate_keys(
        table(
            ("01_x", "b", "share C1", "Goodman simultaneous 95%"),
            ("01_x", "b", "share C1", "Sison-Glaz simultaneous 95%"),
            ("01_x", "b", "share C1", "Wilson score 95% (per category)"),
            ("01_x", "b", "share C2", "Goodman simultaneous 95%"),
        )
    )
    assert keys.tolist() == [
        "01_x/b/share-c1/goodman-simultaneous",
        "01_x/b/share-c1/sison-glaz-simultaneous",
        "01_x/b/share-c1/wilson-score-per-category",
        "01_x/b/share-c2",
    ]


def test_rows_that_still_repeat_are_numbered_in_row_order():
    keys = estimate_keys(
        table(
            ("03_z", "h", "gap", "placebo p-value (10 donors)"),
            ("03_z", "h", "gap", "placebo p-value (12 donors)"),
            ("03_z", "h", "other", ""),
        )
    )
    gap = "03_z/h/gap/placebo-p-value-donors"
    assert keys.tolist() == [gap, f"{gap}~2", "03_z/h/other"]
    assert keys.is_unique


@pytest.mark.parametrize(
    "changed",
    [
        {"Goodman simultaneous 95%": "Goodman simultaneous 90%"},  # alpha
        {"bootstrap BCa (10000 resamples)": "bootstrap BCa (2000 resamples)"},  # resamples
        {"draws (quasi_poisson), 95% percentile": "draws (negative_binomial), 90% percentile"},
    ],
)
def test_keys_do_not_change_with_levels_draws_or_family(changed):
    rows = table(
        ("01_x", "b", "share C1", "Goodman simultaneous 95%"),
        ("01_x", "b", "share C1", "Wilson score 95%"),
        ("05_r", "h", "all: saving", "bootstrap BCa (10000 resamples)"),
        ("05_r", "h", "all: saving", "bootstrap percentile (10000 resamples)"),
        ("03_i", "h", "avoided", "draws (quasi_poisson), 95% percentile"),
        ("03_i", "h", "avoided", "Wald (quasi_poisson)"),
    )
    other = rows.assign(method=rows["method"].replace(changed))
    assert (other["method"] != rows["method"]).sum() == 1
    assert estimate_keys(other).tolist() == estimate_keys(rows).tolist()


def test_with_keys_puts_the_key_first_and_needs_the_label_columns():
    out = with_keys(table(("01_x", "b", "q", "m")).assign(estimate=1.0))
    assert list(out.columns) == ["key", "notebook", "site", "quantity", "method", "estimate"]
    with pytest.raises(StudyInputError, match=r"lacks column\(s\) \['method'\]"):
        estimate_keys(pd.DataFrame({"notebook": [], "site": [], "quantity": []}))


@pytest.mark.slow  # CI tier (make test-slow): a real study run or a property search
def test_a_run_with_other_alpha_family_and_draws_has_every_key_estimate(tmp_path):
    """Notebooks 03 and 05 at alpha 0.1, negative binomial, 1,000 coefficient draws and 2,000
    bootstrap resamples: every key estimate they map is on the run page, with unique keys."""
    params = {
        "run_name": "keys",
        "parameters": {"alpha": 0.1, "family": "negative_binomial"},
        "notebooks": {
            "03_interrupted_time_series": {"n_draws": 1000},
            "05_reviews_existing_care": {"n_resamples": 2000},
        },
    }
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    out = tmp_path / "run"
    args = ["run", "--params", str(path), "--only", "03", "--only", "05", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    estimates = pd.read_csv(out / "estimates.csv", keep_default_na=False)
    assert list(estimates.columns) == RUN_COLUMNS and estimates["key"].is_unique
    assert set(estimates["level"].astype(float)) == {0.9}
    inputs = read_index_inputs(out)
    notebooks = ["03_interrupted_time_series", "05_reviews_existing_care"]
    rows = key_estimate_rows(inputs.estimates, inputs.published, notebooks)
    mapped = [k for k in KEY_ESTIMATES if k.notebook in notebooks]
    assert len(rows) == len(mapped) == 4
    assert rows.loc[rows["estimate"] == "", "label"].tolist() == []
    assert (rows["method"].str.contains("1000 draws|2000 resamples")).all()
    assert "not found in estimates.csv" not in (out / "index.html").read_text(encoding="utf-8")


SETTINGS = {
    "default": {},
    "alpha-family-draws": {
        "parameters": {"alpha": 0.1, "family": "negative_binomial"},
        "notebooks": {
            "03_interrupted_time_series": {"n_draws": 1000},
            "04_cost_avoidance": {"n_draws": 20000, "seed": 7},
            "05_reviews_existing_care": {"n_resamples": 2000},
        },
    },
    "windows": {
        "parameters": {
            "windows": {
                "pre_covid_innovation": ["2019-06-03", "2020-02-29"],
                "fy_2019_20": ["2019-04-01", "2020-03-31"],
                "fy_2020_21": ["2020-04-01", "2021-03-31"],
            },
            "birmingham_window_weeks": 52,
            "last_week": "2021-01-25",
        },
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_key_estimate_is_on_the_run_page_for_each_parameter_set(tmp_path, name):
    """The whole study (a minute or more each) under the default parameters, another alpha,
    family and draws, and other windows: no key estimate is missing, keys are unique, and the
    first two runs have the same keys."""
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"run_name": name, **SETTINGS[name]}), encoding="utf-8")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--params", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    inputs = read_index_inputs(out)
    assert inputs.estimates["key"].is_unique
    rows = key_estimate_rows(
        inputs.estimates, inputs.published, list(inputs.provenance["notebooks"])
    )
    assert len(rows) == len(KEY_ESTIMATES)
    assert rows.loc[rows["estimate"] == "", "label"].tolist() == []
    assert "not found in estimates.csv" not in (out / "index.html").read_text(encoding="utf-8")
    if name == "alpha-family-draws":
        default = tmp_path / "default.yaml"
        default.write_text("run_name: default\n", encoding="utf-8")
        base = tmp_path / "base"
        result = runner.invoke(app, ["run", "--params", str(default), "--out", str(base)])
        assert result.exit_code == 0, result.output
        keys = pd.read_csv(base / "estimates.csv", keep_default_na=False)["key"]
        assert inputs.estimates["key"].tolist() == keys.tolist()
