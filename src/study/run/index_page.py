"""The run folder's front page, `index.html`, readable straight from disk (file://, no server).

One static page: the study title, the run name and description, the key estimates beside the
published figures they re-estimate (`KEY_ESTIMATES`, from `data/published/figures.csv`), a link
to each notebook's HTML, every figure inline, the parameters and a provenance summary. No
scripts, no external URLs, inline CSS only; every text is escaped (`html.escape`); the same run
folder always gives the same bytes (no timestamps beyond the run folder's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import yaml

from study import config
from study.config import project_label
from study.data.published import FIGURES_FILE, figure_table, load_figures
from study.run.disclosure import applied_rule
from study.run.keys import estimate_keys
from study.run.pipeline import sha256
from study.run.run_diff import flatten, load_run, setting_text, write_text_atomic
from study.tidy import gbp_pounds

STUDY_TITLE = "Three Conversations study"
STUDY_SUBTITLE = (
    "A reproducible re-evaluation of the Three Conversations (3Cs) model of adult social care "
    "in Birmingham and Harrow"
)
INDEX_FILE = "index.html"
FIGURES_LABEL = "data/published/figures.csv"
SCALES = ("percent", "points", "ratio", "count", "gbp")
KEY_TABLE_COLUMNS = [
    "label", "published", "source", "quote", "estimate", "ci", "method", "data_kind",
    "data_source", "notebook", "range",
]  # fmt: skip
# notebook 04's readings of the published Harrow path: one row per reading, the default's note
# says so (`study.analyses.cost_avoidance.DEFAULT_NOTE`)
READING_COST = re.compile(r"^Harrow .+ part-year, reading (?P<name>\S+): cost avoided \(GBP\)$")
DEFAULT_READING_NOTE = "default reading"
_QUALIFIERS = {
    "=": "",
    "approx": "about ",
    ">": "more than ",
    "<": "less than ",
    "up_to": "up to ",
    "at_least": "at least ",
}
_CSP = "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'"
_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c1c1c;
  max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
h1 { margin: 0 0 .2rem; font-size: 1.7rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid
  #d8dee4; padding-bottom: .2rem; } h3 { margin: 1.4rem 0 .4rem; }
.subtitle { margin: 0 0 1rem; color: #4a4a4a; } nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; } td.num { text-align: right; white-space: nowrap; }
.small { font-size: 12px; color: #555; } code { font-size: 12px; word-break: break-all; }
tr.synthetic td { background: #fff6e5; }
.kind-synthetic { display: inline-block; background: #b35c00; color: #fff; font-weight: 700;
  padding: .05rem .4rem; border-radius: 3px; white-space: nowrap; }
.kind-published { color: #1a5e20; font-weight: 600; }
.kind-user { color: #0b4f8a; font-weight: 600; }
.missing { color: #a40e26; font-style: italic; }
.banner { border-left: 6px solid #b35c00; background: #fff6e5; padding: .6rem .9rem;
  margin: 1rem 0; }
.warning { border-left: 6px solid #a40e26; background: #fdecee; padding: .6rem .9rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid #d0d7de; padding: .5rem; background: #fff; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 13px; margin-top: .3rem; }
details { margin: .3rem 0; } summary { cursor: pointer; font-weight: 600; }
"""


RECORD_KINDS = ("user", "synthetic")  # data kinds of a record-level row, the user's first
_SPLIT = "01_conversation_split/birmingham/birmingham-conversation-split"
_BHAM_LT = "02_long_term_reduction/birmingham/birmingham-long-term-services-two-key-areas"
_POISSON_GLM = "wald-poisson-glm-with-log-exposure-offset"
_REVIEWS = "05_reviews_existing_care/harrow/all-full-year"


@dataclass(frozen=True)
class KeyEstimate:
    """A row of the key-estimates table: the `key` of one of our estimates (`study.run.keys`:
    the same whatever alpha, model family, draws or data) and the published figures it
    re-estimates (one figure, or two for a published change from one value to another).

    A `record_level` key is an estimate from a record-level extract: it matches the run's row
    from the user's extract, else from the synthetic one, and is left out when the run has
    neither."""

    label: str
    figure_ids: tuple[str, ...]
    key: str
    scale: str
    readings: re.Pattern | None = None  # rows whose range across readings the row shows
    record_level: bool = False

    @property
    def notebook(self) -> str:
        return self.key.split("/", 1)[0]


