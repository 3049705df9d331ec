"""Parse stage: a `Document` (from any reader) → a `Report` with every template cell.

The steps, each a small function: flatten the blocks into a searchable view; find the six section
headings; cut the three table regions; detect the template version; find each row's printed label
in template order; collect the printed values after it; map the k-th value to the k-th column,
splitting digits that an archiver ran together only where the split is certain (or made certain by
a printed relation, which the cell's note names). Nothing is filled from a relation.

Real reports deviate from the template (template-spec §8.2); label and heading variants are data in
the YAML templates, and the code reads a deviation only where the printed text makes it certain:
headings without "一、" numbering count only as a whole paragraph/cell (`alone` in common.yaml); an
extra column (法人或其他组织小计) is placed by its header's neighbours and left out of the record;
Table 4 may stand over several rows of whole blocks or one labelled row per block; a cell or a row
whose values are joined to another number by a separator ("5、8", "(5)8") is unreadable, never
its first number; a table that prints the other format's columns (a 2021 report with the 2019 Table 2) is not
read. Anything uncertain comes out unreadable or missing with a note.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .document import Document
from .errors import NoTablesFound, NotAReport
from .read import DEFAULT_MAX_BYTES, read_document
from .record import Report, cells_frame
from .template import Row, Table, Template, common, get_template, normalize, organ_kind

__all__ = ["parse_document", "read_report"]

Pos = tuple[int, int]  # (cell index, character offset)

# Statuses that show a table cell was really printed and read.
_READ_FOR_SURE = frozenset({"ok", "blank", "placeholder", "inferred"})
# How many template rows ahead a label may be found when the expected one is absent.
LOOKAHEAD = 4


# ---------------------------------------------------------------------------------------------
# Vocabulary compiled from common.yaml


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
        pattern = re.compile(rf"{num}\s*[、.,]\s*[^\d。;!?]{{0,16}}?(?:{s['match']})[^\d。;]{{0,30}}")
        alone = (re.compile(rf"\s*{c['heading_numbering']}(?:{s['alone']})\s*[:.。]?\s*") if s.get("alone")
                 else None)
        sections.append((s["id"], pattern, alone))
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
        "agency_suffix": re.compile("(?:" + "|".join(re.escape(s) for s in meta["agency_suffixes"]) + ")$"),
    }


# ---------------------------------------------------------------------------------------------
# A flat, searchable view of the document


@dataclass
class _View:
    raw: list[str]
    norm: list[str]
    source: list[str]
    block: list[int]

    @property
    def end(self) -> Pos:
        return (len(self.norm) - 1, len(self.norm[-1])) if self.norm else (0, 0)


def _view(doc: Document) -> _View:
    raw, norm, source, block = [], [], [], []
    for b, blk in enumerate(doc.blocks):
        for cell in blk.cells:
            raw.append(cell.text)
            norm.append(normalize(cell.text))
            source.append(cell.source)
            block.append(b)
    return _View(raw, norm, source, block)


def _find(view: _View, pattern: re.Pattern[str], start: Pos, end: Pos) -> tuple[int, re.Match[str]] | None:
    """The first match of `pattern` at or after `start` and before `end`, within one cell."""
    for ci in range(start[0], min(end[0], len(view.norm) - 1) + 1):
        text = view.norm[ci]
        lo = start[1] if ci == start[0] else 0
        hi = end[1] if ci == end[0] else len(text)
        if lo >= hi and text:
            continue
        m = pattern.search(text, lo, hi)
        if m:
            return ci, m
    return None


# ---------------------------------------------------------------------------------------------
# Sections and table regions


def _sections(view: _View) -> dict[str, tuple[Pos, Pos]]:
    """Section id → (heading start, heading end), for the headings found, in order."""
    found: dict[str, tuple[Pos, Pos]] = {}
    pos: Pos = (0, 0)
    specs = _vocab()["sections"]
    for k, (sid, pattern, alone) in enumerate(specs):
        hit = _find(view, pattern, pos, view.end)
        if hit is None and alone is not None:
            # an unnumbered heading must come before any later section's numbered heading
            later = [h for _, p, _ in specs[k + 1:] if (h := _find(view, p, pos, view.end)) is not None]
            bound = min(((h[0], h[1].start()) for h in later), default=view.end)
            hit = _find_alone(view, alone, pos)
            if hit is not None and (hit[0], hit[1].start()) > bound:
                hit = None
        if hit:
            ci, m = hit
            found[sid] = ((ci, m.start()), (ci, m.end()))
            pos = (ci, m.end())
    return found


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


# ---------------------------------------------------------------------------------------------
# Rows: labels in template order


_CONTAINERS: dict[tuple[int, str], tuple[Row, ...]] = {}


def _containers(table: Table, row: Row) -> tuple[Row, ...]:
    """Rows whose printed label contains one of `row`'s keywords (其他处理 holds 其他).

    Cached per table object (templates are loaded once per process, so tables are long-lived).
    """
    cached = _CONTAINERS.get((id(table), row.key))
    if cached is not None:
        return cached
    words = [normalize(w).replace(" ", "") for w in (row.match or (row.label,))]
    out = []
    for other in table.rows:
        texts = [normalize(t).replace(" ", "") for t in (other.label, *other.match)]
        if other is not row and any(w in t and w != t for w in words for t in texts):
            out.append(other)
    _CONTAINERS[(id(table), row.key)] = result = tuple(out)
    return result


def _find_label(view: _View, table: Table, row: Row, start: Pos, end: Pos) -> tuple[int, re.Match[str]] | None:
    """The first hit of a row's label that is not inside a longer label of another row: the rest
    of a group label broken over a page (其他处理) is not the row 3.其他."""
    pos = start
    while (hit := _find(view, row.pattern, pos, end)) is not None:
        ci, m = hit
        text = view.norm[ci]
        lo, hi = max(0, m.start() - 40), min(len(text), m.end() + 40)
        if not any(n.start() <= m.start() and m.end() <= n.end() and n.end() - n.start() > m.end() - m.start()
                   for other in _containers(table, row) for n in other.pattern.finditer(text, lo, hi)):
            return hit
        pos = (ci, m.end())
    return None


def _match_rows(view: _View, table: Table, region: tuple[Pos, Pos]) -> list[tuple[Row, tuple[int, re.Match[str]]]]:
    """Find each row's label in printed order; a row whose label is not found is left out."""
    rows = list(table.rows)
    hits = []
    pos, end = region
    i = 0
    while i < len(rows):
        best = None
        bound = end
        for j in range(i, min(i + LOOKAHEAD, len(rows))):
            hit = _find_label(view, table, rows[j], pos, bound)
            if hit and (best is None or (hit[0], hit[1].start()) < (best[1][0], best[1][1].start())):
                best = (j, hit)
                bound = (hit[0], hit[1].start() + 1)  # a later row must be printed before this one
        if best is None:
            i += 1
            continue
        j, hit = best
        hits.append((rows[j], hit))
        pos = (hit[0], hit[1].end())
        i = j + 1
    return hits


