"""Spreadsheet renderer: a report's three tables as a workbook (.xlsx, .xls, .et, .ods).

The tables are written as their grids (merged cells as in the template, numbers as numbers,
placeholders as text, blank cells empty), one sheet per table or all on one sheet, with the title
above the first table and the agency and date below the last: what a spreadsheet attachment of a
report holds. The narrative is not written. `.xlsx` is written with openpyxl; `.xls` and `.ods`
are converted from it by LibreOffice (the reader's converter process); `.et` is Kingsoft's name
for an Excel 97 workbook, so it is the `.xls` bytes under that name.
"""

from __future__ import annotations

import io
import random
from typing import Any

from ..template import get_template
from .grids import (
    _date_text,
    _expected_rows,
    _frame,
    _grids,
    _headings,
    _placed,
    _texts,
    _title,
)
from .model import Rendered, SynthReport, _rng, _words

__all__ = ["SHEET_FORMS", "render_sheet"]

SHEET_FORMS = ("xlsx", "xls", "et", "ods")


def _value(text: str, kind: str) -> object:
    """A value cell as a spreadsheet stores it: a number as a number, other text as text."""
    if kind != "value":
        return text
    s = text.strip()
    try:
        number = float(s.replace(",", ""))
    except ValueError:
        return s or None
    if s.startswith("+"):
        return s  # a printed plus sign (2019 增/减) is kept as text
    return int(number) if number.is_integer() and "." not in s else number


def _xlsx(report: SynthReport, rng: random.Random, one_sheet: bool) -> bytes:
    import openpyxl

    texts = _texts(report, {"plus_sign": False})
    grids = _grids(report, {}, texts)
    tables = {t.section: t.title for t in get_template(report.template).tables.values()}  # sheet names
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = str(_words()["render"]["column"]) if one_sheet else tables["proactive"]
    row = 1
    sheet.cell(row, 1, _title(report, rng))
    headings = _headings()
    sections = list(grids)
    for k, sid in enumerate(sections):
        grid = grids[sid]
        if k and not one_sheet:
            sheet = book.create_sheet(tables[sid])
            row = 0
        row += 2 if one_sheet or k == 0 else 1
        sheet.cell(row, 1, headings[sid])
        row += 1
        for r, c, cell in _placed(grid):
            sheet.cell(row + r, c + 1, _value(cell.text, cell.kind))
            if cell.rs > 1 or cell.cs > 1:
                sheet.merge_cells(start_row=row + r, start_column=c + 1,
                                  end_row=row + r + cell.rs - 1, end_column=c + cell.cs)
        row += len(grid)
    sheet.cell(row + 1, 1, report.agency)
    sheet.cell(row + 2, 1, _date_text(report.report_date))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def render_sheet(report: SynthReport, rng: random.Random | int = 0, *, form: str = "xlsx",
                 one_sheet: bool | None = None) -> Rendered:
    """Write `report`'s tables as a workbook in `form` (one of SHEET_FORMS) with its oracle.

    `one_sheet` puts all three tables on one sheet (drawn from `rng` when not given).
    """
    if form not in SHEET_FORMS:
        raise ValueError(f"unknown spreadsheet form {form!r}; choose one of {', '.join(SHEET_FORMS)}")
    r = _rng(rng)
    if one_sheet is None:
        one_sheet = r.random() < 0.3
    data = _xlsx(report, r, one_sheet)
    if form != "xlsx":
        from ..readers.doc import convert

        data = convert(data, "xlsx", "ods" if form == "ods" else "xls")
    texts = _texts(report, {"plus_sign": False})
    meta: dict[str, Any] = {"agency": report.agency, "year": report.year, "template": report.template,
                            "report_date": report.report_date, "organ_kind": report.organ_kind,
                            "options": {"one_sheet": one_sheet}}
    return Rendered(data=data, suffix=f".{form}", form=form, expected=_frame(_expected_rows(report, texts)),
                    meta=meta)
