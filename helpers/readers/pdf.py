"""PDF reader (text layer, via pypdfium2): glyphs and ruling lines → table rows and text lines.

Each page yields its glyphs (text and box, in display coordinates, so rotated pages read upright)
and its ruling lines (thin paths and rectangle edges). Where the rules form a grid, every grid
cell becomes one `Cell` (blank cells included, merged cells once, in their first row), so wrapped
labels and a label printed one character per line stay one cell and the row's numbers sit beside
their label; provenance is `page 4 table 2 row 5 col 3`. Text outside ruled cells is grouped into
lines by vertical position and split into cells at wide gaps (numbers in separate columns are
separate cells). Such lines that form a table without (all) its rules, borderless or ruled between
rows only, are re-cut by the table's columns, found from the alignment of its numbers (and of its
header cells), so a blank cell stays an empty cell in its place; a label wrapped over lines is
joined to the row of its numbers; whatever does not fit the columns for sure keeps its printed
cells (fewer values than columns, which the parser reports unreadable); a grid that prints two
values side by side in one cell (rules between rows only, in a frame) is read the same way. Page
numbers printed alone in the page margins (`- 3 -`, `3`, `第3页`) and running headers repeated on
most pages are dropped, so they are never read as values; a table broken over pages continues
because blocks stay in reading order.

pypdfium2 was chosen over pdfplumber for speed (see benchmarks/parse_docx_pdf.py): both read the
same glyphs, but pdfplumber's pure-Python content parsing costs ~40 ms a page.
"""

from __future__ import annotations

import ctypes
import re
import statistics
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..document import Block, Cell, Document, report_title
from ..errors import BrokenFile, NoTextLayer
from ..limits import check_pages, check_pdf_streams
from ..template import common, normalize

__all__ = ["Glyph", "PageContent", "Rule", "layout_pages", "read_pdf"]

# Geometry, in units of a glyph's height ("em") unless said otherwise.
LINE_TOL = 0.4        # glyph centres closer than this (vertically) are on one line
CELL_GAP = 1.0        # a horizontal gap wider than this starts a new cell
DIGIT_GAP = 0.5       # ... or this, between two digits (numbers in neighbouring columns)
SPACE_GAP = 0.3       # a gap wider than this inside a cell is a space
RULE_THICK = 3.0      # points: a path at most this thick is a ruling line
RULE_SNAP = 3.0       # points: rules this close are one line (a double border, a shading edge)
SCAN_GLYPHS = 30      # fewer characters than this per page, on pages of images: a scan
SCAN_LINES = 3        # ... or at most this many typed lines (title, header, footer) on pictures of whole pages
SCAN_COVER = 0.5      # share of a page its images cover for it to be a picture of the page (a scanned page)
MARGIN = 0.12         # fraction of the page height where headers and footers live
# A line that is only a page number (matched after NFKC normalisation): `3` or `- 3 -` (group 1;
# a bare number is checked against the page sequence), `第3页` / `第3页共6页`, `3/6`, `Page 3 of 6`.
_PAGE_NO = re.compile("|".join((
    r"(?:[-–—―~]\s*)?(\d{1,4})(?:\s*[-–—―~])?",
    common()["metadata"]["page_number"],
    r"(\d{1,4})\s*/\s*\d{1,4}",
    r"(?i:page|p\.)\s*(\d{1,4})(?:\s*(?i:of|/)\s*\d{1,4})?",
)))
_DIGIT = re.compile(r"\d")
_INVISIBLE = frozenset((0x200B, 0xFEFF, 0x3000, 0x00A0))  # zero-width and blank characters


