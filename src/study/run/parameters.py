"""Study parameters, declared once: types, limits, defaults, help and the notebooks using them.

`PARAMETERS` declares every parameter once (`Parameter`: name, type with its constraints,
default, help text, and a `Variant` for a notebook that genuinely differs, e.g. `n_draws`);
`NOTEBOOKS` lists each notebook's parameters in its order (`run_dir` is added last to every
one). Everything else is made from these two:

- the pydantic model `StudyParameters` that checks parameters files (`validate_params`: every
  problem at once, one line each, naming the file and the key);
- each notebook's papermill `parameters` cell (`parameters_cell`) and `params/default.yaml`
  (`default_params_text`), written by `study params --write` (`make params`) and checked by
  `study params` and tests/test_notebooks_meta.py;
- `study list` (`notebook_parameters`); the comments of `study new-params` are written from it by
  `study.run.param_sets.new_params_text`.

A parameters file (`params/*.yaml`) has `run_name`, `description`, optional `only` (the
notebooks this parameter set runs), `parameters` (shared by every notebook that declares the
name) and `notebooks` (per-notebook values).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from study.avoided_starts import ALL_READINGS
from study.config import DEFAULT_PARAMS, NOTEBOOKS_DIR
from study.data.schema import SITE_PATTERN, TEAM_PATTERN
from study.errors import StudyInputError
from study.its.families import FAMILIES

TOP_LEVEL_KEYS = (
    "run_name", "description", "only", "parameters", "notebooks", "disclosure_threshold"
)  # fmt: skip
MINIMAL_SET = (
    "run_name: mine, then parameters: with the values you change (e.g. conversations_path: "
    "extracts/mine.csv); or copy a set: study new-params --from default --name mine"
)


def _iso_date(value: object) -> str:
    """Accept 'YYYY-MM-DD' (or a YAML date) and return it as an ISO string."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"expected a date 'YYYY-MM-DD', got {type(value).__name__} {value!r}")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"not a date 'YYYY-MM-DD': {value!r}") from None


def _sites(value: dict) -> dict:  # notebook 07's own check (pandas and the published figures)
    from study.data.design_sites import site_designs

    return site_designs(value, fit_site="") and value


IsoDate = Annotated[str, BeforeValidator(_iso_date)]
OptionalDate = Annotated[str, BeforeValidator(lambda v: v and _iso_date(v))]  # "" means none
Probability = Annotated[float, Field(gt=0, lt=1)]
Count = Annotated[int, Field(ge=1)]
Counts = Annotated[list[Count], Field(min_length=1)]
Path_ = Annotated[str, Field(description="file path, relative to the project root or absolute")]
Name = Annotated[str, Field(min_length=1)]
GeographyCode = Annotated[str, Field(pattern=r"^E\d{8}$")]
FinancialYear = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
Weeks = Annotated[int, Field(ge=1, le=260)]
Harmonics = Annotated[int, Field(ge=0, le=6)]
MeasureCode = Annotated[str, Field(pattern=r"^ASC\d+$")]
SiteId = Annotated[str, Field(pattern=SITE_PATTERN)]
TeamId = Annotated[str, Field(pattern=TEAM_PATTERN)]


class Period(BaseModel):
    """One segment of the interrupted time series: start date, kind, level/slope switches."""

    model_config = ConfigDict(extra="forbid", strict=True)
    start: IsoDate
    kind: Literal["intervention", "context"]
    level: bool = True
    slope: bool = True


# --------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class Variant(NamedTuple):
    """What one notebook declares differently from the parameter's own default and help."""

    default: object = UNSET
    help: str = ""


@dataclass(frozen=True)
class Parameter:
    """One study parameter: its type (with the constraints a parameters file is checked
    against), default and help text, and `per_notebook` variants keyed by notebook number
    (only where notebooks genuinely differ: another default, or another meaning)."""

    name: str
    type: object
    default: object = UNSET
    help: str = ""
    per_notebook: Mapping[str, Variant] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        """The annotation in a notebook's cell (`int`, `float`, `str`, `list`, `dict`)."""
        return _plain_type(self.type).__name__

    @property
    def varies(self) -> bool:
        """True if notebooks declare different defaults (default.yaml lists it per notebook)."""
        return any(v.default is not UNSET for v in self.per_notebook.values())

    def default_in(self, number: str) -> object:
        variant = self.per_notebook.get(number, Variant())
        return self.default if variant.default is UNSET else variant.default

    def help_in(self, number: str) -> str:
        return self.per_notebook.get(number, Variant()).help or self.help


