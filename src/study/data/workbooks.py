"""What the readers of official workbooks share: opening an .xlsx file read-only with one-line
refusals (`open_xlsx`), a sheet's cell values row by row (`sheet_values`), and a cell as text
(`cell_text`)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from study.errors import StudyInputError

# the plain layout every common writer (Excel, openpyxl, LibreOffice) uses for a sheet's cells:
# <row ...> ... </row> holding <c r="B2" s=".." t=".."> with an optional formula, then <v> or <is>
_SHEET_DATA = re.compile(rb"<sheetData\s*>(.*)</sheetData>", re.S)
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>([^<]*(?:<(?!/row>)[^<]*)*)</row>)")
_CELL = re.compile(
    rb'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?([^>]*?)'
    rb"(?:/>|>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>|<v\s*/>)?(<is>.*?</is>)?</c>)",
    re.S,
)
_ROW_NUMBER = re.compile(rb'\sr="([^"]*)"')
_PLAIN_INLINE = re.compile(rb'<is><t(?: xml:space="preserve")?>([^<]*)</t></is>')
_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def open_xlsx(path: Path, what: str):
    """The openpyxl workbook at `path` (read-only, cached values); StudyInputError naming
    `path` if it is missing ("<what> not found") or not a readable .xlsx workbook. The caller
    closes it."""
    import openpyxl

    if not path.is_file():
        raise StudyInputError(f"{path}: {what} not found")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a damaged or non-xlsx file
        raise StudyInputError(
            f"{path}: not a readable .xlsx workbook ({exc.__class__.__name__})"
        ) from None


def sheet_values(book, sheet) -> list[tuple]:
    """The rows of `sheet` (a read-only worksheet of `book`, from `open_xlsx`) exactly as
    openpyxl's `sheet.iter_rows(values_only=True)` gives them: missing rows as empty rows, each
    row as wide as the sheet's dimension, shared strings, numbers (int or float), dates by the
    cell style, booleans.

    The sheet's XML is scanned with regular expressions when it has the plain layout of the
    common writers (`_scan_rows`), several times faster than openpyxl's per-cell parse;
    anything else (another attribute order, CDATA, rich inline text, a newer openpyxl's
    internals) is read by openpyxl itself (`tests/test_ascof.py` checks both agree)."""
    try:
        archive, path = book._archive, sheet._worksheet_path
        strings, epoch = sheet._shared_strings, book.epoch
        dates, durations = book._date_formats, book._timedelta_formats
    except AttributeError:  # pragma: no cover - an openpyxl without these internals
        return list(sheet.iter_rows(values_only=True))
    context = (strings, dates, durations, epoch)
    rows = _scan_rows(archive.read(path), sheet.max_column, context)
    if rows is None:
        return list(sheet.iter_rows(values_only=True))
    return _fill_rows(rows, sheet.max_row, sheet.max_column)


def _scan_rows(data: bytes, max_col: int | None, context: tuple) -> list | None:
    """(row number, values) of each <row> of a sheet's XML with the plain layout, the values
    placed by column as openpyxl's read-only `_get_row` does (up to `max_col`, else up to the
    row's last cell) and converted as its worksheet reader does (data only); None if the layout
    is not plain. `context`: shared strings, date and duration style ids, epoch."""
    head = data[:200]
    if b"encoding=" in head and not re.search(rb'encoding="utf-?8"', head, re.I):
        return None
    found = _SHEET_DATA.search(data)
    if found is None:
        return None
    content = found.group(1)
    rows_found = _ROW.findall(content)
    if content.count(b"<row") != len(rows_found):
        return None
    try:
        out, n_cells = _convert_rows(rows_found, max_col, context)
    except (ValueError, IndexError, OverflowError):  # openpyxl says what is wrong, or reads it
        return None
    if out is None or content.count(b"<c") != n_cells:
        return None  # a cell the expression did not take whole
    return out


def _convert_rows(rows_found: list, max_col: int | None, context: tuple) -> tuple[list | None, int]:
    """The rows of `_scan_rows` from the (attributes, content) of each <row>, and the number of
    cells read; None for the rows if a cell is not plain."""
    strings, dates = context[0], context[1]
    letters: dict[bytes, int] = {}
    out: list = []
    row_number = n_cells = 0
    for attrs, inner in rows_found:
        r = _ROW_NUMBER.search(attrs)
        row_number = row_number + 1 if r is None else _row_index(r.group(1))
        cells = _CELL.findall(inner)
        n_cells += len(cells)
        if not cells and not max_col:
            out.append((row_number, ()))
            continue
        width = max_col or _column_index(cells[-1][0])
        values = [None] * width
        for col, style, kind, rest, text, inline in cells:
            if rest and (b' s="' in rest or b' t="' in rest):
                return None, n_cells  # attributes in another order
            column = letters.get(col) or letters.setdefault(col, _column_index(col))
            if kind == b"s" and text:  # the common cases first, as `_cell_value` has them
                value = strings[int(text)]
            elif kind in (b"", b"n") and text and (not style or int(style) not in dates):
                value = float(text) if b"." in text or b"E" in text or b"e" in text else int(text)
            else:
                value = _cell_value(kind, text, inline, int(style) if style else 0, context)
                if value is _NOT_PLAIN:
                    return None, n_cells
            if column <= width:
                values[column - 1] = value
        out.append((row_number, tuple(values)))
    return out, n_cells


_NOT_PLAIN = object()


def _cell_value(kind, text, inline, style, context):
    """One cell's value as openpyxl's `WorkSheetParser.parse_cell` gives it (data only); dates
    by the cell style; `_NOT_PLAIN` where openpyxl's own reading is needed."""
    strings, dates, durations, epoch = context
    if kind == b"inlineStr":
        if not inline:
            return None
        plain = _PLAIN_INLINE.fullmatch(inline)
        if plain is not None:
            return _xml_text(plain.group(1))
        from xml.etree.ElementTree import fromstring

        from openpyxl.cell.text import Text

        try:
            node = fromstring(b'<is xmlns="' + _MAIN_NS + b'">' + inline[4:])
        except Exception:  # e.g. a prefix declared outside the cell
            return _NOT_PLAIN
        return Text.from_tree(node).content
    if not text:
        return None
    value = _xml_text(text)
    if kind in (b"", b"n"):
        number = float(value) if "." in value or "E" in value or "e" in value else int(value)
        if style not in dates:
            return number
        from openpyxl.utils.datetime import from_excel

        try:
            return from_excel(number, epoch, timedelta=style in durations)
        except (OverflowError, ValueError):
            return _NOT_PLAIN  # openpyxl warns and gives '#VALUE!': let it
    if kind == b"s":
        return strings[int(value)]
    if kind == b"b":
        return bool(int(value))
    if kind == b"d":
        from openpyxl.utils.datetime import from_ISO8601

        return from_ISO8601(value)
    return value  # str, e (error) and any other type: the text