@dataclass(slots=True, init=False)
class Glyph:
    """One printed character and its box (points, origin top-left of the displayed page)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    space_after: bool  # a space character followed it in the content stream
    em: float  # glyph height: the unit of the gap thresholds
    cy: float  # vertical centre

    def __init__(self, text: str, x0: float, top: float, x1: float, bottom: float, space_after: bool = False) -> None:
        # written out (not a generated __init__ calling __post_init__): a page makes thousands
        self.text, self.x0, self.top, self.x1, self.bottom, self.space_after = text, x0, top, x1, bottom, space_after
        height = bottom - top
        self.em = height if height > 0.5 else 0.5
        self.cy = (top + bottom) / 2


@dataclass(slots=True)
class Rule:
    """A ruling line: horizontal at y=`pos` from x `lo` to `hi`, or vertical at x=`pos`."""

    horizontal: bool
    pos: float
    lo: float
    hi: float


@dataclass
class PageContent:
    """What a PDF backend extracted from one page (the layout step needs nothing else)."""

    number: int
    width: float
    height: float
    glyphs: list[Glyph]
    rules: list[Rule] = field(default_factory=list)


@dataclass
class _Item:
    """A block placed on its page: `y` orders it; text lines outside tables also keep their box."""

    y: float
    block: Block
    line: str | None = None
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, top, x1, bottom
    em: float = 0.0


# ---------------------------------------------------------------------------------------------
# Lines and cells of free text


_BY_CY_X0, _BY_X0 = attrgetter("cy", "x0"), attrgetter("x0")


def _lines(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """Group glyphs into text lines by vertical centre, each line sorted left to right."""
    if len(glyphs) < 2:
        return [list(glyphs)] if glyphs else []
    lines: list[list[Glyph]] = []
    ref_cy = ref_em = 0.0
    for g in sorted(glyphs, key=_BY_CY_X0):
        if lines and abs(g.cy - ref_cy) <= LINE_TOL * min(g.em, ref_em):
            line = lines[-1]
            line.append(g)
            ref_cy += (g.cy - ref_cy) / len(line)
        else:
            lines.append([g])
            ref_cy, ref_em = g.cy, g.em
    return [sorted(line, key=_BY_X0) if len(line) > 1 else line for line in lines]


def _join(glyphs: list[Glyph]) -> str:
    """Text of glyphs on one line, a space where the gap is wider than a narrow space."""
    out = [glyphs[0].text]
    for prev, g in zip(glyphs, glyphs[1:]):
        if prev.space_after or g.x0 - prev.x1 > SPACE_GAP * min(prev.em, g.em):
            out.append(" ")
        out.append(g.text)
    return "".join(out)


@lru_cache(maxsize=1)
def _placeholders() -> frozenset[str]:
    return frozenset(normalize(p).strip() for p in common()["cells"]["placeholders"])


def _glue(lines: list[str]) -> str:
    """Wrapped lines as one text: ideographs and digits run on (不适|用, 12|34), words keep a space."""
    out = ""
    for line in lines:
        line = line.strip()
        if out and line and out[-1].isascii() and out[-1].isalpha() and line[0].isascii() and line[0].isalpha():
            out += " "
        out += line
    return out


def _split(line: list[Glyph]) -> list[list[Glyph]]:
    """Split a line into cells at wide gaps; re-join letter-spaced single characters (规  章)."""
    em = statistics.median(g.em for g in line)
    parts = [[line[0]]]
    for prev, g in zip(line, line[1:]):
        gap = g.x0 - prev.x1
        if gap > CELL_GAP * em or (gap > DIGIT_GAP * em and prev.text.isdigit() and g.text.isdigit()):
            parts.append([g])
        else:
            parts[-1].append(g)
    merged: list[list[Glyph]] = []
    for part in parts:
        if merged and len(part) == 1 and _letter_spaced(merged[-1] + part):
            merged[-1].extend(part)
        else:
            merged.append(part)
    return merged


def _letter_spaced(part: list[Glyph]) -> bool:
    """Ideographs (not placeholders such as 无) each standing apart: one word spread over a cell."""
    placeholders = _placeholders()
    return all("\u4e00" <= g.text <= "\u9fff" and g.text not in placeholders for g in part) and \
        all(b.x0 - a.x1 > SPACE_GAP * a.em for a, b in zip(part, part[1:]))


# ---------------------------------------------------------------------------------------------
# Ruled tables


def _merge_rules(rules: list[Rule], horizontal: bool) -> list[Rule]:
    """Snap rules at nearly the same position together and join touching segments."""
    rs = sorted((r for r in rules if r.horizontal == horizontal), key=lambda r: r.pos)
    groups: list[list[Rule]] = []
    for r in rs:
        if groups and r.pos - groups[-1][-1].pos <= RULE_SNAP:
            groups[-1].append(r)
        else:
            groups.append([r])
    out = []
    for g in groups:
        pos = statistics.median(r.pos for r in g)
        segs = sorted(g, key=lambda r: r.lo)
        lo, hi = segs[0].lo, segs[0].hi
        for r in segs[1:]:
            if r.lo <= hi + RULE_SNAP:
                hi = max(hi, r.hi)
            else:
                out.append(Rule(horizontal, pos, lo, hi))
                lo, hi = r.lo, r.hi
        out.append(Rule(horizontal, pos, lo, hi))
    return out


def _covers(rules: list[Rule], at: float) -> bool:
    return any(r.lo - RULE_SNAP <= at <= r.hi + RULE_SNAP for r in rules)


class _Find:
    """Union-find over small integer ids."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def __call__(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self(a), self(b)
        if ra != rb:
            self.parent[rb] = ra


@dataclass
class _Table:
    """One ruled grid: its rule positions and the cell (region id) of each elementary box."""

    xs: list[float]
    ys: list[float]
    cells: dict[int, tuple[int, int, int, int]]  # region root → (row, col, last row, last col)
    region: list[int]                              # elementary box → region root

    def cell_at(self, x: float, y: float) -> int | None:
        if not (self.xs[0] <= x <= self.xs[-1] and self.ys[0] <= y <= self.ys[-1]):
            return None
        i = min(bisect_right(self.xs, x) - 1, len(self.xs) - 2)
        j = min(bisect_right(self.ys, y) - 1, len(self.ys) - 2)
        root = self.region[j * (len(self.xs) - 1) + i]
        return root if root in self.cells else None


def _tables(rules: list[Rule], width: float, height: float) -> list[_Table]:
    """Grids formed by crossing rules; a cell is a rectangle of grid boxes whose sides are ruled."""
    hs, vs = _merge_rules(rules, True), _merge_rules(rules, False)
    if len(hs) < 2 or len(vs) < 2:
        return []
    uf = _Find(len(hs) + len(vs))
    for a, h in enumerate(hs):
        for b, v in enumerate(vs):
            if v.lo - RULE_SNAP <= h.pos <= v.hi + RULE_SNAP and h.lo - RULE_SNAP <= v.pos <= h.hi + RULE_SNAP:
                uf.union(a, len(hs) + b)
    components: dict[int, tuple[list[Rule], list[Rule]]] = {}
    for a, h in enumerate(hs):
        components.setdefault(uf(a), ([], []))[0].append(h)
    for b, v in enumerate(vs):
        components.setdefault(uf(len(hs) + b), ([], []))[1].append(v)
    tables = []
    for comp_h, comp_v in components.values():
        table = _grid(comp_h, comp_v + _open_sides(comp_h, comp_v), width, height)
        if table is not None:
            tables.append(table)
    return sorted(tables, key=lambda t: (t.ys[0], t.xs[0]))


def _open_sides(hs: list[Rule], vs: list[Rule]) -> list[Rule]:
    """Vertical rules closing a table printed without its outer left/right borders.

    When the horizontal rules run on past the outermost vertical rule, the side is open; a rule at
    their end makes the first and last columns cells like the others.
    """
    if len(hs) < 2 or len(vs) < 2:
        return []
    top, bottom = min(h.pos for h in hs), max(h.pos for h in hs)
    left, right = min(h.lo for h in hs), max(h.hi for h in hs)
    out = []
    if left < min(v.pos for v in vs) - RULE_SNAP:
        out.append(Rule(False, left, top, bottom))
    if right > max(v.pos for v in vs) + RULE_SNAP:
        out.append(Rule(False, right, top, bottom))
    return out


