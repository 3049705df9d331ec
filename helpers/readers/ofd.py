"""OFD reader (GB/T 33190, China's fixed-layout format): text objects and ruling lines from the
package's XML (lxml), then the PDF reader's positional layout (`layout_pages`).

An OFD file is a zip: `OFD.xml` names the document root (`Document.xml`), which lists the pages;
each page's `Content.xml` holds layers of `TextObject`s (a `Boundary` box in millimetres, a font
`Size`, and `TextCode`s whose `X`/`Y` place the first glyph's baseline and `DeltaX` the advances of
the next ones, `g N d` meaning N times d) and `PathObject`s (`AbbreviatedData` drawing commands).
Each character becomes a glyph with its box, and each thin path a ruling line, in points, so
grids, borderless tables and page furniture are read exactly as in a PDF. No maintained OFD library
fits: easyofd pulls PyMuPDF (AGPL). Caps: members over 50 MB unpacked and pages past MAX_PAGES are
refused; XML entities are never resolved and nothing is fetched.
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
from pathlib import Path

from lxml import etree

from ..document import Document, report_title
from ..errors import BrokenFile, NotAReport
from .pdf import RULE_THICK, Glyph, PageContent, Rule, layout_pages

__all__ = ["MAX_MEMBER_BYTES", "MAX_PAGES", "read_ofd"]

MM = 72 / 25.4              # points per millimetre
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_PAGES = 500
ASCENT, DESCENT = 0.85, 0.15  # a glyph's box around its baseline, in font sizes
_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _floats(text: str | None) -> list[float]:
    return [float(x) for x in _NUM.findall(text or "")]


def _deltas(text: str | None) -> list[float]:
    """A DeltaX/DeltaY list with its `g N d` repeats expanded."""
    out: list[float] = []
    tokens = (text or "").split()
    i = 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            out += [float(tokens[i + 2])] * min(int(float(tokens[i + 1])), 100_000)
            i += 3
        else:
            out.append(float(tokens[i]))
            i += 1
    return out


class _Package:
    """The zip's members, read with the unpacked-size cap, paths resolved against their folder."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise BrokenFile(path, f"a damaged OFD package ({exc})") from exc
        self.names = {n.lstrip("/"): n for n in self.zip.namelist()}

    def xml(self, name: str) -> etree._Element:
        key = posixpath.normpath(name.lstrip("/"))
        if key not in self.names:
            raise BrokenFile(self.path, f"the OFD package has no {name}")
        info = self.zip.getinfo(self.names[key])
        if info.file_size > MAX_MEMBER_BYTES:
            raise BrokenFile(self.path, f"{name} unpacks to {info.file_size / 1e6:.0f} MB, over the "
                                        f"{MAX_MEMBER_BYTES / 1e6:.0f} MB limit")
        try:
            return etree.fromstring(self.zip.read(info), _PARSER)
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BrokenFile(self.path, f"{name} in the OFD package is not readable XML ({exc})") from exc


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _box(text: str | None) -> tuple[float, float, float, float]:
    v = _floats(text)
    return (v[0], v[1], v[2], v[3]) if len(v) >= 4 else (0.0, 0.0, 210.0, 297.0)


def _text_glyphs(obj: etree._Element, out: list[Glyph]) -> None:
    """The characters of one TextObject with their boxes (points, top-left origin)."""
    bx, by, _bw, _bh = _box(obj.get("Boundary"))
    size = float(obj.get("Size") or 3.5)
    ctm = _floats(obj.get("CTM"))
    a, b, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    scale = abs(d) or 1.0
    for code in obj:
        if _local(code.tag) != "TextCode" or not code.text:
            continue
        x = float(code.get("X") or 0)
        y = float(code.get("Y") or 0)
        dx = _deltas(code.get("DeltaX"))
        chars = list(code.text)
        for i, ch in enumerate(chars):
            # a glyph is as wide as its advance, unless the advance jumps a gap (to the next cell):
            # then, as for the last glyph, wide characters are one font size, others about half
            width = size if unicodedata.east_asian_width(ch) in ("W", "F", "A") else size * 0.55
            adv = dx[i] if i < len(dx) else width
            if 0 < adv <= 1.05 * size:
                width = adv
            if ch.isspace():
                if out and ch == " ":
                    out[-1].space_after = True
            else:
                px, py = a * x + c * y + e, b * x + d * y + f
                h = size * scale
                out.append(Glyph(ch, (bx + px) * MM, (by + py - ASCENT * h) * MM,
                                 (bx + px + width * abs(a or 1)) * MM, (by + py + DESCENT * h) * MM))
            x += adv


