"""DOCX reader: Word body paragraphs and tables in document order, each underlying cell once.

The body XML is walked directly (not `doc.paragraphs` then `doc.tables`), so text and tables keep
their printed order. python-docx's `row.cells` repeats a horizontally merged cell in every grid
column it spans and returns the top cell again for vertically merged continuations; walking the
`w:tc` elements of each `w:tr` gives every cell once, and continuation cells (`w:vMerge` without
`restart`, old-style `w:hMerge`) are skipped. Provenance is `table 2 row 5 col 3` (grid position).
Only leaf tables become table rows; a table that holds tables is layout, and its cells are walked
as containers. Content controls (`w:sdt`) and custom XML wrappers are looked through.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import lxml.etree
from docx.oxml.ns import qn

from ..document import Block, Cell, Document, report_title
from ..errors import BrokenFile, FileTooLarge, UnsupportedForm
from ..limits import LIMITS, human_bytes
from ..template import common

__all__ = ["read_docx"]

# A DOCX whose parts unpack to more than this is refused (a zip bomb, not a report).
MAX_UNPACKED_BYTES = LIMITS.docx_unpacked  # helpers/limits.py

_P, _TBL, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
_SDT, _SDT_CONTENT, _CUSTOM_XML = qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")
_T, _TAB, _PTAB, _BR, _CR = qn("w:t"), qn("w:tab"), qn("w:ptab"), qn("w:br"), qn("w:cr")
_NB_HYPHEN, _TXBX = qn("w:noBreakHyphen"), qn("w:txbxContent")
_TC_PR, _GRID_SPAN, _V_MERGE, _H_MERGE = qn("w:tcPr"), qn("w:gridSpan"), qn("w:vMerge"), qn("w:hMerge")
_TR_PR, _GRID_BEFORE, _VAL = qn("w:trPr"), qn("w:gridBefore"), qn("w:val")
_ALT_CHUNK, _R_ID = qn("w:altChunk"), qn("r:id")
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Subtrees whose text is not printed: deletions, moved-away text, field codes, properties.
_SKIP = {qn("w:del"), qn("w:moveFrom"), qn("w:delText"), qn("w:instrText"), qn("w:delInstrText"),
         qn("w:rPr"), qn("w:pPr"), _MC_FALLBACK}
_WRAPPERS = {_SDT, _CUSTOM_XML}
_DIGIT = re.compile(r"\d")
_HEADER_ROWS = 3  # how many leading rows a continued table may repeat


def _child(el: lxml.etree._Element, tag: str) -> lxml.etree._Element | None:
    """The first child element with `tag` (what `el.find(tag)` gives, without its path parsing:
    asked several times for every table cell)."""
    return next(el.iterchildren(tag), None)


def _children(el: lxml.etree._Element) -> list[lxml.etree._Element]:
    """Child elements, looking through content controls and custom-XML wrappers."""
    out = []
    for ch in el:
        tag = ch.tag  # a new object on every access: read once
        if tag in _WRAPPERS:
            inner = _child(ch, _SDT_CONTENT) if tag == _SDT else ch
            if inner is not None:
                out += _children(inner)
        elif isinstance(tag, str):
            out.append(ch)
    return out


def _paragraph_text(p: lxml.etree._Element, boxes: list[lxml.etree._Element]) -> str:
    """The printed text of one paragraph (tabs and line breaks kept); text boxes go to `boxes`."""
    parts: list[str] = []

    def visit(el: lxml.etree._Element) -> None:
        tag = el.tag
        if tag == _T:
            parts.append(el.text or "")
            return
        if tag in (_TAB, _PTAB):
            parts.append("\t")
            return
        if tag in (_BR, _CR):
            parts.append("\n")
            return
        if tag == _NB_HYPHEN:
            parts.append("-")
            return
        if tag in _SKIP or not isinstance(tag, str):
            return
        if tag == _TXBX:
            boxes.append(el)
            return
        for ch in el:
            visit(ch)

    for ch in p:
        visit(ch)
    return "".join(parts)


@lru_cache(maxsize=1)
def _blank_chars() -> str:
    return "".join(b for b in common()["cells"]["blanks"] if len(b) == 1)


def _is_blank(text: str) -> bool:
    """Empty, or only whitespace and the template's blank characters (U+3000, NBSP, zero-width)."""
    return not text.strip().strip(_blank_chars()).strip()