KEY_ESTIMATES: tuple[KeyEstimate, ...] = (
    *(
        KeyEstimate(
            f"Birmingham: conversations ending at Conversation {k}",
            (f"bham_share_c{k}",),
            f"{_SPLIT}-share-c{k}/goodman-simultaneous",
            "percent",
        )
        for k in (1, 2, 3)
    ),
    KeyEstimate(
        "Harrow: Conversation 3 share, pre-Covid to Covid year (change)",
        ("harrow_c3_share_pre_covid", "harrow_c3_share_covid"),
        "01_conversation_split/harrow/harrow-c3-share-difference-covid-year-pre-covid",
        "points",
    ),
    *(
        KeyEstimate(
            f"Birmingham: conversations ending at Conversation {k} (record-level extract)",
            (f"bham_share_c{k}",),
            f"{_SPLIT}-records-share-c{k}/goodman-simultaneous",
            "percent",
            record_level=True,
        )
        for k in (1, 2, 3)
    ),
    KeyEstimate(
        "Harrow: Conversation 3 share, pre-Covid to Covid year (change, record-level extract)",
        ("harrow_c3_share_pre_covid", "harrow_c3_share_covid"),
        "01_conversation_split/harrow/harrow-c3-share-records-difference-covid-year-pre-covid",
        "points",
        record_level=True,
    ),
    KeyEstimate(
        "Birmingham: reduction in long-term services (two key areas)",
        ("bham_long_term_reduction",),
        f"{_BHAM_LT}-reduction-1-rr/{_POISSON_GLM}",
        "percent",
    ),
    KeyEstimate(
        "Birmingham: reduction in long-term services (two key areas, record-level extract)",
        ("bham_long_term_reduction",),
        f"{_BHAM_LT}-records-reduction-1-rr/{_POISSON_GLM}",
        "percent",
        record_level=True,
    ),
    KeyEstimate(
        "Harrow: new long-term starts a week, innovation year (reduction)",
        ("harrow_lt_starts_2019_03", "harrow_lt_starts_2020_03"),
        "02_long_term_reduction/harrow/harrow-lt-starts-mar-2019-to-mar-2020-innovation-year-"
        f"2019-20-reduction-1-rr/{_POISSON_GLM}",
        "percent",
    ),
    KeyEstimate(
        "Harrow: new long-term starts a week, Covid year (rate ratio)",
        ("harrow_lt_starts_2020_03_covid_restated", "harrow_lt_starts_2021_03"),
        "02_long_term_reduction/harrow/harrow-lt-starts-mar-2020-to-mar-2021-covid-year-rate-"
        f"ratio-after-before/{_POISSON_GLM}",
        "ratio",
    ),
    KeyEstimate(
        "Harrow: share of repeat requests (change)",
        ("harrow_repeat_share_before", "harrow_repeat_share_after"),
        "02_long_term_reduction/harrow/harrow-repeat-requests-difference-innovation-year-before",
        "points",
    ),
    KeyEstimate(
        "Harrow: long-term starts avoided before Covid (interrupted time series)",
        ("harrow_lt_starts_2019_03", "harrow_lt_starts_2020_03"),
        "03_interrupted_time_series/harrow/new-long-term-starts-avoided-pre-covid-innovation",
        "count",
    ),
    KeyEstimate(
        "Harrow: cost avoided in 2019-20 (part year)",
        ("harrow_cost_avoided_2019_20",),
        "04_cost_avoidance/harrow/harrow-2019-20-part-year-cost-avoided-gbp",
        "gbp",
        READING_COST,
    ),
    KeyEstimate(
        "Harrow: cost avoided in a full year",
        ("harrow_cost_avoided_full_year",),
        "04_cost_avoidance/harrow/harrow-a-whole-financial-year-at-the-new-rate-cost-avoided-gbp",
        "gbp",
    ),
    KeyEstimate(
        "Harrow reviews: a year's added spend, old way of working",
        ("harrow_reviews_old_annual_add",),
        f"{_REVIEWS}-budget-impact-gbp-old-locality-team/bootstrap-bca-resamples",
        "gbp",
    ),
    KeyEstimate(
        "Harrow reviews: a year's added spend, 3Cs innovation site",
        ("harrow_reviews_new_annual_add",),
        f"{_REVIEWS}-budget-impact-gbp-innovation-site/bootstrap-bca-resamples",
        "gbp",
    ),
    KeyEstimate(
        "Harrow reviews: full-year saving against the old way",
        ("harrow_reviews_full_year_saving",),
        f"{_REVIEWS}-saving-gbp-old-team-impact-innovation-site-impact/bootstrap-bca-resamples",
        "gbp",
    ),
)


