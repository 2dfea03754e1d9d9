"""Notebook 03 (interrupted time series): did new long-term starts fall with the 3Cs sites?

`prepare` takes the loaded weekly file (columns week_start, site, series, count[, exposure]),
cuts it at the last week the evaluation had (`study.its.data_up_to`), picks the modelled series
and fits its segmented regression once (`study.its.fit_its`). Each section function then takes
that `ITSSetup` and returns an `AnalysisResult`: `.table` (the estimates notebook 03 records,
labelled with site, data kind and source), `.view` (the table it shows), `.figures` (saved
under these names in the run folder) and `.text` (the computed sentence). The estimators are
in `study.its`, the figures in `study.plots.its`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from study import its
from study.analyses import AnalysisResult, labelled
from study.errors import StudyInputError
from study.plots import its as its_plots
from study.run import disclosure

SHOW = ["quantity", "estimate", "ci_low", "ci_high", "p_value"]
NO_COMPARISON = "no comparison series (comparison_site is empty)"


SKIPPED = "The Covid-19 care-home context was not shown:"  # + the reason


@dataclass(frozen=True)
class ITSSetup:
    """The modelled series of notebook 03, its periods, windows and model options, and its
    segmented regression (fitted once in `prepare`; every section reads it).

    `treated` holds the weeks of (`site`, `series`) up to `last_week`; `pair` the same weeks of
    the treated and comparison sites (None without a comparison site); `periods` and `windows`
    are those left after the cut, `dropped` says what the cut left out.
    """

    treated: pd.DataFrame
    pair: pd.DataFrame | None
    periods: dict[str, Any]
    windows: dict[str, list[str]]
    dropped: tuple[str, ...]
    fit: its.ITSFit
    site: str
    series: str
    comparison_site: str
    family: str
    harmonics: int
    exposure: str | None
    transition_weeks: int
    alpha: float
    last_week: str
    data_kind: str
    source: str
    frequency: str = "weekly"
    seasonal_period: float | None = None
    disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD

    @property
    def hide_below(self) -> int | None:
        """User data: observed counts under the disclosure threshold are not drawn."""
        return self.disclosure_threshold if self.data_kind == "user" else None

    @property
    def label(self) -> str:
        """Prefix of every quantity (the series; the site is its own column in estimates.csv)."""
        return self.series

    def labelled(self, table: pd.DataFrame) -> pd.DataFrame:
        """`table` with the run labels: site, data kind and source (the weekly file), and the
        disclosure rule applied (`study.run.disclosure.suppress`: user data only)."""
        out = labelled(table, site=self.site, data_kind=self.data_kind, source=self.source)
        return disclosure.suppress(out, self.disclosure_threshold) if not out.empty else out

    @property
    def description(self) -> str:
        """The modelled weeks and data kind, and what the `last_week` cut left out."""
        weeks = self.treated["week_start"]
        text = (
            f"{self.site} {self.series}: {len(self.treated)} {self.fit.design.unit}s, "
            f"{weeks.min():%Y-%m-%d} to {weeks.max():%Y-%m-%d}; data kind: {self.data_kind}"
        )
        if self.dropped:
            text += f"\n\nafter last_week {self.last_week}, left out: {'; '.join(self.dropped)}"
        return text


def _numeric_column(weekly: pd.DataFrame, column: str) -> pd.DataFrame:
    """`weekly` with `column` as numbers (extra columns of a read weekly file are text)."""
    if column not in weekly.columns:
        raise StudyInputError(f"exposure: the weekly file has no column {column!r}")
    values = pd.to_numeric(weekly[column], errors="coerce")
    bad = values.isna() & weekly[column].notna()
    if bad.any():
        cell = weekly.loc[bad, column].iloc[0]
        raise StudyInputError(
            f"exposure: column {column!r} has a value that is not a number: {cell!r}"
        )
    return weekly.assign(**{column: values})


def prepare(
    weekly: pd.DataFrame,
    *,
    site: str,
    series: str,
    comparison_site: str,
    periods: Mapping[str, Any],
    windows: Mapping[str, Any],
    last_week: str,
    family: str,
    harmonics: int,
    exposure: str,
    transition_weeks: int,
    alpha: float,
    data_kind: str,
    source: str,
    frequency: str = "weekly",
    seasonal_period: float = 0.0,
    disclosure_threshold: int = disclosure.DEFAULT_THRESHOLD,
) -> ITSSetup:
    """Cut the loaded weekly file at `last_week`, pick the series and fit it (`its.fit_its`).

    `exposure` '' means no offset; `comparison_site` '' means no controlled ITS. `frequency` is
    the step of the series (`its.as_frequency`: weekly, monthly, quarterly, annual, daily or a
    pandas offset alias); `seasonal_period` 0 takes the frequency's default. User data
    (`data_kind` 'user'): every section applies the disclosure rule with
    `disclosure_threshold` to its rows, views and sentences, and its figures leave out observed
    counts from 1 to threshold - 1 (`study.run.disclosure`).
    """
    missing = [c for c in ("week_start", "site", "series") if c not in weekly.columns]
    if missing:
        raise StudyInputError(f"weekly: missing column(s) {missing}")
    if exposure:
        weekly = _numeric_column(weekly, exposure)
    cut = its.data_up_to(weekly, periods, windows, last_week)
    data = cut.weekly
    treated = data[(data["site"] == site) & (data["series"] == series)]
    pair = None
    if comparison_site:
        pair = data[(data["series"] == series) & data["site"].isin([site, comparison_site])]
    fit = its.fit_its(
        treated,
        cut.periods,
        family=family,
        harmonics=harmonics,
        exposure=exposure or None,
        transition_weeks=transition_weeks,
        alpha=alpha,
        label=series,
        freq=frequency,
        seasonal_period=seasonal_period or None,
    )
    return ITSSetup(
        treated=treated,
        pair=pair,
        periods=cut.periods,
        windows=cut.windows,
        dropped=cut.dropped,
        fit=fit,
        site=site,
        series=series,
        comparison_site=comparison_site,
        family=family,
        harmonics=harmonics,
        exposure=exposure or None,
        transition_weeks=transition_weeks,
        alpha=alpha,
        last_week=last_week,
        data_kind=data_kind,
        source=source,
        frequency=frequency,
        seasonal_period=seasonal_period or None,
        disclosure_threshold=disclosure_threshold,
    )


def _view(table: pd.DataFrame, columns: list[str], digits: int) -> pd.DataFrame:
    """The shown columns of a labelled (suppressed) table, rounded, hidden rows marked."""
    return disclosure.marked(table[columns].round(digits), table)


def segmented_regression(setup: ITSSetup) -> AnalysisResult:
    """The fit's coefficients and level rate ratios, with its residual checks
    (`its.residual_diagnostics`: Ljung-Box, Breusch-Godfrey, ACF; `.tables['residual_tests']`).

    Text: the model and its Pearson dispersion against the Poisson variance.
    """
    fit = setup.fit
    diagnostics = its.residual_diagnostics(fit)
    title = f"{setup.site} {setup.series}: residual autocorrelation"
    table = setup.labelled(fit.table)
    return AnalysisResult(
        table=table,
        text=f"{fit.method}\n\nPearson dispersion (Poisson variance): {diagnostics.dispersion:.2f}",
        view=_view(table, SHOW, 4),
        figures={"residual_acf": its_plots.plot_residual_acf(diagnostics, title=title)},
        tables={"residual_tests": diagnostics.tests.round(4)},
    )


def counterfactual(setup: ITSSetup, *, n_draws: int, seed: int) -> AnalysisResult:
    """Fitted against counterfactual starts (intervention terms zero, Covid kept) over each
    window (`its.counterfactual_effect`, `n_draws` coefficient draws from `seed`).

    Text: one `its.effect_summary` sentence per window.
    """
    cf = its.counterfactual_effect(setup.fit, setup.windows, n_draws=n_draws, seed=seed)
    fig = its_plots.plot_counterfactual(
        setup.fit,
        cf,
        title=f"{setup.site} {setup.series} ({setup.data_kind} data)",
        ylabel=f"{setup.series} per {setup.fit.design.unit}",
        hide_below=setup.hide_below,
    )
    table = setup.labelled(cf.table)
    hidden = set(table.loc[disclosure.hidden(table), "window"])
    return AnalysisResult(
        table=table,
        text="\n\n".join(
            f"Over {name}: {disclosure.MARK} (suppressed under the disclosure rule)"
            if name in hidden
            else its.effect_summary(cf, name)
            for name in setup.windows
        ),
        view=_view(table, ["quantity", "estimate", "ci_low", "ci_high", "n"], 3),
        figures={"counterfactual": fig},
    )


def controlled(setup: ITSSetup) -> AnalysisResult:
    """Differences in level and slope, treated minus comparison site, of every period
    (`its.fit_controlled_its`). Without a comparison site: no rows and the text says so.

    Text: the model of the joint fit.
    """
    if setup.pair is None:
        return AnalysisResult(table=pd.DataFrame(), text=NO_COMPARISON)
    # poisson_hac_ar1 simulates one series' reference; the joint fit of two series uses the
    # latent AR(1) sandwich with independent processes per site instead
    family = "quasi_poisson_ar1" if setup.family == "poisson_hac_ar1" else setup.family
    note = (
        f" (family {family}: {setup.family} fits one series only)" if family != setup.family else ""
    )
    cits = its.fit_controlled_its(
        setup.pair,
        setup.periods,
        treated=setup.site,
        comparison=setup.comparison_site,
        group_col="site",
        family=family,
        harmonics=setup.harmonics,
        exposure=setup.exposure,
        transition_weeks=setup.transition_weeks,
        alpha=setup.alpha,
        label=f"{setup.label} vs {setup.comparison_site}",
        freq=setup.frequency,
        seasonal_period=setup.seasonal_period,
    )
    fig = its_plots.plot_controlled_its(
        cits,
        title=f"{setup.site} vs {setup.comparison_site}: {setup.series}",
        synthetic=setup.data_kind == "synthetic",
        ylabel=f"{setup.series} per {setup.fit.design.unit}",
        hide_below=setup.hide_below,
    )
    table = setup.labelled(cits.differences)
    return AnalysisResult(
        table=table,
        text=cits.method + note,
        view=_view(table, SHOW, 4),
        figures={"controlled_its": fig},
    )


def placebo(setup: ITSSetup, *, step_weeks: int) -> AnalysisResult:
    """Placebo level changes every `step_weeks` weeks before the first intervention
    (`its.placebo_tests`; same family, harmonics, exposure and alpha as the fit).

    Text: how many placebo level changes have p < alpha, against the number expected by chance.
    A pre-period too short for any placebo date (`its.PlaceboPrePeriodTooShort`) gives no rows
    and a text that says so.
    """
    try:
        table = its.placebo_tests(
            setup.treated,
            setup.periods,
            step_weeks=step_weeks,
            family=setup.family,
            harmonics=setup.harmonics,
            exposure=setup.exposure,
            alpha=setup.alpha,
            label=setup.label,
            freq=setup.frequency,
            seasonal_period=setup.seasonal_period,
        )
    except its.PlaceboPrePeriodTooShort as exc:
        return AnalysisResult(table=pd.DataFrame(), text=f"No placebo tests: {exc}.")
    table = setup.labelled(table)
    levels = table[table["scale"] != "ratio"]
    alpha = setup.alpha
    text = (
        f"{int((levels['p_value'] < alpha).sum())} of {len(levels)} placebo level changes have "
        f"p < {alpha} (about {alpha * len(levels):.1f} expected by chance)."
    )
    return AnalysisResult(table=table, text=text, view=_view(table, SHOW, 4))


def sensitivity(setup: ITSSetup, *, max_harmonics: int, n_draws: int, seed: int) -> AnalysisResult:
    """Intervention level changes and the avoided starts over the first window, for harmonics
    0..`max_harmonics` x every family (`its.sensitivity_table`, same draws for every fit).

    View: the avoided starts, harmonics x family. Text: their range.
    """
    if not setup.windows:
        raise StudyInputError("windows: none left to compare the families over")
    first = next(iter(setup.windows))
    table = its.sensitivity_table(
        setup.treated,
        setup.periods,
        max_harmonics=max_harmonics,
        windows={first: setup.windows[first]},
        n_draws=n_draws,
        seed=seed,
        transition_weeks=setup.transition_weeks,
        label=setup.label,
        exposure=setup.exposure,
        alpha=setup.alpha,
        freq=setup.frequency,
        seasonal_period=setup.seasonal_period,
    )
    table = setup.labelled(table)
    avoided = table[table["measure"] == "avoided"]
    low, high = avoided["estimate"].min(), avoided["estimate"].max()
    text = (
        f"Avoided starts over {first}: {low:.1f} to {high:.1f} across "
        f"{avoided['family'].nunique()} families x {max_harmonics + 1} harmonic settings."
    )
    view = avoided.pivot(index="harmonics", columns="family", values="estimate").round(1)
    return AnalysisResult(table=table, text=text, view=view)


def covid_context(
    setup: ITSSetup,
    care_home_deaths_path: str,
    geography_code: str,
    *,
    fall_share: float,
    agreement_days: int,
) -> AnalysisResult:
    """Whether this notebook's `covid_wave_1` start agrees with the first wave in the site's
    care homes: ONS weekly deaths of care-home residents of council `geography_code` (ONS code;
    `national_context.load_care_home_deaths`, empty path: the external folder) beside
    `setup.periods` (`national_context.care_home_covid_context`). No estimates. Skipped, with the
    reason as its text, without the workbook, without a code, or without a `covid_wave_1`
    period."""
    from study.analyses import national_context

    wave = national_context.WAVE_PERIOD
    if not geography_code:
        return AnalysisResult(table=pd.DataFrame(), text=f"{SKIPPED} no site_geography_code.")
    if wave not in setup.periods:
        return AnalysisResult(
            table=pd.DataFrame(), text=f"{SKIPPED} the periods have no {wave!r} period."
        )
    deaths, deaths_file = national_context.load_care_home_deaths(care_home_deaths_path)
    if deaths is None:
        return AnalysisResult(table=pd.DataFrame(), text=national_context.CARE_HOME_SKIPPED)
    if not (deaths["geography_code"] == geography_code).any():
        return AnalysisResult(
            table=pd.DataFrame(),
            text=f"{SKIPPED} {geography_code} is not a council of {deaths_file.name}.",
        )
    return national_context.care_home_covid_context(
        deaths,
        [geography_code],
        setup.periods,
        fall_share=fall_share,
        agreement_days=agreement_days,
        deaths_file=deaths_file,
        whose="This notebook's",
    )
