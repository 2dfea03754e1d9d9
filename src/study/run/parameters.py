"""Parameter files: what each study parameter may hold, checked before a run.

A parameters file (`params/*.yaml`) has `run_name`, `description`, optional `only` (the
notebooks this parameter set runs), `parameters` (shared by every notebook that declares the
name) and `notebooks` (per-notebook values). `validate_params` checks every value against the
pydantic model `StudyParameters` (types, ranges, dates, date order, choices) and reports every
problem at once, one line each, naming the file and the key. `new_params_text` writes a
commented template from an existing parameter set (`study new-params`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from study.config import PARAMS_DIR
from study.errors import StudyInputError

TOP_LEVEL_KEYS = ("run_name", "description", "only", "parameters", "notebooks")
FAMILIES = ("poisson", "quasi_poisson", "negative_binomial", "poisson_hac", "ols_hac")


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


IsoDate = Annotated[str, BeforeValidator(_iso_date)]
Probability = Annotated[float, Field(gt=0, lt=1)]
Count = Annotated[int, Field(ge=1)]
Path_ = Annotated[str, Field(description="file path, relative to the project root or absolute")]
GeographyCode = Annotated[str, Field(pattern=r"^E\d{8}$")]
Weeks = Annotated[int, Field(ge=1, le=260)]
MeasureCode = Annotated[str, Field(pattern=r"^ASC\d+$")]


class Period(BaseModel):
    """One segment of the interrupted time series: start date, kind, level/slope switches."""

    model_config = ConfigDict(extra="forbid", strict=True)
    start: IsoDate
    kind: Literal["intervention", "context"]
    level: bool = True
    slope: bool = True


class StudyParameters(BaseModel):
    """Every parameter a study notebook declares, with its allowed values (all optional here:
    a parameters file sets only what it changes; the notebooks hold the defaults)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # shared
    alpha: Probability | None = None
    seed: Annotated[int, Field(ge=0)] | None = None
    n_draws: Annotated[int, Field(ge=100, le=1_000_000)] | None = None
    # data files
    conversations_path: Path_ | None = None
    weekly_path: Path_ | None = None
    reviews_path: Path_ | None = None
    review_tables_path: Path_ | None = None
    national_figures_path: Path_ | None = None
    ascfr_workbook: str | None = None
    oflog_path: str | None = None
    # 01 conversation split
    share_rounding: Annotated[float, Field(ge=0, le=0.1)] | None = None
    harrow_conversations_pre_covid: Count | None = None
    harrow_denominators: Annotated[list[Count], Field(min_length=1)] | None = None
    # 02 long-term reduction
    weeks_per_rate: Weeks | None = None
    weeks_sensitivity: (
        Annotated[list[Annotated[int, Field(ge=1, le=260)]], Field(min_length=1)] | None
    ) = None
    bham_extract_months: Annotated[int, Field(ge=1, le=36)] | None = None
    bham_baseline_long_term: Count | None = None
    bham_baseline_sensitivity: Annotated[list[Count], Field(min_length=1)] | None = None
    repeat_requests_before: Count | None = None
    repeat_requests_after: Count | None = None
    repeat_denominators: Annotated[list[Count], Field(min_length=1)] | None = None
    dispersion_alpha: Probability | None = None
    # 03 interrupted time series
    series: Annotated[str, Field(min_length=1)] | None = None
    site: Annotated[str, Field(min_length=1)] | None = None
    comparison_site: str | None = None
    exposure: str | None = None
    periods: Annotated[dict[str, Period], Field(min_length=1)] | None = None
    windows: dict[str, Annotated[list[IsoDate], Field(min_length=2, max_length=2)]] | None = None
    last_week: Annotated[str, BeforeValidator(lambda v: v and _iso_date(v))] | None = None
    harmonics: Annotated[int, Field(ge=0, le=6)] | None = None
    max_harmonics: Annotated[int, Field(ge=0, le=6)] | None = None
    family: Literal[FAMILIES] | None = None
    transition_weeks: Annotated[int, Field(ge=0, le=52)] | None = None
    placebo_step_weeks: Annotated[int, Field(ge=1, le=52)] | None = None
    # 04 cost avoidance
    harrow_geography_code: GeographyCode | None = None
    birmingham_geography_code: GeographyCode | None = None
    residential_cost_measure: Annotated[str, Field(min_length=1)] | None = None
    community_cost_measure: Annotated[str, Field(min_length=1)] | None = None
    unit_cost_cv: Annotated[float, Field(ge=0, le=2)] | None = None
    harrow_exposure_weeks_before: Annotated[float, Field(gt=0, le=520)] | None = None
    harrow_exposure_weeks_after: Annotated[float, Field(gt=0, le=520)] | None = None
    harrow_fy_start: IsoDate | None = None
    harrow_full_effect: IsoDate | None = None
    birmingham_window_start: IsoDate | None = None
    birmingham_window_weeks: Weeks | None = None
    # 05 reviews
    n_resamples: Annotated[int, Field(ge=1000, le=1_000_000)] | None = None
    # 06 national comparison
    treated_councils: (
        Annotated[
            dict[GeographyCode, Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]],
            Field(min_length=1),
        ]
        | None
    ) = None
    panel_measures: (
        Annotated[list[Annotated[str, Field(pattern=r"^ASC\d+$")]], Field(min_length=1)] | None
    ) = None
    panel_first_year: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] | None = None

    @field_validator("windows")
    @classmethod
    def _window_order(cls, value: dict | None) -> dict | None:
        for name, (first, last) in (value or {}).items():
            if first > last:
                raise ValueError(f"window {name!r} ends ({last}) before it starts ({first})")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> StudyParameters:
        if self.harrow_fy_start and self.harrow_full_effect:
            if self.harrow_full_effect < self.harrow_fy_start:
                raise ValueError(
                    f"harrow_full_effect ({self.harrow_full_effect}) is before harrow_fy_start "
                    f"({self.harrow_fy_start})"
                )
        if self.periods and not any(p.kind == "intervention" for p in self.periods.values()):
            raise ValueError("periods: at least one period must be of kind 'intervention'")
        return self


