"""The PDF reader: the real text-layer report scores exactly; generated reports (ruled tables split
over pages, wrapped labels, a label printed one character per line, blanks, placeholders, page
numbers, running headers, a rotated page) parse back cell by cell; scans and damaged files raise.
Tables without full borders (rules between rows only, a frame, one inner rule, no rules at all)
read every cell exactly or flag it (unreadable/missing, no value): never a wrong value.

`make_report_pdf` draws a six-page 2021-format report with reportlab's CID font STSong-Light; all
printed labels come from the template YAML (benchmarks/parse_docx_pdf.py reuses it).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import corpus_dir, corpus_truths, fill_cells, load_truth, truth_misses
from helpers import BrokenFile, NoTextLayer, get_template, read_report
from helpers.read import read_document
from helpers.document import Block
from helpers.readers.pdf import Glyph, PageContent, Rule, layout_pages, read_pdf
from helpers.template import common

FONT = "STSong-Light"
PDF_TRUTHS = [p for p in corpus_truths() if load_truth(p)["form"] == "pdf"]
# Reports whose vertical group label (三、本年度办理结果) prints its glyphs inside other rows' label
# cells, so that no cell holds the label whole (their README entries say so).
GLYPHS_INSIDE_LABELS = {"hongze-gov-2023", "hongze-gov-2024"}


# ---------------------------------------------------------------------------------------------
# Scoring (the score-corpus rule)


@pytest.mark.parametrize("truth_path", PDF_TRUTHS, ids=lambda p: p.parent.name)
def test_corpus_pdf_scores_exactly(truth_path: Path) -> None:
    corpus_dir()
    truth = load_truth(truth_path)
    report = read_report(truth["_report"])
    assert truth_misses(truth, report.cell_records()) == []
    assert (report.agency, report.year, report.template) == (truth["agency"], truth["year"], truth["template"])
    assert report.report_date is None  # none is printed: the statistical period is not a date of the report


@pytest.mark.parametrize("truth_path", PDF_TRUTHS, ids=lambda p: p.parent.name)
def test_corpus_pdf_keeps_labels_whole_and_drops_page_numbers(truth_path: Path) -> None:
    corpus_dir()
    truth = load_truth(truth_path)
    doc = read_pdf(truth["_report"], truth["_report"].read_bytes())
    texts = [c.text for b in doc.blocks for c in b.cells]
    assert not [t for t in texts if t.strip(" -").isdigit() and t.strip().startswith("-")]
    rows = get_template(truth["template"]).row_info
    if truth["slug"] in GLYPHS_INSIDE_LABELS:
        return  # the vertical label's glyphs fall inside the row labels: the parser aligns them (scored above)
    for key in ("partial", "results"):  # a label wrapped over lines; one printed a character per line
        assert any(rows[("table_3", key)].label in t for t in texts), key


# ---------------------------------------------------------------------------------------------
# A generated report


def _yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load(resources.files("helpers.templates").joinpath(name).read_text(encoding="utf-8"))


@dataclass
class _Cell:
    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    vertical: bool = False  # one character per line


class _Pdf:
    """A tiny page-layout engine on a reportlab canvas: paragraphs and ruled tables that break
    across pages (spanning cells split, their text lines kept where they fall)."""

    def __init__(self, out: io.BytesIO, rng: random.Random, footer: str, rotate: bool, lines: bool | str) -> None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen import canvas

        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.width_of = pdfmetrics.stringWidth
        self.c = canvas.Canvas(out, pagesize=(595, 842))
        self.rng, self.footer, self.rotate, self.lines = rng, footer, rotate, lines
        self.w, self.h = (842.0, 595.0) if rotate else (595.0, 842.0)
        self.left, self.right, self.top_margin, self.bottom_margin = 65.0, self.w - 65.0, 70.0, 75.0
        self.page = 0
        self.header = ""
        self._start_page()

    def _start_page(self) -> None:
        self.page += 1
        self.y = self.top_margin  # distance from the top of the displayed page
        if self.rotate:
            self.c.setPageRotation(90)
            self.c.saveState()
            self.c.transform(0, 1, -1, 0, 595, 0)
        if self.header and self.page > 1:
            self.text(self.header, self.w / 2, 40, 9, center=True)

    def _end_page(self) -> None:
        label = {"dash": f"- {self.page} -", "bare": str(self.page), "cn": f"第{self.page}页"}[self.footer]
        self.text(label, self.w / 2, self.h - 40, 10, center=True)
        if self.rotate:
            self.c.restoreState()
        self.c.showPage()

    def text(self, s: str, x: float, top: float, size: float, center: bool = False) -> None:
        """Draw `s` with its baseline `size` below `top` (display coordinates)."""
        self.c.setFont(FONT, size)
        if center:
            x -= self.width_of(s, FONT, size) / 2
        self.c.drawString(x, self.h - top - size, s)

    def box(self, x0: float, top: float, x1: float, bottom: float, outer: tuple[float, float]) -> None:
        if self.lines == "none":
            return  # a borderless table
        if self.lines == "horizontal":  # rules between rows only
            for y in (top, bottom):
                self.c.line(x0, self.h - y, x1, self.h - y)
        elif self.lines:
            for a, b, c, d in ((x0, top, x1, top), (x0, bottom, x1, bottom), (x0, top, x0, bottom),
                               (x1, top, x1, bottom)):
                if self.lines == "open" and a == c and a in outer:
                    continue  # a table without its outer left and right borders
                self.c.line(a, self.h - b, c, self.h - d)
        else:
            self.c.rect(x0, self.h - bottom, x1 - x0, bottom - top, stroke=1, fill=0)

    def need(self, height: float) -> None:
        if self.y + height > self.h - self.bottom_margin:
            self._end_page()
            self._start_page()

    def wrap(self, s: str, width: float, size: float, indent: float = 0) -> list[str]:
        lines, cur, avail = [], "", width - indent
        for ch in s:
            if cur and self.width_of(cur + ch, FONT, size) > avail:
                lines.append(cur)
                cur, avail = "", width
            cur += ch
        return lines + [cur] if cur else lines

    def paragraph(self, s: str, size: float = 15, indent: bool = True, center: bool = False) -> None:
        lead = size * 1.7
        for k, line in enumerate(self.wrap(s, self.right - self.left, size, 2 * size if indent else 0)):
            self.need(lead)
            if center:
                self.text(line, self.w / 2, self.y, size, center=True)
            else:
                self.text(line, self.left + (2 * size if indent and k == 0 else 0), self.y, size)
            self.y += lead

    def table(self, widths: list[float], cells: list[_Cell], size: float = 8.5) -> None:
        """Lay the grid out as a strip of rows, then cut the strip at page ends between rows."""
        xs = [self.left]
        for w in widths:
            xs.append(xs[-1] + w)
        lead = size * 1.5
        nrows = max(c.row + c.rowspan for c in cells)
        heights = [lead + 8] * nrows
        wrapped = {}
        for c in cells:
            width = xs[c.col + c.colspan] - xs[c.col] - 6
            lines = list(c.text) if c.vertical else (self.wrap(c.text, width, size) if c.text else [])
            wrapped[id(c)] = lines
            if c.rowspan == 1:
                heights[c.row] = max(heights[c.row], len(lines) * lead + 8)
        tops = [0.0]
        for h in heights:
            tops.append(tops[-1] + h)
        start = 0
        while start < nrows:  # one page segment of rows [start, end)
            self.need(heights[start])
            room = self.h - self.bottom_margin - self.y
            end = start
            while end < nrows and tops[end + 1] - tops[start] <= room:
                end += 1
            offset = self.y - tops[start]
            for c in cells:
                lo, hi = max(c.row, start), min(c.row + c.rowspan, end)
                if lo >= hi:
                    continue
                self.box(xs[c.col], tops[lo] + offset, xs[c.col + c.colspan], tops[hi] + offset, (xs[0], xs[-1]))
                lines = wrapped[id(c)]
                mid = (tops[c.row] + tops[c.row + c.rowspan]) / 2
                for k, line in enumerate(lines):
                    line_top = mid - len(lines) * lead / 2 + k * lead + (lead - size) / 2
                    if tops[lo] <= line_top and line_top + size <= tops[hi]:
                        cx = (xs[c.col] + xs[c.col + c.colspan]) / 2
                        self.text(line, cx, line_top + offset, size, center=True)
            self.y = tops[end] + offset + 4
            start = end
            if start < nrows:
                self._end_page()
                self._start_page()
        self.y += 12

    def save(self) -> None:
        self._end_page()
        self.c.save()


def _numbered(number: str | None, label: str, style: str) -> str:
    if not number:
        return label
    if number.isdigit():
        return f"{number}{style}{label}"
    return f"{number}{label}" if number.startswith("（") else f"{number}、{label}"


def _table_3_cells(values: dict[str, tuple[str, float | None, str]], style: str) -> list[_Cell]:
    spec = _yaml("2021.yaml")["tables"]["table_3"]
    table = get_template("2021").tables["table_3"]
    cols = list(table.columns.values())
    group = cols[1].group or ""
    cells = [_Cell(0, 0, spec["header_note"], rowspan=3, colspan=3), _Cell(0, 3, spec["column_group"], colspan=7),
             _Cell(1, 3, cols[0].label, rowspan=2), _Cell(1, 4, group, colspan=5),
             _Cell(1, 9, cols[-1].label, rowspan=2)]
    cells += [_Cell(2, 4 + k, c.label) for k, c in enumerate(cols[1:6])]
    r = 3
    results_start = None
    open_group: _Cell | None = None
    for row in table.rows:
        if row.group and row.number and not row.number.startswith("（"):
            results_start = r  # the vertical label spans the outcome rows
            results = _Cell(r, 0, _numbered(row.number, row.label, style), vertical=True)
            continue
        if row.group:
            open_group = _Cell(r, 1, _numbered(row.number, row.label, style))
            cells.append(open_group)
            continue
        number = row.number or ""
        if number.isdigit():
            assert open_group is not None
            open_group.rowspan = r - open_group.row + 1
            cells.append(_Cell(r, 2, _numbered(number, row.label, style)))
        elif number.startswith("（"):
            open_group = None
            cells.append(_Cell(r, 1, _numbered(number, row.label, style), colspan=2))
        else:
            if results_start is not None and results.rowspan == 1:
                results.rowspan = r - results_start
                cells.append(results)
            cells.append(_Cell(r, 0, _numbered(number, row.label, style), colspan=3))
        for k, col in enumerate(cols):
            cells.append(_Cell(r, 3 + k, values[f"table_3/{row.key}/{col.key}"][0]))
        r += 1
    return cells


def _table_2_cells(values: dict[str, tuple[str, float | None, str]]) -> list[_Cell]:
    bands = _yaml("2021.yaml")["tables"]["table_2"]["bands"]
    table = get_template("2021").tables["table_2"]
    cells, r = [], 0
    for band in bands:
        cells.append(_Cell(r, 0, band["caption"], colspan=4))
        header = band["header"]
        cells += [_Cell(r + 1, 0, header[0])] + ([_Cell(r + 1, k, h) for k, h in enumerate(header[1:], 1)]
                                                  if len(header) == 4 else [_Cell(r + 1, 1, header[1], colspan=3)])
        r += 2
        for row in (x for x in table.rows if x.band == band["id"]):
            cols = table.row_columns(row)
            cells.append(_Cell(r, 0, row.label))
            if len(cols) == 3:
                cells += [_Cell(r, 1 + k, values[f"table_2/{row.key}/{c.key}"][0]) for k, c in enumerate(cols)]
            else:
                cells.append(_Cell(r, 1, values[f"table_2/{row.key}/{cols[0].key}"][0], colspan=3))
            r += 1
    return cells


def _table_4_cells(values: dict[str, tuple[str, float | None, str]]) -> list[_Cell]:
    table = get_template("2021").tables["table_4"]
    rows, cols = table.data_rows, list(table.columns.values())
    parent = rows[1].parent or ""
    cells = [_Cell(0, 0, rows[0].label, colspan=5), _Cell(0, 5, parent, colspan=10)]
    cells += [_Cell(1, k, c.label, rowspan=2) for k, c in enumerate(cols)]
    cells += [_Cell(1, 5, rows[1].label, colspan=5), _Cell(1, 10, rows[2].label, colspan=5)]
    cells += [_Cell(2, 5 + k, c.label) for k, c in enumerate(cols * 2)]
    cells += [_Cell(3, k, values[f"table_4/{row.key}/{c.key}"][0])
              for k, (row, c) in enumerate((row, c) for row in rows for c in cols)]
    return cells


def make_report_pdf(values: dict[str, tuple[str, float | None, str]], seed: int = 0, *, footer: str = "dash",
                    rotate: bool = False, lines: bool | str = False, header: bool = True) -> bytes:
    """A six-page 2021-format report (text layer, ruled tables) printing `values` in its cells.

    Cell borders are rectangles, or with `lines` single line segments ("open": no outer left and
    right borders; "horizontal": rules between rows only; "none": no rules); `rotate` prints landscape pages with /Rotate 90; `footer` picks the page number.
    """
    rng = random.Random(seed)
    out = io.BytesIO()
    pdf = _Pdf(out, rng, footer, rotate, lines)
    meta = common()["metadata"]
    agency = "测试市" + meta["agency_suffixes"][2]
    labels = [r.label for t in get_template("2021").tables.values() for r in t.rows]

    def filler(n: int) -> None:
        for _ in range(n):
            words = rng.sample(labels, 6)
            pdf.paragraph("，".join(words) + f"{rng.randint(2, 999)}。")

    pdf.paragraph(agency, size=22, indent=False, center=True)
    pdf.paragraph(f"2023年{meta['title_suffix']}", size=22, indent=False, center=True)
    pdf.header = agency if header else ""
    sections = common()["sections"]
    style = rng.choice([".", "、"])
    for s in sections:
        pdf.paragraph(f"{s['number']}、{s['heading']}", size=16)
        if s["id"] == "overview":
            filler(16)
        elif s["id"] == "proactive":
            pdf.table([150, 105, 105, 105] if not rotate else [300, 120, 120, 120], _table_2_cells(values))
            filler(3)
        elif s["id"] == "requests":
            widths = [22, 48, 110] + [40] * 7 if not rotate else [30, 90, 200] + [60] * 7
            pdf.table(widths, _table_3_cells(values, style))
        elif s["id"] == "review":
            pdf.table([31] * 15 if not rotate else [47] * 15, _table_4_cells(values))
        else:
            filler(3)
    while pdf.page < 6:
        filler(1)
    pdf.save()
    return out.getvalue()


def assert_parses_back(path: Path, values: dict[str, tuple[str, float | None, str]]) -> None:
    """Every one of the 200 cells reads back with its status, value and (for non-numbers) text."""
    report = read_report(path)
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in report.cell_records()}
    wrong = []
    for key, (text, value, status) in values.items():
        c = got[key]
        if c["status"] != status or c["value"] != (None if value is None else pytest.approx(value)) \
                or (status != "ok" and c["raw"].strip() != text):
            wrong.append((key, text, c["value"], c["status"], c["raw"]))
    assert wrong == []
    assert len(values) == 200
    assert report.template == "2021"
    assert (report.agency, report.year) == ("测试市" + common()["metadata"]["agency_suffixes"][2], 2023)


@pytest.mark.parametrize("seed,footer,lines", [(0, "dash", False), (1, "bare", True), (2, "cn", False),
                                               (4, "dash", "open")])
def test_generated_report_parses_back(tmp_path: Path, seed: int, footer: str, lines: bool | str) -> None:
    values = fill_cells(random.Random(seed), get_template("2021").keys)
    path = tmp_path / "report.pdf"
    path.write_bytes(make_report_pdf(values, seed, footer=footer, lines=lines))
    doc = read_pdf(path, path.read_bytes())
    sources = {c.source.split(" table")[0] for b in doc.blocks if b.table for c in b.cells if "table" in c.source}
    assert len(sources) >= 2, "Table 3 should break across pages"
    assert_parses_back(path, values)


def test_rotated_landscape_pages_read_upright(tmp_path: Path) -> None:
    values = fill_cells(random.Random(7), get_template("2021").keys)
    path = tmp_path / "landscape.pdf"
    path.write_bytes(make_report_pdf(values, 7, rotate=True))
    assert_parses_back(path, values)


def test_page_numbers_and_running_headers_are_dropped(tmp_path: Path) -> None:
    values = fill_cells(random.Random(3), get_template("2021").keys)
    path = tmp_path / "report.pdf"
    path.write_bytes(make_report_pdf(values, 3, footer="bare"))
    doc = read_pdf(path, path.read_bytes())
    texts = [c.text for b in doc.blocks for c in b.cells]
    agency = texts[0]
    assert texts.count(agency) == 1
    free = [c.text for b in doc.blocks if not b.table for c in b.cells]
    assert not [t for t in free if t.isdigit()]


# ---------------------------------------------------------------------------------------------
# Layout rules on hand-made pages (any backend feeds `layout_pages`)


def _word(text: str, x: float, top: float, size: float = 10) -> list[Glyph]:
    out = []
    for ch in text:
        w = size if "\u4e00" <= ch <= "\u9fff" else size / 2
        out.append(Glyph(ch, x, top, x + w, top + size * 1.1))
        x += w
    return out


def test_numbers_in_separate_columns_are_separate_cells() -> None:
    glyphs = _word("规章", 60, 100) + _word("12", 200, 100) + _word("3", 216, 100) + _word("45", 300, 100)
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [c.text for c in blocks[0].cells] == ["规章", "12", "3", "45"]


def test_letter_spaced_label_stays_one_cell_but_placeholders_do_not_merge() -> None:
    glyphs = _word("规", 60, 100) + _word("章", 85, 100) + _word("无", 200, 100) + _word("无", 260, 100)
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [c.text for c in blocks[0].cells] == ["规 章", "无", "无"]


def test_blank_ruled_cells_are_kept_and_merged_cells_come_once() -> None:
    xs, ys = [50, 150, 200, 250], [100, 120, 140]
    rules = [Rule(True, y, xs[0], xs[-1]) for y in ys] + [Rule(False, x, ys[0], ys[-1]) for x in (xs[0], xs[-1])]
    rules += [Rule(False, xs[1], ys[0], ys[-1]), Rule(False, xs[2], ys[1], ys[2])]  # row 1: one cell over 2 columns
    glyphs = _word("行政许可", 55, 104) + _word("7", 170, 104) + _word("规章", 55, 124) + _word("5", 220, 124)
    blocks: list[Block] = layout_pages([PageContent(1, 595, 842, glyphs, rules)])
    assert [[c.text for c in b.cells] for b in blocks] == [["行政许可", "7"], ["规章", "", "5"]]
    assert blocks[1].cells[1].source == "page 1 table 1 row 2 col 2"


def test_wrapped_paragraph_lines_join_but_headings_do_not() -> None:
    glyphs = (_word("一、总体情况", 90, 80, 16) + _word("甲" * 28, 90, 110, 16) + _word("乙" * 10, 58, 138, 16)
              + _word("丙" * 30, 58, 166, 16))
    texts = [b.cells[0].text for b in layout_pages([PageContent(1, 595, 842, glyphs)])]
    assert texts == ["一、总体情况", "甲" * 28 + "乙" * 10, "丙" * 30]


# ---------------------------------------------------------------------------------------------
# Files that are not readable reports


def test_scanned_pdf_raises_no_text_layer(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (620, 877), "white")
    ImageDraw.Draw(image).rectangle((60, 100, 560, 400), outline="black", width=3)
    path = tmp_path / "scan.pdf"
    image.save(path, "PDF", resolution=75)
    with pytest.raises(NoTextLayer, match="scan.pdf"):
        read_document(path, ocr=False)  # --no-ocr: today's error; with OCR it is read (test_readers_scan)


def _image_pages(n: int, page_numbers: bool) -> bytes:
    """`n` pages that are pictures (a scan), optionally with a typed page number on each."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = ImageReader(Image.new("RGB", (300, 400), (240, 240, 240)))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    for k in range(n):
        c.drawImage(image, 50, 50, 495, 742)
        if page_numbers:
            c.drawString(290, 30, f"- {k + 1} -")
        c.showPage()
    c.save()
    return out.getvalue()