class _Walker:
    """Walks body content in order, collecting blocks (tables and paragraphs numbered as met)."""

    def __init__(self, path: Path, package: _Package) -> None:
        self.path = path
        self.package = package
        self.blocks: list[Block] = []
        self.tables = 0
        self.paragraphs = 0
        self.chunks = 0
        self.notes: list[str] = []
        self.last_head: list[list[str]] = []  # the first rows of the last leaf table, as texts

    def container(self, el: lxml.etree._Element) -> None:
        """Paragraphs, tables and imported chunks of a body, cell or text box, in order."""
        for ch in _children(el):
            if ch.tag == _P:
                self.paragraph(ch)
            elif ch.tag == _TBL:
                self.table(ch)
            elif ch.tag == _ALT_CHUNK:
                self.alt_chunk(ch)

    def alt_chunk(self, el: lxml.etree._Element) -> None:
        """Content imported as an HTML chunk (web systems export Word files so): read as HTML."""
        from .html import read_html

        chunk = self.package.related(el.get(_R_ID) or "")
        if chunk is None:
            self.notes.append("an imported content chunk (altChunk) is missing from the file")
            return
        name, content_type = chunk
        if "html" not in content_type:
            self.notes.append(f"an imported content chunk of type {content_type} was not read")
            return
        from ..read import decode_text

        try:
            blob = self.package.read(name)
        except _READ_ERRORS as exc:
            raise BrokenFile(self.path, f"a DOCX whose imported chunk {name} cannot be read ({exc})") from exc
        self.chunks += 1
        text, encoding = decode_text(self.path, blob)
        for block in read_html(self.path, text, encoding).blocks:
            for cell in block.cells:
                cell.source = f"imported chunk {self.chunks} {cell.source}"
            self.blocks.append(block)

    def paragraph(self, p: lxml.etree._Element) -> None:
        """One block per printed line of the paragraph (soft line breaks split it), then its text boxes."""
        self.paragraphs += 1
        boxes: list[lxml.etree._Element] = []
        text = _paragraph_text(p, boxes)
        source = f"paragraph {self.paragraphs}"
        for line in text.split("\n"):
            if not _is_blank(line):
                self.blocks.append(Block([Cell(line.strip(), source)]))
        for box in boxes:
            self.container(box)

    def table(self, tbl: lxml.etree._Element) -> None:
        """A leaf table's rows as table blocks: each cell once, with its grid position."""
        if tbl.find(".//" + _TBL) is not None:  # a layout table: walk its cells as containers
            for tr in _children(tbl):
                if tr.tag == _TR:
                    for tc in _children(tr):
                        if tc.tag == _TC:
                            self.container(tc)
            return
        self.tables += 1
        rows: list[list[tuple[int, int, Cell]]] = []  # per row: (grid column, span, cell)
        for r, tr in enumerate(tr for tr in _children(tbl) if tr.tag == _TR):
            row = []
            col = _int_prop(_child(tr, _TR_PR), _GRID_BEFORE, 0)
            for tc in _children(tr):
                if tc.tag != _TC:
                    continue
                pr = _child(tc, _TC_PR)
                span = max(1, _int_prop(pr, _GRID_SPAN, 1))
                if not _continues_merge(pr):
                    row.append((col, span, Cell(_cell_text(tc), f"table {self.tables} row {r + 1} col {col + 1}")))
                col += span
            rows.append(row)
        rows = self._drop_repeated_header(rows)
        empty = _empty_columns(rows)
        for row in rows:
            cells = [cell for col, span, cell in row if not (span == 1 and col in empty)]
            if cells:
                self.blocks.append(Block(cells, table=True))

    def _drop_repeated_header(self, rows: list[list[tuple[int, int, Cell]]]) -> list[list[tuple[int, int, Cell]]]:
        """A table continued on the next page repeats the previous table's header rows: the leading
        rows equal (cell by cell, no numbers) to the previous table's first rows are dropped, so that
        a header label (总计) is not met again inside the rows."""
        k = 0
        while k < min(len(rows) - 1, len(self.last_head)):
            texts = [c.text for _, _, c in rows[k]]
            if texts != self.last_head[k] or not any(texts) or any(_DIGIT.search(t) for t in texts):
                break
            k += 1
        if k:  # the header to compare the next part of the same table with stays the first part's
            self.notes.append(f"table {self.tables} repeats the previous table's {k} header row(s); "
                              "they were read once")
        else:
            self.last_head = [[c.text for _, _, c in row] for row in rows[:_HEADER_ROWS]]
        return rows[k:]