@dataclass(frozen=True)
class IndexInputs:
    """Everything the index page shows, read from a run folder (see `read_index_inputs`)."""

    folder_name: str
    run_name: str
    description: str
    params: dict
    estimates: pd.DataFrame
    published: pd.DataFrame
    published_changed: bool
    provenance: dict
    figures: tuple[str, ...]
    files: tuple[str, ...]
    incomplete: str = ""  # why the run is incomplete (run_diff.incomplete_note), else ""
    disclosure: str = ""  # the disclosure rule applied (study.run.disclosure.applied_rule)


def format_value(value: float, scale: str) -> str:
    """One of our numbers as shown in the table (`scale`: percent, points, ratio, count, gbp)."""
    if pd.isna(value):
        return "–"
    if scale == "percent":
        return f"{100 * value:.1f}%"
    if scale == "points":
        return f"{100 * value:+.1f} points"
    if scale == "ratio":
        return f"{value:.2f}"
    if scale == "count":
        return f"{value:,.0f}"
    if scale == "gbp":
        return gbp_pounds(value)
    raise ValueError(f"unknown scale {scale!r}; expected one of {SCALES}")


def format_published(row: pd.Series) -> str:
    """A published figure in its own unit, with its qualifier ("more than £550,000")."""
    value, unit = float(row["value"]), str(row["unit"])
    if unit == "percent":
        text = f"{value:g}%"
    elif unit == "gbp":
        text = gbp_pounds(value)
    elif unit == "people_per_week":
        text = f"{value:g} a week"
    else:
        text = f"{value:g} {unit.replace('_', ' ')}"
    return _QUALIFIERS.get(str(row["qualifier"]), f"{row['qualifier']} ") + text


def readings_range(estimates: pd.DataFrame, key: KeyEstimate) -> str:
    """'£a to £b across the N readings of the published figures (default: name)' from the run's
    rows matching `key.readings` (published-data rows only; '' when the run has none)."""
    if key.readings is None:
        return ""
    rows = estimates[
        (estimates["notebook"] == key.notebook) & (estimates["data_kind"] == "published")
    ]
    hits = rows["quantity"].str.extract(key.readings)
    found = rows[hits["name"].notna()]
    if found.empty:
        return ""
    default = hits.loc[
        hits["name"].notna() & rows["note"].astype(str).str.startswith(DEFAULT_READING_NOTE), "name"
    ]
    low, high = found["estimate"].min(), found["estimate"].max()
    return (
        f"{format_value(low, key.scale)} to {format_value(high, key.scale)} across the "
        f"{len(found)} readings of the published figures"
        + (f" (default: {default.iloc[0]})" if len(default) else "")
    )


def key_estimate_rows(
    estimates: pd.DataFrame,
    published: pd.DataFrame,
    notebooks: list[str],
    mapping: tuple[KeyEstimate, ...] = KEY_ESTIMATES,
) -> pd.DataFrame:
    """The key-estimates table for the notebooks in a run: label, published (text), source files,
    quote, and of the run's row with that key: estimate, ci (text), method, data_kind and
    data_source (the data it came from); empty when the run has no such row, and a
    record-level key the run's extract lacks is left out; notebook; range (`readings_range`)."""
    rows = []
    keys = estimates["key"] if "key" in estimates else estimate_keys(estimates)
    for key in mapping:
        if key.notebook not in notebooks:
            continue
        cited = figure_table(key.figure_ids, published)
        hit = estimates[(keys == key.key) | keys.str.startswith(key.key + "~")]
        if key.record_level and len(hit):  # the user's extract before the synthetic one
            rank = hit["data_kind"].map({kind: i for i, kind in enumerate(RECORD_KINDS)})
            hit = hit.iloc[rank.fillna(len(RECORD_KINDS)).to_numpy().argsort(kind="stable")]
        found = hit.iloc[0] if len(hit) else None
        if found is None and key.record_level:
            continue
        rows.append(
            {
                "label": key.label,
                "published": " → ".join(format_published(r) for _, r in cited.iterrows()),
                "source": ", ".join(sorted(set(cited["source_file"]))),
                "quote": " … ".join(dict.fromkeys(cited["quote"])),
                "estimate": "" if found is None else format_value(found["estimate"], key.scale),
                "ci": ""
                if found is None
                else f"{format_value(found['ci_low'], key.scale)} to "
                f"{format_value(found['ci_high'], key.scale)} ({found['level']:.0%})",
                "method": "" if found is None else str(found["method"]),
                "data_kind": "" if found is None else str(found["data_kind"]),
                "data_source": "" if found is None else str(found["source"]),
                "notebook": key.notebook,
                "range": readings_range(estimates, key),
            }
        )
    return pd.DataFrame(rows, columns=KEY_TABLE_COLUMNS)