def test_scan_with_typed_page_numbers_raises_no_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(_image_pages(3, page_numbers=True))
    with pytest.raises(NoTextLayer, match="scan"):
        read_document(path, ocr=False)


@pytest.mark.parametrize("typed", ["title", "header"])
def test_scan_with_a_typed_title_or_running_header_raises_no_text_layer(tmp_path: Path, typed: str) -> None:
    """A site's typed title, running header and page numbers over scanned pages: still a scan (OCR,
    or with OCR off this error), not a text report without tables."""
    from helpers.synth import random_report
    from helpers.synth.scan import render_scan

    path = tmp_path / "scan.pdf"
    path.write_bytes(render_scan(random_report(21), 21, form="pdf-scan", dpi=72, noise=0.0, jpeg=60,
                                 typed=typed).data)
    assert len(read_pdf_glyph_pages(path)) == 4 and sum(read_pdf_glyph_pages(path)) > 0  # a typed text layer
    with pytest.raises(NoTextLayer, match="scan"):
        read_document(path, ocr=False)


def read_pdf_glyph_pages(path: Path) -> list[int]:
    """Characters of the text layer on each page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path.read_bytes())
    try:
        counts = []
        for page in pdf:
            text = page.get_textpage()
            counts.append(len("".join(text.get_text_range().split())))
            text.close()
            page.close()
        return counts
    finally:
        pdf.close()


def test_scanned_pages_inside_a_text_report_are_noted(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    values = fill_cells(random.Random(5), get_template("2021").keys)
    report = pdfium.PdfDocument(make_report_pdf(values, 5))
    report.import_pages(pdfium.PdfDocument(_image_pages(1, page_numbers=False)))
    out = io.BytesIO()
    report.save(out)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(out.getvalue())
    doc = read_pdf(path, path.read_bytes())
    assert any("page(s) 7" in note for note in doc.notes)
    assert_parses_back(path, values)


def test_password_protected_pdf_raises_broken_file(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(path), encrypt=StandardEncryption("secret"))
    c.drawString(100, 700, "2023")
    c.save()
    with pytest.raises(BrokenFile, match="password"):
        read_report(path)


def test_truncated_pdf_raises_broken_file(tmp_path: Path) -> None:
    data = make_report_pdf(fill_cells(random.Random(0), get_template("2021").keys), 0)
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokenFile, match="cut.pdf"):
        read_report(path)


# ---------------------------------------------------------------------------------------------
# Tables without full borders: rules between rows only, or none at all (synth's PDF renderer)


def _borderless_outcomes(rules: str, seed: int) -> tuple[int, int, list[Any]]:
    """(right, flagged, silently wrong) over one generated report printed with `rules`.

    Right: value and status as the oracle says (raw text for blanks and placeholders). Flagged:
    no value and status unreadable or missing. Anything else is silently wrong.
    """
    import pandas as pd

    from helpers.synth import random_report, render

    report = random_report(seed, template="2019" if seed % 3 == 0 else "2021", blank_share=0.1,
                           placeholder_share=0.05, unknown_rows=seed % 2)
    out = render(report, "pdf", rng=seed, rules=rules, split_row=None if seed % 2 else 12)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.pdf"
        path.write_bytes(out.data)
        got = {(c["table"], c["row"], c["column"]): c for c in read_report(path).cell_records()}
    right = flagged = 0
    wrong: list[Any] = []
    for want in out.expected.to_dict("records"):
        if want["status"] == "unknown":
            continue
        c = got[(want["table"], want["row"], want["column"])]
        value = None if pd.isna(want["value"]) else float(want["value"])
        same = c["status"] == want["status"] and ((value is None and c["value"] is None) or (
            value is not None and c["value"] is not None and abs(c["value"] - value) < 1e-9))
        if want["status"] in ("blank", "placeholder"):
            same = same and c["raw"].strip() == str(want["raw"]).strip()
        if same:
            right += 1
        elif c["value"] is None and c["status"] in ("unreadable", "missing"):
            flagged += 1
        else:
            wrong.append((seed, want, c))
    return right, flagged, wrong


@pytest.mark.parametrize("rules", ["horizontal", "frame", "partial", "none"])
def test_tables_without_vertical_rules_are_right_or_flagged_never_wrong(rules: str) -> None:
    right = flagged = 0
    for seed in range(4):
        r, f, wrong = _borderless_outcomes(rules, seed)
        assert wrong == []
        right, flagged = right + r, flagged + f
    assert right > 2 * flagged  # columns from the alignment of the numbers: most cells read, blanks too


def test_borderless_row_keeps_blank_cells_by_column_alignment() -> None:
    rows = [("规章", [(260, "3"), (365, "1"), (470, "4")]), ("行政规范性文件", [(260, "5"), (470, "9")]),
            ("其他", [(365, "—"), (470, "12")])]
    glyphs = [g for k, (label, values) in enumerate(rows) for g in _word(label, 78, 200 + 18 * k, 9)
              + [g for x, v in values for g in _word(v, x, 200 + 18 * k, 9)]]
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [[c.text for c in b.cells] for b in blocks] == [["规章", "3", "1", "4"], ["行政规范性文件", "5", "", "9"],
                                                            ["其他", "", "—", "12"]]


def test_borderless_values_never_come_from_a_line_that_does_not_fit_the_columns() -> None:
    # a long number reaches over two columns: the columns are not clean, every row keeps its
    # printed cells (fewer values than columns: the parser reports them unreadable)
    glyphs = (_word("规章", 78, 200, 9) + _word("3", 260, 200, 9) + _word("4", 365, 200, 9)
              + _word("行政许可", 78, 218, 9) + _word("7", 365, 218, 9)
              + _word("其他", 78, 236, 9) + _word("12345678901234567890123456", 258, 236, 9))
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [[c.text for c in b.cells] for b in blocks] == [["规章", "3", "4"], ["行政许可", "7"],
                                                            ["其他", "12345678901234567890123456"]]


def test_borderless_wrapped_label_joins_the_row_of_its_numbers() -> None:
    glyphs = (_word("1.本机关不掌握", 150, 286, 9) + _word("相关政府信息", 150, 297, 9)
              + _word("3", 280, 291.5, 9) + _word("0", 320, 291.5, 9)
              + _word("规章", 150, 320, 9) + _word("5", 280, 320, 9) + _word("6", 320, 320, 9))
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [[c.text for c in b.cells] for b in blocks] == [["1.本机关不掌握相关政府信息", "3", "0"], ["规章", "5", "6"]]


def _right_or_flagged(path: Path, values: dict[str, tuple[str, float | None, str]]) -> tuple[int, list[Any]]:
    """How many cells read back exactly, and the cells read wrong without being flagged."""
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in read_report(path).cell_records()}
    right, wrong = 0, []
    for key, (text, value, status) in values.items():
        c = got[key]
        if c["status"] == status and c["value"] == (None if value is None else pytest.approx(value)) \
                and (status == "ok" or c["raw"].strip() == text):
            right += 1
        elif not (c["value"] is None and c["status"] in ("unreadable", "missing")):
            wrong.append((key, text, status, c["value"], c["status"], c["raw"]))
    return right, wrong


@pytest.mark.parametrize("lines", ["horizontal", "none"])
def test_generated_report_without_vertical_rules_is_right_or_flagged(tmp_path: Path, lines: str) -> None:
    right = 0
    for seed in range(3):
        values = fill_cells(random.Random(seed), get_template("2021").keys)
        if seed == 0:  # a blank fee, with a paragraph full of numbers right after Table 2
            values["table_2/admin_fees/value"] = ("", None, "blank")
        path = tmp_path / f"report{seed}.pdf"
        path.write_bytes(make_report_pdf(values, seed, lines=lines))
        r, wrong = _right_or_flagged(path, values)
        assert wrong == []
        right += r
        if seed == 0:
            got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in read_report(path).cell_records()}
            assert got["table_2/admin_fees/value"]["status"] == "blank"
    assert right >= 0.8 * 600


def test_lone_label_under_a_header_row_is_a_row_of_blanks() -> None:
    glyphs = (_word("信息内容", 100, 400, 9) + _word("本年收费金额", 330, 400, 9) + _word("行政事业性收费", 78, 418, 9)
              + _word("本年度共收取费用3940元。", 108, 450, 15))
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    assert [[c.text for c in b.cells] for b in blocks][1] == ["行政事业性收费", ""]


def test_borderless_label_alone_between_rows_is_a_row_of_blanks_but_a_wrapped_value_is_not_blank() -> None:
    glyphs = (_word("规章", 78, 200, 9) + _word("3", 260, 200, 9) + _word("1", 365, 200, 9)
              + _word("其他", 78, 218, 9)  # nothing printed in its columns
              + _word("行政许可", 78, 236, 9) + _word("5", 260, 236, 9) + _word("9", 365, 236, 9)
              + _word("行政处罚", 78, 254, 9) + _word("2", 260, 254, 9)
              + _word("不适", 360, 249, 9) + _word("用", 364, 259, 9))  # a placeholder wrapped in its cell
    blocks = layout_pages([PageContent(1, 595, 842, glyphs)])
    rows = [[c.text for c in b.cells] for b in blocks]
    assert rows[:3] == [["规章", "3", "1"], ["其他", "", ""], ["行政许可", "5", "9"]]
    assert ["行政处罚", "2", ""] not in rows  # the wrapped 不适用 is not a blank cell
