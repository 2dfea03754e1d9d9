"""Synthetic record-level data calibrated to the published figures (SYNTHETIC — not real records).

The generator reads every calibration target from ``data/published/`` (through
``study.data.published``, figure ids in brackets); no published number is typed here.

* Birmingham — [bham_conversations_6m] conversation episodes in a six-month window ending at
  Conversation 1/2/3 in exactly the published split [bham_share_c1..c3] (largest-remainder
  counts), and the published fall [bham_long_term_reduction] in people going on to long-term
  support in the two key areas (innovation sites 1 and 2) compared with the usual-care
  episodes of the six months before.
* Harrow front door — weekly new long-term starts whose mean passes through the published
  levels [harrow_lt_starts_2018_09 … harrow_lt_starts_2021_03] at the end of their months,
  linear between them and flat before the first, with mild annual seasonality and Poisson
  noise; requests whose April 2020–March 2021 total exceeds 2019-20's by exactly the
  published rise [harrow_requests_increase_2020_21]; repeat requests at the published shares
  in 2018-19 [harrow_repeat_share_before] and from 2019-20 [harrow_repeat_share_after]
  (exact counts; usual-care rows keep the old share); the Conversation 3 share of completed
  innovation-site episodes before and during the Covid year [harrow_c3_share_pre_covid,
  harrow_c3_share_covid] (exact).
* Harrow reviews — Tables 1a/1b row counts exactly and the average weekly change to the
  pence of (published full-year impact / (completed × 52)), so the £ average and the rounded
  impact both match. Where a block's printed total differs from the sum of its rows (Old
  Locality Team, non-Covid), the rows are generated.
* A ``london_comparison`` weekly series that never adopts the model but gets Harrow's
  relative Covid rise in long-term starts and the same Covid-year rise in requests.

Assumptions that no source states (the Birmingham window's dates, volumes, durations, team
splits, seasonality, exposure) are the module constants below; data/synthetic/README.md lists
them.
"""

from __future__ import annotations

from study.data.synthetic.calibration import (  # noqa: F401
    BHAM_BASELINE_LT_SHARE,
    BHAM_SITE_WEIGHTS,
    BIRMINGHAM_FILES,
    CONVERSATIONS_FILE,
    COVID_POSITIVE_SHARE,
    DEFAULT_SEED,
    FIRST_TIME_REQUESTS_PER_WEEK,
    GENERATOR_VERSION,
    HARROW_FIRST_WEEK,
    KINDS,
    LT_ANCHORS,
    MEAN_DAYS,
    PERCENT,
    REVIEW_CHANGE_MEDIAN_GBP,
    REVIEW_COST_MEDIAN_GBP,
    REVIEWS_FILE,
    SEASONAL_AMPLITUDE,
    SEASONAL_PEAK_DAY,
    SYNTHETIC_NOTE,
    SYNTHETIC_POPULATION,
    WEEKLY_FILE,
    Calibration,
    _season,
    last_full_week,
    load_calibration,
    lt_mean_per_week,
)
from study.data.synthetic.conversations import (  # noqa: F401
    birmingham_calibration,
    synthetic_birmingham,
    synthetic_conversations,
)
from study.data.synthetic.files import (  # noqa: F401
    synthetic_data,
    synthetic_readme,
    write_synthetic,
)
from study.data.synthetic.panel import (  # noqa: F401
    simulated_council_panel,
)
from study.data.synthetic.reviews import (  # noqa: F401
    review_targets,
    synthetic_reviews,
)
from study.data.synthetic.weekly import (  # noqa: F401
    synthetic_weekly,
)