def _href(relative: str) -> str:
    return escape(quote(relative), quote=True)


def _link(relative: str, text: str) -> str:
    return f'<a href="{_href(relative)}">{escape(text)}</a>'


def _kind_badge(kind: str) -> str:
    if kind == "synthetic":
        return '<span class="kind-synthetic">synthetic — not a finding</span>'
    if kind == "":
        return ""
    label = "user data" if kind == "user" else kind
    return f'<span class="kind-{escape(kind, quote=True)}">{escape(label)}</span>'


def _key_estimates_section(inputs: IndexInputs) -> list[str]:
    rows = key_estimate_rows(inputs.estimates, inputs.published, _notebooks(inputs))
    out = ['<h2 id="key-estimates">Key estimates</h2>']
    if inputs.published_changed:
        out.append(
            f'<p class="warning">{escape(FIGURES_LABEL)} has changed since this run (its SHA-256 '
            "differs from the run's provenance); the published values below are today's.</p>"
        )
    if rows.empty:
        return [*out, "<p>This run has none of the notebooks behind the key estimates.</p>"]
    out += [
        "<table>",
        "<tr><th>published figure</th><th>our estimate</th><th>CI</th><th>method</th>"
        "<th>data kind</th></tr>",
    ]
    for row in rows.itertuples(index=False):
        css = ' class="synthetic"' if row.data_kind == "synthetic" else ""
        if row.estimate:
            spread = f'<br><span class="small">{escape(row.range)}</span>' if row.range else ""
            ours = (
                f'<td class="num">{escape(row.estimate)}{spread}</td>'
                f'<td class="num">{escape(row.ci)}</td>'
            )
        else:
            ours = '<td colspan="2" class="missing">not found in estimates.csv</td>'
        out.append(
            f"<tr{css}><td><strong>{escape(row.label)}</strong><br>published: "
            f"{escape(row.published)}<br>"
            f'<span class="small" title="{escape(row.quote, quote=True)}">published in: '
            f"{escape(row.source)}</span>"
            + (
                f'<br><span class="small">our estimate from: {escape(row.data_source)}</span>'
                if row.data_source
                else ""
            )
            + f"</td>{ours}"
            f'<td class="small">{escape(row.method)}</td><td>{_kind_badge(row.data_kind)}</td></tr>'
        )
    out.append("</table>")
    out.append(
        '<p class="small">Published values and their sources (hover for the quoted sentence) from '
        f"{escape(FIGURES_LABEL)}; every estimate of the run is in "
        f"{_link('estimates.csv', 'estimates.csv')}.</p>"
    )
    return out


def _synthetic_banner(inputs: IndexInputs) -> list[str]:
    """The synthetic-data banner when a key estimate shown is synthetic (naming the notebooks
    that made those rows); a one-line note when only rows outside the key table are."""
    estimates = inputs.estimates
    synthetic = estimates[estimates["data_kind"] == "synthetic"]
    if synthetic.empty:
        return []
    rows = key_estimate_rows(estimates, inputs.published, _notebooks(inputs))
    shown = rows[rows["data_kind"] == "synthetic"]
    sites = ", ".join(sorted(set(synthetic["site"].astype(str))))
    every = ", ".join(dict.fromkeys(synthetic["notebook"].astype(str)))
    if shown.empty:
        return [
            f'<p class="small" id="synthetic-note"><strong>Synthetic data.</strong> '
            f"{len(synthetic)} rows of estimates.csv (from {escape(every)}) come from synthetic "
            "record-level data; none of the key estimates below does.</p>"
        ]
    makers = ", ".join(dict.fromkeys(shown["notebook"]))
    return [
        '<p class="banner" id="synthetic-banner"><strong>Synthetic data.</strong> Key estimates '
        f"labelled <em>synthetic — not a finding</em> (from {escape(makers)}) come from synthetic "
        "record-level data calibrated to the published figures. They demonstrate the method; "
        f"they are not findings about the councils ({escape(sites)}). In all, {len(synthetic)} "
        f"rows of estimates.csv are synthetic (from {escape(every)}).</p>"
    ]