def _empty_columns(rows: list[list[tuple[int, int, Cell]]]) -> set[int]:
    """Grid columns that are blank in every row of a table with a header row of labels covering
    every other column: an extra empty column of the layout, whose cells are not data. Without
    such a header (a headerless continuation, where a blank column may be a column of zeros left
    blank) nothing is dropped."""
    if len(rows) < 2:
        return set()
    width = max((col + span for row in rows for col, span, _ in row), default=0)
    filled: set[int] = set()
    for row in rows:
        for col, span, cell in row:
            if cell.text:
                filled.update(range(col, col + span))
    empty = set(range(width)) - filled
    if not empty or len(empty) == width:
        return set()
    for row in rows:
        covered = {c for col, span, cell in row if cell.text and not _DIGIT.search(cell.text)
                   for c in range(col, col + span)}
        if covered >= set(range(width)) - empty:
            return empty
    return set()


def _int_prop(pr: lxml.etree._Element | None, tag: str, default: int) -> int:
    el = _child(pr, tag) if pr is not None else None
    if el is None:
        return default
    try:
        return int(el.get(_VAL, default))
    except ValueError:
        return default


def _continues_merge(pr: lxml.etree._Element | None) -> bool:
    """A vertically merged continuation cell (or an old-style horizontal one): not printed again."""
    if pr is None:
        return False
    v = _child(pr, _V_MERGE)
    if v is not None and v.get(_VAL, "continue") != "restart":
        return True
    h = _child(pr, _H_MERGE)
    return h is not None and h.get(_VAL, "continue") != "restart"


def _cell_text(tc: lxml.etree._Element) -> str:
    """A cell's paragraphs joined by line breaks; a cell of blanks only (U+3000 etc.) is empty."""
    lines: list[str] = []

    def collect(el: lxml.etree._Element) -> None:
        for ch in _children(el):
            if ch.tag == _P:
                boxes: list[lxml.etree._Element] = []
                lines.append(_paragraph_text(ch, boxes))
                for box in boxes:
                    collect(box)
            elif ch.tag == _TBL:  # only reached through text boxes
                for tr in _children(ch):
                    for c in _children(tr):
                        if c.tag == _TC:
                            collect(c)

    collect(tc)
    text = "\n".join(line.strip() for line in lines).strip()
    return "" if _is_blank(text) else text


_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
# The same parser settings as python-docx's (blank text between elements dropped, no entities),
# without its per-element Python classes: the walker needs only tags, attributes and text.
_XML = lxml.etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError, RuntimeError,
                NotImplementedError, lxml.etree.XMLSyntaxError)