def _plain_type(tp: object) -> type:
    """The Python type under the constraints: Annotated[float, ...] -> float, list[...] ->
    list, Literal['a', 'b'] -> str."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _plain_type(get_args(tp)[0])
    if origin is Literal:
        return type(get_args(tp)[0])
    return origin if isinstance(origin, type) else tp


PERIODS = {
    "early_intervention_team": {"start": "2018-09-03", "kind": "context"},
    "innovation_site_1": {"start": "2019-06-03", "kind": "intervention"},
    "innovation_site_2": {"start": "2019-09-09", "kind": "intervention", "slope": False},
    "covid_wave_1": {"start": "2020-03-23", "kind": "context"},
    "covid_wave_2": {"start": "2020-11-05", "kind": "context"},
}
WINDOWS = {
    "pre_covid_innovation": ["2019-06-03", "2020-03-22"],
    "fy_2019_20": ["2019-04-01", "2020-03-31"],
    "fy_2020_21": ["2020-04-01", "2021-03-31"],
}

# fmt: off
DESIGN_SITES = {  # notebook 07; values by figures.csv id; 200: assumed, 2/3 of 1,497 x 20%
    "harrow": {"its": "fit", "baseline_figure": "harrow_lt_starts_2019_03",
               "reduction_figures": ["harrow_lt_starts_2019_03", "harrow_lt_starts_2020_03"],
               "shares": [{"measure": "repeat-request share", "figures": [
                   "harrow_repeat_share_before", "harrow_repeat_share_after"]}, {"measure":
                   "C3 share", "figures": ["harrow_c3_share_pre_covid", "harrow_c3_share_covid"]}]},
    "birmingham": {"its": "rate", "baseline_starts": 200, "baseline_months_figure":
                   "bham_evaluation_months", "reduction_figures": ["bham_long_term_reduction"],
                   "shares": [{"measure": "C3 share", "figures": ["bham_share_c3"]}]}}
PARAMETERS: tuple[Parameter, ...] = (
    # shared
    Parameter("alpha", Probability, 0.05, "1 - confidence level"),
    Parameter("seed", Annotated[int, Field(ge=0)], per_notebook={
        "03": Variant(20190603, "random seed for the draws"),
        "04": Variant(2020, "random seed for the model and Monte Carlo draws"),
        "05": Variant(2020, "random seed for the bootstrap resamples"),
        "07": Variant(2027, "random seed for the simulated series")}),
    Parameter("n_draws", Annotated[int, Field(ge=100, le=1_000_000)], per_notebook={
        "03": Variant(2000, "coefficient draws for the counterfactual intervals"),
        "04": Variant(50000, "Monte Carlo draws (avoided starts x unit cost)")}),
    Parameter("disclosure_threshold", Annotated[int, Field(ge=1, le=100)], 10,
              "user record-level data: counts under this (and their complements) are shown as "
              "[c] (study.run.disclosure); one value per run"),
    # data files
    Parameter("conversations_path", Path_, "data/synthetic/conversations_synthetic.csv",
              "record-level conversation episodes (synthetic by default)"),
    Parameter("weekly_path", Path_, "data/synthetic/harrow_weekly_synthetic.csv",
              "long weekly file (week_start, site, series, count[, population])"),
    Parameter("reviews_path", Path_, "data/synthetic/reviews_synthetic.csv",
              "record-level reviews (synthetic by default)"),
    Parameter("reviews_site", Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], "harrow",
              "site of the record-level reviews (its rows in estimates.csv; Tables 1a/1b are "
              "Harrow's)"),
    Parameter("review_tables_path", Path_, "data/published/harrow_reviews_tables.csv",
              "Harrow Tables 1a/1b as published (seed 004)"),
    Parameter("national_figures_path", Path_, "data/published/national_figures.csv",
              "cited NHS Digital ASC-FR/SALT 2021-22 and Oflog figures (real public data, with "
              "cell references; written by scripts/transcribe_national.py)"),
    Parameter("ascfr_workbook", str, "",
              "official ASC-FR/SALT workbook to read instead (empty: use national_figures_path)"),
    Parameter("oflog_path", str, "",
              "Oflog ASC_data.csv with every council (empty: STUDY_EXTERNAL_DIR or "
              "../shared/external); without it the panel analysis is skipped"),
    # 01 conversation split
    Parameter("share_rounding", Annotated[float, Field(ge=0, le=0.1)], 0.01,
              "published shares are whole percents: rounding unit as a fraction"),
    Parameter("harrow_conversations_pre_covid", Count, 1000,
              "assumption (not published): conversations behind Harrow's 9% C3 share; the "
              "Covid-year count adds the published +20% in requests"),
    Parameter("harrow_denominators", Counts, [100, 250, 500, 1000, 2000, 4000],
              "plausible pre-Covid conversation counts for the denominator-sensitivity table "
              "(not published)"),
    # 02 long-term reduction
    Parameter("weeks_per_rate", Weeks, 13,
              "assumption: each published weekly average covers a 13-week quarter ending at its "
              "month end; compared quarters are independent"),
    Parameter("weeks_sensitivity", Annotated[list[Weeks], Field(min_length=1)], [4, 13, 26, 52],
              "weeks assumed behind each published weekly average, for the sensitivity table"),
    Parameter("bham_extract_months", Annotated[int, Field(ge=1, le=36)], 6,
              "months of 3Cs at lt_site in the record-level extract, compared with the same "
              "number of months of the comparison team before (Birmingham published a 6-month "
              "evaluation)"),
    Parameter("lt_site", SiteId, "birmingham",
              "site of the record-level long-term reduction before/after its 3Cs go-live"),
    Parameter("lt_teams", Annotated[list[TeamId], Field(min_length=1)],
              ["innovation_site_1", "innovation_site_2"],
              "3Cs teams (key areas) of lt_site counted after the go-live"),
    Parameter("lt_comparison_team", TeamId, "usual_care",
              "team of lt_site counted before the go-live"),
    Parameter("lt_go_live", OptionalDate, "2018-04-02",
              "3Cs go-live at lt_site: 3Cs episodes start on or after it, comparison episodes "
              "before it (empty: the first start_date of the lt_teams episodes; Birmingham's "
              "dates are not published, this is the synthetic extract's)"),
    Parameter("repeat_site", SiteId, "harrow",
              "site of the record-level repeat-request comparison"),
    Parameter("repeat_window", Annotated[list[IsoDate], Field(min_length=2, max_length=2)],
              ["2019-04-01", "2020-03-31"],
              "[first day, last day] of the requests compared with the window of the same "
              "length just before (default: Harrow's published innovation year 2019-20)"),
    Parameter("bham_baseline_long_term", Count, 200,
              "assumption (not published): people needing long-term services in the two key "
              "areas over the published comparison period before 3Cs (figure "
              "bham_evaluation_months; about 2/3 of 1,497 conversations x 20%)"),
    Parameter("bham_baseline_sensitivity", Counts, [25, 50, 100, 200, 400, 800],
              "Birmingham baseline counts tried in the sensitivity table"),
    Parameter("repeat_requests_before", Count, 1000,
              "assumption (not published): community requests in the year before 3Cs "
              "(denominator of the 33%)"),
    Parameter("repeat_requests_after", Count, 1000,
              "assumption (not published): community requests in the innovation year 2019-20 "
              "(denominator of the 25%)"),
    Parameter("repeat_denominators", Counts, [250, 500, 1000, 2000, 4000],
              "equal denominators tried for the repeat-request comparison"),
    Parameter("dispersion_alpha", Probability, 0.05,
              "record-level weekly series: quasi-Poisson if the Pearson dispersion test p < "
              "this, else Poisson"),
    # 03 interrupted time series
    Parameter("series", Name, "new_long_term_starts", "series to model"),
    Parameter("site", Name, "harrow", "site with the 3Cs innovation sites"),
    Parameter("comparison_site", str, "london_comparison",
              "comparison series for the controlled ITS (empty: skip)"),
    Parameter("exposure", str, "", "exposure column for a log offset (empty: none)"),
    Parameter("periods", Annotated[dict[str, Period], Field(min_length=1)], PERIODS,
              "name -> start date, kind (intervention|context), level/slope switches"),
    Parameter("windows", dict[str, Annotated[list[IsoDate], Field(min_length=2, max_length=2)]],
              WINDOWS, "name -> [first day, last day]; weeks whose Monday lies inside"),
    Parameter("last_week", OptionalDate, "",
              "last week (a Monday) the evaluation had; later weeks, periods and windows are "
              "left out (empty: all)",
              per_notebook={"04": Variant(help="last week (a Monday) the evaluation had; later "
                            "weeks and periods are left out of the ITS route (empty: all)")}),
    Parameter("harmonics", Harmonics, 1,
              "Fourier harmonic pairs for seasonality, period one year (52.18 weeks)",
              per_notebook={"03": Variant(help="Fourier harmonic pairs for seasonality, period "
                            "seasonal_period (0: one year at the frequency, 52.18 weeks or 12 "
                            "months)")}),
    Parameter("max_harmonics", Harmonics, 2,
              "sensitivity table: harmonics 0..max_harmonics x every family"),
    Parameter("family", Literal[FAMILIES], "poisson_hac_ar1", " | ".join(FAMILIES)),
    Parameter("transition_weeks", Annotated[int, Field(ge=0, le=52)], 0,
              "weeks after each period start left out of the fit"),
    Parameter("placebo_step_weeks", Annotated[int, Field(ge=1, le=52)], 8,
              "spacing of placebo dates before the first intervention"),
    Parameter("frequency", Name, "weekly",
              "step of the series: weekly | monthly | quarterly | annual | daily | a pandas "
              "offset alias (week counts such as transition_weeks are then in these steps)"),
    Parameter("seasonal_period", Annotated[float, Field(ge=0, le=400)], 0.0,
              "Fourier period in observations (0: from frequency, weekly 52.18, monthly 12)"),
    # 04 cost avoidance
    Parameter("harrow_geography_code", GeographyCode, "E09000015",
              "Harrow (LA code 725) in the ASC-FR workbook"),
    Parameter("birmingham_geography_code", GeographyCode, "E08000025",
              "Birmingham (LA code 406) in the ASC-FR workbook"),
    Parameter("residential_cost_measure", Name, "res_nursing_total_2020_21",
              "ASC-FR T52 'Residential and Nursing', 2020-21, all ages (£/week)"),
    Parameter("community_cost_measure", Name, "community_weekly_end",
              "ASC-FR T43+T44 community spend / T38 community clients at 31 March / 52 (£/week)"),
    Parameter("unit_cost_cv", Annotated[float, Field(ge=0, le=2)], 0.2,
              "SD / mean of each unit cost (gamma); judgement: avoided clients need not cost "
              "the LA average"),
    Parameter("harrow_exposure_weeks_before", Annotated[float, Field(gt=0, le=520)], 52.0,
              "weeks behind the 7.2 rate (not published; assumed a year)"),
    Parameter("harrow_exposure_weeks_after", Annotated[float, Field(gt=0, le=520)], 13.0,
              "weeks behind the 5.5 rate (not published; assumed a quarter)"),
    Parameter("harrow_fy_start", IsoDate, "2019-04-01",
              "first Monday of financial year 2019-20"),
    Parameter("harrow_full_effect", IsoDate, "2019-06-03",
              "date the full drop is reached; same as the start means a step (assumed)"),
    Parameter("harrow_reading", Literal[ALL_READINGS], "published_path",
              "reading of the published 7.2 -> 6.1 -> 5.5 a week costed in the Harrow section: "
              + " | ".join(ALL_READINGS) + " (its_trend: against the ITS pre-period trend; its: "
              "the ITS route; all are shown side by side)"),
    Parameter("bham_site", Name, "birmingham",
              "site costed from a published relative reduction (its label in the estimates)"),
    Parameter("harrow_full_year_tolerance_gbp", Annotated[float, Field(ge=0)], 50000.0,
              "'up to £1m' read as £1.0m +/- this (rounded to £0.1m) when checking which reading "
              "shares one unit cost with £696k"),
    Parameter("birmingham_window_start", IsoDate, "2018-04-02",
              "first day of the evaluation window costed (dates not published; assumed)"),
    Parameter("birmingham_window_weeks", Weeks, 26,
              "weeks costed at the baseline weekly rate (default: the published evaluation "
              "length, figure bham_evaluation_months, in weeks)"),
    # 05 reviews
    Parameter("n_resamples", Annotated[int, Field(ge=1000, le=1_000_000)], 10000,
              "bootstrap resamples per estimate (at least 1000)"),
    # 06 national comparison
    Parameter("treated_councils",
              Annotated[dict[GeographyCode, FinancialYear], Field(min_length=1)],
              {"E09000015": "2019-20", "E08000025": "2018-19"},
              "council -> first treated financial year (Harrow: innovation sites from June "
              "2019; Birmingham: roll-out before its six-month evaluation, the twelve-month one "
              "due April 2019)"),
    Parameter("panel_measures", Annotated[list[MeasureCode], Field(min_length=1)],
              ["ASC6", "ASC5"], "Oflog measures for the panel analysis"),
    Parameter("panel_first_year", FinancialYear, "2016-17",
              "first year of the panel (ASC6 2015-16 is on another basis: its median is half "
              "the later years)"),
    Parameter("ons_population_path", str, "",
              "folder of ONS mid-year population .xls editions (empty: "
              "STUDY_EXTERNAL_DIR or ../shared/external/ons_population); without it request "
              "comparisons use equal one-year exposures"),
    Parameter("sc_average_scheme", Literal["iid", "moving block"], "iid",
              "permutation scheme of the conformal interval for the synthetic control's "
              "post-period average gap (iid: all sets of post years; moving block: cyclic "
              "shifts, robust to serial dependence but its smallest p-value is 1 / years)"),
    # 07 evaluation design
    Parameter("power_weeks_after", Annotated[list[Weeks], Field(min_length=1)],
              [26, 39, 52, 78, 104, 156],
              "planned weeks of data after go-live for the ITS power and MDE"),
    Parameter("power_weeks_before", Weeks, 52,
              "weeks of data before go-live in the planned ITS evaluation"),
    Parameter("power_exposure_weeks", Annotated[list[Weeks], Field(min_length=1)],
              [13, 26, 39, 52, 78, 104],
              "weeks of data before and after (each) for the rate-ratio power and MDE"),
    Parameter("power_denominators", Counts, [250, 500, 1000, 2000, 4000],
              "requests (conversations) per period for the share power and MDE"),
    Parameter("power_reductions", Annotated[list[Annotated[float, Field(gt=0, lt=1)]],
                                            Field(min_length=0)], [0.1, 0.2, 0.3],
              "relative reductions for the ITS power table besides the published ones"),
    Parameter("target_power", Probability, 0.8,
              "power the minimum detectable effects are computed for"),
    Parameter("power_simulations", Annotated[int, Field(ge=100, le=100_000)], 1000,
              "simulated series per length and effect (ITS) or per row (rate-ratio check)"),
    Parameter("power_nuisance", Literal["fitted", "given"], "fitted",
              "dispersion and residual autocorrelation of the simulated series: fitted "
              "(notebook 03's model) or given (power_dispersion, power_autocorrelation)"),
    Parameter("power_dispersion", Annotated[float, Field(gt=0, le=50)], 1.0,
              "Pearson dispersion of the simulated series if power_nuisance is given"),
    Parameter("power_autocorrelation", Annotated[float, Field(gt=-1, lt=1)], 0.0,
              "lag-1 residual autocorrelation of the simulated series if power_nuisance is "
              "given"),
    Parameter("design_sites", Annotated[dict[SiteId, dict], AfterValidator(_sites)], DESIGN_SITES,
              "planned sites (study.analyses.evaluation_design); baseline_starts: assumed"),
    Parameter("ascof_path", str, "",
              "NHS Digital ASCOF 2020-21 open-data .xlsx (empty: STUDY_EXTERNAL_DIR or "
              "../shared/external); without it the ASCOF comparison is skipped"),
    Parameter("site_geography_code", Annotated[str, Field(pattern=r"^(|[EW]\d{8})$")],
              "E09000015",
              "ONS code of the council of `site`, for the care-home deaths of the first Covid-19 "
              "wave beside the periods (empty: not shown)"),
    Parameter("care_home_deaths_path", str, "",
              "ONS care-home deaths workbook, first wave (empty: STUDY_EXTERNAL_DIR or "
              "../shared/external); without it the Covid-19 context is skipped"),
    Parameter("covid_fall_share", Annotated[float, Field(gt=0, lt=1)], 0.5,
              "care-home deaths involving COVID-19 have fallen when a week after the peak has "
              "at most this share of the peak week's"),
    Parameter("covid_agreement_days", Annotated[int, Field(ge=0, le=60)], 7,
              "notebook 03's covid_wave_1 start agrees with the data when it is within this "
              "many days of a council's first week with a care-home death involving COVID-19"),
)
RUN_DIR = Parameter("run_dir", str, "",
                    "run folder written by the pipeline (empty: nothing written)")

# Each notebook's parameters in the order of its `parameters` cell; `run_dir` follows them all.
NOTEBOOKS: dict[str, tuple[str, ...]] = {
    "01_conversation_split": tuple(
        "alpha share_rounding harrow_conversations_pre_covid harrow_denominators "
        "conversations_path".split()) + ("disclosure_threshold",),
    "02_long_term_reduction": tuple(
        "alpha weeks_per_rate weeks_sensitivity bham_baseline_long_term bham_baseline_sensitivity "
        "repeat_requests_before repeat_requests_after repeat_denominators dispersion_alpha "
        "bham_extract_months lt_site lt_teams lt_comparison_team lt_go_live repeat_site "
        "repeat_window conversations_path".split()) + ("disclosure_threshold",),
    "03_interrupted_time_series": tuple(
        "weekly_path series site comparison_site exposure periods windows last_week harmonics "
        "family transition_weeks placebo_step_weeks max_harmonics n_draws seed alpha "
        "frequency seasonal_period".split()) + ("disclosure_threshold",)
        + tuple("site_geography_code care_home_deaths_path covid_fall_share "
                "covid_agreement_days".split()),
    "04_cost_avoidance": tuple(
        "alpha seed n_draws national_figures_path ascfr_workbook harrow_geography_code "
        "birmingham_geography_code residential_cost_measure community_cost_measure unit_cost_cv "
        "harrow_exposure_weeks_before harrow_exposure_weeks_after harrow_fy_start "
        "harrow_full_effect harrow_reading harrow_full_year_tolerance_gbp weekly_path last_week "
        "periods family harmonics transition_weeks site series "
        "bham_site bham_baseline_long_term bham_baseline_sensitivity birmingham_window_start "
        "birmingham_window_weeks".split()),
    "05_reviews_existing_care": tuple(
        "alpha seed n_resamples review_tables_path reviews_path reviews_site".split())
        + ("disclosure_threshold",),
    "06_national_comparison": tuple(
        "alpha national_figures_path oflog_path treated_councils panel_measures "
        "panel_first_year sc_average_scheme ons_population_path ascof_path care_home_deaths_path "
        "covid_fall_share covid_agreement_days".split()),
    "07_evaluation_design": tuple(
        "alpha seed weekly_path series site periods windows last_week harmonics "
        "power_weeks_before power_weeks_after power_reductions power_exposure_weeks "
        "power_denominators target_power power_simulations power_nuisance power_dispersion "
        "power_autocorrelation design_sites oflog_path "
        "treated_councils panel_measures panel_first_year".split()),
}
# fmt: on
BY_NAME: dict[str, Parameter] = {p.name: p for p in (*PARAMETERS, RUN_DIR)}
PARAMETER_NAMES = frozenset(p.name for p in PARAMETERS)


def notebook_number(name: str) -> str:
    """'03' for '03_interrupted_time_series' (also for '03' or '03_....ipynb')."""
    return str(name).split("_", 1)[0]


def notebooks_using(name: str) -> list[str]:
    """Numbers of the notebooks declaring a parameter, in reading order."""
    if name == RUN_DIR.name:
        return [notebook_number(nb) for nb in NOTEBOOKS]
    return [notebook_number(nb) for nb, names in NOTEBOOKS.items() if name in names]


def check_declaration() -> None:
    """The declaration is complete and consistent (run at import; raises ValueError)."""
    problems = []
    for nb, names in NOTEBOOKS.items():
        unknown = [n for n in names if n not in PARAMETER_NAMES]
        twice = sorted({n for n in names if names.count(n) > 1})
        if unknown or twice:
            problems.append(f"{nb}: undeclared {unknown}, listed twice {twice}")
    numbers = [notebook_number(nb) for nb in NOTEBOOKS]
    if len(set(numbers)) != len(numbers):
        problems.append(f"notebook numbers repeat: {numbers}")
    for p in PARAMETERS:
        using = notebooks_using(p.name)
        if not using:
            problems.append(f"{p.name}: no notebook declares it")
        if extra := sorted(set(p.per_notebook) - set(using)):
            problems.append(f"{p.name}: variants for notebooks {extra} that do not declare it")
        for n in using:
            if p.default_in(n) is UNSET or not p.help_in(n):
                problems.append(f"{p.name}: no default or no help in notebook {n}")
            elif not isinstance(p.default_in(n), _plain_type(p.type)):
                problems.append(f"{p.name}: default in {n} is not {p.type_name}")
            elif "\n" in p.help_in(n):
                problems.append(f"{p.name}: help in {n} spans lines")
    if problems:
        raise ValueError("parameter declaration: " + "; ".join(problems))


check_declaration()


# --------------------------------------------------------------------------------------------
# The pydantic model and the validation of parameters files
# --------------------------------------------------------------------------------------------


class _CrossChecks(BaseModel):
    """Checks across values; `StudyParameters` adds one optional field per parameter."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("windows", check_fields=False)
    @classmethod
    def _window_order(cls, value: dict | None) -> dict | None:
        for name, (first, last) in (value or {}).items():
            if first > last:
                raise ValueError(f"window {name!r} ends ({last}) before it starts ({first})")
        return value

    @model_validator(mode="after")
    def _cross_checks(self):
        fy_start, full_effect = self.harrow_fy_start, self.harrow_full_effect
        if fy_start and full_effect and full_effect < fy_start:
            raise ValueError(
                f"harrow_full_effect ({full_effect}) is before harrow_fy_start ({fy_start})"
            )
        periods = self.periods
        if periods and not any(p.kind == "intervention" for p in periods.values()):
            raise ValueError("periods: at least one period must be of kind 'intervention'")
        return self