def _grid(hs: list[Rule], vs: list[Rule], width: float, height: float) -> _Table | None:
    """The cells of one connected set of rules, or None when it does not enclose two cells."""
    if len(hs) < 2 or len(vs) < 2:
        return None
    xs = sorted({v.pos for v in vs})
    ys = sorted({h.pos for h in hs})
    h_at = {y: [h for h in hs if h.pos == y] for y in ys}
    v_at = {x: [v for v in vs if v.pos == x] for x in xs}
    nx, ny = len(xs) - 1, len(ys) - 1
    xm = [(xs[i] + xs[i + 1]) / 2 for i in range(nx)]
    ym = [(ys[j] + ys[j + 1]) / 2 for j in range(ny)]
    # whether the rule at xs[i] crosses the middle of box row j, and the rule at ys[j] the middle of
    # box column i: asked once each (the merging below and the sides of every cell ask them again)
    v_cov = [[_covers(v_at[x], y) for y in ym] for x in xs]
    h_cov = [[_covers(h_at[y], x) for x in xm] for y in ys]
    uf = _Find(nx * ny)
    for j in range(ny):
        for i in range(nx):
            if i + 1 < nx and not v_cov[i + 1][j]:
                uf.union(j * nx + i, j * nx + i + 1)
            if j + 1 < ny and not h_cov[j + 1][i]:
                uf.union(j * nx + i, (j + 1) * nx + i)
    region = [uf(k) for k in range(nx * ny)]
    extent: dict[int, list[int]] = {}
    count: Counter[int] = Counter(region)
    for k, root in enumerate(region):
        j, i = divmod(k, nx)
        e = extent.setdefault(root, [j, i, j, i])
        e[0], e[1], e[2], e[3] = min(e[0], j), min(e[1], i), max(e[2], j), max(e[3], i)
    cells = {}
    for root, (j0, i0, j1, i1) in extent.items():
        if count[root] != (j1 - j0 + 1) * (i1 - i0 + 1):
            continue  # not a rectangle: the open space around or between tables
        if not (all(v_cov[i0][j] and v_cov[i1 + 1][j] for j in range(j0, j1 + 1))
                and all(h_cov[j0][i] and h_cov[j1 + 1][i] for i in range(i0, i1 + 1))):
            continue  # a side is not ruled
        if xs[i1 + 1] - xs[i0] > 0.5 * width and ys[j1 + 1] - ys[j0] > 0.5 * height:
            continue  # a page frame or a text box around the body, not a table cell
        cells[root] = (j0, i0, j1, i1)
    if len(cells) < 2:
        return None
    return _Table(xs, ys, cells, region)


def _table_items(table: _Table, content: dict[int, list[Glyph]], page: int, number: int) -> list[_Item]:
    """One block per grid row: the cells that start in it, left to right, blank ones included."""
    rows: dict[int, list[tuple[int, int]]] = {}
    for root, (j0, i0, _j1, _i1) in table.cells.items():
        rows.setdefault(j0, []).append((i0, root))
    items = []
    for j0 in sorted(rows):
        cells = []
        for i0, root in sorted(rows[j0]):
            text = _glue([_join(line) for line in _lines(content.get(root, []))])
            cells.append(Cell(text.strip(), f"page {page} table {number} row {j0 + 1} col {i0 + 1}"))
        items.append(_Item(table.ys[j0], Block(cells, table=True)))
    return items


# ---------------------------------------------------------------------------------------------
# Tables without (all) rules: columns from the alignment of the numbers


@dataclass(slots=True)
class _Part:
    """One cell of a free text line (from `_split`) and its horizontal extent."""

    text: str
    x0: float
    x1: float
    kind: str = field(init=False)  # number, placeholder or text

    def __post_init__(self) -> None:
        self.kind = _kind(self.text)


@lru_cache(maxsize=1)
def _number_re() -> re.Pattern[str]:
    units = "|".join(re.escape(normalize(u)) for u in sorted(common()["cells"]["units"], key=len, reverse=True))
    return re.compile(rf"[+-]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?\s*(?:{units})?")


def _kind(text: str) -> str:
    """Whether a cell's text is a number (unit allowed), a placeholder (无, —) or other text."""
    s = normalize(text).strip()
    if _number_re().fullmatch(s):
        return "number"
    return "placeholder" if s in _placeholders() else "text"


def _zones(lines: list[list[_Part]], spans: list[tuple[float, float]], height: float) -> list[list[int]]:
    """Runs of lines that print numbers as separate cells (the rows of one borderless table).

    Lines without numbers whose cells all lie left of the numbers (a wrapped label's other
    lines) stay inside a run; any other line (a heading, a header row, a paragraph) ends it, so a
    table never reaches into the text after it. A page number in the margin never belongs to one.
    """
    zones: list[list[int]] = []
    current: list[int] = []
    left = 0.0
    for i, parts in enumerate(lines):
        in_margin = _lone_page_number(parts, spans[i], height)
        numbers = [p for p in parts if p.kind == "number"]
        if numbers and not in_margin and (len(parts) > 1 or current):  # a lone number opens no table
            if not current:
                left = min(p.x0 for p in numbers)
            current.append(i)
            left = min(left, *(p.x0 for p in numbers))
        elif current and not in_margin and all(p.x1 < left for p in parts):
            continue
        else:
            if current:
                zones.append(current)
            current = []
    if current:
        zones.append(current)
    return zones


def _lone_page_number(parts: list[_Part], span: tuple[float, float], height: float) -> bool:
    """A line in the top or bottom margin that is only a page number (`3`, `- 3 -`)."""
    in_margin = span[0] < MARGIN * height or span[1] > (1 - MARGIN) * height
    return in_margin and len(parts) == 1 and _page_number(parts[0].text) is not None


def _columns(parts: list[_Part]) -> list[tuple[float, float]]:
    """Column extents: the unions of overlapping number boxes (numbers of a column are aligned)."""
    cols: list[list[float]] = []
    for p in sorted(parts, key=lambda p: p.x0):
        if cols and p.x0 <= cols[-1][1]:
            cols[-1][1] = max(cols[-1][1], p.x1)
        else:
            cols.append([p.x0, p.x1])
    return [(a, b) for a, b in cols]


def _cut(parts: list[_Part], cols: list[tuple[float, float]]) -> list[tuple[str, int]] | None:
    """A line's cells as label cells then one cell per column (blank where nothing is printed).

    None when the line does not fit the columns for sure: a value over two columns or between
    them, two values in one column, or label text among the values.
    """
    out: list[tuple[str, int]] = []
    slots: list[str | None] = [None] * len(cols)
    for p in parts:
        if p.x1 < cols[0][0] and not any(slots):
            out.append((p.text, 0))
            continue
        hit = [k for k, (a, b) in enumerate(cols) if p.x0 <= b and a <= p.x1]
        if len(hit) != 1 or p.kind == "text" or slots[hit[0]] is not None:
            return None
        slots[hit[0]] = p.text
    return out + [(text or "", k + 1) for k, text in enumerate(slots)]


