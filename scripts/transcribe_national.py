"""Write data/published/national_figures.csv: the cited figures from the official files.

Reads the NHS Digital "ASCFR and SALT Data Tables" workbook and the Oflog `ASC_data.csv`
through `study.data.national` (default folder: $STUDY_EXTERNAL_DIR, else ../shared/external) and
writes only the cited cells (`study.data.national.TABLE_SPECS`, `CITED_GEOGRAPHIES`,
`CITED_OFLOG_MEASURES`). tests/test_national.py checks that the committed file equals a fresh run.

    .venv/bin/python scripts/transcribe_national.py [--ascfr PATH] [--oflog PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys

from study import config
from study.data import national
from study.errors import StudyInputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ascfr", help="ASC-FR/SALT workbook (default: external folder)")
    parser.add_argument("--oflog", help="Oflog ASC_data.csv (default: external folder)")
    parser.add_argument(
        "--out",
        default=str(config.PUBLISHED_DIR / national.NATIONAL_FIGURES_FILE),
        help="output CSV (default: data/published/national_figures.csv)",
    )
    args = parser.parse_args(argv)
    try:
        figures = national.national_figures(args.ascfr, args.oflog)
    except StudyInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = config.resolve_path(args.out)
    out.write_text(national.national_figures_csv(figures), encoding="utf-8")
    print(f"wrote {len(figures)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