StudyParameters = create_model(
    "StudyParameters",
    __base__=_CrossChecks,
    __doc__="Every study parameter with its allowed values (all optional: a parameters file "
    "sets only what it changes).",
    **{p.name: (p.type | None, Field(None, description=p.help)) for p in PARAMETERS},
)


def _problem_lines(exc: ValidationError, where: str) -> list[str]:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown parameter (no notebook declares it; see 'study list')"
        got = e.get("input")
        quiet = e["type"] in ("extra_forbidden", "value_error") or isinstance(got, dict)
        shown = "" if quiet else f" (got {got!r})"
        lines.append(f"{where}{'.' + loc if loc else ''}: {message}{shown}")
    return lines


def validate_params(raw: Mapping, source: str | Path) -> None:
    """Check a parsed parameters file; raise one StudyInputError listing every problem.

    Checks the top-level keys, `only`, every value in `parameters` and in each
    `notebooks.<name>` mapping against `StudyParameters` (types, ranges, dates and their order,
    allowed choices). Names the model does not know are left to the pipeline, which checks
    them against the notebooks' `parameters` cells (unknown names, declared types).
    """
    problems: list[str] = []
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        problems.append(f"unknown top-level key(s) {unknown}; expected {', '.join(TOP_LEVEL_KEYS)}")
    threshold = raw.get("disclosure_threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 100
    ):
        problems.append(
            f"disclosure_threshold: must be a whole number from 1 to 100 (got {threshold!r})"
        )
    only = raw.get("only")
    if only is not None and (
        not isinstance(only, list) or not all(isinstance(x, str) and x for x in only)
    ):
        problems.append("only: must be a list of notebook numbers or names as text")
    sections = [("parameters", raw.get("parameters"))]
    notebooks = raw.get("notebooks")
    if notebooks is not None and not isinstance(notebooks, dict):
        problems.append("notebooks: must be a mapping of notebook name -> parameters")
        notebooks = {}
    sections += [(f"notebooks.{k}", v) for k, v in (notebooks or {}).items()]
    for where, values in sections:
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"{where}: must be a mapping of name -> value")
            continue
        try:
            StudyParameters.model_validate(
                {k: v for k, v in values.items() if k in PARAMETER_NAMES}
            )
        except ValidationError as exc:
            problems.extend(_problem_lines(exc, where))
    if problems:
        n = len(problems)
        raise StudyInputError(
            f"{source}: {n} problem{'s' if n > 1 else ''} in the parameters file:\n  "
            + "\n  ".join(problems)
        )