PARAMETER_NAMES = frozenset(StudyParameters.model_fields)


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


def _yaml_value(value: object) -> str:
    """One-line YAML (flow style) for a parameter value; dates stay quoted strings."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return text.strip().removesuffix("...").strip()


def new_params_text(
    raw: Mapping,
    *,
    name: str,
    source: str,
    helps: Mapping[str, tuple[str, list[str]]],
) -> str:
    """A commented parameters file copied from the parsed file `raw` under a new run name.

    `helps` maps each parameter name to (help text, notebook numbers declaring it), as shown by
    `study list`; each value gets that text as a trailing comment so a new user can see what
    to change. The result parses back to the same parameters.
    """
    original = str(raw.get("description") or "").strip()
    description = f"{name}: describe this evaluation here (copied from {source}" + (
        f": {original})" if original else ")"
    )
    lines = [
        f"# Parameter set '{name}', copied from {source} by 'study new-params'.",
        "# Point the *_path parameters at your own extract (check it first with",
        "# 'study validate FILE'), change the assumptions you disagree with, then run",
        f"# 'study run --params params/{name}.yaml'. Dates are 'YYYY-MM-DD'.",
        "# Below are the values the copied set changes; every other parameter keeps its",
        "# notebook default. 'study list' shows them all, and any of them can be added here.",
        "# The description is printed at the top of the report: say what this run is.",
        f"run_name: {name}",
        f"description: {_yaml_value(description)}",
    ]
    only = [str(n) for n in raw.get("only") or []]
    if only:
        lines.append(f"only: {_yaml_value(only)}  # notebooks this set runs")

    def block(values: Mapping, indent: str) -> None:
        for key, value in values.items():
            text, numbers = helps.get(key, ("", []))
            numbers = [n for n in numbers if not only or n in only]
            tag = f"[{', '.join(numbers)}] " if numbers else ""
            comment = f"  # {tag}{text}".rstrip() if (tag or text) else ""
            lines.append(f"{indent}{key}: {_yaml_value(value)}{comment}")

    lines.append("parameters:")
    block(raw.get("parameters") or {}, "  ")
    overrides = raw.get("notebooks") or {}
    if overrides:
        lines.append("notebooks:  # per-notebook values where the same name differs")
        for nb, values in overrides.items():
            lines.append(f"  {nb}:")
            block(values or {}, "    ")
    return "\n".join(lines) + "\n"


def find_params_file(name_or_path: str | Path) -> Path:
    """A parameters file given as a path, or by name in params/ ('harrow-2019-20')."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    named = PARAMS_DIR / f"{p.name.removesuffix('.yaml')}.yaml"
    if named.is_file():
        return named
    have = ", ".join(sorted(f.stem for f in PARAMS_DIR.glob("*.yaml")))
    raise StudyInputError(f"no parameters file {name_or_path!r} (params/ has: {have})")


def check_run_name(name: str) -> str:
    """A run name is letters, digits, '-' or '_' (it names files and folders)."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise StudyInputError(f"run name {name!r} must be letters, digits, - or _")
    return name