def _xml_text(text: bytes) -> str:
    """Character data as an XML parser reads it: entities replaced, line ends as \\n."""
    value = text.decode()
    if "&" in value or "\r" in value:
        value = html.unescape(value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def _row_index(text: bytes) -> int:
    """A <row r="..."> number as openpyxl reads it (a whole float is accepted)."""
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise ValueError(f"{text.decode()} is not a valid row number") from None
        return int(number)


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ch - 64
    return index


def _fill_rows(rows: list, max_row: int | None, max_col: int | None) -> list[tuple]:
    """openpyxl's read-only `_cells_by_row` (values only, from A1) on the rows of `_scan_rows`:
    rows up to the dimension's last row, a missing row as an empty row."""
    empty = (None,) * max_col if max_col is not None else []
    out: list = []
    counter = idx = 1
    for idx, values in rows:
        if max_row is not None and idx > max_row:
            break
        for _ in range(counter, idx):
            counter += 1
            out.append(empty)
        if counter <= idx:
            out.append(values)
            counter += 1
    if max_row is not None and max_row < idx:
        out.extend(empty for _ in range(counter, max_row + 1))
    return out


def cell_text(value: object) -> str:
    """A cell as stripped text: '' for an empty cell, whole floats without '.0' (725.0 -> '725')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