# --------------------------------------------------------------------------------------------
# What is generated: the notebooks' parameters cells, params/default.yaml, `study list`
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter as a notebook's `parameters` cell declares it (papermill's reading)."""

    name: str
    type_name: str
    default: str
    help: str


def python_literal(value: object) -> str:
    """A plain Python literal with double-quoted strings, as the parameters cells write them."""
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"no plain literal for {type(value).__name__} {value!r}")


def yaml_literal(value: object) -> str:
    """One-line YAML for a parameter value (JSON flow style: key order kept, dates quoted)."""
    return json.dumps(value, ensure_ascii=False)


def _notebook_name(notebook: str) -> str:
    """A declared notebook's name from its name, file name or number ('03')."""
    name = Path(str(notebook)).stem
    by_number = {notebook_number(nb): nb for nb in NOTEBOOKS}
    name = by_number.get(name, name)
    if name not in NOTEBOOKS:
        raise StudyInputError(
            f"notebook {name!r} is not in the parameter declaration "
            f"(study.run.parameters.NOTEBOOKS has: {', '.join(NOTEBOOKS)})"
        )
    return name


def notebook_parameters(notebook: str) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares, in its cell's order (`run_dir` last)."""
    name = _notebook_name(notebook)
    number = notebook_number(name)
    declared = [BY_NAME[n] for n in NOTEBOOKS[name]] + [RUN_DIR]
    return {
        p.name: NotebookParameter(
            p.name, p.type_name, python_literal(p.default_in(number)), p.help_in(number)
        )
        for p in declared
    }


