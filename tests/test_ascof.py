"""study.data.ascof and the ASCOF section of notebook 06 on NHS Digital's real ASCOF 2020-21
open-data file in ../shared/external/ (skipped when absent), and refusals of broken copies."""

from __future__ import annotations

import datetime
import re
import zipfile

import openpyxl
import pytest
from scipy import stats

from study import proportions
from study.analyses import national_context as ctx
from study.data import ascof as ascof_data
from study.data import national, workbooks
from study.errors import StudyInputError

FILE = national.external_dir() / ascof_data.ASCOF_FILE
OFLOG = national.external_dir() / national.OFLOG_FILE
needs_file = pytest.mark.skipif(not FILE.is_file(), reason=f"{FILE} not present")
HARROW, BIRMINGHAM, LONDON, ENGLAND = "E09000015", "E08000025", "E12000007", "E92000001"


@pytest.fixture(scope="module")
def ascof():
    return ascof_data.read_ascof(FILE)


@pytest.fixture(scope="module")
def estimates(ascof):
    oflog = national.read_oflog_measures(OFLOG) if OFLOG.is_file() else None
    return ctx.ascof_estimates(ascof, [HARROW, BIRMINGHAM], oflog=oflog)


def _row(table, quantity):
    sel = table[table["quantity"] == quantity]
    assert len(sel) == 1, quantity
    return sel.iloc[0]


@needs_file
def test_the_real_file_reads_with_its_markers(ascof):
    assert len(ascof) == 48_970
    assert ascof["flag"].value_counts().to_dict() == {"x": 26_520, "": 22_407, "c": 43}
    assert ascof.loc[ascof["flag"] != "", "value"].isna().all()
    harrow = ascof_data.measure_counts(ascof, "2A2", [HARROW]).iloc[0]
    # SOURCES.md: Harrow 2A2 2020-21 445.4 (181 / 40,634); Excel rows from the file itself
    assert (harrow["numerator"], harrow["denominator"], harrow["outcome"]) == (181, 40634, 445.4)
    assert harrow["rows"] == "24746, 24747, 24748"
    hackney = ascof_data.measure_counts(ascof, "2D", ["E09000012"]).iloc[0]
    assert set(hackney["flags"].split(", ")) == {"Denominator [x]", "Numerator [x]", "Outcome [x]"}


@needs_file
def test_published_outcomes_are_numerator_over_denominator(ascof):
    """ASCOF's own outcome (rounded to 1 dp) equals numerator / denominator x scale for every
    geography with both counts, for the five measures."""
    for measure, (_, scale, _) in ctx.ASCOF_MEASURES.items():
        c = ascof_data.measure_counts(ascof, measure).dropna(subset=["numerator", "outcome"])
        assert len(c) > 150
        assert (
            (scale * c["numerator"] / c["denominator"] - c["outcome"]).abs() <= 0.05 + 1e-9
        ).all()


@needs_file
def test_council_and_comparator_intervals_by_hand(estimates):
    # Harrow 2A2: exact Poisson (Garwood) by the chi-square form, per 100,000
    r = _row(estimates, "ASCOF 2A2 Harrow, 2020-21")
    t = 40634 / 100_000
    assert r["estimate"] == pytest.approx(181 / t)
    assert r["ci_low"] == pytest.approx(stats.chi2.ppf(0.025, 2 * 181) / 2 / t)
    assert r["ci_high"] == pytest.approx(stats.chi2.ppf(0.975, 2 * 182) / 2 / t)
    # London without Harrow: London 4,075 / 1,098,453 minus Harrow 181 / 40,634
    r = _row(estimates, "ASCOF 2A2 London without Harrow, 2020-21")
    assert r["n"] == 1_098_453 - 40_634
    assert r["estimate"] == pytest.approx((4075 - 181) / (1_098_453 - 40_634) * 100_000)
    # Birmingham is not in London: London whole
    r = _row(estimates, "ASCOF 2A2 Birmingham vs London, rate ratio, 2020-21")
    assert r["estimate"] == pytest.approx((597 / 149_412) / (4075 / 1_098_453))
    # exact conditional ratio interval: Clopper-Pearson on 597 of 597 + 4075, mapped to RR
    lo = stats.beta.ppf(0.025, 597, 4076)
    assert r["ci_low"] == pytest.approx(lo / (1 - lo) * 1_098_453 / 149_412)
    # Harrow 2D (245 / 345) against England without Harrow: Wilson and Newcombe by hand
    r = _row(estimates, "ASCOF 2D Harrow, 2020-21")
    z = stats.norm.isf(0.025)
    p, n = 245 / 345, 345
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(
        (100 * (centre - half), 100 * (centre + half))
    )
    r = _row(
        estimates,
        "ASCOF 2D Harrow vs England without Harrow, difference (percentage points), 2020-21",
    )
    k0, n0 = 116_113 - 245, 155_018 - 345
    assert r["estimate"] == pytest.approx(100 * (p - k0 / n0))
    l1, u1 = proportions.wilson_interval(245, 345)
    l0, u0 = proportions.wilson_interval(k0, n0)
    assert r["ci_low"] == pytest.approx(
        100 * (p - k0 / n0 - ((p - l1) ** 2 + (u0 - k0 / n0) ** 2) ** 0.5)
    )
    # every council x measure x comparator has its three rows
    assert len(estimates) == 2 * 5 * 5
    assert (estimates["ci_low"] <= estimates["estimate"]).all()
    assert (estimates["estimate"] <= estimates["ci_high"]).all()


