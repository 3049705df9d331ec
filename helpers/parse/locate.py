"""Locating: a flat, searchable view of the document, the six section headings, the three table
regions and the template version the tables print."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..document import Document
from ..template import Table, Template, common, get_template, normalize

Pos = tuple[int, int]  # (cell index, character offset)


# Statuses that show a table cell was really printed and read.
_READ_FOR_SURE = frozenset({"ok", "blank", "placeholder", "inferred"})


# How many template rows ahead a label may be found when the expected one is absent.
LOOKAHEAD = 4


@lru_cache(maxsize=None)
def _vocab() -> dict[str, Any]:
    c = common()
    cells = c["cells"]
    units = "|".join(re.escape(normalize(u)) for u in sorted(cells["units"], key=len, reverse=True))
    number = rf"(?P<sign>[+-])?(?P<int>\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(?P<frac>\d+))?\s*(?P<unit>{units})?"
    placeholders = {normalize(p).strip() for p in cells["placeholders"]}
    blanks = "".join(b for b in cells["blanks"] if len(b) == 1)
    meta = c["metadata"]
    sections = []
    for s in c["sections"]:
        num = re.escape(s["number"])
        # the heading's words after the keyword, up to a space or the cell's end (never
        # into a body run on without a break: that is cut at the canonical heading's end below)
        pattern = re.compile(rf"{num}\s*[、.,]\s*[^\d。;!?]{{0,16}}?(?:{s['match']})"
                             rf"(?:[^\d。;\s]{{0,30}}(?=\s|$))?")
        alone = (re.compile(rf"\s*{c['heading_numbering']}(?:{s['alone']})\s*[:.。]?\s*") if s.get("alone")
                 else None)
        sections.append((s["id"], pattern, alone, normalize(s["heading"])))
    return {
        "number": re.compile(number),
        "number_full": re.compile(rf"\s*{number}\s*"),
        "placeholders": placeholders,
        "placeholder_re": re.compile("|".join(re.escape(p) for p in sorted(placeholders, key=len, reverse=True))),
        "blank_chars": blanks,
        # where the values start in running text: a digit, or a placeholder standing alone ("无 0 3")
        "first_value": re.compile(r"\d|(?:^|(?<=\s))(?:[-/—]+|" + "|".join(
            re.escape(p) for p in sorted(placeholders, key=len, reverse=True)) + r")(?=\s|$)"),
        "sections": sections,
        "table_cues": {k: [re.compile(p) for p in v] for k, v in c["table_cues"].items()},
        "date": re.compile(meta["date"]),
        "iso_date": re.compile(meta["iso_date"]),
        "year_title": re.compile(meta["year_title"]),
        "period": re.compile(meta["period"]),
        "first_year": re.compile(meta["first_year"]),
        "title_suffix": normalize(meta["title_suffix"]),
        "title_strip": re.compile(meta["title_strip"]),
        "published_label": re.compile(meta["published_labels"]),
        "written_label": re.compile(meta["written_labels"]),
        "stamp_label": re.compile(meta["stamp_labels"]),
        "cited": re.compile(meta["cited"]),
        "agency_suffix": re.compile("(?:" + "|".join(re.escape(s) for s in meta["agency_suffixes"]) + ")$"),
    }


@dataclass
class _View:
    raw: list[str]
    norm: list[str]
    source: list[str]
    block: list[int]
    table_blocks: frozenset[int] = frozenset()  # blocks that are table rows (not paragraphs)

    @property
    def end(self) -> Pos:
        return (len(self.norm) - 1, len(self.norm[-1])) if self.norm else (0, 0)


def _view(doc: Document) -> _View:
    """Every cell of the document in reading order, its invisible characters removed (they are never
    part of a number) and page furniture ("— 4 —", "第 4 页") left out."""
    raw, norm, source, block = [], [], [], []
    invisible, furniture = _cleaners()
    tables = frozenset(b for b, blk in enumerate(doc.blocks) if blk.table)
    cells = [(b, cell) for b, blk in enumerate(doc.blocks) for cell in blk.cells]
    texts = [cell.text for _, cell in cells]
    if invisible.search("\n".join(texts)):  # most documents have none: one search, not one per cell
        texts = [invisible.sub("", t) if invisible.search(t) else t for t in texts]
    # normalize maps character by character: the whole document at once, cut back into its cells
    # (one piece per cell unless a cell holds the separator itself: then cell by cell)
    norms = normalize("\x00".join(texts)).split("\x00")
    if len(norms) != len(texts):
        norms = [normalize(t) for t in texts]
    fullmatch = furniture.fullmatch
    for (b, cell), text, n in zip(cells, texts, norms):
        if fullmatch(n.strip()):
            continue
        raw.append(text)
        norm.append(n)
        source.append(cell.source)
        block.append(b)
    return _View(raw, norm, source, block, tables)


@lru_cache(maxsize=None)
def _cleaners() -> tuple[re.Pattern[str], re.Pattern[str]]:
    c = common()
    return re.compile(c["invisible"]), re.compile("|".join(f"(?:{p})" for p in c["furniture"]))


def _find(view: _View, pattern: re.Pattern[str], start: Pos, end: Pos) -> tuple[int, re.Match[str]] | None:
    """The first match of `pattern` at or after `start` and before `end`, within one cell.

    The hot loop of the parser: the cells between the first and the last are searched whole, with
    no per-cell bounds to work out."""
    norm = view.norm
    first, lo = start
    stop, hi = end
    last = min(stop, len(norm) - 1)
    if first > last:
        return None
    search = pattern.search
    text = norm[first]
    h = hi if first == stop else len(text)
    if not (lo >= h and text):
        m = search(text, lo, h)
        if m:
            return first, m
    if first == last:
        return None
    for ci in range(first + 1, last if last == stop else last + 1):
        m = search(norm[ci])
        if m:
            return ci, m
    if last == stop:
        text = norm[last]
        if not (0 >= hi and text):
            m = search(text, 0, hi)
            if m:
                return last, m
    return None


def _sections(view: _View) -> dict[str, tuple[Pos, Pos]]:
    """Section id → (heading start, heading end), for the headings found, in order."""
    found: dict[str, tuple[Pos, Pos]] = {}
    pos: Pos = (0, 0)
    specs = _vocab()["sections"]
    for k, (sid, pattern, alone, heading) in enumerate(specs):
        hit = _find(view, pattern, pos, view.end)
        if hit is None and alone is not None:
            # an unnumbered heading must come before any later section's numbered heading
            later = [h for _, p, _, _ in specs[k + 1:] if (h := _find(view, p, pos, view.end)) is not None]
            bound = min(((h[0], h[1].start()) for h in later), default=view.end)
            hit = _find_alone(view, alone, pos)
            if hit is not None and (hit[0], hit[1].start()) > bound:
                hit = None
        if hit:
            ci, m = hit
            end = m.end() + _heading_rest(view.norm[ci], m.end(), heading)
            found[sid] = ((ci, m.start()), (ci, end))
            pos = (ci, m.end())
    return found


def _heading_rest(text: str, at: int, heading: str) -> int:
    """How many characters at `at` finish the canonical heading (及改进情况 after 问题) when the body
    runs on without a break: the longest tail of the heading printed there (two characters or more)."""
    for i in range(len(heading) - 1):
        if text.startswith(heading[i:], at):
            return len(heading) - i
    return 0


def _find_alone(view: _View, pattern: re.Pattern[str], start: Pos) -> tuple[int, re.Match[str]] | None:
    """A heading printed without the template's "一、" numbering: a whole cell (a paragraph, a bold
    line) that is nothing but the heading, so narrative mentions and table cells never count."""
    for ci in range(start[0] + (1 if start[1] else 0), len(view.norm)):
        text = view.norm[ci]
        if len(text) > 60:
            continue
        m = pattern.fullmatch(text)
        if m:
            return ci, m
    return None


def _foreign_columns(view: _View, version: str, table: Table, region: tuple[Pos, Pos] | None) -> str:
    """A note if `table` prints more of the other format's own labels than of its version's (a
    2021 report with the 2019 Table 2): its values cannot be mapped to cells, so none is read."""
    if region is None:
        return ""
    other = "2019" if version == "2021" else "2021"
    own_hits, other_hits = _detect_hits(view, version, region), _detect_hits(view, other, region)
    if other_hits <= own_hits:
        return ""
    return (f"{table.key} prints the {other} format's columns ({other_hits} of its labels, {own_hits} of the "
            f"{version} format's) while the rest of the report is in the {version} format; its cells are not read")


def _regions(view: _View, sections: dict[str, tuple[Pos, Pos]], template: Template) -> dict[str, tuple[Pos, Pos]]:
    """Table key → (start, end) of the text that holds it."""
    order = [(t.key, t.section) for t in template.tables.values()]
    starts: dict[str, Pos] = {}
    after: Pos = (0, 0)  # tables are printed in order: a cue is searched after the table before it
    for key, sid in order:
        if sid in sections:
            starts[key] = sections[sid][1]
        else:
            for cue in _vocab()["table_cues"].get(key, []):
                hit = _find(view, cue, after, view.end)
                if hit:
                    starts[key] = (hit[0], hit[1].start())
                    break
        after = starts.get(key, after)
    stops = sorted([p for p in starts.values()] + [sections[s][0] for s in ("problems", "other") if s in sections])
    regions = {}
    for key, start in starts.items():
        later = [p for p in stops if p > start]
        regions[key] = (start, later[0] if later else view.end)
    return regions


def _detect_hits(view: _View, version: str, region: tuple[Pos, Pos]) -> int:
    """How many of a template version's own labels (its `detect` list) a region prints."""
    pattern = get_template(version).detect_pattern
    n = 0
    pos, end = region
    while (hit := _find(view, pattern, pos, end)) is not None:
        n += 1
        pos = (hit[0], hit[1].end())
    return n


def _detect_version(view: _View, regions: dict[str, tuple[Pos, Pos]], year: int | None) -> str:
    """The template version whose own labels the tables print (the report year breaks ties).

    Table 3's 2021-only rows (逾期不补正, 缴纳费用) decide first: a 2021 report may still print the
    2019 Table-2 columns, and Table 3 carries most of the cells.
    """
    if "table_3" in regions and _detect_hits(view, "2021", regions["table_3"]) > 0:
        return "2021"
    scores = {version: sum(_detect_hits(view, version, region) for region in regions.values())
              for version in ("2019", "2021")}
    if scores["2019"] > scores["2021"]:
        return "2019"
    if scores["2019"] == scores["2021"] and year is not None and year <= 2020:
        return "2019"
    return "2021"