@dataclass
class _Token:
    text: str
    source: str
    kind: str  # number, blank, placeholder
    run: bool = False  # printed inside running text (no cell boundaries), so digits may run together


@lru_cache(maxsize=8192)
def _classify(text: str) -> tuple[str, float | None, str | None] | None:
    """A whole cell's text as (status, value, unit), or None if it is label text."""
    v = _vocab()
    s = normalize(text).strip().strip(v["blank_chars"]).strip()
    if not s or s.replace("&nbsp;", "").strip() == "":
        return "blank", None, None
    if s in v["placeholders"]:
        return "placeholder", None, None
    m = v["number_full"].fullmatch(s)
    if m:
        value = float(m.group("int").replace(",", "") + ("." + m.group("frac") if m.group("frac") else ""))
        if m.group("sign") == "-":
            value = -value
        return "ok", value, m.group("unit")
    return None


def _flat_tokens(raw: str, norm: str, source: str, whole: bool = False) -> list[_Token]:
    """Values printed inside running text: skip the label's tail, then numbers until other text.

    A number joined to the values by a separator ("5、8") makes the text one unreadable token (the
    whole cell when `whole`: a cell of its own, not the label's), never its first number.
    """
    v = _vocab()
    m = v["first_value"].search(norm)
    if not m:
        return []
    out = []
    pos = m.start()
    while pos < len(norm):
        while pos < len(norm) and norm[pos] == " ":
            pos += 1
        if pos >= len(norm):
            break
        nm = v["number"].match(norm, pos)
        if nm and nm.group("int"):
            text = raw[pos:nm.end()]
            if nm.group("sign") and out and out[-1].kind == "number" and not raw[pos - 1].isspace() \
                    and re.fullmatch(r"[\d.+-]+", normalize(out[-1].text)):
                # a sign right after digits: a signed cell run together with its row, one run
                out[-1] = _Token(out[-1].text + text, source, "number", run=True)
            else:
                out.append(_Token(text, source, "number", run=True))
            pos = nm.end()
            continue
        pm = v["placeholder_re"].match(norm, pos)
        if pm and (pm.end() == len(norm) or norm[pm.end()] == " "):
            out.append(_Token(raw[pos:pm.end()], source, "placeholder", run=True))
            pos = pm.end()
            continue
        break
    if out and _JOINED.match(norm, pos) and not _NEXT_NUMBERING.fullmatch(norm, pos):
        # another number joined to the values by a separator ("5、8", "3,4,5", "(5)8"): which
        # printed number is which cell cannot be told, so the text is one unreadable value
        return [_Token((raw if whole else raw[m.start():]).strip(), source, "number")]
    return out


