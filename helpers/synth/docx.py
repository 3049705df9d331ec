"""DOCX files with the real template's merged cells."""

from __future__ import annotations

import io
import random
from typing import Any

from .grids import (
    _date_text,
    _expected_rows,
    _grid_width,
    _grids,
    _headings,
    _intro,
    _placed,
    _texts,
    _title,
)
from .model import SynthReport


def _render_docx(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """DOCX via python-docx: merged cells as in the real template, U+3000 in blank cells, line
    breaks inside header labels."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.table import _Cell

    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    d = docx.Document()
    p = d.add_paragraph(_title(report, rng))
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph(_intro(report))
    for sid, heading in _headings().items():
        d.add_paragraph(heading)
        if sid not in grids:
            for para in report.sections.get(sid, "").split("\n"):
                if para:
                    d.add_paragraph(para)
            continue
        grid = grids[sid]
        width = _grid_width(grid)
        table = d.add_table(rows=len(grid), cols=width)
        table.style = "Table Grid"
        placed = list(_placed(grid))
        # Merge on the XML cells taken before any merge (table.cell() rescans the table each call).
        tcs = [list(tr.tc_lst) for tr in table._tbl.tr_lst]
        for r, c, cell in placed:
            tc = tcs[r][c]
            if cell.rs > 1 or cell.cs > 1:
                tc = tc.merge(tcs[r + cell.rs - 1][c + cell.cs - 1])
            target = _Cell(tc, table)
            text = cell.text
            if cell.kind == "value" and not text.strip():
                text = opts["blank_text"]
            elif cell.kind == "head" and opts["line_breaks"] and 4 <= len(text) <= 6 and "\n" not in text:
                text = text[:2] + "\n" + text[2:]
            target.text = text
        d.add_paragraph("")
    for text in (report.agency, _date_text(report.report_date)):
        d.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue()), _expected_rows(report, texts)


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every member dated 1980-01-01: one seed gives the same bytes at any time
    (python-docx stamps members with the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()
