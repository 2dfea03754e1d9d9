"""What the readers of official workbooks share: opening an .xlsx file read-only with one-line
refusals (`open_xlsx`), and a cell as text (`cell_text`)."""

from __future__ import annotations

from pathlib import Path

from study.errors import StudyInputError


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


def cell_text(value: object) -> str:
    """A cell as stripped text: '' for an empty cell, whole floats without '.0' (725.0 -> '725')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