# After the values: a separator or an opening bracket, then a digit ("5、8", "(5)8"); a remark in
# words ("12（含3件）") or the next label is not a joined number.
_JOINED = re.compile(r"\s*(?:[、,;/+~。)\]]\s*|\(\s*)\d")
# The numbering of the next row left before its label ("(1" of "(1)属于…", "1" of "①属于…").
_NEXT_NUMBERING = re.compile(r"\s*[(\[]?\s*\d{1,2}\s*")


def _collect(view: _View, hit: tuple[int, re.Match[str]], limit: Pos, used: set[int]) -> list[_Token]:
    """The printed values that belong to a label: after it in its row, else in the rows below."""
    ci, m = hit
    tokens: list[_Token] = []
    text_end = limit[1] if limit[0] == ci else len(view.norm[ci])
    tokens += _flat_tokens(view.raw[ci][m.end():text_end], view.norm[ci][m.end():text_end], view.source[ci])
    if tokens:
        used.add(ci)
    label_block = view.block[ci]
    value_block = label_block  # the row the values come from: the label's, else the first below with any
    j = ci + 1
    stop = min(limit[0], len(view.norm) - 1)
    while j <= stop:
        if view.block[j] != value_block:
            if tokens:
                break
            value_block = view.block[j]
        hi = limit[1] if j == limit[0] else len(view.norm[j])
        if hi <= 0 and j == limit[0]:
            break
        whole = _classify(view.raw[j][:hi]) if j != limit[0] else None
        if whole is not None:
            status = whole[0]
            tokens.append(_Token(view.raw[j][:hi], view.source[j], "blank" if status == "blank" else
                                 ("number" if status == "ok" else "placeholder")))
            used.add(j)
        else:
            if view.block[j] != label_block and _LATE_TEXT.match(view.norm[j], 0, hi):
                break  # running text below the row (a paragraph): never a source of the row's values
            found = _flat_tokens(view.raw[j][:hi], view.norm[j][:hi], view.source[j], whole=True)
            if found:
                used.add(j)
            tokens += found
        j += 1
    return tokens


# Text with a number that is not at its start: in a row below the label, that is prose, not values.
_LATE_TEXT = re.compile(r"\s*[^\d\s+-][^\d]*\d")


# ---------------------------------------------------------------------------------------------
# Values → cells


_VALID = {
    "count": re.compile(r"0|[1-9]\d*"),
    "amount": re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?"),
    "signed": re.compile(r"[+-]?(?:0|[1-9]\d*)"),
}


def _run_splits(run: str, dtypes: list[str], rels: list[tuple[str, int, list[int], list[int]]]
                ) -> tuple[int, list[set[float]], list[tuple[float, ...]]]:
    """Splits of one digit run into a valid number per column, counted exactly (no cap).

    Returns the number of splits, each column's possible values, and up to two splits on which
    every relation in `rels` holds (a relation's result, printed after its operands, must print
    their sum, which prunes the search; memoised on the open partial sums).
    """
    n, size = len(dtypes), len(run)
    ends = [[[j for j in range(i + 1, size + 1) if _VALID[d].fullmatch(run, i, j)] for i in range(size)]
            for d in dtypes]
    back = [[0] * (size + 1) for _ in range(n + 1)]
    back[n][size] = 1
    for c in range(n - 1, -1, -1):
        for i in range(size):
            back[c][i] = sum(back[c + 1][j] for j in ends[c][i])
    values: list[set[float]] = [set() for _ in range(n)]
    reach = [{0}] + [set() for _ in range(n)]
    for c in range(n):
        for i in reach[c]:
            for j in ends[c][i] if i < size else []:
                if back[c + 1][j]:
                    reach[c + 1].add(j)
                    values[c].add(float(run[i:j]))
    if back[0][0] < 2 or not rels:
        return back[0][0], values, []
    ordered = all(r > max(p + m, default=-1) for _, r, p, m in rels)
    memo: dict[tuple[int, int, tuple[float, ...]], list[tuple[float, ...]]] = {}

    def solve(c: int, i: int, sums: tuple[float, ...], path: tuple[float, ...]) -> list[tuple[float, ...]]:
        if c == n:
            if i != size:
                return []
            if not ordered and not all(abs(path[r] - (sum(path[x] for x in p) - sum(path[x] for x in m))) < 1e-9
                                       for _, r, p, m in rels):
                return []
            return [()]
        key = (c, i, sums)
        if ordered and key in memo:
            return memo[key]
        forced = [k for k, (_, r, _, _) in enumerate(rels) if r == c] if ordered else []
        found: list[tuple[float, ...]] = []
        for j in ends[c][i] if i < size else []:
            if not back[c + 1][j]:
                continue
            v = float(run[i:j])
            if any(abs(sums[k] - v) > 1e-9 for k in forced):
                continue
            new = [0.0 if k in forced else s + (v if c in p else -v if c in m else 0.0)
                   for k, (s, (_, _, p, m)) in enumerate(zip(sums, rels))]
            for rest in solve(c + 1, j, tuple(new), path + (v,)):
                found.append((v, *rest))
                if len(found) == 2:
                    break
            if len(found) == 2:
                break
        if ordered:
            memo[key] = found
        return found

    return back[0][0], values, solve(0, 0, tuple(0.0 for _ in rels), ())


