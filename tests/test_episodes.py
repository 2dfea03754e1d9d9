"""Tests for study.analyses.episodes (the record-level input and display helpers of 01 and 02)."""

from __future__ import annotations

import pandas as pd

from study.analyses import episodes

SYNTHETIC = "data/synthetic/conversations_synthetic.csv"
BIRMINGHAM_ONLY = "data/synthetic/birmingham_6m_conversations_synthetic.csv"


def test_read_episodes_labels_synthetic_data():
    data = episodes.read_episodes(SYNTHETIC)
    assert data.kind == "synthetic"
    assert "not a finding" in data.label
    assert data.description.startswith(f"**Data:** `{SYNTHETIC}` (synthetic: ")
    assert f"{len(data.episodes):,} episodes; sites: birmingham, harrow." in data.description
    assert data.missing_note() == ""
    assert (data.site("harrow")["site"] == "harrow").all()
    assert len(data.site("harrow")) + len(data.site("birmingham")) == len(data.episodes)


def test_missing_note_names_the_sites_the_extract_lacks():
    data = episodes.read_episodes(BIRMINGHAM_ONLY)
    assert data.sites == ["birmingham"] and not data.has("harrow")
    assert data.missing_note() == " The extract has no Harrow episodes."
    assert data.site("harrow").empty


def test_user_data_is_labelled_as_such():
    data = episodes.EpisodeData("mine.csv", "user", pd.DataFrame({"site": ["harrow"]}))
    assert data.label == episodes.USER_LABEL
    assert data.missing_note() == " The extract has no Birmingham episodes."


def test_display_view_rounds_and_formats_p_values():
    t = pd.DataFrame({"estimate": [0.123456], "p_value": [0.000123456], "n": [7]})
    out = episodes.display_view(t, ["estimate", "p_value"])
    assert list(out.columns) == ["estimate", "p_value"]
    assert out.loc[0, "estimate"] == 0.1235
    assert out.loc[0, "p_value"] == "0.00012"
    assert episodes.display_view(episodes.empty_estimates(), ["quantity", "p_value"]).empty


def test_pct():
    assert episodes.pct(0.7) == "70.0%"
    assert episodes.pct(0.125) == "12.5%"


def test_stack_leaves_out_empty_tables():
    a = pd.DataFrame({"quantity": ["a"], "estimate": [1.0]})
    b = pd.DataFrame({"quantity": ["b"], "estimate": [2.0]})
    out = episodes.stack([a, episodes.empty_estimates(), b])
    assert out["quantity"].tolist() == ["a", "b"]
    assert out["estimate"].dtype == float
    assert episodes.stack([episodes.empty_estimates()]).empty
