"""The run folder's index.html: key-estimate mapping, formatting, escaping, `study index`."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from study import config
from study.analyses.cost_avoidance import DEFAULT_NOTE
from study.data.published import figure_table, load_figures
from study.run.cli import app
from study.run.index_page import (
    KEY_ESTIMATES,
    SCALES,
    KeyEstimate,
    format_published,
    format_value,
    key_estimate_rows,
    read_index_inputs,
    render_index,
    write_index,
)
from study.run.recorder import RUN_COLUMNS

runner = CliRunner()
SHARE_C1 = KEY_ESTIMATES[0]
C3_RECORDS = next(k for k in KEY_ESTIMATES if k.record_level and "harrow-c3" in k.key)
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row_for(
    key: KeyEstimate, estimate: float, lo: float, hi: float, kind: str, suffix: str = ""
) -> dict:
    """A run's row with the key's `key` (and `suffix`, e.g. "~2" for a repeat)."""
    return dict(
        key=key.key + suffix,
        site=key.key.split("/")[1],
        notebook=key.notebook,
        quantity=f"{key.label} ({kind})",
        estimate=estimate,
        ci_low=lo,
        ci_high=hi,
        level=0.95,
        method=f"method of {key.label}",
        n=1497.0,
        data_kind=kind,
        source="data/a.csv",
        note="",
    )


def make_run(folder: Path, rows: list[dict], provenance: dict | None = None) -> Path:
    """A hand-made run folder of notebook 01 with one figure and its HTML page."""
    for sub in ("figures", "html", "notebooks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=RUN_COLUMNS).to_csv(folder / "estimates.csv", index=False)
    params = {"run_name": "demo", "notebooks": {"01_conversation_split": {"alpha": 0.05}}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    figures_csv = config.PUBLISHED_DIR / "figures.csv"
    record = {
        "git_commit": "0123abc",
        "study_version": "0.1.0",
        "python": "3.11.7",
        "platform": "Linux",
        "params_file": "params/none.yaml",
        "notebooks": ["01_conversation_split"],
        "inputs_sha256": {"data/published/figures.csv": sha256(figures_csv)},
        "packages": {"pandas": "3.1.1"},
        **(provenance or {}),
    }
    (folder / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    (folder / "figures" / "01_conversation_split__split.png").write_bytes(PNG_1X1)
    (folder / "figures" / "01_conversation_split__split.svg").write_text("<svg/>")
    (folder / "html" / "01_conversation_split.html").write_text("<html></html>")
    return folder


@pytest.fixture
def run(tmp_path) -> Path:
    rows = [
        row_for(SHARE_C1, 0.700066800267201, 0.6709950995595064, 0.727612465254932, "published"),
        row_for(C3_RECORDS, 0.0701014759909052, 0.056905437964984, 0.083018076933187, "synthetic"),
    ]
    return make_run(tmp_path / "demo-20260101-000000", rows)


# ---- the mapping ----------------------------------------------------------------------------


def test_every_key_estimate_names_published_figures_a_notebook_and_a_scale():
    figures = load_figures()
    keys = [k.key for k in KEY_ESTIMATES]
    assert len(set(keys)) == len(keys)
    assert all(key.count("/") in (2, 3) for key in keys)  # notebook/site/what[/method]
    for key in KEY_ESTIMATES:
        assert len(figure_table(key.figure_ids, figures)) in (1, 2)  # unknown id: error
        assert (config.NOTEBOOKS_DIR / f"{key.notebook}.ipynb").is_file(), key.notebook
        assert key.scale in SCALES


def test_mapping_pairs_estimates_with_the_figures_they_re_estimate():
    by_key = {k.key: k.figure_ids for k in KEY_ESTIMATES}
    split = "01_conversation_split/birmingham/birmingham-conversation-split"
    assert by_key[f"{split}-share-c2/goodman-simultaneous"] == ("bham_share_c2",)
    assert by_key[
        "02_long_term_reduction/birmingham/birmingham-long-term-services-two-key-areas-"
        "reduction-1-rr/wald-poisson-glm-with-log-exposure-offset"
    ] == ("bham_long_term_reduction",)
    assert by_key["04_cost_avoidance/harrow/harrow-2019-20-part-year-cost-avoided-gbp"] == (
        "harrow_cost_avoided_2019_20",
    )


# ---- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "text"),
    [
        (0.700066800267201, "percent", "70.0%"),
        (0.07, "points", "+7.0 points"),
        (-0.0797, "points", "-8.0 points"),
        (1.309090909, "ratio", "1.31"),
        (141.3956, "count", "141"),
        (742717.2, "gbp", "£742,717"),
        (-550008.27, "gbp", "-£550,008"),
        (float("nan"), "percent", "–"),
    ],
)
def test_format_value(value, scale, text):
    assert format_value(value, scale) == text


def test_format_value_rejects_an_unknown_scale():
    with pytest.raises(ValueError, match="unknown scale 'furlongs'"):
        format_value(1.0, "furlongs")


@pytest.mark.parametrize(
    ("figure_id", "text"),
    [
        ("bham_share_c1", "70%"),
        ("harrow_lt_starts_2019_03", "7.2 a week"),
        ("harrow_reviews_old_annual_add", "more than £550,000"),
        ("harrow_reviews_new_annual_add", "less than £100,000"),
        ("harrow_cost_avoided_full_year", "up to £1,000,000"),
        ("harrow_cost_avoided_headline", "about £700,000"),
        ("bham_conversations_6m", "1497 conversations"),
    ],
)
def test_format_published(figure_id, text):
    assert format_published(figure_table([figure_id], load_figures()).iloc[0]) == text


def test_key_rows_found_missing_and_skipped():
    estimates = pd.DataFrame([row_for(SHARE_C1, 0.7, 0.67, 0.73, "published")], columns=RUN_COLUMNS)
    rows = key_estimate_rows(estimates, load_figures(), ["01_conversation_split"])
    published_keys = [k for k in KEY_ESTIMATES if not k.record_level]
    # record-level keys the run lacks are left out; published ones are shown as missing
    assert len(rows) == sum(k.notebook == "01_conversation_split" for k in published_keys)
    first = rows.iloc[0]
    assert (first["published"], first["estimate"]) == ("70%", "70.0%")
    assert first["ci"] == "67.0% to 73.0% (95%)"
    assert first["source"] == "000_da5f122e249747a7.txt"
    assert "1497 conversations took place" in first["quote"]
    assert rows.iloc[1]["estimate"] == "" and rows.iloc[1]["data_kind"] == ""  # not in the run
    change = rows[rows["label"].str.contains("Conversation 3 share")].iloc[0]
    assert change["published"] == "9% → 16%"
    assert (
        key_estimate_rows(estimates, load_figures(), ["02_long_term_reduction"])["label"]
        .str.contains("Birmingham: reduction")
        .any()
    )


def test_the_cost_headline_shows_the_range_across_readings_with_the_default_named():
    key = next(k for k in KEY_ESTIMATES if k.readings is not None)
    default = row_for(key, 339_400.0, -44_000.0, 744_000.0, "published")
    rows = [default]
    for name, value, kind in (
        ("step", 742_717.0, "published"),
        ("published_path", 339_400.0, "published"),
        ("trend", -61_200.0, "published"),
        ("its", 9e9, "synthetic"),  # not a reading of the published figures: left out
    ):
        rows.append(
            {
                **default,
                "key": f"{key.key}-reading-{name}",
                "quantity": f"Harrow 2019-20 part-year, reading {name}: cost avoided (GBP)",
                "estimate": value,
                "data_kind": kind,
                "note": DEFAULT_NOTE if name == "published_path" else "",
            }
        )
    estimates = pd.DataFrame(rows, columns=RUN_COLUMNS)
    table = key_estimate_rows(estimates, load_figures(), [key.notebook])
    headline = table[table["label"] == key.label].iloc[0]
    assert headline["estimate"] == "£339,400"
    assert headline["range"] == (
        "-£61,200 to £742,717 across the 3 readings of the published figures "
        "(default: published_path)"
    )
    others = table[table["label"] != key.label]
    assert (others["range"] == "").all()


def test_record_level_keys_prefer_the_users_rows_to_synthetic_ones():
    key = C3_RECORDS
    both = pd.DataFrame(
        [
            row_for(key, 0.05, 0.01, 0.09, "synthetic"),
            row_for(key, 0.08, 0.02, 0.14, "user", suffix="~2"),
        ],
        columns=RUN_COLUMNS,
    )
    rows = key_estimate_rows(both, load_figures(), ["01_conversation_split"])
    row = rows[rows["label"] == key.label].iloc[0]
    assert (row["estimate"], row["data_kind"]) == ("+8.0 points", "user")
    only_synthetic = both.iloc[:1]
    rows = key_estimate_rows(only_synthetic, load_figures(), ["01_conversation_split"])
    row = rows[rows["label"] == key.label].iloc[0]
    assert (row["estimate"], row["data_kind"]) == ("+5.0 points", "synthetic")


# ---- the page -------------------------------------------------------------------------------


def test_page_shows_estimates_figures_links_and_labels_synthetic_rows(run):
    page = render_index(read_index_inputs(run))
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>Three Conversations study</h1>" in page
    assert "demo-20260101-000000" in page and "<code>demo</code>" in page
    synthetic_rows = re.findall(r'<tr class="synthetic">.*?</tr>', page, flags=re.S)
    assert len(synthetic_rows) == 1
    assert "synthetic — not a finding" in synthetic_rows[0] and "+7.0 points" in synthetic_rows[0]
    assert "70.0%" in page and "67.1% to 72.8% (95%)" in page
    assert "not found in estimates.csv" in page  # mapped 01 rows this run lacks
    assert '<img src="figures/01_conversation_split__split.png"' in page
    hrefs = set(re.findall(r'href="([^"]+)"', page))
    assert {
        "estimates.csv",
        "params.yaml",
        "provenance.json",
        "html/01_conversation_split.html",
        "figures/01_conversation_split__split.svg",
    } <= hrefs
    assert "notebooks/01_conversation_split.ipynb" not in hrefs  # not in this folder
    for href in hrefs:
        assert href.startswith("#") or (run / href).is_file(), href
    assert "0123abc" in page and sha256(config.PUBLISHED_DIR / "figures.csv") in page
    assert "has changed since this run" not in page
    assert page.count("our estimate from: data/a.csv") == 2  # the data behind each found row
    banner = re.search(r'<p class="banner" id="synthetic-banner">.*?</p>', page, flags=re.S)
    assert banner and "(from 01_conversation_split)" in banner.group(0)
    assert "councils (harrow)" in banner.group(0)


def test_the_synthetic_banner_only_for_synthetic_key_rows(tmp_path):
    published = row_for(SHARE_C1, 0.7, 0.67, 0.73, "published")
    elsewhere = {**published, "key": "01_conversation_split/harrow/other", "data_kind": "synthetic"}
    page = render_index(read_index_inputs(make_run(tmp_path / "a", [published, elsewhere])))
    assert 'id="synthetic-banner"' not in page
    assert re.search(
        r'id="synthetic-note">.*1 rows of estimates.csv \(from 01_conversation_split\) come '
        r"from synthetic record-level data; none of the key estimates below does",
        page,
    )
    page = render_index(read_index_inputs(make_run(tmp_path / "b", [published])))
    assert "synthetic-banner" not in page and "synthetic-note" not in page


def test_page_is_self_contained_and_deterministic(run):
    inputs = read_index_inputs(run)
    page = render_index(inputs)
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "<link" not in page  # inline CSS only
    assert page == render_index(read_index_inputs(run))


def test_every_text_is_escaped(run):
    inputs = read_index_inputs(run)
    evil = "<script>alert('x')</script> & \"q\""
    page = render_index(
        replace(
            inputs,
            run_name=evil,
            description=evil,
            params={"notebooks": {"01_conversation_split": {"label": evil}}},
            provenance={**inputs.provenance, "git_commit": evil, "inputs_sha256": {evil: "0"}},
            figures=("figures/01_x__a&b <c>.png",),
        )
    )
    assert "<script>" not in page and "alert('x')" not in page
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;") >= 5
    assert 'src="figures/01_x__a%26b%20%3Cc%3E.png"' in page


def test_a_changed_published_table_is_flagged(tmp_path):
    rows = [row_for(SHARE_C1, 0.7, 0.67, 0.73, "published")]
    stale = {"inputs_sha256": {"data/published/figures.csv": "0" * 64}}
    page = render_index(read_index_inputs(make_run(tmp_path / "r", rows, stale)))
    assert "data/published/figures.csv has changed since this run" in page


def test_description_only_from_an_unchanged_parameters_file(tmp_path):
    params = tmp_path / "mine.yaml"
    params.write_text("run_name: mine\ndescription: My <own> run\n", encoding="utf-8")
    rows = [row_for(SHARE_C1, 0.7, 0.67, 0.73, "published")]
    inputs = {
        "data/published/figures.csv": sha256(config.PUBLISHED_DIR / "figures.csv"),
        str(params): sha256(params),
    }
    run = make_run(tmp_path / "r", rows, {"params_file": str(params), "inputs_sha256": inputs})
    assert read_index_inputs(run).description == "My <own> run"
    assert "My &lt;own&gt; run" in render_index(read_index_inputs(run))
    params.write_text("run_name: mine\ndescription: edited later\n", encoding="utf-8")
    assert read_index_inputs(run).description == ""


def test_write_index_and_the_index_command(run, tmp_path):
    first = write_index(run).read_bytes()
    result = runner.invoke(app, ["index", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "index.html").read_bytes() == first
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # no temp file left
    bad = runner.invoke(app, ["index", str(tmp_path / "nothing")], env={"COLUMNS": "250"})
    assert bad.exit_code == 2
    assert "not a run folder (no such folder)" in bad.output
    assert len(bad.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_every_key_estimate_is_in_a_full_default_run(tmp_path):
    """The whole study (about a minute): every mapped row is found in estimates.csv."""
    result = runner.invoke(app, ["run", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    inputs = read_index_inputs(tmp_path / "run")
    rows = key_estimate_rows(inputs.estimates, inputs.published, list(inputs.estimates.notebook))
    assert len(rows) == len(KEY_ESTIMATES)
    assert rows.loc[rows["estimate"] == "", "label"].tolist() == []
    assert "not found in estimates.csv" not in (tmp_path / "run" / "index.html").read_text()