def _constraints(template: Template, keys: list[str]) -> list[tuple[str, int, list[int], list[int]]]:
    """Relations all of whose cells lie among `keys`, as index lists (to settle digit runs)."""
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for rel in template.relations:
        for result, plus, minus in rel.instances(template):
            if result in index and all(k in index for k in plus + minus):
                out.append((rel.id, index[result], [index[k] for k in plus], [index[k] for k in minus]))
    return out


def _cell(key: str, value: float | None, raw: str, status: str, source: str, note: str = "") -> dict[str, Any]:
    t, r, c = key.split("/", 2)
    return {"table": t, "row": r, "column": c, "value": value, "raw": raw, "status": status, "source": source,
            "note": note}


def _assign(template: Template, keys: list[str], dtypes: list[str], tokens: list[_Token],
            units: dict[str, str]) -> list[dict[str, Any]]:
    """Map printed values to cells: k-th value → k-th column; digit runs split only when certain."""
    n = len(keys)
    while len(tokens) > n and tokens[-1].kind == "blank":
        tokens = tokens[:-1]
    if len(tokens) == n:
        out = []
        for key, tok in zip(keys, tokens):
            status, value, unit = _classify(tok.text) or ("unreadable", None, None)
            if unit:
                units[key] = unit
            out.append(_cell(key, value, tok.text.strip(), status, tok.source,
                             "printed text is not a number" if status == "unreadable" else ""))
        return out
    raw_all = " ".join(t.text.strip() for t in tokens)
    source = tokens[0].source if tokens else ""
    if len(tokens) > n:
        numbers = [t for t in tokens if t.kind == "number"]
        only = _classify(numbers[0].text) if n == 1 and len(numbers) == 1 and not numbers[0].run else None
        if only is not None and only[0] == "ok":
            # one column printed over several cells (a split 本年处理决定数量 cell): the only number
            # is its value, the other cells hold nothing but blanks or placeholders
            if only[2]:
                units[keys[0]] = only[2]
            return [_cell(keys[0], only[1], numbers[0].text.strip(), "ok", numbers[0].source,
                          f"one column printed over {len(tokens)} cells ('{raw_all}'); the others are empty")]
        note = f"{len(tokens)} values printed for {n} columns"
        return [_cell(k, None, raw_all, "unreadable", source, note) for k in keys]
    digits = [normalize(t.text).strip() for t in tokens]
    # Only a single run of digits is split: separated values mean the cell boundaries were kept,
    # so fewer values than columns means cells were lost, and no split can say which.
    # A whole table cell is never split either: its boundaries are printed.
    if len(tokens) != 1 or not tokens[0].run or not re.fullmatch(r"[\d.+-]+", digits[0]):
        note = f"{len(tokens)} values printed for {n} columns" if tokens else "no values printed"
        status = "unreadable" if tokens else "missing"
        return [_cell(k, None, raw_all, status, source, note) for k in keys]
    rels = _constraints(template, keys)
    count, values, solutions = _run_splits(digits[0], dtypes, rels)
    rule_note = ", ".join(sorted({rid for rid, *_ in rels}))
    out = []
    for i, key in enumerate(keys):
        if count == 1:
            out.append(_cell(key, min(values[i]), raw_all, "ok", source,
                             f"digits run together in '{raw_all}'; the split is unique"))
        elif count and len(values[i]) == 1:
            out.append(_cell(key, min(values[i]), raw_all, "ok", source,
                             f"digits run together in '{raw_all}'; all {count} splits agree on this cell"))
        elif len(solutions) == 1:
            out.append(_cell(key, solutions[0][i], raw_all, "inferred", source,
                             f"digits run together in '{raw_all}' admit {count} splits; {rule_note} leaves one"))
        else:
            why = "no valid split" if not count else f"{count} splits"
            out.append(_cell(key, None, raw_all, "unreadable", source,
                             f"digits run together in '{raw_all}' admit {why}"))
    return out