class _Package:
    """The few parts of an OPC package the reader needs, read straight from the zip (python-docx's
    `Package.open` parses every part, styles and themes included, which is most of a DOCX's read
    time): content types, the package and main-part relationships, the main part, the core title."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.names = {n.lower(): n for n in zf.namelist()}
        types = lxml.etree.fromstring(self.read("[Content_Types].xml"), _XML)
        self.defaults = {d.get("Extension", "").lower(): d.get("ContentType", "") for d in types.iter(_CT + "Default")}
        self.overrides = {o.get("PartName", "").lower(): o.get("ContentType", "") for o in types.iter(_CT + "Override")}
        package_rels = self.rels("")
        main = next((t for kind, t in package_rels.values() if kind.endswith("/officeDocument")), None)
        if main is None:
            raise KeyError("no officeDocument relationship in _rels/.rels")
        self.main = main
        self.core = next((t for kind, t in package_rels.values() if kind.endswith("/core-properties")), None)
        self.main_rels = self.rels(main)

    def read(self, name: str) -> bytes:
        """A member's bytes by part name (OPC part names are case-insensitive)."""
        return self.zf.read(self.names.get(name.lower(), name))

    def content_type(self, name: str) -> str:
        key = "/" + name.lower()
        return self.overrides.get(key) or self.defaults.get(posixpath.splitext(key)[1][1:], "")

    def rels(self, source: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part name) of `source` ("" for the package), internal only."""
        folder, base = posixpath.split(source)
        name = posixpath.join(folder, "_rels", base + ".rels")
        if name.lower() not in self.names:
            if not source:
                raise KeyError("no _rels/.rels in the package")
            return {}
        out = {}
        for rel in lxml.etree.fromstring(self.read(name), _XML).iter(_REL):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External" or not target:
                continue
            part = posixpath.normpath(target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target))
            out[rel.get("Id", "")] = (rel.get("Type", ""), part)
        return out

    def related(self, rid: str) -> tuple[str, str] | None:
        """(part name, content type) of a part the main part relates to by `rid`, if it is there."""
        got = self.main_rels.get(rid)
        if got is None or got[1].lower() not in self.names:
            return None
        return got[1], self.content_type(got[1])

    def title(self) -> str | None:
        """The core-properties title (dc:title), None if absent or unreadable."""
        if self.core is None:
            return None
        try:
            el = lxml.etree.fromstring(self.read(self.core), _XML).find(_DC_TITLE)
        except _READ_ERRORS:
            return None
        return el.text if el is not None else None


def _check_container(path: Path, data: bytes) -> None:
    """Refuse a damaged zip and a zip bomb before python-docx unpacks anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise BrokenFile(path, f"a DOCX whose zip container is damaged or truncated ({exc})") from exc
    # The XML members are what python-docx parses into memory (images are never decoded).
    unpacked = sum(i.file_size for i in infos if not i.filename.lower().startswith("word/media/"))
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(path, f"the DOCX's XML unpacks to {human_bytes(unpacked)}, over the limit of "
                                 f"{human_bytes(MAX_UNPACKED_BYTES)}", "this is not a single report")


def read_docx(path: Path, data: bytes) -> Document:
    """Read a .docx (or .docm/.dotx) file's body into blocks; damaged containers raise `BrokenFile`."""
    _check_container(path, data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        package = _Package(zf)
        content_type = package.content_type(package.main)
        if "wordprocessingml" not in content_type and "ms-word" not in content_type:
            raise UnsupportedForm(path, f"a zip container that is not a Word document ({content_type or 'no type'})")
        try:
            root = lxml.etree.fromstring(package.read(package.main), _XML)
        except lxml.etree.XMLSyntaxError as exc:
            raise BrokenFile(path, f"a DOCX whose document XML is damaged ({exc})") from exc
        body = root.find(qn("w:body"))
        if body is None:
            raise BrokenFile(path, "a DOCX without a document body")
    except _READ_ERRORS as exc:
        raise BrokenFile(path, f"a DOCX whose parts cannot be read ({type(exc).__name__}: {exc})") from exc
    walker = _Walker(path, package)
    walker.container(body)
    title = package.title()
    return Document(path=str(path), form="docx", blocks=walker.blocks, title=report_title(title),
                    notes=walker.notes)
