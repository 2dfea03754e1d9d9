"""Notebook 07 (evaluation design): power and minimum detectable effects of the next evaluation.

The planned sites are data: `design_sites` maps each site to its baseline weekly rate of
long-term starts, the effect to detect, its shares and how its ITS simulation is built
('fit' or 'rate'); `study.data.design_sites.site_designs` reads and checks it (re-exported here;
its module docstring lists the keys).

`prepare` fits notebook 03's model (quasi-Poisson, `its.fit_its`'s own default family) to the
weekly file and builds each site's ITS simulation model (`study.power.its_power_model`). The
sections return `AnalysisResult`s: `its_design` (simulation), `rate_ratio_design`,
`share_design` (closed forms) and `panel_design` (what notebook 06's placebo-in-space test could
rank first); the estimators are in `study.power`, the figures in `study.plots.power`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study import its, power
from study.analyses import AnalysisResult, labelled
from study.analyses.national_comparison import find_oflog_file
from study.data.design_sites import ShareDesign, SiteDesign, site_designs
from study.data.design_sites import percent as _pct
from study.errors import StudyInputError
from study.panel import PanelDesign
from study.plots.power import plot_power_curves
from study.synthetic_control import choose_penalty, synthetic_control_placebo
from study.tidy import confidence_level, estimate_table

SHOW = ["quantity", "estimate", "ci_low", "ci_high", "n"]
__all__ = [
    "DesignSetup",
    "ShareDesign",
    "SiteDesign",
    "find_oflog_file",
    "its_design",
    "panel_design",
    "prepare",
    "rate_ratio_design",
    "share_design",
    "site_designs",
]
PANEL_SKIPPED = "The panel design needs the Oflog file with every council; not run: "


def _weeks(x: float) -> str:
    return f"{math.ceil(x)}"


# --------------------------------------------------------------------------------------------
# The fitted shape and each site's simulation model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignSetup:
    """The fitted model of notebook 03 (`shape`: its simulation model at the fitted level), the
    planned sites (`sites`) and each site's ITS simulation model, reduction to detect and
    baseline weekly rate (`models[site]`, `published_reduction[site]`,
    `baseline_per_week[site]`; the reduction is published or assumed, `sites[site].effect`)."""

    fit: its.ITSFit
    shape: power.ITSPowerModel
    fit_site: str
    sites: Mapping[str, SiteDesign]
    models: Mapping[str, power.ITSPowerModel]
    published_reduction: Mapping[str, float]
    baseline_per_week: Mapping[str, float]
    series: str
    weekly_source: str
    weekly_kind: str
    figure_sources: Mapping[str, str]
    nuisance: str

    @property
    def description(self) -> str:
        m = self.shape
        text = (
            f"ITS simulation model ({self.weekly_kind} weekly series {self.weekly_source}, "
            f"{self.series}; {self.fit.method}): counterfactual "
            f"{m.baseline_per_week:.2f} a week at go-live, trend {m.trend:+.4f} log per week, "
            f"{len(m.seasonal)} harmonic pair(s), dispersion {m.dispersion:.3f}, lag-1 residual "
            f"autocorrelation {m.autocorrelation:+.3f} ({self.nuisance})"
        )
        if abs(m.achieved_autocorrelation - m.autocorrelation) > 0.005:
            text += (
                f"; at this dispersion a Poisson-lognormal series reaches "
                f"{m.achieved_autocorrelation:+.3f} at most"
            )
        planned = "; ".join(
            f"{site}: the fit itself, at its own level"
            if d.its == "fit"
            else f"{site}: the same shape at {self.models[site].baseline_per_week:.2f} a week"
            for site, d in self.sites.items()
        )
        caveat = (
            " **The weekly series is synthetic data calibrated to the published figures: the "
            "ITS rows illustrate the design, they are not findings.**"
            if self.weekly_kind == "synthetic"
            else ""
        )
        return (
            f"{text}. {m.weeks_before} weeks before go-live. Planned sites (design_sites): "
            f"{planned}.{caveat}"
        )


def prepare(
    weekly: pd.DataFrame,
    figures: pd.DataFrame,
    *,
    site: str,
    series: str,
    periods: Mapping[str, Any],
    windows: Mapping[str, Any],
    last_week: str,
    harmonics: int,
    weeks_before: int,
    design_sites: Mapping[str, Any],
    nuisance: str,
    dispersion: float,
    autocorrelation: float,
    data_kind: str,
    source: str,
) -> DesignSetup:
    """Fit notebook 03's model with `its.fit_its`'s own default family (quasi-Poisson; the power
    simulation re-fits with quasi-Poisson Wald intervals) to (`site`, `series`)
    up to `last_week`, read the planned sites (`site_designs`) and build each site's
    simulation model: 'fit' at the fitted level, 'rate' the fitted shape at the site's baseline
    weekly rate. `nuisance` 'fitted' takes dispersion and autocorrelation from the fit,
    'given' uses `dispersion`, `autocorrelation`."""
    if nuisance not in ("fitted", "given"):
        raise StudyInputError(f"power_nuisance must be 'fitted' or 'given', got {nuisance!r}")
    sites = site_designs(design_sites, figures, fit_site=site)
    cut = its.data_up_to(weekly, periods, windows, last_week)
    data = cut.weekly
    treated = data[(data["site"] == site) & (data["series"] == series)]
    if treated.empty:
        raise StudyInputError(f"weekly: no rows for site {site!r} and series {series!r}")
    fit = its.fit_its(treated, cut.periods, harmonics=harmonics, label=series)
    given = nuisance == "given"
    kw = {
        "weeks_before": weeks_before,
        "dispersion": dispersion if given else None,
        "autocorrelation": autocorrelation if given else None,
    }
    shape = power.its_power_model(fit, source=source, **kw)
    models = {
        name: shape
        if d.its == "fit"
        else power.its_power_model(fit, baseline_per_week=d.baseline_per_week, source=source, **kw)
        for name, d in sites.items()
    }
    return DesignSetup(
        fit=fit,
        shape=shape,
        fit_site=site,
        sites=sites,
        models=models,
        published_reduction={name: d.reduction for name, d in sites.items()},
        baseline_per_week={name: d.baseline_per_week for name, d in sites.items()},
        series=series,
        weekly_source=source,
        weekly_kind=data_kind,
        figure_sources={name: d.source for name, d in sites.items()},
        nuisance="taken from the fit" if nuisance == "fitted" else "given",
    )


def _effects(published_reduction: float, reductions: Sequence[float]) -> list[float]:
    return sorted({0.0, round(published_reduction, 6), *map(float, reductions)})


def _curve_name(r: float, published_reduction: float, effect: str = "published") -> str:
    name = f"{_pct(r)} reduction"
    return name + f" ({effect})" if math.isclose(r, published_reduction, abs_tol=1e-6) else name


def _stated(effects: Sequence[str]) -> str:
    """'published' when every effect is published, else 'published or assumed' / 'assumed'."""
    return " or ".join(e for e in ("published", "assumed") if e in set(effects))


def its_design(
    setup: DesignSetup,
    *,
    weeks_after: Sequence[int],
    reductions: Sequence[float],
    target_power: float,
    n_sims: int,
    seed: int,
    alpha: float,
) -> AnalysisResult:
    """Per planned site: simulated power of the ITS (notebook 03's default interval method)
    for each reduction (plus the site's published or assumed one and none: the false-positive
    rate) and each number of weeks after go-live (`power.its_power`), the minimum detectable
    reduction at `target_power` (`power.its_mde`), and the weeks needed for the site's
    reduction (interpolated between the simulated lengths). Figures its_power_<site>."""
    weeks_after = sorted({int(w) for w in weeks_after})
    level = confidence_level(alpha)
    rows, views, figures, texts = [], [], {}, []
    label = f"ITS {setup.series}"
    for k, site in enumerate(setup.sites):
        model = setup.models[site]
        pub = setup.published_reduction[site]
        word = setup.sites[site].effect
        effects = _effects(pub, reductions)
        curve = power.its_power(
            model, weeks_after, effects, alpha=alpha, n_sims=n_sims, seed=seed + k
        )
        method = (
            f"Monte Carlo, {n_sims} series simulated from the fitted ITS; detection: the "
            f"{level:.0%} quasi-Poisson Wald interval of the level rate ratio below 1 (none: "
            f"either side of 1); Wilson Monte Carlo interval"
        )
        site_rows = []
        for r in curve.itertuples(index=False):
            what = (
                "false-positive rate, no change"
                if r.reduction == 0
                else f"power, {_pct(r.reduction)} reduction"
            )
            site_rows.append(
                {
                    "quantity": f"{label}: {what}, {r.weeks_after} weeks after go-live",
                    "estimate": r.power,
                    "ci_low": r.mc_low,
                    "ci_high": r.mc_high,
                    "level": level,
                    "method": method,
                    "n": n_sims,
                    "key": f"its/{site}/power/{r.weeks_after}/{r.reduction:.4f}",
                }
            )
        mdes = []
        for j, w in enumerate(weeks_after):
            m = power.its_mde(
                model,
                w,
                alpha=alpha,
                power=target_power,
                n_sims=n_sims,
                seed=seed + 1000 * (k + 1) + j,
            )
            mdes.append({"weeks_after": w, **m})
            site_rows.append(
                {
                    "quantity": f"{label}: minimum detectable reduction, {w} weeks after go-live",
                    "estimate": m["mde"],
                    "ci_low": m["mc_low"],
                    "ci_high": m["mc_high"],
                    "level": level,
                    "method": (
                        f"Monte Carlo, {n_sims} series at each of {len(m['grid'])} effects, "
                        f"probit fit of detections, power {target_power:.0%}; delta-method "
                        "Monte Carlo interval"
                    ),
                    "n": n_sims * len(m["grid"]),
                    "key": f"its/{site}/mde/{w}",
                }
            )
        published_curve = curve[np.isclose(curve["reduction"], round(pub, 6))]
        needed = power.weeks_needed(published_curve, power=target_power)
        site_rows.append(
            {
                "quantity": f"{label}: weeks after go-live to detect the {word} reduction",
                "estimate": needed,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "level": math.nan,
                "method": (
                    f"first simulated length with power >= {target_power:.0%}, linear "
                    "interpolation between simulated lengths"
                ),
                "n": n_sims,
                "note": f"{word} reduction {_pct(pub)}; simulated lengths {weeks_after}",
                "key": f"its/{site}/weeks_needed",
            }
        )
        kind = setup.weekly_kind
        rows.append(
            labelled(
                estimate_table(site_rows),
                site=site,
                data_kind=kind,
                source=f"{setup.weekly_source} (fitted shape); {setup.figure_sources[site]}",
            )
        )
        mde = pd.DataFrame(mdes).set_index("weeks_after")["mde"]
        view = curve.pivot(index="weeks_after", columns="reduction", values="power")
        view.columns = [
            "false positives" if c == 0 else _curve_name(c, pub, word) for c in view.columns
        ]
        view.insert(0, "site", site)
        view["minimum detectable reduction"] = mde
        views.append(view.reset_index())
        plotted = curve[curve["reduction"] > 0]
        plotted = plotted.assign(curve=[_curve_name(r, pub, word) for r in plotted["reduction"]])
        figures[f"its_power_{site}"] = plot_power_curves(
            plotted,
            x="weeks_after",
            xlabel="weeks of data after go-live",
            title=f"{site}: ITS power ({kind} fitted shape, {model.weeks_before} weeks before)",
            target_power=target_power,
            highlight=_curve_name(pub, pub, word),
        )
        texts.append(_its_sentence(site, mde, needed, pub, target_power, weeks_after, curve, word))
    return AnalysisResult(
        table=pd.concat(rows, ignore_index=True),
        text="\n\n".join(texts),
        view=pd.concat(views, ignore_index=True).round(3),
        figures=figures,
    )


def _its_sentence(site, mde, needed, pub, target, weeks_after, curve, word) -> str:
    ref = 52 if 52 in mde.index else int(mde.index[len(mde) // 2])
    fp = curve[curve["reduction"] == 0]["power"]
    head = (
        f"**{site}**: with {ref} weeks after go-live the ITS detects a {_pct(mde[ref], 0)} "
        f"reduction with {target:.0%} power; "
    )
    if math.isnan(needed):
        tail = (
            f"the {word} {_pct(pub)} is not reached with {max(weeks_after)} weeks (power "
            f"{curve[np.isclose(curve['reduction'], round(pub, 6))]['power'].max():.0%})."
        )
    elif needed <= min(weeks_after):
        tail = f"the {word} {_pct(pub)} is detected already with {min(weeks_after)} weeks."
    else:
        tail = f"the {word} {_pct(pub)} needs about {_weeks(needed)} weeks."
    return (
        head + tail + f" With no change, the test flags a change in {_pct(fp.min(), 0)} to "
        f"{_pct(fp.max(), 0)} of the simulated series (false positives)."
    )


def rate_ratio_design(
    setup: DesignSetup,
    *,
    exposure_weeks: Sequence[int],
    target_power: float,
    n_sims: int,
    seed: int,
    alpha: float,
) -> AnalysisResult:
    """Notebook 02's before/after rate ratio of long-term starts with equal weeks before and
    after, per planned site: closed-form power for the site's published or assumed reduction
    and minimum detectable reduction (`power.rate_ratio_power`, `power.rate_ratio_mde`)
    against the weeks, the weeks needed, and the simulation check
    (`power.simulate_rate_ratio_power`, in the view and the text). Figure rate_ratio_power."""
    level = confidence_level(alpha)
    weeks = sorted({int(w) for w in exposure_weeks})
    rows, curves, views, texts = [], [], [], []
    worst = 0.0
    method = "Poisson rate-ratio Wald test, normal approximation (closed form)"
    for k, site in enumerate(setup.sites):
        rate, pub = setup.baseline_per_week[site], setup.published_reduction[site]
        word = setup.sites[site].effect
        label = f"{site} long-term starts rate ratio"
        site_rows = []
        for j, w in enumerate(weeks):
            p = power.rate_ratio_power(rate, 1 - pub, w, w, alpha=alpha)
            sim = power.simulate_rate_ratio_power(
                rate, 1 - pub, w, w, alpha=alpha, n_sims=n_sims, seed=seed + 100 * k + j
            )
            mc_se = math.sqrt(p * (1 - p) / n_sims)
            worst = max(worst, abs(sim - p) / mc_se if mc_se > 0 else 0.0)
            mde = power.rate_ratio_mde(rate, w, w, alpha=alpha, power=target_power)
            site_rows += [
                {
                    "quantity": f"{label}: power, {word} reduction, {w} weeks each side",
                    "estimate": p,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "level": level,
                    "method": method,
                    "n": w,
                    "note": f"{word} reduction {_pct(pub)}",
                    "key": f"rate_ratio/{site}/power/{w}",
                },
                {
                    "quantity": f"{label}: minimum detectable reduction, {w} weeks each side",
                    "estimate": mde,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "level": level,
                    "method": f"{method}, power {target_power:.0%}",
                    "n": w,
                    "key": f"rate_ratio/{site}/mde/{w}",
                },
            ]
            curves.append({"weeks": w, "curve": f"{site}: {word} {_pct(pub)}", "power": p})
            views.append(
                {
                    "site": site,
                    "weeks each side": w,
                    "power": p,
                    "simulated power": sim,
                    "minimum detectable reduction": mde,
                }
            )
        needed = _rate_weeks_needed(rate, pub, alpha, target_power)
        site_rows.append(
            {
                "quantity": f"{label}: weeks each side to detect the {word} reduction",
                "estimate": needed,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "level": math.nan,
                "method": f"{method}, power {target_power:.0%}",
                "n": math.nan,
                "note": f"{word} reduction {_pct(pub)}",
                "key": f"rate_ratio/{site}/weeks",
            }
        )
        rows.append(
            labelled(
                estimate_table(site_rows),
                site=site,
                data_kind=setup.sites[site].data_kind,
                source=setup.figure_sources[site],
            )
        )
        texts.append(
            f"**{site}** (before/after rate ratio at {rate:.2f} a week): the {word} "
            f"{_pct(pub)} reduction needs {needed} weeks before and after for {target_power:.0%} "
            "power."
        )
    stated = _stated([d.effect for d in setup.sites.values()])
    fig = plot_power_curves(
        pd.DataFrame(curves),
        x="weeks",
        xlabel="weeks of data before and after (each)",
        title=f"Rate ratio of long-term starts: power for the {stated} reductions",
        target_power=target_power,
    )
    texts.append(
        f"Simulation check ({n_sims} Poisson pairs per row): the largest difference from the "
        f"closed form is {worst:.1f} Monte Carlo standard errors."
    )
    return AnalysisResult(
        table=pd.concat(rows, ignore_index=True),
        text=" ".join(texts),
        view=pd.DataFrame(views).round(3),
        figures={"rate_ratio_power": fig},
    )


def _rate_weeks_needed(rate: float, reduction: float, alpha: float, target: float) -> int:
    w = 1
    while power.rate_ratio_power(rate, 1 - reduction, w, w, alpha=alpha) < target:
        w = w * 2 if w < 64 else w + 64
        if w > 100_000:
            raise StudyInputError("rate ratio: more than 100,000 weeks needed")
    lo = max(1, w // 2)
    for candidate in range(lo, w + 1):
        if power.rate_ratio_power(rate, 1 - reduction, candidate, candidate, alpha=alpha) >= target:
            return candidate
    return w


def share_design(
    setup: DesignSetup, *, denominators: Sequence[int], target_power: float, alpha: float
) -> AnalysisResult:
    """Two-proportion z tests against the number of requests (conversations) per period, for
    every share of every planned site (`design_sites`, `shares`): with a before/after pair
    (published or assumed), the power for that change, the minimum detectable change in its
    direction and the number needed; with one level, the minimum detectable fall and rise.
    Closed form `power.proportions_power` / `proportions_mde` / `proportions_n_needed`.
    Figure share_power (omitted when no share has a change); no share at all: no rows."""
    level = confidence_level(alpha)
    ns = sorted({int(n) for n in denominators})
    method = "two-proportion z test, pooled null variance, normal approximation (closed form)"
    specs = [(site, s) for site, d in setup.sites.items() for s in d.shares]
    if not specs:
        return AnalysisResult(
            table=pd.DataFrame(), text="No planned site states a share (design_sites: shares)."
        )
    rows, curves, views, texts = [], [], [], []
    for site, share in specs:
        what, p0, p1, word = share.measure, share.before, share.after, share.effect
        direction = 0 if math.isnan(p1) else (1 if p1 > p0 else -1)
        label = f"{site} {what}"
        site_rows = []
        for n in ns:
            view = {"site": site, "measure": what, "per period": n}
            dirs = [direction] if direction else [-1, 1]
            if direction:
                p = power.proportions_power(p0, p1, n, n, alpha=alpha)
                site_rows.append(
                    {
                        "quantity": f"{label}: power, {word} change, {n} per period",
                        "estimate": p,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "level": level,
                        "method": method,
                        "n": n,
                        "note": f"{word} {_pct(p0, 0)} -> {_pct(p1, 0)}",
                        "key": f"share/{site}/{what}/power/{n}",
                    }
                )
                curves.append({"per period": n, "curve": f"{label}", "power": p})
                view["power"] = p
            for d in dirs:
                fall_rise = "fall" if d < 0 else "rise"
                mde = power.proportions_mde(p0, n, n, alpha=alpha, power=target_power, direction=d)
                site_rows.append(
                    {
                        "quantity": f"{label}: minimum detectable {fall_rise}, {n} per period",
                        "estimate": mde,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "level": level,
                        "method": f"{method}, power {target_power:.0%}",
                        "n": n,
                        "note": f"from the {word} {_pct(p0, 0)} (percentage points / 100)",
                        "key": f"share/{site}/{what}/mde_{fall_rise}/{n}",
                    }
                )
                view[f"minimum detectable {fall_rise}"] = mde
            views.append(view)
        if direction:
            needed = power.proportions_n_needed(p0, p1, alpha=alpha, power=target_power)
            site_rows.append(
                {
                    "quantity": f"{label}: number per period to detect the {word} change",
                    "estimate": needed,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "level": math.nan,
                    "method": f"{method}, power {target_power:.0%}",
                    "n": math.nan,
                    "note": f"{word} {_pct(p0, 0)} -> {_pct(p1, 0)}",
                    "key": f"share/{site}/{what}/n_needed",
                }
            )
            texts.append(
                f"**{site} {what}** ({_pct(p0, 0)} -> {_pct(p1, 0)}): {needed} per period "
                f"give {target_power:.0%} power."
            )
        else:
            first = [v for v in views if v["site"] == site and v["measure"] == what]
            ref = first[len(first) // 2]
            texts.append(
                f"**{site} {what}** ({_pct(p0, 0)}, no {word} change): with "
                f"{ref['per period']} per period a fall of "
                f"{100 * ref['minimum detectable fall']:.1f} or a rise of "
                f"{100 * ref['minimum detectable rise']:.1f} percentage points is "
                f"detectable with {target_power:.0%} power."
            )
        rows.append(
            labelled(
                estimate_table(site_rows), site=site, data_kind=share.data_kind, source=share.source
            )
        )
    figures = {}
    if curves:
        stated = _stated([s.effect for _, s in specs if not math.isnan(s.after)])
        figures["share_power"] = plot_power_curves(
            pd.DataFrame(curves),
            x="per period",
            xlabel="requests (conversations) per period",
            title=f"Shares: power for the {stated} changes",
            target_power=target_power,
        )
    return AnalysisResult(
        table=pd.concat(rows, ignore_index=True),
        text=" ".join(texts),
        view=pd.DataFrame(views).round(4),
        figures=figures,
    )


def panel_design(
    oflog: pd.DataFrame | None,
    treated_councils: Mapping[str, str],
    measures: Sequence[str],
    *,
    first_year: str,
    oflog_file: str | Path | None,
) -> AnalysisResult:
    """Per treated council and Oflog measure, notebook 06's penalised synthetic control with
    placebos in space (`choose_penalty`, `synthetic_control_placebo`, every other council),
    and the smallest constant post-period shift it would rank first
    (`power.placebo_rank_first_effect`, treated's own gaps taken as 0), with the spread of the
    placebos' average gaps. `oflog` None: no rows, the text says why."""
    if oflog is None:
        return AnalysisResult(
            table=pd.DataFrame(),
            text=PANEL_SKIPPED + "no Oflog file (give oflog_path or set $STUDY_EXTERNAL_DIR).",
        )
    years = sorted(y for y in oflog["year"].unique() if y >= first_year)
    if not years:
        raise StudyInputError(f"oflog: no years from {first_year!r} on")
    names = dict(zip(oflog["geography_code"], oflog["name"], strict=False))
    file_name = Path(oflog_file).name if oflog_file else "Oflog file"
    rows, views, texts = [], [], []
    for code, start in treated_councils.items():
        name = names.get(code, code)
        site = name.lower()
        site_rows = []
        for measure in measures:
            data = oflog[oflog["measure"] == measure].dropna(subset=["value"])
            design = PanelDesign(
                data, treated=code, treatment_start=start, window=(years[0], years[-1])
            )
            placebo = synthetic_control_placebo(design, penalty=choose_penalty(design).penalty)
            eff = power.placebo_rank_first_effect(placebo.placebos)
            ratio_method = (
                "placebo-in-space rank of the post/pre RMSPE ratio (ADH 2010), penalised "
                "synthetic control; treated's own post gaps taken as 0"
            )
            site_rows += [
                {
                    "quantity": f"{measure} synthetic control: minimum average gap ranked first",
                    "estimate": eff["largest_placebo_gap"],
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "level": math.nan,
                    "method": "largest |average post-period gap| among the placebos in space",
                    "n": eff["n_placebos"],
                    "note": f"smallest attainable p = {eff['min_p_value']:.4f}",
                    "key": f"panel/{site}/{measure}/gap",
                },
                {
                    "quantity": f"{measure} synthetic control: minimum shift ranked first by "
                    "the RMSPE ratio",
                    "estimate": eff["shift"],
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "level": math.nan,
                    "method": ratio_method,
                    "n": eff["n_placebos"],
                    "note": "largest placebo ratio x treated pre-RMSPE; near-exact placebo "
                    "pre-period fits inflate it",
                    "key": f"panel/{site}/{measure}/ratio_shift",
                },
            ]
            views.append({"council": name, "measure": measure, **eff})
            texts.append(
                f"**{name} {measure}**: an average post-period gap ranks first among "
                f"{eff['n_placebos']} placebos only beyond {eff['largest_placebo_gap']:.1f} "
                f"(best possible p = {eff['min_p_value']:.3f}); on the RMSPE ratio of notebook "
                f"06 a constant shift of {eff['shift']:.1f} is needed."
            )
        rows.append(
            labelled(
                estimate_table(site_rows),
                site=site,
                data_kind="published",
                source=f"{file_name} (Oflog, every council)",
            )
        )
    return AnalysisResult(
        table=pd.concat(rows, ignore_index=True),
        text=" ".join(texts),
        view=pd.DataFrame(views).round(3),
    )