def _table_cells(view: _View, template: Template, table: Table, region: tuple[Pos, Pos] | None,
                 units: dict[str, str], notes: list[str]) -> list[dict[str, Any]]:
    """All cells of one table (missing where not printed); report-level findings go to `notes`."""
    cells: list[dict[str, Any]] = []
    if region is None:
        for row in table.data_rows:
            for col in table.row_columns(row):
                cells.append(_cell(f"{table.key}/{row.key}/{col.key}", None, "", "missing", "",
                                   "table not found"))
        return cells
    used: set[int] = set()
    if table.layout == "single_row":
        keys, dtypes = [], []
        for row in table.data_rows:
            for col in table.row_columns(row):
                keys.append(f"{table.key}/{row.key}/{col.key}")
                dtypes.append(col.dtype)
        start, end = region
        header_hits = []
        pos = start
        assert table.header_pattern is not None
        while (hit := _find(view, table.header_pattern, pos, end)) is not None:
            header_hits.append(hit)
            pos = (hit[0], hit[1].end())
        if not header_hits:
            return [_cell(k, None, "", "missing", "", "table header not found") for k in keys]
        return _assign(template, keys, dtypes, _single_row_tokens(view, table, region, header_hits, len(keys)), units)
    hits = _match_rows(view, table, region)
    found = {row.key: (i, hit) for i, (row, hit) in enumerate(hits)}
    extras = _extra_columns(view, table, region, hits)
    checks: list[str] = []
    for row in table.data_rows:
        cols = table.row_columns(row)
        keys = [f"{table.key}/{row.key}/{c.key}" for c in cols]
        if row.key not in found:
            cells += [_cell(k, None, "", "missing", "", "row not found") for k in keys]
            continue
        i, hit = found[row.key]
        limit = (hits[i + 1][1][0], hits[i + 1][1][1].start()) if i + 1 < len(hits) else region[1]
        tokens = _collect(view, hit, limit, used)
        dtypes = [c.dtype for c in cols]
        printed = list(keys)
        if not row.columns:  # the extra columns stand among the table's own columns
            for spec, _label in extras:
                at = printed.index(f"{table.key}/{row.key}/{spec['after']}") + 1
                printed.insert(at, f"{table.key}/{row.key}/~{spec['key']}")
                dtypes.insert(at, "count")
        uncertain = [label for spec, label in extras if not spec["certain"]] if not row.columns else []
        if uncertain:
            cells += [_cell(k, None, " ".join(t.text.strip() for t in tokens), "unreadable", "",
                            f"extra column '{uncertain[0]}' printed where its place among the columns is not "
                            "certain") for k in keys]
            continue
        row_cells = _assign(template, printed, dtypes, tokens, units)
        by_col = {c["column"]: c for c in row_cells}
        for spec, _label in extras if not row.columns else ():
            extra = by_col[f"~{spec['key']}"]
            parts = [by_col.get(k) for k in spec.get("sum", ())]
            if extra["status"] == "ok" and parts and all(p is not None and p["status"] == "ok" for p in parts):
                if abs(sum(p["value"] for p in parts) - extra["value"]) > 1e-9:
                    checks.append(f"{row.key} ({extra['raw']} printed, {sum(p['value'] for p in parts):g} summed)")
        cells += [c for c in row_cells if not c["column"].startswith("~")]
    for spec, label in extras:
        parts = ", ".join(spec.get("sum", ()))
        if not spec["certain"]:
            notes.append(f"{table.key} prints an extra column '{label}' whose place among the columns is not "
                         "certain from its header; the table's rows are not read")
            continue
        notes.append(f"{table.key} prints an extra column '{label}' after {spec['after']}, left out of the record"
                     + (f"; it is not the sum of {parts} on rows: " + "; ".join(checks) if checks else
                        (f"; it equals the sum of {parts} wherever all were read" if parts else "")))
    cells += _unknown_rows(view, table, region, hits, used)
    return cells