def parameters_cell(notebook: str) -> str:
    """The source of a notebook's papermill `parameters` cell: `name: type = literal  # help`."""
    return "\n".join(
        f"{p.name}: {p.type_name} = {p.default}  # {p.help}"
        for p in notebook_parameters(notebook).values()
    )


DEFAULT_RUN_NAME = "default"
DEFAULT_DESCRIPTION = (
    "Default study run on the published figures and the synthetic record-level extract."
)
_DEFAULT_HEADER = """\
# Default run: the published figures + the committed synthetic extract (data/synthetic/).
# Generated from the parameter declaration (src/study/run/parameters.py) by
# 'study params --write' (make params), like each notebook's `parameters` cell, so the
# committed notebook outputs are this run. Do not edit by hand: change the declaration.
# To run with your own data, copy a set ('study new-params --from default --name mine').
# [NN, ...] = the notebooks that use a parameter; `study list` shows them all."""


def default_params_text() -> str:
    """params/default.yaml: every parameter at its default, tagged with its notebooks.

    Parameters whose default differs between notebooks go under `notebooks:`."""
    lines = [
        _DEFAULT_HEADER,
        f"run_name: {DEFAULT_RUN_NAME}",
        f"description: {DEFAULT_DESCRIPTION}",
        "parameters:",
    ]
    seen: list[str] = []
    for names in NOTEBOOKS.values():
        seen += [n for n in names if n not in seen]
    for p in (BY_NAME[n] for n in seen):
        if not p.varies:
            tags = ", ".join(notebooks_using(p.name))
            lines.append(f"  {p.name}: {yaml_literal(p.default)}  # [{tags}] {p.help}")
    lines.append("notebooks:  # per-notebook values where the same name differs")
    for nb, names in NOTEBOOKS.items():
        number = notebook_number(nb)
        varying = [BY_NAME[n] for n in names if BY_NAME[n].varies]
        if varying:
            lines.append(f"  {nb}:")
            lines += [
                f"    {p.name}: {yaml_literal(p.default_in(number))}  # {p.help_in(number)}"
                for p in varying
            ]
    return "\n".join(lines) + "\n"


