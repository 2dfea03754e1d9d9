"""The planned sites of notebook 07 (parameter `design_sites`), read and checked against the
published figures.

`site_designs` maps each site to a `SiteDesign`: its baseline weekly rate of long-term starts (a
published weekly rate, `baseline_figure`, or assumed starts, `baseline_starts`, over
`baseline_months` or the published months of `baseline_months_figure`), the relative reduction
to detect (published `[before, after]` rates or a published percent reduction,
`reduction_figures`, or an assumed `reduction`), its shares (`ShareDesign`: published figure ids
or assumed values, one level or a before/after pair) and how its ITS simulation is built ('fit'
or 'rate'). A bad entry raises StudyInputError naming `design_sites.<site>[.<key>]`.

It needs only pandas and the published figures, so a run's parameter check
(`study.run.parameters`) reads the sites without importing notebook 07's estimators.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from study.data import published
from study.data.schema import SITE_PATTERN
from study.errors import StudyInputError

WEEKS_PER_MONTH = 365.25 / 7 / 12
ITS_SHAPES = ("fit", "rate")
SITE_KEYS = (
    "its", "baseline_figure", "baseline_starts", "baseline_months", "baseline_months_figure",
    "reduction_figures", "reduction", "shares",
)  # fmt: skip
SHARE_KEYS = ("measure", "figures", "values")
__all__ = ["ShareDesign", "SiteDesign", "percent", "site_designs"]


def percent(x: float, digits: int = 1) -> str:
    """A fraction as a percentage text: percent(0.2361) -> '23.6%'."""
    return f"{100 * x:.{digits}f}%"


@dataclass(frozen=True)
class ShareDesign:
    """One share of a site: its level before (and after, NaN if no change is given), whether
    these are published figures or assumed values, and the rows' data kind and source."""

    measure: str
    before: float
    after: float
    effect: str
    data_kind: str
    source: str


@dataclass(frozen=True)
class SiteDesign:
    """One planned site: ITS shape ('fit' or 'rate'), baseline weekly rate of long-term starts,
    relative reduction to detect, whether it is published or assumed, its shares, and the data
    kind and source of its rows."""

    site: str
    its: str
    baseline_per_week: float
    reduction: float
    effect: str
    data_kind: str
    source: str
    shares: tuple[ShareDesign, ...]


def _fail(where: str, message: str) -> StudyInputError:
    return StudyInputError(f"design_sites.{where}: {message}")


def _one_of(entry: Mapping, keys: Sequence[str], where: str, what: str) -> str:
    given = [k for k in keys if k in entry]
    if len(given) != 1:
        found = f"got {given}" if given else "got none"
        raise _fail(where, f"give exactly one of {' / '.join(keys)} ({what}); {found}")
    return given[0]