@needs_file
def test_ascof_margin_of_error_against_wilson(ascof):
    """ASCOF gives no margin of error for 2A1-2D (so their intervals come from the counts);
    where it gives one (the survey measures of the 18 councils that ran the 2020-21 survey),
    it is close to the Wilson half-width on the respondents: median ratio within 5%, and
    three in four within 20% (ASCOF's margin includes survey weighting)."""
    five = ascof[ascof["measure"].isin(list(ctx.ASCOF_MEASURES))]
    assert "Margin Of Error" not in set(five["measure_type"])
    check = ctx.margin_of_error_check(ascof)
    assert check["geography_code"].nunique() == 18 and len(check) >= 500
    assert check["ratio"].median() == pytest.approx(1, abs=0.05)
    assert (check["ratio"].between(0.8, 1.2)).mean() >= 0.75


@needs_file
@pytest.mark.skipif(not OFLOG.is_file(), reason=f"{OFLOG} not present")
def test_2d_equals_oflog_asc5(ascof, estimates):
    checked = ctx.ascof_against_oflog(ascof, national.read_oflog_measures(OFLOG))
    assert len(checked) == 150
    assert (checked["difference"].abs() < 0.05).all()
    note = _row(estimates, "ASCOF 2D Harrow, 2020-21")["note"]
    assert "published 2D 71 equals Oflog ASC5 2020-21 71" in note


@needs_file
def test_analysis_labels_and_skip(ascof):
    result = ctx.ascof_comparison(ascof, [HARROW, BIRMINGHAM], ascof_file=FILE)
    assert set(result.table["site"]) == {"harrow", "birmingham"}
    assert set(result.table["data_kind"]) == {"published"}
    assert "no margin of error for these five measures" in result.text
    skipped = ctx.ascof_comparison(None, [HARROW], ascof_file=None)
    assert skipped.table.empty and "not run" in skipped.text