def _path_rules(obj: etree._Element, out: list[Rule]) -> None:
    """Ruling lines of one PathObject: its straight segments (M/L, closed with C/Z back to the start)."""
    bx, by, bw, bh = _box(obj.get("Boundary"))
    width = float(obj.get("LineWidth") or 0.353)
    if obj.get("Stroke", "true") == "false" and obj.get("Fill", "false") != "true":
        return
    data = _child(obj, "AbbreviatedData")
    points: list[tuple[float, float]] = []
    segments: list[tuple[tuple[float, float], tuple[float, float]]] = []
    tokens = (data.text or "").split() if data is not None else []
    i = 0
    start: tuple[float, float] | None = None
    while i < len(tokens):
        op = tokens[i]
        if op in ("M", "S") and i + 2 < len(tokens):
            start = (float(tokens[i + 1]), float(tokens[i + 2]))
            points = [start]
            i += 3
        elif op == "L" and i + 2 < len(tokens):
            p = (float(tokens[i + 1]), float(tokens[i + 2]))
            if points:
                segments.append((points[-1], p))
            points.append(p)
            i += 3
        elif op == "C":
            if points and start is not None:
                segments.append((points[-1], start))
            i += 1
        elif op in ("B", "Q", "A"):
            return  # curves: a seal or a drawing, not a ruling line
        else:
            i += 1
    if not segments and bw > 0 and bh > 0:
        segments = [((0, 0), (bw, 0))] if bh * MM <= RULE_THICK else [((0, 0), (0, bh))] if bw * MM <= RULE_THICK else []
    for (x0, y0), (x1, y1) in segments:
        X0, Y0, X1, Y1 = ((bx + x0) * MM, (by + y0) * MM, (bx + x1) * MM, (by + y1) * MM)
        if abs(Y1 - Y0) <= width * MM and abs(X1 - X0) > RULE_THICK:
            out.append(Rule(True, (Y0 + Y1) / 2, min(X0, X1), max(X0, X1)))
        elif abs(X1 - X0) <= width * MM and abs(Y1 - Y0) > RULE_THICK:
            out.append(Rule(False, (X0 + X1) / 2, min(Y0, Y1), max(Y0, Y1)))


def _walk(el: etree._Element, glyphs: list[Glyph], rules: list[Rule]) -> None:
    for obj in el:
        name = _local(obj.tag)
        if name == "TextObject":
            _text_glyphs(obj, glyphs)
        elif name == "PathObject":
            _path_rules(obj, rules)
        elif name in ("Layer", "PageBlock", "Content"):
            _walk(obj, glyphs, rules)


def read_ofd(path: Path, data: bytes) -> Document:
    """Read an OFD package's pages into blocks; a damaged package is `BrokenFile`."""
    pkg = _Package(path, data)
    root = pkg.xml("OFD.xml")
    body = _child(root, "DocBody")
    doc_root = _child(body, "DocRoot") if body is not None else None
    if doc_root is None or not (doc_root.text or "").strip():
        raise BrokenFile(path, "OFD.xml names no document root (DocBody/DocRoot)")
    info = _child(body, "DocInfo") if body is not None else None
    title_el = _child(info, "Title") if info is not None else None
    doc_path = doc_root.text.strip().lstrip("/")
    folder = posixpath.dirname(doc_path)
    document = pkg.xml(doc_path)
    common = _child(document, "CommonData")
    area = _child(common, "PageArea") if common is not None else None
    default_box = _box(_child(area, "PhysicalBox").text if area is not None and _child(area, "PhysicalBox") is not None
                       else None)
    pages_el = _child(document, "Pages")
    page_list = [p for p in pages_el if _local(p.tag) == "Page"] if pages_el is not None else []
    if not page_list:
        raise BrokenFile(path, "the OFD document lists no pages")
    if len(page_list) > MAX_PAGES:
        raise BrokenFile(path, f"{len(page_list)} pages, over the {MAX_PAGES} page limit", "this is not one report")

    def pages():
        for number, page in enumerate(page_list, start=1):
            loc = page.get("BaseLoc") or ""
            content = pkg.xml(posixpath.join(folder, loc) if not loc.startswith("/") else loc)
            parea = _child(content, "Area")
            box = _box(_child(parea, "PhysicalBox").text) if parea is not None and _child(parea, "PhysicalBox") \
                is not None else default_box
            glyphs: list[Glyph] = []
            rules: list[Rule] = []
            body_el = _child(content, "Content")
            if body_el is not None:
                _walk(body_el, glyphs, rules)
            yield PageContent(number, box[2] * MM, box[3] * MM, glyphs, rules)

    page_contents = list(pages())
    if not any(p.glyphs for p in page_contents):
        raise NotAReport(path, "an OFD document with no text on its pages (a scan inside OFD is not read)")
    blocks = layout_pages(page_contents)
    title = report_title(title_el.text if title_el is not None else None)
    return Document(path=str(path), form="ofd", blocks=blocks, title=title)
