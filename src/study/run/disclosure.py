"""Statistical disclosure control of estimates built from a council's own record-level extract.

Run reports are shared beyond the council, so small numbers from its records could identify
people. The rule, applied to every estimate row whose `data_kind` is `user` before it is written
to the run folder (published and synthetic rows are exempt):

1. *primary suppression*: a row built from fewer than `threshold` records (`0 < n < threshold`)
   is suppressed; so is a share (an estimate between 0 and 1 with a proportion interval method)
   whose count `round(estimate * n)` or complement `n - count` is between 1 and threshold - 1;
2. *secondary suppression* (complements): where exactly one share of a group (the rows of one
   notebook, site, interval method and quantity before its last ':' — e.g. the C1/C2/C3 split)
   is suppressed, the smallest other share of that group is suppressed as well, so the
   suppressed one cannot be recovered by subtraction from the total;
3. a row whose note gives a count (`k/n` with `k` or `n - k`, or an event count as in "12 events
   in 13 vs 7 in 13") between 1 and threshold - 1 is suppressed too (the count could be
   recovered from its estimate and `n`); in the notes of rows kept, such counts read `[c]`;
4. a comparison (the rows of one quantity stem that include a ratio, difference or reduction)
   with any row suppressed is suppressed whole, as its parts could be solved back.

What a notebook shows beside its estimates follows the same rule (`study.analyses` applies it
to user data through the notebooks' `disclosure_threshold` parameter): tables of counts
(`suppress_counts`: a cell whose count or complement is 1 to threshold - 1, or whose total is,
with the smallest other cell of its group where exactly one is hidden), views (`marked`),
sentences (`value_text`) and figures drawn from the suppressed rows (suppressed values absent).

A suppressed row keeps its labels, has `estimate`, `ci_low`, `ci_high`, `n` (and `p_value`)
empty and its note set to `[c]` and the reason, as NHS Digital marks suppressed cells. The
threshold is the run's `disclosure_threshold` parameter (`parameters: disclosure_threshold:`,
default `DEFAULT_THRESHOLD`, one value per run; the older top-level key of that name is read as
the same setting), which the pipeline passes to every notebook that declares it and writes into
the run folder (`disclosure.json`), where the recorder and the run page read it (a folder
without it, as in interactive use, is written unchanged).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 10
MARK = "[c]"
RULE_FILE = "disclosure.json"


def _share_methods() -> frozenset[str]:
    """The share intervals of `study.proportions` (imported when a table is suppressed, so that
    a run's start-up does not load scipy)."""
    from study.proportions import GOODMAN, SISON_GLAZ, WILSON

    return frozenset({WILSON, GOODMAN, SISON_GLAZ})


_SUPPRESSED = ["estimate", "ci_low", "ci_high", "n"]
_FRACTION = re.compile(r"\b(\d[\d,]*)\s*/\s*(\d[\d,]*)\b")
# event counts in a rate note: "69 events in 13 vs 107 in 13", "222 events in 6 months"
_EVENTS = re.compile(r"\b(\d[\d,]*)(?=\s+(?:events\s+)?in\s+\d)")


def rule_text(threshold: int) -> str:
    """The rule in one sentence, as the run page states it."""
    return (
        f"Estimates from user record-level data built from fewer than {threshold} records, and "
        f"shares whose count or complement is 1 to {threshold - 1}, are suppressed and shown as "
        f"{MARK} (NHS Digital's marker), with the smallest other share of the same split where "
        "the suppressed one could be recovered by subtraction; published and synthetic data "
        "are exempt."
    )


def _small(k: float, threshold: int) -> bool:
    return bool(0 < k < threshold)


def _group_key(row: pd.Series) -> tuple[str, str, str, str]:
    quantity = str(row["quantity"])
    stem = quantity.rsplit(":", 1)[0] if ":" in quantity else quantity
    # one split per interval method: the same shares under Wilson, Goodman and Sison-Glaz are
    # three copies of the split, each needing its own complement
    return (str(row.get("notebook", "")), str(row.get("site", "")), stem, str(row["method"]))


def _redact_note(note: str, threshold: int) -> str:
    def swap(match: re.Match) -> str:
        k, n = (int(g.replace(",", "")) for g in match.groups())
        return MARK if _small(k, threshold) or _small(n - k, threshold) else match.group(0)

    def swap_events(match: re.Match) -> str:
        return MARK if _small(int(match.group(1).replace(",", "")), threshold) else match.group(0)

    return _EVENTS.sub(swap_events, _FRACTION.sub(swap, note))


def suppress(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The estimate table with the rule applied to its `data_kind == "user"` rows (a copy)."""
    if table.empty or "data_kind" not in table.columns or not (table["data_kind"] == "user").any():
        return table.copy()
    out = table.copy()
    if "note" not in out.columns:
        out["note"] = ""
    out["note"] = out["note"].fillna("").astype(str)
    for column in _SUPPRESSED:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    user = out["data_kind"] == "user"
    n = out["n"]
    share = user & out["method"].isin(_share_methods()) & out["estimate"].between(0, 1)
    count = (out["estimate"] * n).round()
    reason = pd.Series("", index=out.index)
    few = user & n.gt(0) & n.lt(threshold)
    reason[few] = f"fewer than {threshold} records"
    small_share = (
        share
        & ~few
        & (
            count.map(lambda k: _small(k, threshold))
            | (n - count).map(lambda k: _small(k, threshold))
        )
    )
    reason[small_share] = f"count or complement under {threshold}"
    # a ratio or share whose note gives a small count (k/n, "k events in ..."): the count is
    # recoverable from the estimate and n, so the row goes, not only the note's number
    small_note = (
        user & ~few & ~small_share & out["note"].map(lambda s: _redact_note(s, threshold) != s)
    )
    reason[small_note] = f"a count in its note under {threshold}"
    primary = few | small_share | small_note
    secondary = pd.Series(False, index=out.index)
    groups = out[share].groupby(out[share].apply(_group_key, axis=1), sort=False)
    for _, grp in groups:
        hidden = primary[grp.index]
        if int(hidden.sum()) == 1 and len(grp) > 1:
            others = grp[~hidden]
            smallest = (others["estimate"] * others["n"]).idxmin()
            secondary[smallest] = True
    reason[secondary & ~primary] = "complement of a suppressed share"
    hide = primary | secondary
    # a comparison (rows of one quantity stem holding a ratio, difference or reduction) with a
    # row hidden is hidden whole: its shares or rates could be solved back from the rest
    stem = out.apply(lambda r: _group_key(r)[:3], axis=1)
    compares = user & out["quantity"].astype(str).str.contains("ratio|difference|reduction")
    whole = user & ~hide & stem.isin(set(stem[compares]) & set(stem[hide]))
    reason[whole] = "part of a comparison with a suppressed row"
    hide = hide | whole
    out.loc[hide, _SUPPRESSED] = np.nan
    if "p_value" in out.columns:
        out["p_value"] = pd.to_numeric(out["p_value"], errors="coerce").astype(float)
        out.loc[hide, "p_value"] = np.nan
    out.loc[hide, "note"] = MARK + " suppressed: " + reason[hide]
    keep = user & ~hide
    out.loc[keep, "note"] = out.loc[keep, "note"].map(lambda s: _redact_note(s, threshold))
    return out


def hidden(table: pd.DataFrame) -> pd.Series:
    """True for the rows `suppress` hid (note starting with the marker)."""
    if "note" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["note"].astype(str).str.startswith(MARK)


def marked(view: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """`view` (rows of the suppressed `table`, same index) with the marker in the suppressed
    columns of the hidden rows; unchanged when no row is hidden."""
    rows = hidden(table).reindex(view.index, fill_value=False)
    if not rows.any():
        return view
    out = view.copy()
    columns = [c for c in [*_SUPPRESSED, "p_value"] if c in out.columns]
    out[columns] = out[columns].astype(object)
    if "n" in columns:  # counts stay whole numbers beside the marker
        whole = [int(v) if isinstance(v, float) and v.is_integer() else v for v in out["n"]]
        out["n"] = pd.Series(whole, index=out.index, dtype=object)
    out.loc[rows, columns] = MARK
    return out


def suppress_counts(
    table: pd.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    *,
    by: tuple[str, ...] = ("site",),
    count: str = "count",
    total: str = "total",
    derived: tuple[str, ...] = ("share",),
) -> pd.DataFrame:
    """A table of counts of user data with the rule applied (a copy): a cell whose count or
    complement (`total - count`) is 1 to threshold - 1 shows the marker in `count` and its
    `derived` columns, as does the smallest other cell of its `by` group where exactly one cell
    of the group is hidden; a `total` of 1 to threshold - 1 is hidden with all its cells."""
    out = table.copy()
    if out.empty:
        return out
    k = pd.to_numeric(out[count], errors="coerce")
    n = pd.to_numeric(out[total], errors="coerce")
    few = n.map(lambda v: _small(v, threshold))
    hide = few | k.map(lambda v: _small(v, threshold)) | (n - k).map(lambda v: _small(v, threshold))
    keys = [out[c] for c in by if c in out.columns]
    groups = hide.groupby(keys, sort=False) if keys else [(None, hide)]
    for _, grp in groups:
        if int(grp.sum()) == 1 and len(grp) > 1:
            hide[k[grp.index][~grp].idxmin()] = True
    columns = [count, *[c for c in derived if c in out.columns]]
    out[[*columns, total]] = out[[*columns, total]].astype(object)
    out.loc[hide, columns] = MARK
    out.loc[few, total] = MARK
    return out


def value_text(value: object, spec: str = "") -> str:
    """`value` formatted by `spec`, or the marker for a suppressed (missing) value."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return MARK if pd.isna(number) else format(value, spec)


def count_text(n: int, threshold: int, *, kind: str) -> str:
    """A count for a sentence ('1,234'): the marker for user data when 1 to threshold - 1."""
    return MARK if kind == "user" and _small(n, threshold) else f"{n:,}"


def figure_note(table: pd.DataFrame) -> str:
    """A second title line '[c]: values under the disclosure threshold not drawn' when rows of
    `table` are hidden, else ''."""
    return (
        f"\n{MARK}: values under the disclosure threshold not drawn" if hidden(table).any() else ""
    )


def write_rule(run_dir: Path, threshold: int) -> Path:
    """Record the rule the run applies (`disclosure.json`), read by the recorder and the page."""
    path = Path(run_dir) / RULE_FILE
    payload = {"threshold": int(threshold), "rule": rule_text(int(threshold))}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def read_threshold(run_dir: Path | None) -> int | None:
    """The run's threshold from `disclosure.json`; None for a folder `study run` did not set up
    (interactive use, tests), where the recorder writes rows as they are."""
    if run_dir is None:
        return None
    try:
        return int(json.loads((Path(run_dir) / RULE_FILE).read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def applied_rule(run_dir: Path, estimates: pd.DataFrame) -> str:
    """What the run page says: the rule applied (user rows present), or why none was needed."""
    kinds = set(estimates["data_kind"]) if "data_kind" in estimates else set()
    if "user" not in kinds:
        return (
            "No user record-level data in this run, so no disclosure rule was needed (published "
            "and synthetic data are exempt)."
        )
    n_hidden = int(estimates["note"].astype(str).str.startswith(MARK).sum())
    threshold = read_threshold(run_dir)
    if threshold is None:
        return "No disclosure rule recorded (no disclosure.json): not a folder set up by study run."
    return f"{rule_text(threshold)} {n_hidden} estimate(s) suppressed in this run."


def write_disclosure_note(run_dir: Path, estimates: pd.DataFrame) -> None:
    """Re-apply the rule to the gathered estimates (idempotent) before they are published."""
    threshold = read_threshold(run_dir)
    if threshold is None or estimates.empty or not (estimates["data_kind"] == "user").any():
        return
    suppress(estimates, threshold).to_csv(Path(run_dir) / "estimates.csv", index=False)