def write_parameters_cell(path: Path) -> bool:
    """Set a notebook's `parameters` cell to `parameters_cell`; True if the file changed.

    Only that cell's source is touched (outputs stay); the file is rewritten only on change."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise StudyInputError(f"{path}: {len(tagged)} cells tagged 'parameters', expected one")
    text = parameters_cell(path.stem)
    if tagged[0].source == text:
        return False
    tagged[0].source = text
    nbformat.write(nb, path)
    return True


def _cell_source(path: Path) -> str | None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return tagged[0].source if len(tagged) == 1 else None


def generated_files(
    notebooks_dir: Path = NOTEBOOKS_DIR, default_params: Path = DEFAULT_PARAMS
) -> list[Path]:
    """The files `study params --write` writes: each notebook, then params/default.yaml."""
    return [notebooks_dir / f"{nb}.ipynb" for nb in NOTEBOOKS] + [default_params]


def stale_files(
    notebooks_dir: Path = NOTEBOOKS_DIR, default_params: Path = DEFAULT_PARAMS
) -> list[Path]:
    """Generated files that differ from the declaration (what `study params --write` changes)."""
    stale = []
    for path in generated_files(notebooks_dir, default_params):
        if path.suffix == ".ipynb":
            fresh = path.is_file() and _cell_source(path) == parameters_cell(path.stem)
        else:
            fresh = path.is_file() and path.read_text(encoding="utf-8") == default_params_text()
        if not fresh:
            stale.append(path)
    return stale


def write_generated(
    notebooks_dir: Path = NOTEBOOKS_DIR, default_params: Path = DEFAULT_PARAMS
) -> list[Path]:
    """Write every notebook's `parameters` cell and params/default.yaml; returns those changed."""
    changed = []
    for path in generated_files(notebooks_dir, default_params):
        if path.suffix == ".ipynb":
            if not path.is_file():
                raise StudyInputError(f"{path}: declared in study.run.parameters but missing")
            if write_parameters_cell(path):
                changed.append(path)
        elif not path.is_file() or path.read_text(encoding="utf-8") != default_params_text():
            path.write_text(default_params_text(), encoding="utf-8")
            changed.append(path)
    return changed