def _single_row_tokens(view: _View, table: Table, region: tuple[Pos, Pos], header_hits: list[Any],
                       n: int) -> list[_Token]:
    """The values after a one-row table's header (Table 4): after its last header word, else, when
    that gives fewer than `n` (a note below the table names 行政复议 again), after the last earlier
    header word that gives all `n`, or over several rows of values, or one row per block."""
    end = region[1]
    first: list[_Token] | None = None
    for hit in reversed(header_hits[-40:]):
        tokens = _collect(view, hit, end, set())
        if len(tokens) < n:
            tokens = _more_value_rows(view, tokens, end, n, len(table.columns)) or tokens
        if first is None:
            first = tokens
        if len(tokens) == n:
            return tokens
        if tokens and len(tokens) > n:
            break
    return _block_rows(view, table, region) or first or []


def _value_cells(view: _View, cis: list[int]) -> list[_Token] | None:
    """The cells `cis` as value tokens if every one is a number, blank or placeholder, else None."""
    out = []
    for ci in cis:
        kind = _classify(view.raw[ci])
        if kind is not None:
            out.append(_Token(view.raw[ci], view.source[ci], "number" if kind[0] == "ok" else kind[0]))
            continue
        # a line of values separated by spaces ("23  —  10  0  33"): all of it must be values
        found = _flat_tokens(view.raw[ci], view.norm[ci], view.source[ci])
        if not found or _SPACE.sub("", "".join(normalize(t.text) for t in found)) != _SPACE.sub("", view.norm[ci]):
            return None
        out += found
    return out


_SPACE = re.compile(r"\s+")


def _block_cells(view: _View, ci: int) -> list[int]:
    """The cells after `ci` in the same block (the rest of its table row)."""
    out = []
    b = view.block[ci]
    for cj in range(ci + 1, len(view.norm)):
        if view.block[cj] != b:
            break
        out.append(cj)
    return out


def _more_value_rows(view: _View, tokens: list[_Token], end: Pos, n: int, width: int) -> list[_Token] | None:
    """Table 4's 15 numbers printed over several rows (5/5/5): the rows of values only that follow
    the first one, taken only if each row holds whole blocks (a multiple of `width` values) and
    together they give exactly `n` values (else None: a transposed 5×3 layout is not read)."""
    if not tokens or len(tokens) % width:
        return None
    last = max(i for i, src in enumerate(view.source) if src == tokens[-1].source)
    out = list(tokens)
    ci = last + 1
    while len(out) < n and (ci, 0) < end and ci < len(view.norm):
        cis = [ci] + _block_cells(view, ci)
        row = _value_cells(view, cis)
        filled = [t for t in row if t.kind != "blank"] if row is not None else []
        if row is None or (len(row) % width and len(filled) % width):  # whole blocks (trailing blanks aside)
            return None
        out += row
        ci = cis[-1] + 1
    while len(out) > n and out[-1].kind == "blank":
        out.pop()
    return out if len(out) == n else None


def _block_rows(view: _View, table: Table, region: tuple[Pos, Pos]) -> list[_Token] | None:
    """Table 4 printed as one row per block (行政复议 | 5 values; …直接起诉 | 5; 复议后起诉 | 5): each
    block's label followed, in its own row, by exactly its values; taken only if all blocks are."""
    out: list[_Token] = []
    pos = region[0]
    rows = table.data_rows
    for k, row in enumerate(rows):
        n = len(table.row_columns(row))
        got = None
        while got is None and (hit := _find(view, row.pattern, pos, region[1])) is not None:
            ci, m = hit
            pos = (ci + 1, 0)
            if any(later.pattern.search(view.norm[ci]) for later in rows[k + 1:]):
                continue  # 行政复议 inside "行政诉讼（未经行政复议直接起诉）": a later block's label
            tail_raw, tail = view.raw[ci][m.end():], view.norm[ci][m.end():]
            vals = _flat_tokens(tail_raw, tail, view.source[ci]) if tail.strip(" )") else []
            if len(vals) == n:  # the values on the label's own line ("行政复议  0 0 1 0 1")
                got = vals
                continue
            rest_cells = _block_cells(view, ci)
            rest = _value_cells(view, rest_cells)
            if rest is not None and len(vals) + len(rest) == n:
                got = vals + rest
                pos = (rest_cells[-1] + 1, 0) if rest_cells else pos
        if got is None:
            return None
        out += got
    return out