def _notebooks(inputs: IndexInputs) -> list[str]:
    return [str(n) for n in inputs.provenance.get("notebooks", [])]


def _notebooks_section(inputs: IndexInputs) -> list[str]:
    out = ['<h2 id="notebooks">Notebooks</h2>', "<ul>"]
    for name in _notebooks(inputs):
        html_page, notebook = f"html/{name}.html", f"notebooks/{name}.ipynb"
        parts = [
            _link(html_page, name) if html_page in inputs.files else escape(name),
            _link(notebook, "executed notebook (.ipynb)") if notebook in inputs.files else "",
        ]
        n = int((inputs.estimates["notebook"] == name).sum())
        out.append(f"<li>{' · '.join(p for p in parts if p)} <span class='small'>({n} estimates)")
        out[-1] += "</span></li>"
    out.append("</ul>")
    return out


def _figures_section(inputs: IndexInputs) -> list[str]:
    out = ['<h2 id="figures">Figures</h2>']
    if not inputs.figures:
        return [*out, "<p>This run wrote no figures.</p>"]
    groups: dict[str, list[str]] = {}
    for png in inputs.figures:
        groups.setdefault(Path(png).stem.split("__", 1)[0], []).append(png)
    for notebook, pngs in groups.items():
        out += [f"<h3>{escape(notebook)}</h3>", '<div class="figures">']
        for png in pngs:
            name = Path(png).stem.split("__", 1)[-1]
            svg = str(Path(png).with_suffix(".svg"))
            svg_link = f" · {_link(svg, 'SVG')}" if svg in inputs.files else ""
            out.append(
                f'<figure><img src="{_href(png)}" alt="{escape(name, quote=True)}">'
                f"<figcaption>{escape(name)} · {_link(png, 'PNG')}{svg_link}</figcaption></figure>"
            )
        out.append("</div>")
    return out


def _parameters_section(inputs: IndexInputs) -> list[str]:
    out = [
        '<h2 id="parameters">Parameters</h2>',
        f"<p>Resolved values for each notebook, as in {_link('params.yaml', 'params.yaml')} "
        f"(from <code>{escape(str(inputs.provenance.get('params_file', '')))}</code>).</p>",
    ]
    per_notebook = inputs.params.get("notebooks") or {}
    for name, values in per_notebook.items():
        flat = flatten(values or {})
        out += [
            f"<details open><summary>{escape(str(name))} ({len(flat)} parameters)</summary>",
            "<table><tr><th>parameter</th><th>value</th></tr>",
        ]
        out += [
            f"<tr><td><code>{escape(k)}</code></td>"
            f"<td><code>{escape(setting_text(v))}</code></td></tr>"
            for k, v in flat.items()
        ]
        out.append("</table></details>")
    return out


def _provenance_section(inputs: IndexInputs) -> list[str]:
    prov = inputs.provenance
    facts = [
        ("git commit", prov.get("git_commit", "")),
        ("study version", prov.get("study_version", "")),
        ("Python", prov.get("python", "")),
        ("platform", prov.get("platform", "")),
        ("parameters file", prov.get("params_file", "")),
        ("installed packages", f"{len(prov.get('packages', {}))} (versions in provenance.json)"),
    ]
    out = ['<h2 id="provenance">Provenance</h2>', "<table>"]
    out += [
        f"<tr><th>{escape(k)}</th><td><code>{escape(str(v))}</code></td></tr>" for k, v in facts
    ]
    out += ["</table>", "<h3>Input checksums (SHA-256)</h3>", "<table>"]
    out.append("<tr><th>input file</th><th>SHA-256</th></tr>")
    out += [
        f"<tr><td><code>{escape(str(k))}</code></td><td><code>{escape(str(v))}</code></td></tr>"
        for k, v in sorted(prov.get("inputs_sha256", {}).items())
    ]
    out.append("</table>")
    return out