def _positive(value: object, where: str, *, below_one: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if not ok or (below_one and value >= 1) or not math.isfinite(float(value)):
        limits = "between 0 and 1 (exclusive)" if below_one else "a positive number"
        raise _fail(where, f"must be {limits}, got {value!r}")
    return float(value)


def _figure(figures: pd.DataFrame, fid: object, where: str, units: Sequence[str]) -> float:
    if not isinstance(fid, str) or not fid:
        raise _fail(where, f"must be a figure id of data/published/figures.csv, got {fid!r}")
    hit = figures.loc[figures["figure_id"] == fid]
    if hit.empty:
        raise _fail(where, f"unknown figure id {fid!r} (not in data/published/figures.csv)")
    unit = str(hit["unit"].iloc[0])
    if unit not in units:
        raise _fail(where, f"figure {fid!r} is in {unit}, expected {' or '.join(units)}")
    return float(hit["value"].iloc[0])


def _id_list(value: object, where: str) -> list:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 2:
        raise _fail(where, f"must be a list of one or two entries, got {value!r}")
    return list(value)


def _source(site: str, ids: list[str], notes: list[str], figures: pd.DataFrame) -> str:
    ids = list(dict.fromkeys(ids))
    head = published.figures_source(ids, figures) if ids else f"parameter design_sites.{site}"
    return "; ".join([head, *notes]) if ids else f"{head}: " + "; ".join(notes)


def _share(site: str, k: int, entry: object, figures: pd.DataFrame) -> ShareDesign:
    where = f"{site}.shares[{k}]"
    if not isinstance(entry, Mapping):
        raise _fail(where, f"must be a mapping with keys {list(SHARE_KEYS)}, got {entry!r}")
    unknown = sorted(set(entry) - set(SHARE_KEYS))
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; known: {list(SHARE_KEYS)}")
    measure = entry.get("measure")
    if not isinstance(measure, str) or not measure.strip():
        raise _fail(f"{where}.measure", f"must name the share (e.g. 'C3 share'), got {measure!r}")
    route = _one_of(entry, ("figures", "values"), where, "published figure ids or assumed shares")
    items = _id_list(entry[route], f"{where}.{route}")
    if route == "figures":
        values = [
            _figure(figures, f, f"{where}.figures", ("percent",)) / 100 for f in items
        ]  # fmt: skip
        kind, effect = "published", "published"
        source = published.figures_source(items, figures)
    else:
        values = [_positive(v, f"{where}.values", below_one=True) for v in items]
        kind, effect = "user", "assumed"
        shown = " -> ".join(percent(v, 0) for v in values)
        source = f"parameter design_sites.{site}: assumed {measure} {shown}"
    if len(values) == 2 and values[0] == values[1]:
        raise _fail(f"{where}.{route}", "before and after are equal: give one value for a level")
    after = values[1] if len(values) == 2 else math.nan
    return ShareDesign(measure, values[0], after, effect, kind, source)


def _site(site: object, entry: object, figures: pd.DataFrame, fit_site: str) -> SiteDesign:
    if not isinstance(site, str) or not re.match(SITE_PATTERN, site):
        raise StudyInputError(
            f"design_sites: site {site!r} must be a lower-case identifier (letters, digits, _), "
            f"e.g. {re.sub(r'[^a-z0-9_]+', '_', str(site).lower()).strip('_') or 'northfield'!r}"
        )
    if not isinstance(entry, Mapping):
        raise _fail(site, f"must be a mapping with keys from {list(SITE_KEYS)}, got {entry!r}")
    unknown = sorted(set(entry) - set(SITE_KEYS))
    if unknown:
        raise _fail(site, f"unknown key(s) {unknown}; known: {list(SITE_KEYS)}")
    shape = entry.get("its", "rate")
    if shape not in ITS_SHAPES:
        raise _fail(f"{site}.its", f"must be 'fit' or 'rate', got {shape!r}")
    if shape == "fit" and fit_site and site != fit_site:
        raise _fail(
            f"{site}.its",
            f"'fit' is the fit of notebook 03's site {fit_site!r}; use 'rate' for {site!r}",
        )
    ids: list[str] = []
    notes: list[str] = []
    route = _one_of(
        entry, ("baseline_figure", "baseline_starts"), site, "the baseline weekly rate"
    )  # fmt: skip
    if route == "baseline_figure":
        extra = [k for k in ("baseline_months", "baseline_months_figure") if k in entry]
        if extra:
            raise _fail(site, f"{extra} apply to baseline_starts, not to baseline_figure")
        fid = entry["baseline_figure"]
        rate = _figure(figures, fid, f"{site}.baseline_figure", ("people_per_week",))
        baseline_ids = [fid]
    else:
        starts = _positive(entry["baseline_starts"], f"{site}.baseline_starts")
        months_route = _one_of(
            entry,
            ("baseline_months", "baseline_months_figure"),
            site,
            "the months behind baseline_starts",
        )
        if months_route == "baseline_months_figure":
            fid = entry["baseline_months_figure"]
            months = _figure(figures, fid, f"{site}.baseline_months_figure", ("months",))
            baseline_ids = [fid]
            notes.append(f"assumed baseline {starts:g} people")
        else:
            months = _positive(entry["baseline_months"], f"{site}.baseline_months")
            baseline_ids = []
            notes.append(f"assumed baseline {starts:g} people over {months:g} months")
        rate = starts / (months * WEEKS_PER_MONTH)
    effect_route = _one_of(
        entry,
        ("reduction_figures", "reduction"),
        site,
        "published [before, after] rates or percent reduction, or an assumed reduction",
    )
    if effect_route == "reduction_figures":
        rf = _id_list(entry["reduction_figures"], f"{site}.reduction_figures")
        where = f"{site}.reduction_figures"
        if len(rf) == 2:
            before, after = (_figure(figures, f, where, ("people_per_week",)) for f in rf)
            reduction = 1 - after / before
        else:
            reduction = _figure(figures, rf[0], where, ("percent",)) / 100
        if not 0 < reduction < 1:
            raise _fail(where, f"the figures give a relative reduction of {reduction:.3f}")
        ids += rf
        effect = "published"
    else:
        reduction = _positive(entry["reduction"], f"{site}.reduction", below_one=True)
        notes.append(f"assumed reduction {percent(reduction)}")
        effect = "assumed"
    ids += baseline_ids
    shares_in = entry.get("shares", [])
    if not isinstance(shares_in, list | tuple):
        raise _fail(f"{site}.shares", f"must be a list, got {shares_in!r}")
    shares = tuple(_share(site, k, s, figures) for k, s in enumerate(shares_in))
    names = [s.measure for s in shares]
    if len(set(names)) < len(names):
        raise _fail(f"{site}.shares", f"measure names repeat: {names}")
    return SiteDesign(
        site=site,
        its=shape,
        baseline_per_week=rate,
        reduction=reduction,
        effect=effect,
        data_kind="published" if ids else "user",
        source=_source(site, ids, notes, figures),
        shares=shares,
    )


def site_designs(
    design_sites: Mapping[str, Any], figures: pd.DataFrame | None = None, *, fit_site: str
) -> dict[str, SiteDesign]:
    """Read and check `design_sites` (site -> its design, see the module docstring) against the
    published figures (None: figures.csv); `fit_site` is notebook 03's `site`, the only one
    that may use 'fit' (empty: not checked). A bad entry raises StudyInputError naming
    `design_sites.<site>[.<key>]`."""
    figures = published.load_figures() if figures is None else figures
    if not isinstance(design_sites, Mapping) or not design_sites:
        raise StudyInputError(
            "design_sites must map at least one site to its design, e.g. {'northfield': "
            "{'baseline_starts': 150, 'baseline_months': 12, 'reduction': 0.2}}"
        )
    return {site: _site(site, entry, figures, fit_site) for site, entry in design_sites.items()}