def _rejoin_labels(lines: list[list[_Part]], spans: list[tuple[float, float]], zone: list[int],
                   height: float) -> set[int]:
    """Join a label wrapped over lines of a borderless table into one cell (in place); returns
    the lines that received a joined label.

    The label cells left of the numbers are chained down the rows when they line up (same left
    edge or centre) one line apart (at most 1.6 line heights). A chain holding the labels of two
    rows with numbers is two labels, not one, and is left alone; otherwise the joined text goes to
    the chain's line with numbers (or its first line), so the label sits beside its values.
    """
    numbers = [p.x0 for i in zone for p in lines[i] if p.kind == "number"]
    homes: set[int] = set()
    if not numbers:
        return homes
    left = min(numbers)
    data = {i for i in zone if any(p.kind == "number" for p in lines[i])}
    first, last = zone[0], zone[-1]
    while first > 0 and first > zone[0] - 3 and lines[first - 1] and all(p.x1 < left for p in lines[first - 1]) \
            and not _lone_page_number(lines[first - 1], spans[first - 1], height):
        first -= 1  # a wrapped label may start above its row's numbers
    while last + 1 < len(lines) and last < zone[-1] + 3 and lines[last + 1] \
            and all(p.x1 < left for p in lines[last + 1]) \
            and not _lone_page_number(lines[last + 1], spans[last + 1], height):
        last += 1
    labels = [(i, p) for i in range(first, last + 1) for p in lines[i] if p.x1 < left]
    taken: set[int] = set()
    for k, (i, p) in enumerate(labels):
        if id(p) in taken:
            continue
        chain = [(i, p)]
        for j, q in labels[k + 1:]:
            li, lp = chain[-1]
            if j == li or id(q) in taken:
                continue
            if spans[j][0] - spans[li][0] > 1.6 * (spans[li][1] - spans[li][0]):
                break
            if abs(q.x0 - lp.x0) <= 1.5 or abs((q.x0 + q.x1) - (lp.x0 + lp.x1)) <= 3.0:
                chain.append((j, q))
        if len(chain) < 2:
            continue
        rows = [j for j in range(chain[0][0], chain[-1][0] + 1) if j in data]
        top, bottom = spans[chain[0][0]][0], spans[chain[-1][0]][1]
        joined = _Part(_glue([q.text for _, q in chain]), min(q.x0 for _, q in chain),
                       max(q.x1 for _, q in chain))
        members = {id(q) for _, q in chain}
        if len(rows) == 1 and abs(sum(spans[rows[0]]) - (top + bottom)) <= 0.7 * (spans[rows[0]][1] - spans[rows[0]][0]):
            home = rows[0]  # one row's label, centred on its numbers
        elif all(any(x.kind == "text" and x.x0 > joined.x1 and id(x) not in members for x in lines[j])
                 for j in rows):
            # a group's label beside its rows' own labels, or a label without numbers near it:
            # whole, on its first line
            home = chain[0][0]
        else:
            continue  # two rows' labels, or a label that cannot be placed for sure
        taken |= members
        for j, q in chain:
            lines[j][:] = [x for x in lines[j] if x is not q]
        at = sum(1 for x in lines[home] if x.x1 < joined.x0)
        lines[home].insert(at, joined)
        homes.add(home)
    return homes


def _align(lines: list[list[_Part]], spans: list[tuple[float, float]],
           height: float) -> list[list[tuple[str, int]] | None]:
    """Re-cut the rows of borderless tables by their columns, so blank cells are kept.

    Returns, per line, its cells as (text, column number or 0 for a label), or None to keep the
    line as split. A table needs two rows of numbers to show its columns; a row that does not fit
    them keeps its printed cells (fewer values than columns: the parser reports it unreadable).
    """
    out: list[list[tuple[str, int]] | None] = [None] * len(lines)
    single: set[int] = set()
    printed = [j for j in range(len(lines)) if lines[j]]
    for zone in _zones(lines, spans, height):
        joined = _rejoin_labels(lines, spans, zone, height)
        cols = _columns([p for i in zone for p in lines[i] if p.kind == "number"])
        if any(sum(1 for p in lines[i] if p.kind == "number" and p.x0 <= b and a <= p.x1) > 1
               for i in zone for a, b in cols):
            continue  # two numbers of one row in one column: the columns are not clean
        more = _header_columns(lines, zone, cols)
        if len(zone) < 2 and len(more) == len(cols):
            single.update(zone)
            continue
        for i in zone:
            if not _stray_text_beside(lines, spans, i, more[0][0]):
                out[i] = _cut(lines[i], more)
        if len(zone) >= 2:
            for i in _blank_rows(lines, spans, zone, more[0][0], printed, joined):
                out[i] = [(p.text, 0) for p in lines[i]] + [("", k + 1) for k in range(len(more))]
    _under_headers(lines, spans, single, out)
    return out


def _blank_rows(lines: list[list[_Part]], spans: list[tuple[float, float]], zone: list[int],
                left: float, printed: list[int], joined: set[int]) -> list[int]:
    """Lines between a table's rows that print only a label, standing apart from every other
    printed line (half a line height or more above and below: not one line of a wrapped label,
    nor a joined one): rows whose cells are all blank."""
    out = []
    for n, i in enumerate(printed):
        if not zone[0] < i < zone[-1] or i in joined or not lines[i] \
                or any(p.kind != "text" or p.x1 >= left for p in lines[i]):
            continue
        height = spans[i][1] - spans[i][0]
        before, after = printed[n - 1], printed[n + 1]  # exist: zone lines lie on both sides
        if spans[i][0] - spans[before][1] >= 0.5 * height and spans[after][0] - spans[i][1] >= 0.5 * height:
            out.append(i)
    return out


def _stray_text_beside(lines: list[list[_Part]], spans: list[tuple[float, float]], i: int, left: float) -> bool:
    """Whether a line without numbers right above or below row `i` prints in the value columns
    (a value wrapped over lines, 不适 / 用): then a column empty on the row's line is not blank."""
    height = spans[i][1] - spans[i][0]
    for j in (i - 1, i + 1):
        if 0 <= j < len(lines) and not any(p.kind == "number" for p in lines[j]) \
                and max(spans[i][0], spans[j][0]) - min(spans[i][1], spans[j][1]) < 0.5 * height \
                and any(p.x1 >= left for p in lines[j]):
            return True
    return False