def check_run_name(name: str) -> str:
    """A run name is letters (any alphabet), digits, '-' or '_' (it names files and folders);
    returned in Unicode NFC form, so 'Zürich' typed either way names the same folder."""
    name = unicodedata.normalize("NFC", str(name))
    allowed = {c for c in name if c.isalnum() or c in "-_" or unicodedata.category(c)[0] == "M"}
    bad = sorted(set(name) - allowed)
    if not name or bad:
        shown = ", ".join(repr(ch) for ch in bad) or "nothing"
        raise StudyInputError(
            f"run name {name!r}: {shown} not allowed; use letters, digits, - or _ "
            "(it names the run folder)"
        )
    return name


def check_not_empty(raw: Mapping, source: str | Path) -> None:
    """Refuse a parameters file that sets nothing (empty, or only comments): it would silently
    run the whole default study."""
    if not raw:
        raise StudyInputError(
            f"{source}: the parameters file is empty (or only comments); a minimal set is "
            + MINIMAL_SET
        )


# --------------------------------------------------------------------------------------------
# Values checked against the data before a run (study.run.pipeline.preflight)
# --------------------------------------------------------------------------------------------


def dates_outside_series(values: Mapping, first: dt.date, last: dt.date) -> list[str]:
    """Problems with a notebook's period, window and `last_week` dates against the span of its
    weekly series (`first` = first week's Monday, `last` = the last week's Monday).

    A period must start inside the series (first Monday to the last week's Sunday), unless
    `last_week` leaves it out; a window must hold at least one week of it; `last_week` must not
    be before the first week. Each problem names the key and the series' span."""
    span = f"the weekly series runs {first.isoformat()} to {(last + dt.timedelta(6)).isoformat()}"
    last_day = last + dt.timedelta(days=6)
    cut = values.get("last_week") or ""
    cut_date = dt.date.fromisoformat(cut) if cut else None
    problems = []
    if cut_date is not None and cut_date < first:
        problems.append(f"last_week {cut}: before the first week of data; {span}")
    for name, period in (values.get("periods") or {}).items():
        start = dt.date.fromisoformat(str(period["start"]))
        if cut_date is not None and start > cut_date:
            continue  # left out of the run by last_week
        if start < first or start > last_day:
            where = "before" if start < first else "after"
            problems.append(f"periods.{name}.start {start.isoformat()}: {where} the data; {span}")
    for name, (lo, hi) in (values.get("windows") or {}).items():
        lo_d, hi_d = dt.date.fromisoformat(str(lo)), dt.date.fromisoformat(str(hi))
        if hi_d < first or lo_d > last:
            problems.append(f"windows.{name} [{lo}, {hi}]: holds no week of the data; {span}")
    return problems
