"""A SYNTHETIC record-level extract for a fictional council (not calibrated to any council).

`params/northfield-example.yaml` runs the study on it: a council other than Birmingham or
Harrow, under its own site name, with its own go-live date. Every number below is an
assumption stated here (no published figure describes this council): `months` months of usual
care before the go-live and `months` months of two 3Cs teams after it, `EPISODES_PER_MONTH`
requests a month on each side, long-term support for `LT_SHARE_BEFORE` of usual-care and
`LT_SHARE_AFTER` of 3Cs episodes, repeat requests at `REPEAT_SHARE_BEFORE` / `_AFTER`, and the
3Cs episodes ending at Conversation 1/2/3 in `SPLIT`. Byte-identical for the same seed:
``python -m study.data.synthetic.example_council`` rewrites the committed file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from study.config import SYNTHETIC_DIR
from study.data.synthetic.calibration import SYNTHETIC_NOTE
from study.data.synthetic.conversations import (
    _durations,
    _finish,
    _frame,
    _non_lt_outcomes,
    _typed_conversations,
)
from study.data.synthetic.files import _csv_bytes, _is_ours, _meta
from study.errors import StudyInputError

EXAMPLE_SITE = "northfield"
EXAMPLE_GO_LIVE = "2022-04-04"
EXAMPLE_MONTHS = 12
EXAMPLE_SEED = 20220404
EXAMPLE_FILE = "northfield_episodes_synthetic.csv"
EXAMPLE_TEAMS = ("innovation_site_1", "innovation_site_2")
EPISODES_PER_MONTH = 60  # requests a month on each side of the go-live (assumption)
LT_SHARE_BEFORE = 0.25  # usual-care episodes ending in long-term support (assumption)
LT_SHARE_AFTER = 0.17  # 3Cs episodes ending in long-term support (assumption)
REPEAT_SHARE_BEFORE = 0.30  # requests flagged repeat_request, before the go-live (assumption)
REPEAT_SHARE_AFTER = 0.22  # ... after it (assumption)
SPLIT = (0.65, 0.2, 0.15)  # 3Cs episodes not going on to long-term care: C1 / C2 / C3
REQUEST_LAG_DAYS = 14  # request to start: uniform 0 .. this many days (assumption)
EXAMPLE_LABEL = (
    "synthetic data of a fictional council, built from stated assumptions — not a finding"
)
EXAMPLE_NOTE = (
    "SYNTHETIC — a fictional council's extract built from stated assumptions "
    "(study.data.synthetic.example_council), not real records and not calibrated to any council"
)


def _side(
    rng: np.random.Generator, first: pd.Timestamp, last: pd.Timestamp, *, usual: bool
) -> pd.DataFrame:
    """Episodes starting uniformly in [first, last]: usual care, or the two 3Cs teams."""
    months = round((last - first).days / (365.25 / 12))
    n = int(rng.poisson(EPISODES_PER_MONTH * months))
    start = first.to_datetime64() + rng.integers(0, (last - first).days + 1, n).astype(
        "timedelta64[D]"
    )
    lt = rng.random(n) < (LT_SHARE_BEFORE if usual else LT_SHARE_AFTER)
    if usual:
        team = np.full(n, "usual_care")
        conv = np.full(n, np.nan)
    else:
        team = rng.choice(list(EXAMPLE_TEAMS), n)
        conv = np.where(lt, 3, rng.choice([1, 2, 3], n, p=list(SPLIT))).astype(float)
    outcome = _non_lt_outcomes(rng, np.nan_to_num(conv).astype(int), np.full(n, usual))
    outcome[lt] = "long_term_support"
    dur = _durations(rng, np.nan_to_num(conv).astype(int), np.full(n, usual))
    end = start + dur.astype("timedelta64[D]")
    request = start - rng.integers(0, REQUEST_LAG_DAYS + 1, n).astype("timedelta64[D]")
    repeat = rng.random(n) < (REPEAT_SHARE_BEFORE if usual else REPEAT_SHARE_AFTER)
    return _frame(
        EXAMPLE_SITE, team, request, conv, start, end, outcome, repeat,
        pd.array([pd.NA] * n, dtype="boolean"),
    )  # fmt: skip


def synthetic_example_council(
    seed: int = EXAMPLE_SEED, go_live: str = EXAMPLE_GO_LIVE, months: int = EXAMPLE_MONTHS
) -> pd.DataFrame:
    """The fictional council's episodes: `months` months of usual care before `go_live` and
    `months` months of 3Cs (two teams) from it, in the schema of `conversations`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise StudyInputError(f"seed must be a non-negative whole number, got {seed!r}")
    rng = np.random.default_rng(seed)
    day = pd.Timestamp(go_live)
    one_day = pd.Timedelta(days=1)
    before = _side(rng, day - pd.DateOffset(months=months), day - one_day, usual=True)
    after = _side(rng, day, day + pd.DateOffset(months=months) - one_day, usual=False)
    frame = _finish(rng, pd.concat([before, after], ignore_index=True), "N")
    return _typed_conversations(frame)


def example_meta(frame: pd.DataFrame, data: bytes, seed: int) -> dict:
    """The .meta.json sidecar: `write_synthetic`'s (labelled synthetic, seed, sha256), with this
    generator, its note and label, and what it is built from."""
    return {
        **_meta(EXAMPLE_FILE, seed, frame, data, "conversations"),
        "note": EXAMPLE_NOTE,
        "generator": "study.data.synthetic.example_council.write_example_council",
        "calibrated_to": "nothing: stated assumptions (study.data.synthetic.example_council)",
        "synthetic_note": SYNTHETIC_NOTE,
        "label": EXAMPLE_LABEL,
    }


def write_example_council(seed: int = EXAMPLE_SEED, out_dir: Path | str = SYNTHETIC_DIR) -> Path:
    """Write the example extract and its sidecar into `out_dir`; refuses to overwrite a file
    that is not marked synthetic. Returns the CSV's path."""
    out = Path(out_dir)
    frame = synthetic_example_council(seed)
    data = _csv_bytes(frame)
    target = out / EXAMPLE_FILE
    sidecar = out / EXAMPLE_FILE.replace(".csv", ".meta.json")
    for path in (target, sidecar):
        if path.exists() and not _is_ours(path):
            raise StudyInputError(f"refusing to overwrite {path}: not a synthetic file")
    out.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    meta = json.dumps(example_meta(frame, data, seed), indent=2, sort_keys=True, ensure_ascii=False)
    sidecar.write_text(meta + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - regeneration entry point
    print(write_example_council())