def _header_columns(lines: list[list[_Part]], zone: list[int],
                    cols: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The number columns plus those only the header rows above show (blank in every row).

    Value columns of these tables are evenly spaced: a header cell right of the first number column
    (or anywhere, in a table without row labels) that touches no number column becomes a column
    when it sits a whole number of column steps from the others (left of the numbers, the label
    column's header could pass for one), and the result is kept only when all steps are equal (within 15%); a header spanning
    several columns, or a caption, is never taken for one.
    """
    if len(cols) < 2:
        return cols
    centres = [(a + b) / 2 for a, b in cols]
    step = min(b - a for a, b in zip(centres, centres[1:]))
    if step <= 0:
        return cols
    left = cols[0][0]
    label_right = max((p.x1 for i in zone for p in lines[i] if p.x1 < left), default=-1.0)
    heads: list[tuple[_Part, bool]] = []  # a header cell, and whether its line has others
    i = zone[0] - 1
    while i >= 0 and i >= zone[0] - 12:
        parts = lines[i]
        if any(p.kind == "number" for p in parts) or any(p.x0 <= label_right + 1 and p.x1 > left for p in parts) \
                or (len(parts) == 1 and parts[0].x1 - parts[0].x0 >= 3 * step):
            break  # another table's row, a paragraph or a heading across the table
        # a header row's cells; a lone word only right of the numbers' first column and narrower
        # than a column (a caption or a spanning header stands alone too)
        heads += [(p, len(parts) > 1) for p in parts if p.x0 > label_right + 1
                  and (len(parts) > 1 or p.x1 - p.x0 < step)]
        i -= 1
    steps: set[int] = set()
    for p, in_row in heads:
        if any(p.x0 <= y and x <= p.x1 for x, y in cols):
            continue  # over a number column (or spanning several)
        k = ((p.x0 + p.x1) / 2 - centres[0]) / step
        if (k > 0.5 or (label_right < 0 and in_row)) and abs(k - round(k)) <= 0.15 \
                and all(abs((p.x0 + p.x1) / 2 - c) > 0.5 * step for c in centres):
            steps.add(round(k))
    if not steps:
        return cols
    extra = [(centres[0] + k * step - 0.25 * step, centres[0] + k * step + 0.25 * step) for k in steps]
    merged = sorted(cols + extra)
    mids = [(a + b) / 2 for a, b in merged]
    gaps = [y - x for x, y in zip(mids, mids[1:])]
    if any(y[0] <= x[1] for x, y in zip(merged, merged[1:])) or any(abs(g - step) > 0.15 * step for g in gaps):
        return cols
    return merged


def _under_headers(lines: list[list[_Part]], spans: list[tuple[float, float]], single: set[int],
                   out: list[list[tuple[str, int]] | None]) -> None:
    """Columns from a header row for the one row printed under it (in place in `out`).

    A header row is a line of two or more text cells; the cells after the first are the value
    columns. The line right under it gets one cell per column when it is a row with numbers that
    fit them, or a lone label line (not wrapped: no line within 1.6 line heights before or after)
    under the first header cell: a row whose cells are all blank.
    """
    for i in range(len(lines) - 1):
        head, j = lines[i], i + 1
        row = lines[j]
        height = spans[i][1] - spans[i][0]
        if len(head) < 2 or any(p.kind != "text" for p in head) or not row or out[j] is not None \
                or spans[j][0] - spans[i][1] > 2.5 * height:
            continue
        cols = [(p.x0, p.x1) for p in head[1:]]
        if j in single:
            out[j] = _cut(row, cols)
            continue
        label = row[0]
        own = spans[j][1] - spans[j][0]
        alone = spans[j][0] - spans[i][0] > 1.6 * height and (
            j + 1 >= len(lines) or spans[j + 1][0] - spans[j][0] > 1.6 * own)
        if len(row) == 1 and label.kind == "text" and alone and label.x1 < cols[0][0] \
                and label.x0 <= head[0].x1 and head[0].x0 <= label.x1:
            out[j] = [(label.text, 0)] + [("", k + 1) for k in range(len(cols))]


# ---------------------------------------------------------------------------------------------
# Pages → blocks


@lru_cache(maxsize=4096)
def _may_be_value(text: str) -> bool:
    """Whether a glyph can be part of a number (a digit) or of a placeholder (无, —)."""
    n = normalize(text)
    return any(c.isdigit() for c in n) or any(c in p for p in _placeholders() for c in n)


def _missing_column_rules(cells: dict[int, list[Glyph]]) -> bool:
    """Whether a ruled grid lacks the rules between its value columns (rules between rows only,
    in a frame): some cell prints two values side by side, apart (`3    5`)."""
    for glyphs in cells.values():
        if sum(_may_be_value(g.text) for g in glyphs) < 2:
            continue  # two values need two glyphs of a number or a placeholder
        for line in _lines(glyphs):
            if len(line) > 1 and sum(_kind(_join(p)) != "text" for p in _split(line)) >= 2:
                return True
    return False


def _glyphs_by_table(page: PageContent) -> tuple[list[tuple[_Table, dict[int, list[Glyph]]]], list[Glyph]]:
    """The page's ruled tables with the glyphs of each grid cell, and the glyphs outside them (a
    table whose cells hold text across missing column rules is read as free lines, borderless)."""
    tables = _tables(page.rules, page.width, page.height)
    free: list[Glyph] = []
    owned: list[dict[int, list[Glyph]]] = [{} for _ in tables]
    for g in page.glyphs:
        cx = (g.x0 + g.x1) / 2
        for k, t in enumerate(tables):
            root = t.cell_at(cx, g.cy)
            if root is not None:
                owned[k].setdefault(root, []).append(g)
                break
        else:
            free.append(g)
    kept = []
    for t, cells in zip(tables, owned):
        if _missing_column_rules(cells):
            free += [g for glyphs in cells.values() for g in glyphs]  # read it as a borderless table
        else:
            kept.append((t, cells))
    return kept, free


def _page_items(page: PageContent, first_table: int) -> tuple[list[_Item], int]:
    """A page's blocks in reading order (and how many tables it held)."""
    kept, free = _glyphs_by_table(page)
    tables = [t for t, _ in kept]
    items: list[_Item] = []
    for k, (t, cells) in enumerate(kept):
        items += _table_items(t, cells, page.number, first_table + k)
    lines = _lines(free)
    split = [[_Part(_join(p).strip(), p[0].x0, max(g.x1 for g in p)) for p in _split(line)] for line in lines]
    aligned = _align(split, [(min(g.top for g in line), max(g.bottom for g in line)) for line in lines],
                     page.height)
    for n, (line, parts, cut) in enumerate(zip(lines, split, aligned), start=1):
        if not parts:
            continue  # its text was a wrapped label, joined to the line of its row
        if cut is None:
            cells = [Cell(p.text, f"page {page.number} line {n}") for p in parts]
        else:
            cells = [Cell(text, f"page {page.number} line {n}" + (f" col {k}" if k else ""))
                     for text, k in cut]
        box = (line[0].x0, min(g.top for g in line), max(g.x1 for g in line), max(g.bottom for g in line))
        items.append(_Item(box[1], Block(cells, table=len(cells) > 1), line=" ".join(c.text for c in cells),
                           box=box, em=_type_size(line)))
    items.sort(key=lambda it: it.y)
    return items, len(tables)


def _type_size(line: list[Glyph]) -> float:
    """The type size of a line: the width of its ideographs (one em each), else its glyph height.

    Glyph heights come from font metrics and differ between fonts of one size; ideograph advance
    widths do not.
    """
    widths = [g.x1 - g.x0 for g in line if "\u4e00" <= g.text <= "\u9fff"]
    return statistics.median(widths) if widths else 0.85 * statistics.median(g.em for g in line)


def _page_number(text: str) -> tuple[int, bool] | None:
    """(number, decorated) when a line is only a page number."""
    m = _PAGE_NO.fullmatch(normalize(text).strip())
    if not m:
        return None
    if m.group(1) is not None:
        bare = normalize(text).strip().isdigit()
        return int(m.group(1)), not bare
    return int(next(g for g in m.groups() if g is not None)), True


def _drop_furniture(pages: list[tuple[float, list[_Item]]]) -> int:
    """Remove page numbers and repeated running headers/footers from the page margins.

    `pages` holds each page's height and items; a candidate is the topmost or bottommost text line
    of a page, lying in the top or bottom margin band.
    """
    edges: list[tuple[int, _Item]] = []
    for index, (height, items) in enumerate(pages):
        seen: set[int] = set()
        for it in items[:2] + items[-2:]:
            top_band, bottom_band = it.y < MARGIN * height, it.y > (1 - MARGIN) * height
            if id(it) in seen or it.line is None or not (top_band or bottom_band):
                continue
            seen.add(id(it))
            if (top_band and any(o.y < it.y for o in items)) or (bottom_band and any(o.y > it.y for o in items)):
                continue  # only the outermost line of a margin
            edges.append((index, it))
    drop: set[int] = set()
    bare: list[tuple[int, _Item, int]] = []
    for index, it in edges:
        assert it.line is not None
        pn = _page_number(it.line)
        if pn is None:
            continue
        number, decorated = pn
        if decorated:
            drop.add(id(it))
        else:
            bare.append((index, it, number - index))
    if bare:
        offset, times = Counter(off for _, _, off in bare).most_common(1)[0]
        if times >= 2 or len(pages) == 1:
            drop |= {id(it) for _, it, off in bare if off == offset}
    # Running headers: the same margin text (digits aside) at the same place on at least half of
    # the pages, twice or more (a title that merely repeats the header's words stays).
    shaped = [(index, it, _DIGIT.sub("#", it.line or "")) for index, it in edges if id(it) not in drop]
    for index, it, shape in shaped:
        pages_alike = {j for j, other, s in shaped if s == shape and abs(other.y - it.y) <= 4}
        if len(pages_alike) >= 2 and len(pages_alike) >= len(pages) / 2:
            drop.add(id(it))
    for _, items in pages:
        items[:] = [it for it in items if id(it) not in drop]
    return len(drop)


def layout_pages(pages: Iterable[PageContent]) -> list[Block]:
    """Turn extracted pages (from any backend) into blocks in reading order."""
    placed: list[tuple[float, list[_Item]]] = []  # page height and items: glyphs are not kept
    tables = 0
    for page in pages:
        items, n = _page_items(page, tables + 1)
        tables += n
        placed.append((page.height, items))
    _drop_furniture(placed)
    return _reflow(placed)


def _margins(items: list[_Item]) -> tuple[float, float] | None:
    """The left and right edges of a page's running text (single-cell lines outside tables)."""
    lines = [it for it in items if it.line is not None and len(it.block.cells) == 1]
    if not lines:
        return None
    return min(it.box[0] for it in lines), max(it.box[2] for it in lines)


def _continues(prev: _Item, prev_margins: tuple[float, float], item: _Item, margins: tuple[float, float],
               same_page: bool) -> bool:
    """Whether a text line carries on the paragraph of the line before it (a wrapped line).

    The line before must run to the right edge of the text; this one must start at the left edge
    (not indented), be in the same type size, and follow closely (or open the next page).
    """
    if prev.line is None or item.line is None or len(prev.block.cells) != 1 or len(item.block.cells) != 1:
        return False
    em = prev.em
    if abs(item.em - em) > 0.15 * em:
        return False
    if prev.box[2] < prev_margins[1] - 2 * em or item.box[0] > margins[0] + 0.5 * em:
        return False
    return not same_page or item.box[1] - prev.box[3] <= 1.2 * em


def _reflow(placed: list[tuple[float, list[_Item]]]) -> list[Block]:
    """Join wrapped lines of running text into one paragraph cell, across page breaks too.

    PDF line breaks are layout; a paragraph read as one cell is what the HTML and DOCX readers give,
    so sentences (a statistical period, a title) are not cut where the page width cut them.
    """
    blocks: list[Block] = []
    last: tuple[_Item, tuple[float, float]] | None = None
    for _height, items in placed:
        margins = _margins(items)
        for pos, item in enumerate(items):
            if last is not None and margins is not None and _continues(
                    last[0], last[1], item, margins, same_page=pos > 0):
                cell = blocks[-1].cells[0]
                cell.text = _glue([cell.text, item.block.cells[0].text])
                last = (item, margins)
                continue
            blocks.append(item.block)
            last = (item, margins) if margins is not None and item.line is not None else None
        if items and items[-1].line is None:
            last = None
    return blocks


# ---------------------------------------------------------------------------------------------
# The pypdfium2 backend


def _display(box: tuple[float, float, float, float], crop: tuple[float, float, float, float],
             rotation: int) -> tuple[float, float, float, float]:
    """A PDF-space box (left, bottom, right, top) → (x0, top, x1, bottom) on the displayed page."""
    left, bottom, right, top = box
    cl, cb, cr, ct = crop
    if rotation == 90:
        return bottom - cb, left - cl, top - cb, right - cl
    if rotation == 180:
        return cr - right, bottom - cb, cr - left, top - cb
    if rotation == 270:
        return ct - top, cr - right, ct - bottom, cr - left
    return left - cl, ct - top, right - cl, ct - bottom


def _unmapped(code: int) -> bool:
    return code in (0, 0xFFFD, 0xFFFE, 0xFFFF) or 0xE000 <= code <= 0xF8FF


def _codes(raw: Any, n: int) -> list[int]:
    """The code points of a text page's `n` characters in one call (FPDFText_GetText), 0 where a
    character must be asked for alone; every one asked alone when the text does not map one unit
    to one character (surrogate pairs, skipped characters)."""
    buf = (ctypes.c_ushort * (n + 1))()
    written = pdfium_c.FPDFText_GetText(raw, 0, n, buf) if n else 1
    codes = list(buf)[:n]
    if written - 1 != n or any(0xD800 <= c <= 0xDFFF for c in codes):
        return [0] * n
    return codes


def _glyphs(textpage: pdfium.PdfTextPage, crop: tuple[float, float, float, float],
            rotation: int) -> tuple[list[Glyph], int]:
    """The page's printed characters and how many lack Unicode; a printed space marks the glyph before."""
    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_unicode, get_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox
    out: list[Glyph] = []
    unmapped = 0
    cl, ct = crop[0], crop[3]
    codes = _codes(raw, pdfium_c.FPDFText_CountChars(raw))
    for i, code in enumerate(codes):
        if code == 0:
            code = get_unicode(raw, i)
        if code <= 32 or code in _INVISIBLE or (code < 0x3001 and chr(code).isspace()):
            if out and code == 32 and not pdfium_c.FPDFText_IsGenerated(raw, i):
                out[-1].space_after = True
            continue
        if not get_box(raw, i, rect_ref):
            continue
        ch = chr(code) if code < 0x110000 else "\ufffd"
        if _unmapped(code):
            unmapped += 1
        if rotation == 0:
            out.append(Glyph(ch, rect.left - cl, ct - rect.top, rect.right - cl, ct - rect.bottom))
            continue
        x0, top, x1, bottom = _display((rect.left, rect.bottom, rect.right, rect.top), crop, rotation)
        out.append(Glyph(ch, min(x0, x1), min(top, bottom), max(x0, x1), max(top, bottom)))
    return out, unmapped


def _path_rules(obj: ctypes.c_void_p, matrix: tuple[float, ...] | None, crop: tuple[float, float, float, float],
                rotation: int, out: list[Rule]) -> None:
    """Rules from one path object: a thin path is a line; a rectangle gives its four edges."""
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return
    if not _visible(obj):
        return
    box = (left.value, bottom.value, right.value, top.value)
    if matrix is not None:  # inside a form XObject: map the corners to page space
        a, b, c, d, e, f = matrix
        xs = [a * x + c * y + e for x in (box[0], box[2]) for y in (box[1], box[3])]
        ys = [b * x + d * y + f for x in (box[0], box[2]) for y in (box[1], box[3])]
        box = (min(xs), min(ys), max(xs), max(ys))
    x0, y0, x1, y1 = _display(box, crop, rotation)
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    w, h = x1 - x0, y1 - y0
    if h <= RULE_THICK and w > RULE_THICK:
        out.append(Rule(True, (y0 + y1) / 2, x0, x1))
    elif w <= RULE_THICK and h > RULE_THICK:
        out.append(Rule(False, (x0 + x1) / 2, y0, y1))
    elif w > RULE_THICK and h > RULE_THICK and _is_rectangle(obj):
        out += [Rule(True, y0, x0, x1), Rule(True, y1, x0, x1), Rule(False, x0, y0, y1), Rule(False, x1, y0, y1)]


def _visible(obj: ctypes.c_void_p) -> bool:
    """Whether a path draws something: a non-white stroke or fill (white page-shading is not a rule)."""
    fill_mode, stroked = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill_mode), ctypes.byref(stroked)):
        return True
    r, g, b, a = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    for used, colour in ((stroked.value, pdfium_c.FPDFPageObj_GetStrokeColor),
                         (fill_mode.value != pdfium_c.FPDF_FILLMODE_NONE, pdfium_c.FPDFPageObj_GetFillColor)):
        if used and (not colour(obj, r, g, b, a) or (a.value > 0 and min(r.value, g.value, b.value) < 245)):
            return True
    return False