def _copy(tmp_path, rows, name="broken.xlsx", title="in"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for r in rows:
        sheet.append(list(r))
    path = tmp_path / name
    book.save(path)
    return path


@pytest.fixture(scope="module")
def head_rows():
    """The header and the first 30 data rows of the real file (a small copy)."""
    book = openpyxl.load_workbook(FILE, read_only=True)
    rows = [r for _, r in zip(range(31), book.active.iter_rows(values_only=True), strict=False)]
    book.close()
    return rows


@needs_file
def test_a_broken_copy_is_refused_naming_file_sheet_row_and_column(tmp_path, head_rows):
    good = ascof_data.read_ascof(_copy(tmp_path, head_rows, "good.xlsx"))
    assert len(good) == 30
    bad = [list(r) for r in head_rows]
    bad[5][7] = "n/a"  # Measure Value of Excel row 6
    path = _copy(tmp_path, bad)
    with pytest.raises(StudyInputError) as err:
        ascof_data.read_ascof(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg and "sheet 'in' row 6 column 'Measure Value'" in msg
    bad = [list(r) for r in head_rows]
    bad[3][6] = "Numerater"
    with pytest.raises(StudyInputError, match="row 4 column 'Measure Type'"):
        ascof_data.read_ascof(_copy(tmp_path, bad, "type.xlsx"))
    header = [list(r) for r in head_rows]
    header[0] = [c for c in header[0] if c != "ONS Code"] + [None]
    with pytest.raises(StudyInputError, match=r"row 1: header lacks column\(s\) \['ONS Code'\]"):
        ascof_data.read_ascof(_copy(tmp_path, header, "header.xlsx"))
    twice = [*head_rows, head_rows[1]]
    with pytest.raises(StudyInputError, match="row 32: repeats the row of Cumbria 1A Total"):
        ascof_data.read_ascof(_copy(tmp_path, twice, "twice.xlsx"))
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(FILE.read_bytes()[:4000])
    with pytest.raises(StudyInputError, match="not a readable .xlsx workbook"):
        ascof_data.read_ascof(truncated)


# ------------------------------------------------------- workbooks.sheet_values against openpyxl


def _both_readings(path):
    """`sheet_values` and openpyxl's own `iter_rows(values_only=True)` of the first sheet, as
    reprs (so 1, 1.0 and True, or 0.0 and -0.0, differ), and whether the sheet has the plain
    layout that `sheet_values` scans itself (else it hands the sheet to openpyxl)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheet = book[book.sheetnames[0]]
    try:
        fast, own = workbooks.sheet_values(book, sheet), list(sheet.iter_rows(values_only=True))
        context = (sheet._shared_strings, book._date_formats, book._timedelta_formats, book.epoch)
        xml = book._archive.read(sheet._worksheet_path)
        plain = workbooks._scan_rows(xml, sheet.max_column, context) is not None
    finally:
        book.close()
    return [[repr(v) for v in r] for r in fast], [[repr(v) for v in r] for r in own], plain


def _with_sheet_xml(path, out, edit):
    """A copy of the workbook at `path` with its sheet XML passed through `edit`."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, edit(data) if item.filename.startswith("xl/worksheets/") else data)
    return out


def _every_kind(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["text", " padded ", 725, 725.0, 1.5e-7, True, None, "=1+1", "a & b < c", -0.0])
    sheet.append([datetime.datetime(2020, 3, 6, 12, 30), datetime.date(2021, 1, 1), 2**40, "[x]"])
    sheet["C5"] = "rows 3 and 4 are missing"
    sheet["L6"] = 1
    sheet["B7"] = 3.25
    sheet["B7"].number_format = "0.00"
    sheet["C7"] = 44000
    sheet["C7"].number_format = "dd/mm/yyyy"  # a date by its style
    path = tmp_path / "kinds.xlsx"
    book.save(path)
    return path


def test_sheet_values_equal_openpyxl_on_every_cell_kind(tmp_path):
    path = _every_kind(tmp_path)
    fast, own, plain = _both_readings(path)
    assert fast == own and plain and len(own) == 7 and len(own[0]) == 12

    def plain_by_hand(xml: bytes) -> bytes:  # what other writers produce, still the plain layout
        rows = (
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>inline</t></is></c>'
            b'<c r="B1" t="str"><f>A1</f><v>x &amp; y</v></c><c r="C1" t="e"><v>#N/A</v></c>'
            b'<c r="D1" s="0"/><c r="E1" t="b"><v>0</v></c><c r="F1"><f>1+1</f></c></row>'
            b'<row><c r="A2"><v>1.0E-3</v></c><c r="C2" t="n"><v>7</v></c></row>'
            b'<row r="4" spans="1:5"/>'
            b'<row r="5"><c r="B5" t="inlineStr"><is><r><t>rich </t></r><r><t>text</t></r></is>'
            b"</c></row>"
        )
        head, rest = xml.split(b"<sheetData>")
        return head + b"<sheetData>" + rows + b"</sheetData>" + rest.split(b"</sheetData>")[1]

    def reordered(xml: bytes) -> bytes:  # not the plain layout: openpyxl reads it
        xml = xml.replace(b'<c r="A1" t="inlineStr">', b'<c t="inlineStr" r="A1">')
        return xml.replace(b'<c r="A2" s="1" t="n">', b'<c r="A2" t="n" s="1">')

    def unsized(xml: bytes) -> bytes:  # a one-cell dimension: openpyxl reads one cell
        return re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1"/>', xml)

    def no_dimension(xml: bytes) -> bytes:  # each row as wide as its last cell
        return re.sub(rb'<dimension ref="[^"]*" ?/>', b"", xml)

    def cdata(xml: bytes) -> bytes:
        return xml.replace(b"<v>725</v>", b"<v><![CDATA[725]]></v>", 1)

    for edit, scanned in ((plain_by_hand, True), (unsized, True), (no_dimension, True),
                          (reordered, False), (cdata, False)):  # fmt: skip
        copy = _with_sheet_xml(path, tmp_path / f"{edit.__name__}.xlsx", edit)
        fast, own, plain = _both_readings(copy)
        assert fast == own and plain == scanned, edit.__name__
    assert len(_both_readings(tmp_path / "unsized.xlsx")[1]) == 1


@needs_file
def test_sheet_values_equal_openpyxl_on_the_real_file_head(tmp_path):
    """The real file cut after its first 3,000 rows (shared strings, every measure type,
    markers and numbers) as openpyxl reads it; the whole file: the slow test below."""

    def head(xml: bytes) -> bytes:
        ends = zip(range(3000), re.finditer(rb"</row>", xml), strict=False)
        last = [m.end() for _, m in ends][-1]
        return xml[:last] + xml[xml.index(b"</sheetData>") :]

    fast, own, plain = _both_readings(_with_sheet_xml(FILE, tmp_path / "head.xlsx", head))
    assert fast == own and plain and len(own) == 3000


@needs_file
@pytest.mark.slow
def test_sheet_values_equal_openpyxl_on_the_real_file():
    fast, own, plain = _both_readings(FILE)
    assert fast == own and plain and len(own) == 48_971