def _extra_columns(view: _View, table: Table, region: tuple[Pos, Pos], hits: list[Any]
                   ) -> list[tuple[dict[str, Any], str]]:
    """Columns a report prints beyond the template (法人或其他组织小计), found by their header text
    between the table's start and its first row label: (spec, printed header)."""
    if not table.extra_columns or not hits:
        return []
    first = (hits[0][1][0], hits[0][1][1].start())
    out = []
    for spec in table.extra_columns:
        pattern = _extra_pattern(tuple(spec["match"]))
        hit = _find(view, pattern, region[0], first)
        if hit is not None:
            ci, m = hit
            label = view.norm[ci][:m.end()].strip()
            label = label.split(" ")[-1] if " " in label else label
            before = view.norm[ci][:m.start()].strip() or _neighbour(view, ci, -1)
            after = view.norm[ci][m.end():].strip() or _neighbour(view, ci, 1)
            certain = bool(re.search(f"(?:{spec['prev']})$", before) and re.match(spec["next"], after)) \
                if spec.get("prev") and spec.get("next") else True
            out.append((dict(spec, certain=certain), label))
    return out


def _neighbour(view: _View, ci: int, step: int) -> str:
    """The nearest non-empty cell before (step -1) or after (+1) `ci` in its block, normalised."""
    cj = ci + step
    while 0 <= cj < len(view.norm) and view.block[cj] == view.block[ci]:
        if view.norm[cj].strip():
            return view.norm[cj].strip()
        cj += step
    return ""


@lru_cache(maxsize=None)
def _extra_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("[^\\s]*(?:" + "|".join(
        r"\s*".join(re.escape(ch) for ch in normalize(w).replace(" ", "")) for w in words) + ")")


def _unknown_rows(view: _View, table: Table, region: tuple[Pos, Pos], hits: list[Any],
                  used: set[int]) -> list[dict[str, Any]]:
    """Rows with a label and numbers that match no template row: kept as `unknown:<label>`."""
    if not hits:
        return []
    label_cells = {hit[0] for _, hit in hits}
    first = min(label_cells)
    by_block: dict[int, list[int]] = {}
    for ci in range(first, min(region[1][0], len(view.norm) - 1) + 1):
        by_block.setdefault(view.block[ci], []).append(ci)
    out = []
    for cis in by_block.values():
        if any(ci in label_cells or ci in used for ci in cis):
            continue
        label, values = None, []
        for ci in cis:
            kind = _classify(view.raw[ci])
            if kind is None and not values:
                label = view.raw[ci].strip()
            elif kind is not None and label:
                values.append((ci, kind))
        if not label or not any(k[0] == "ok" for _, k in values):
            continue
        cols = table.column_keys if len(values) == len(table.columns) else [f"c{i + 1}" for i in range(len(values))]
        name = re.sub(r"\s+", "", label)
        for col, (ci, (status, value, _unit)) in zip(cols, values):
            out.append({"table": table.key, "row": f"unknown:{name}", "column": col, "value": value,
                        "raw": view.raw[ci].strip(), "status": "unknown", "source": view.source[ci],
                        "note": f"printed status {status}"})
    return out


# ---------------------------------------------------------------------------------------------
# Metadata


def _date(text: str) -> dt.date | None:
    v = _vocab()
    for pattern in (v["date"], v["iso_date"]):
        m = pattern.search(normalize(text))
        if m:
            try:
                return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            except ValueError:
                continue
    return None


def _title_parts(title: str) -> tuple[str | None, int | None]:
    """(agency, year) from a title like 2019年X政府信息公开工作年度报告 or X2022年度…报告."""
    v = _vocab()
    t = re.sub(r"\s+", "", normalize(title))
    idx = t.find(v["title_suffix"])
    if idx < 0:
        return None, None
    head = t[:idx]
    m = None
    for m in v["year_title"].finditer(head):
        pass
    year = int(m.group("year")) if m else None
    agency = (head[:m.start()] + head[m.end():]) if m else head
    agency = v["title_strip"].sub("", agency).strip(" :：-_")
    return (agency or None), year