def _is_rectangle(obj: ctypes.c_void_p) -> bool:
    """A closed path of straight segments with four corners (how cell borders are often drawn)."""
    n = pdfium_c.FPDFPath_CountSegments(obj)
    if n not in (4, 5):
        return False
    return all(pdfium_c.FPDFPathSegment_GetType(pdfium_c.FPDFPath_GetPathSegment(obj, k))
               != pdfium_c.FPDF_SEGMENT_BEZIERTO for k in range(n))


def _page_objects(page: pdfium.PdfPage, crop: tuple[float, float, float, float],
                  rotation: int) -> tuple[list[Rule], int, float]:
    """Ruling lines of a page (looking one level into form XObjects), how many images it shows and
    the share of the page they cover (a scanned page is one picture of all of it)."""
    out: list[Rule] = []
    images = 0
    covered = 0.0
    raw = page.raw
    m = pdfium_c.FS_MATRIX()
    edges = [ctypes.c_float() for _ in range(4)]
    cl, cb, cr, ct = crop
    get_object, get_type = pdfium_c.FPDFPage_GetObject, pdfium_c.FPDFPageObj_GetType  # once, not per object
    image, path_kind = pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH
    for k in range(pdfium_c.FPDFPage_CountObjects(raw)):
        obj = get_object(raw, k)
        kind = get_type(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue  # most objects: their characters come from the text page
        if kind == image:
            images += 1
            if pdfium_c.FPDFPageObj_GetBounds(obj, *(ctypes.byref(e) for e in edges)):
                left, bottom, right, top = (e.value for e in edges)
                covered += max(0.0, min(right, cr) - max(left, cl)) * max(0.0, min(top, ct) - max(bottom, cb))
        elif kind == path_kind:
            _path_rules(obj, None, crop, rotation, out)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
            matrix = (m.a, m.b, m.c, m.d, m.e, m.f)
            for q in range(pdfium_c.FPDFFormObj_CountObjects(obj)):
                child = pdfium_c.FPDFFormObj_GetObject(obj, q)
                if pdfium_c.FPDFPageObj_GetType(child) == pdfium_c.FPDF_PAGEOBJ_PATH:
                    _path_rules(child, matrix, crop, rotation, out)
    area = (cr - cl) * (ct - cb)
    return out, images, min(1.0, covered / area) if area > 0 else 0.0


def _pages(path: Path, pdf: pdfium.PdfDocument, stats: dict[str, list[Any]]) -> Iterator[PageContent]:
    """Extract each page in turn, closing it before the next (memory stays one page deep)."""
    for index in range(len(pdf)):
        try:
            page = pdf[index]
        except pdfium.PdfiumError as exc:
            raise BrokenFile(path, f"page {index + 1} of the PDF cannot be loaded ({exc})") from exc
        try:
            rotation = page.get_rotation() % 360
            crop = tuple(page.get_cropbox())
            cl, cb, cr, ct = crop
            width, height = (ct - cb, cr - cl) if rotation in (90, 270) else (cr - cl, ct - cb)
            textpage = page.get_textpage()
            try:
                glyphs, unmapped = _glyphs(textpage, crop, rotation)
            finally:
                textpage.close()
            rules, images, cover = _page_objects(page, crop, rotation)
        finally:
            page.close()
        stats["glyphs"].append(len(glyphs))
        stats["unmapped"].append(unmapped)
        stats["images"].append(images)
        stats.setdefault("cover", []).append(cover)
        # lines are counted only where a page may be a scan (a picture of it, or a stamp's worth of text)
        maybe_scan = cover >= SCAN_COVER or len(glyphs) < SCAN_GLYPHS * 3
        stats.setdefault("lines", []).append(len(_lines(glyphs)) if maybe_scan else None)
        yield PageContent(index + 1, width, height, glyphs, rules)


def _open(path: Path, data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise BrokenFile(path, "an encrypted PDF that needs a password",
                             "open it with the password and save an unprotected copy") from exc
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_SECURITY:
            raise BrokenFile(path, "a PDF with an unsupported security handler",
                             "save an unprotected copy and try again") from exc
        raise BrokenFile(path, f"a PDF that cannot be opened ({exc})") from exc


def _report_title(pdf: pdfium.PdfDocument) -> str | None:
    """The metadata title, when it names a report."""
    try:
        title = pdf.get_metadata_value("Title")
    except Exception:  # noqa: BLE001 - damaged metadata never stops reading the pages
        return None
    return report_title(title)


def _typed_scan(stats: dict[str, list[Any]]) -> bool:
    """Whether the pages are a scan with a little typed text (a title, a running header, a page
    number, a typed cover): every page holds at most SCAN_LINES lines of text, and the pages that
    hold more than a stamp's worth of characters are pictures of the whole page (SCAN_COVER)."""
    pages = list(zip(stats["glyphs"], stats["lines"], stats["cover"]))
    if not any(cover >= SCAN_COVER for _, _, cover in pages):
        return False
    return all(lines is not None and lines <= SCAN_LINES and (cover >= SCAN_COVER or glyphs < SCAN_GLYPHS * 3)
               for glyphs, lines, cover in pages)


def read_pdf(path: Path, data: bytes) -> Document:
    """Read a PDF's text layer into blocks; a scan raises `NoTextLayer`, a damaged file `BrokenFile`."""
    check_pdf_streams(path, data)  # stream and operator bombs refused before pdfium parses a page
    pdf = _open(path, data)
    stats: dict[str, list[Any]] = {"glyphs": [], "unmapped": [], "images": []}
    try:
        if len(pdf) == 0:
            raise BrokenFile(path, "a PDF without pages")
        check_pages(path, len(pdf))
        title = _report_title(pdf)
        blocks = layout_pages(_pages(path, pdf, stats))
    finally:
        pdf.close()
    total = sum(stats["glyphs"])
    if total == 0:
        if b"%%EOF" not in data[-2048:]:
            raise BrokenFile(path, "a truncated PDF (no end-of-file marker) with no readable text")
        raise NoTextLayer(path, f"none of its {len(stats['glyphs'])} pages has a text layer")
    pages = len(stats["glyphs"])
    if total < SCAN_GLYPHS * pages and sum(stats["images"]) >= pages:
        raise NoTextLayer(path, f"only {total} characters of text on {pages} page(s) of images (a scan with "
                                f"a stamp or page numbers as text?)")
    if _typed_scan(stats):
        raise NoTextLayer(path, f"a scan: its {pages} page(s) are pictures with at most {max(stats['lines'])} "
                                f"typed line(s) each (a title, header or footer), {total} characters in all")
    if sum(stats["unmapped"]) > total / 2:
        raise NoTextLayer(path, "its text layer has no Unicode mapping (the glyphs cannot be read as text)")
    notes = []
    empty = [str(i + 1) for i, n in enumerate(stats["glyphs"]) if n < SCAN_GLYPHS and stats["images"][i]]
    if empty:
        notes.append(f"page(s) {', '.join(empty)} are images without a text layer (scanned?); their content "
                     f"is not read")
    if b"%%EOF" not in data[-2048:]:
        notes.append("the PDF has no end-of-file marker (truncated?); pages may be missing")
    return Document(path=str(path), form="pdf", blocks=blocks, title=title, notes=notes)
