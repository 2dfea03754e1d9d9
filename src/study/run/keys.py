"""Stable estimate keys: what an `estimates.csv` row estimates, whatever the settings.

A key is `<notebook>/<site>/<what>`: the notebook's name, the row's site and a slug of its
quantity, with the record-level data kind in the quantity ("(synthetic)", "(user)") written as
"(records)", so the same analysis of a council's own extract and of the synthetic one share
keys. Where a notebook gives one site's quantity by several methods (the three intervals of a
share, four p-values of one gap), the slug gains the method's name with every parameter value
taken out (numbers, levels, draw counts, model family names), so a re-run with another alpha,
model family, number of draws, seed or data file keeps every key; a quantity and method that
still repeat gain `~2`, `~3` in row order. Window limits, when they are part of the quantity
text, are part of what is estimated and so of the key.
"""

from __future__ import annotations

import re

import pandas as pd

from study.errors import StudyInputError

KEY_COLUMN = "key"
_RECORD_KIND = re.compile(r"\((?:synthetic|user)\)")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case words joined by '-' ("Harrow C3 share: RR" -> "harrow-c3-share-rr")."""
    return _NOT_SLUG.sub("-", str(text).lower()).strip("-")


def _families() -> tuple[str, ...]:
    from study.its.families import FAMILIES  # the model families a method text may name

    return tuple(sorted(FAMILIES, key=len, reverse=True))


def method_name(method: str, families: tuple[str, ...] = ()) -> str:
    """A method's name without its parameter values: numbers and percentages, and the model
    family names in `families` ("2000 draws ... (quasi_poisson), 95% percentile" ->
    "draws-percentile")."""
    text = _NUMBER.sub(" ", str(method))
    for family in families:
        text = re.sub(rf"\b{re.escape(family)}\b", " ", text)
    return slug(text)


def estimate_keys(table: pd.DataFrame) -> pd.Series:
    """The key of every row of a run's estimate table (columns notebook, site, quantity,
    method), unique within the table; the rule is in the module docstring."""
    missing = [c for c in ("notebook", "site", "quantity", "method") if c not in table.columns]
    if missing:
        raise StudyInputError(f"estimate table lacks column(s) {missing} for its keys")
    if table.empty:
        return pd.Series([], index=table.index, dtype=object, name=KEY_COLUMN)
    what = table["quantity"].map(lambda q: slug(_RECORD_KIND.sub("(records)", str(q))))
    base = table["notebook"].astype(str) + "/" + table["site"].astype(str) + "/" + what
    repeated = base.duplicated(keep=False)
    if repeated.any():
        families = _families()
        methods = table.loc[repeated, "method"].map(lambda m: method_name(m, families))
        base = base.copy()
        base[repeated] = base[repeated] + "/" + methods.where(methods != "", "method")
    occurrence = base.groupby(base, sort=False).cumcount() + 1
    suffix = occurrence.map(lambda k: "" if k == 1 else f"~{k}")
    return (base + suffix).rename(KEY_COLUMN)


def with_keys(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its `key` column first (computed by `estimate_keys`)."""
    out = table.drop(columns=[KEY_COLUMN], errors="ignore")
    out.insert(0, KEY_COLUMN, estimate_keys(out))
    return out
