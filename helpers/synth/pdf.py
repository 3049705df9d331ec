"""PDF files with a CID font (reportlab): tables over pages, vertical labels, every kind of ruling."""

from __future__ import annotations

import functools
import html as htmlmod
import io
import random
from collections.abc import Sequence
from typing import Any

from .grids import (
    _G,
    _date_text,
    _expected_rows,
    _grid_width,
    _grids,
    _headings,
    _intro,
    _texts,
    _title,
)
from .model import SynthReport


def _positions(grid: list[list[_G]]) -> list[list[int]]:
    """The first grid column of every logical cell (continuation cells included)."""
    out = []
    for grow in grid:
        cols, c = [], 0
        for cell in grow:
            cols.append(c)
            c += cell.cs
        out.append(cols)
    return out


def _split_grid(grid: list[list[_G]], k: int, per_line: Sequence[int]) -> tuple[list[list[_G]], list[list[_G]]]:
    """Cut a table before row k as a page break does: a merged label that runs over the cut is
    broken at a line end (`per_line[c]` characters fit a line of column c), its first lines
    printed above the cut and the rest below, as real PDF exports print them (（四）无 / 法提供)."""
    pos = _positions(grid)
    top = [list(row) for row in grid[:k]]
    bottom = [list(row) for row in grid[k:]]
    for r in range(k):
        for i, cell in enumerate(grid[r]):
            if cell.kind == "cont" or r + cell.rs <= k:
                continue
            width = max(1, per_line[pos[r][i]])
            lines = -(-len(cell.text) // width)
            cut = width * max(1, lines // 2) if lines > 1 else max(1, len(cell.text) // 2)
            top[r][i] = _G(cell.text[:cut], cs=cell.cs, rs=k - r, key=cell.key, kind=cell.kind)
            j = pos[k].index(pos[r][i])
            bottom[0][j] = _G(cell.text[cut:], cs=cell.cs, rs=r + cell.rs - k, key=cell.key, kind=cell.kind)
    return top, bottom


_FONT = "STSong-Light"


_CELL_PT = 9      # table text size (points); narrative size is the option font_size


_MARGIN = 72     # page margins (points)


@functools.lru_cache(maxsize=None)
def _register_font() -> str:
    """Register reportlab's built-in CID font (no font file needed) once."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def _pdf_table(grid: list[list[_G]], width: int, widths: list[float], sid: str, opts: dict[str, Any], font: str,
               cell_style: Any, center: Any) -> Any:
    """One reportlab Table from a grid of logical cells (labels as wrapping paragraphs)."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data: list[list[Any]] = [[""] * width for _ in grid]
    rules = {"grid": [("GRID", (0, 0), (-1, -1), 0.5, colors.black)],  # every cell boxed
             "horizontal": [("LINEABOVE", (0, 0), (-1, -1), 0.5, colors.black),  # a rule under every row
                            ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.black)],
             "frame": [("BOX", (0, 0), (-1, -1), 0.5, colors.black),  # rules between rows in a box
                       ("LINEABOVE", (0, 1), (-1, -1), 0.5, colors.black)],
             "partial": [("BOX", (0, 0), (-1, -1), 0.5, colors.black),  # ... and one inner vertical rule
                         ("LINEABOVE", (0, 1), (-1, -1), 0.5, colors.black),
                         ("LINEAFTER", (0, 0), (0, -1), 0.5, colors.black)],
             "none": []}[opts["rules"]]
    style: list[tuple[Any, ...]] = [*rules,
                                    ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), _CELL_PT),
                                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]
    for r, (grow, cols) in enumerate(zip(grid, _positions(grid))):
        for cell, c in zip(grow, cols):
            if cell.kind == "cont":
                continue
            text = cell.text.replace("\n", "")
            if cell.kind == "value":
                data[r][c] = text
            else:
                vertical = sid == "requests" and c == 0 and cell.rs > 3 and opts["vertical_label"]
                markup = "<br/>".join(htmlmod.escape(ch) for ch in text) if vertical else htmlmod.escape(text)
                data[r][c] = Paragraph(markup, center if cell.kind == "head" or vertical else cell_style)
            if cell.rs > 1 or cell.cs > 1:
                style.append(("SPAN", (c, r), (c + cell.cs - 1, r + cell.rs - 1)))
    return Table(data, colWidths=widths, style=TableStyle(style), splitByRow=1)


def _render_pdf(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """PDF via reportlab with the built-in CID font STSong-Light: wrapped labels, tables that run
    over page breaks, optionally the results label one character per line."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    font = _register_font()
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    body = ParagraphStyle("body", fontName=font, fontSize=opts["font_size"], leading=opts["font_size"] * 1.9,
                          firstLineIndent=opts["font_size"] * 2, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, firstLineIndent=0)
    title_style = ParagraphStyle("title", parent=head, fontSize=18, leading=28, alignment=TA_CENTER)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=_CELL_PT, leading=_CELL_PT * 1.3, wordWrap="CJK")
    center = ParagraphStyle("cellc", parent=cell_style, alignment=TA_CENTER)
    title = _title(report, rng)
    story: list[Any] = [Paragraph(htmlmod.escape(title), title_style), Spacer(1, 12),
                        Paragraph(htmlmod.escape(_intro(report)), body)]
    usable = A4[0] - 2 * _MARGIN
    for sid, heading in _headings().items():
        story.append(Paragraph(htmlmod.escape(heading), head))
        if sid not in grids:
            story += [Paragraph(htmlmod.escape(p), body) for p in report.sections.get(sid, "").split("\n") if p]
            continue
        grid = grids[sid]
        width = _grid_width(grid)
        if sid == "requests":
            label = [usable * x for x in (0.06 if opts["vertical_label"] else 0.1, 0.1, 0.26)]
            rest = (usable - sum(label)) / (width - 3)
            widths = label + [rest] * (width - 3)
        elif sid == "proactive":
            widths = [usable * 0.3] + [usable * 0.7 / (width - 1)] * (width - 1)
        else:
            widths = [usable / width] * width
        cut = opts["split_row"] if sid == "requests" else None
        per_line = [1 if c == 0 and sid == "requests" and opts["vertical_label"] else int((w - 12) // _CELL_PT)
                    for c, w in enumerate(widths)]
        parts = list(_split_grid(grid, cut, per_line)) if cut and 3 < cut < len(grid) else [grid]
        for n, part in enumerate(parts):
            if n:
                story.append(PageBreak())
            story.append(_pdf_table(part, width, widths, sid, opts, font, cell_style, center))
        story.append(Spacer(1, 8))
    sign = ParagraphStyle("sign", parent=head, alignment=2)
    story += [Spacer(1, 20), Paragraph(htmlmod.escape(report.agency), sign),
              Paragraph(htmlmod.escape(_date_text(report.report_date)), sign)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN,
                            title=title, invariant=1)
    def page_number(canvas: Any, document: Any) -> None:
        if opts["page_numbers"]:
            canvas.setFont(font, 10)
            canvas.drawCentredString(A4[0] / 2, 25, f"- {document.page} -")

    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buf.getvalue(), _expected_rows(report, texts)