def _files_section(inputs: IndexInputs) -> list[str]:
    described = {
        "estimates.csv": f"every estimate of the run ({len(inputs.estimates)} rows)",
        "params.yaml": "the resolved parameters",
        "provenance.json": "package versions and input checksums",
        "README.md": "what the folder holds",
        "kernel.log": "what the notebook kernels printed",
    }
    out = ['<h2 id="files">Files</h2>', "<ul>"]
    out += [
        f"<li>{_link(name, name)}: {escape(text)}</li>"
        for name, text in described.items()
        if name in inputs.files
    ]
    out.append("</ul>")
    return out


def render_index(inputs: IndexInputs) -> str:
    """The index page (HTML text) of a run folder."""
    kinds = inputs.estimates["data_kind"].value_counts().sort_index()
    counts = ", ".join(f"{kind}: {n}" for kind, n in kinds.items())
    body = [
        f"<h1>{escape(STUDY_TITLE)}</h1>",
        f'<p class="subtitle">{escape(STUDY_SUBTITLE)}</p>',
        f"<p><strong>Run</strong> <code>{escape(inputs.folder_name)}</code> (run name "
        f"<code>{escape(inputs.run_name)}</code>)"
        + (f": {escape(inputs.description)}" if inputs.description else "")
        + "</p>",
        f"<p>{len(inputs.estimates)} estimates ({escape(counts or 'none')}) from "
        f"{len(_notebooks(inputs))} notebook(s).</p>",
    ]
    if inputs.incomplete:
        body.append(
            '<p class="banner warning" id="incomplete"><strong>Incomplete run.</strong> '
            f"{escape(inputs.incomplete)}. Only the notebooks that finished are summarised "
            "here.</p>"
        )
    if inputs.disclosure:
        body.append(
            f'<p class="small" id="disclosure"><strong>Disclosure control.</strong> '
            f"{escape(inputs.disclosure)}</p>"
        )
    body += _synthetic_banner(inputs)
    body.append(
        "<nav>"
        + "".join(
            f'<a href="#{a}">{t}</a>'
            for a, t in [
                ("key-estimates", "Key estimates"),
                ("notebooks", "Notebooks"),
                ("figures", "Figures"),
                ("parameters", "Parameters"),
                ("provenance", "Provenance"),
                ("files", "Files"),
            ]
        )
        + "</nav>"
    )
    for section in (
        _key_estimates_section,
        _notebooks_section,
        _figures_section,
        _parameters_section,
        _provenance_section,
        _files_section,
    ):
        body += section(inputs)
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(inputs.folder_name)} · {escape(STUDY_TITLE)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>", ""])


def _description(provenance: dict) -> str:
    """The parameters file's `description`, if that file is unchanged since the run."""
    label = str(provenance.get("params_file", ""))
    path = config.resolve_path(label) if label else None
    recorded = provenance.get("inputs_sha256", {}).get(label)
    if path is None or not path.is_file() or recorded != sha256(path):
        return ""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str(raw.get("description") or "") if isinstance(raw, dict) else ""


def read_index_inputs(run_dir: Path) -> IndexInputs:
    """Read what the index page shows from a run folder (StudyInputError if it is not one)."""
    run = load_run(run_dir)
    figures_csv = config.PUBLISHED_DIR / FIGURES_FILE
    recorded = run.provenance.get("inputs_sha256", {}).get(project_label(figures_csv))
    files = tuple(
        sorted(str(p.relative_to(run.path).as_posix()) for p in run.path.rglob("*") if p.is_file())
    )
    return IndexInputs(
        folder_name=run.path.resolve().name,
        run_name=str(run.params.get("run_name") or run.path.resolve().name),
        description=_description(run.provenance),
        params=run.params,
        estimates=run.estimates,
        published=load_figures(),
        published_changed=recorded is not None and recorded != sha256(figures_csv),
        provenance=run.provenance,
        figures=tuple(f for f in files if f.startswith("figures/") and f.endswith(".png")),
        files=files,
        incomplete=run.incomplete,
        disclosure=applied_rule(run.path, run.estimates),
    )


def write_index(run_dir: Path) -> Path:
    """Write (or rewrite) `index.html` in a run folder; returns its path."""
    target = Path(run_dir) / INDEX_FILE
    write_text_atomic(target, render_index(read_index_inputs(Path(run_dir))))
    return target