def _metadata(doc: Document, view: _View, sections: dict[str, tuple[Pos, Pos]]) -> dict[str, Any]:
    v = _vocab()
    title = doc.header.get("title") or None
    candidates = [title, doc.title] + [view.raw[i] for i in range(min(len(view.raw), 12))]
    agency = year = None
    first_title = None
    for i, cand in enumerate(candidates):
        if not cand or v["title_suffix"] not in normalize(cand).replace(" ", ""):
            continue
        first_title = first_title or cand.strip()
        a, y = _title_parts(cand)
        if a is None and i >= 2 and i - 3 >= 0:
            prev = view.raw[i - 3].strip()  # a title block: the agency on the line above
            if prev and v["agency_suffix"].search(normalize(prev)) and len(prev) <= 30:
                a = prev
        agency = agency or a
        year = year or y
        if agency and year:
            break
    body = doc.text()
    if year is None:
        m = v["period"].search(normalize(body[:5000]))
        year = int(m.group("year")) if m else None
    if year is None and "overview" in sections:
        ci = sections["overview"][1][0]
        m = v["first_year"].search(normalize(" ".join(view.raw[ci:ci + 3])))
        year = int(m.group("year")) if m else None
    # Signature: an organ name and a date among the last lines.
    report_date = None
    tail = [r.strip() for r in view.raw[-6:] if r.strip()]
    for k in range(len(tail) - 1, -1, -1):
        d = _date(tail[k]) if len(tail[k]) <= 40 else None
        if d:
            report_date = d
            if agency is None and k > 0 and len(tail[k - 1]) <= 30 and v["agency_suffix"].search(normalize(tail[k - 1])):
                agency = tail[k - 1]
            break
    if report_date is None:
        dates = list(v["date"].finditer(normalize(body[-200:])))
        if dates and not normalize(body[-200:])[dates[-1].end():].strip():  # a date that ends the text
            report_date = _date(dates[-1].group(0))
    published = _date(doc.header.get("published", "")) if doc.header.get("published") else None
    if published is None:
        for r in view.raw[:6]:
            if len(r) <= 40 and _date(r) and not v["title_suffix"] in normalize(r):
                published = _date(r)
                break
    if agency is None and doc.header.get("agency"):
        agency = doc.header["agency"]
    return {"agency": agency, "year": year, "report_date": report_date or published, "published": published,
            "organ_kind": organ_kind(agency), "title": first_title}


def _section_texts(view: _View, sections: dict[str, tuple[Pos, Pos]]) -> dict[str, str]:
    order = sorted(sections.items(), key=lambda kv: kv[1][0])
    out = {}
    for i, (sid, (_, body_start)) in enumerate(order):
        end = order[i + 1][1][0] if i + 1 < len(order) else view.end
        parts = []
        for ci in range(body_start[0], min(end[0], len(view.raw) - 1) + 1):
            lo = body_start[1] if ci == body_start[0] else 0
            hi = end[1] if ci == end[0] else len(view.raw[ci])
            parts.append((view.block[ci], view.raw[ci][lo:hi]))
        lines: list[str] = []
        last_block = None
        for b, text in parts:
            if b == last_block and lines:
                lines[-1] += "\t" + text
            else:
                lines.append(text)
            last_block = b
        out[sid] = "\n".join(x.strip() for x in lines if x.strip())
    return out


# ---------------------------------------------------------------------------------------------
# Entry points


def parse_document(doc: Document) -> Report:
    """Turn a reader's `Document` into a `Report` (raises `NotAReport` / `NoTablesFound`)."""
    view = _view(doc)
    sections = _sections(view)
    meta = _metadata(doc, view, sections)
    regions = _regions(view, sections, get_template("2021"))
    version = _detect_version(view, regions, meta["year"])
    template = get_template(version)
    if version != "2021":
        regions = _regions(view, sections, template)
    units: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    table_notes: list[str] = []
    for table in template.tables.values():
        foreign = _foreign_columns(view, version, table, regions.get(table.key))
        if foreign:
            table_notes.append(foreign)
            rows += [_cell(f"{table.key}/{r.key}/{c.key}", None, "", "unreadable", "", foreign)
                     for r in table.data_rows for c in table.row_columns(r)]
            continue
        rows += _table_cells(view, template, table, regions.get(table.key), units, table_notes)
    # A report prints its tables: at least one cell read for sure (a number, a blank, a placeholder).
    if not any(r["status"] in _READ_FOR_SURE for r in rows):
        looks_like_report = len(sections) >= 2 or meta["title"] is not None
        if not looks_like_report:
            raise NotAReport(doc.path, "no report headings and none of the three statistical tables")
        raise NoTablesFound(doc.path, f"found {len(sections)} of the six section headings but no table row "
                                      "with printed values")
    notes = list(doc.notes) + table_notes
    missing_tables = [t for t in template.tables if t not in regions]
    if missing_tables:
        notes.append("tables not found: " + ", ".join(missing_tables))
    return Report(cells=cells_frame(rows), template=version, form=doc.form, encoding=doc.encoding,
                  sha256=doc.sha256, path=doc.path, sections=_section_texts(view, sections), units=units,
                  notes=notes, **meta)


def read_report(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Report:
    """Read and parse one report file (text, HTML, DOCX or PDF) into a `Report`.

    Raises a `ReportError` subclass naming the file when it cannot be read as a report.
    """
    doc = read_document(Path(path), max_bytes=max_bytes)
    return parse_document(doc)
