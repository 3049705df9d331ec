"""HTML reader: web pages and fragments in any encoding, Word-export markup, layout tables.

Leaf tables (tables with no table inside) become table rows; text outside them becomes paragraph
blocks in reading order. Colspan and rowspan are expanded into a grid to give every cell its grid
position as provenance (`table 2 row 5 cell 2 col 3`: the 2nd <td> of the row, grid column 3), while the row keeps its logical cells: mapping the
k-th printed value to the k-th column is what survives header/data span mismatches.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.etree

from ..document import Block, Cell, Document
from ..errors import NotAReport
from ..limits import LIMITS, Budget

# A plain etree HTML parser: no per-element Python class lookup (much faster to walk than lxml.html),
# comments and processing instructions dropped at parse time.
_PARSER = lxml.etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_SKIP = {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg", "select", "button"}
_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article", "body", "html",
          "header", "footer", "main", "blockquote", "pre", "center", "dd", "dt", "dl", "form", "fieldset", "nav",
          "aside", "address", "figure", "figcaption", "caption", "tr", "td", "th", "tbody", "thead", "tfoot", "hr"}


def _span(el: lxml.etree._Element, name: str) -> int:
    value = el.get(name)
    if value is None:
        return 1
    try:
        return max(1, min(int(value.strip() or 1), 1000))
    except ValueError:
        return 1


def _cell_text(el: lxml.etree._Element, spaced: bool) -> str:
    """A cell's text. With `spaced` (the table has <br>, <sup> or <sub> somewhere) a line break or
    a superscript/subscript (a footnote mark) becomes a space, so that "3<br>5" or "12<sup>1</sup>"
    never reads as one number (labels still match across spaces)."""
    if not spaced:
        return "".join(el.itertext())
    parts: list[str] = []
    _spaced_text(el, parts)
    return "".join(parts)


def _spaced_text(el: lxml.etree._Element, parts: list[str]) -> None:
    if not isinstance(el.tag, str):
        return
    if el.tag == "br":
        parts.append(" ")
        return
    apart = el.tag in ("sup", "sub")
    if apart:
        parts.append(" ")
    if el.text:
        parts.append(el.text)
    for child in el:
        _spaced_text(child, parts)
        if child.tail:
            parts.append(child.tail)
    if apart:
        parts.append(" ")


class _Walker:
    def __init__(self, path: Path) -> None:
        self.spans = Budget(path, "table grid cells covered by row and column spans", LIMITS.span_cells)
        self.cells = Budget(path, "table cells", LIMITS.cells)
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.tables = 0
        self.paragraphs = 0

    def flush(self) -> None:
        text = "".join(self.buffer).strip()
        self.buffer = []
        if text:
            self.paragraphs += 1
            for line in text.split("\n"):
                if line.strip():
                    self.blocks.append(Block([Cell(line.strip(), f"paragraph {self.paragraphs}")]))

    def table(self, table: lxml.etree._Element) -> None:
        self.flush()
        self.tables += 1
        t = self.tables
        occupied: dict[tuple[int, int], bool] = {}
        rows = [tr for tr in table.iter("tr")]
        spaced = next(table.iter("br", "sup", "sub"), None) is not None  # checked once per table
        for r, tr in enumerate(rows):
            cells = []
            c = 0
            k = 0
            for td in tr:
                tag = td.tag
                if tag != "td" and tag != "th":  # comments and other elements too (their tag is no str)
                    continue
                k += 1
                if occupied:  # no row span met yet in most tables: nothing to skip
                    while occupied.get((r, c)):
                        c += 1
                cs = 1 if td.get("colspan") is None else _span(td, "colspan")
                rs = 1 if td.get("rowspan") is None else _span(td, "rowspan")
                if rs > 1:  # only row spans reach into later rows
                    self.spans.take((rs - 1) * cs)
                    for dr in range(1, rs):
                        for dc in range(cs):
                            occupied[(r + dr, c + dc)] = True
                text = "".join(td.itertext()) if not spaced else _cell_text(td, spaced)
                cells.append(Cell(text.strip(), f"table {t} row {r + 1} cell {k} col {c + 1}"))
                c += cs
            if cells:
                self.cells.take(len(cells))
                self.blocks.append(Block(cells, table=True))

    def walk(self, el: lxml.etree._Element) -> None:
        tag = el.tag
        if not isinstance(tag, str):  # comment or processing instruction
            return
        if tag in _SKIP:
            return
        if tag == "table" and el.find(".//table") is None:
            self.table(el)
            return
        if tag == "br":
            self.buffer.append("\n")
            return
        block = tag in _BLOCK
        if block:
            self.flush()
        if el.text:
            self.buffer.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail:
                self.buffer.append(child.tail)
        if block:
            self.flush()


def read_html(path: Path, text: str, encoding: str) -> Document:
    """Parse decoded HTML into blocks; a page with no text at all is not a report."""
    text = _XML_DECL.sub("", text, count=1)
    try:
        root = lxml.etree.fromstring(text, _PARSER)
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise NotAReport(path, f"HTML that cannot be parsed: {exc}") from exc
    if root is None:
        raise NotAReport(path, "HTML without any element")
    notes = [f"the page nests elements deeper than {LIMITS.html_depth} levels: the HTML parser stopped there, "
             "so text and tables after that point are missing"] if _depth_cut() else []
    title_el = root.find(".//title")
    title = "".join(title_el.itertext()).strip() if title_el is not None else None
    walker = _Walker(path)
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    return Document(path=str(path), form="html", blocks=walker.blocks, encoding=encoding, title=title or None,
                    notes=notes)


def _depth_cut() -> bool:
    """Whether the last parse hit libxml2's depth limit (it drops what lies deeper, silently)."""
    return any(e.type_name == "ERR_RESOURCE_LIMIT" and "depth" in e.message for e in _PARSER.error_log)
