"""Robustness families: the layouts real publishers, converters and hostile files print, with the
cells a correct parser must read from each as an independent oracle.

Every family of issue 11 is a transformation of the generator's table grids (the logical cells the
form renderers print) or a post-processing of the rendered text. The oracle `expected` comes from
the generator's own choices (what it printed where), never from the parser:

- `labels`     label variants (a character missing, cut short, numbering dropped or changed, ASCII
               punctuation, OCR look-alikes), each still closest to its own label: cells `ok`.
- `detached`   PDF-to-Markdown output: labels as loose (wrapped) lines interleaved with the glyphs of
               the results group label, value rows after them with no label as `| 0 | … |` rows,
               sometimes a later row's label before an earlier row, a stray number line. A value
               row whose label is printed (even detached, in sequence) is `ok`; a row whose label is
               not printed at all is `inferred` (template order and the count of value rows in its
               run single it out).
- `vertical`   the results group label (and some sub-group labels) one glyph per data row: `ok`.
- `hybrid`     a 2021 table printing （六）其他处理 as one row (2019 style): the row's cells under
               `table_3/other_handling/*` (`ok`), the three 2021 （六） rows `missing`.
- `furniture`  page marks (`— 4 —`, `第 4 页`), running headers and (Markdown only, where a line
               outside the pipe rows cannot be a cell) bare page numbers between Table 3 rows: `ok`.
- `cuts`       Table 4 as three 5-column tables, Table 3 as one table per row, a shredded Table 3
               header (Markdown), Table 2 bands in another order or as plain lines before the table: `ok`.
- `spaces`     (flat text) stray spaces inside a row's digit run, never as many pieces as columns:
               the digit-run rule of `split_run` decides (`ok` / `inferred` / `unreadable`).
- `permute`    Table 3 columns in another order together with their header labels: `ok`.
- `invisible`  format characters (soft hyphen, zero-width, bidi marks, …) inside numbers: `ok`.
- `duplicate`  another report's Table 3 printed before the report's own: cells where the two copies
               differ `unreadable`, cells where they agree `ok`.
- `omitted`    Table 3 outcome rows not printed (a run, e.g. all between （二） and （七）, or a few):
               their cells `missing`, the others `ok` (a label word inside another label must not
               pull a printed row onto an unprinted one).
- `metadata`   the title dressed (`# …`, quotation marks) and a cited document name that holds the
               title suffix printed after it: cells as printed; the agency and year are the report's.

`render_family(report, family, form, rng)` renders one family, `render_families` several at once,
`random_combination` draws a compatible set; `FAMILY_FORMS` says where each occurs.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools
import html as htmlmod
import importlib
import pkgutil
import random
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..template import Row, common, get_template, read_data
from . import (
    _G,
    Rendered,
    SynthReport,
    _cont,
    _frame,
    _grid_width,
    _headings,
    _layout,
    _level,
    _texts,
    _title,
    random_report,
    render,
)

__all__ = ["FAMILIES", "FAMILY_FORMS", "VERDICTS", "judge", "random_combination", "render_families",
           "render_family"]

FAMILIES = ("labels", "detached", "vertical", "hybrid", "furniture", "cuts", "spaces", "permute", "invisible",
            "duplicate", "metadata", "omitted")
# The forms where each family occurs (and that the generator can print it in).
FAMILY_FORMS: dict[str, tuple[str, ...]] = {
    "labels": ("text", "markdown", "html", "docx", "pdf", "flat"),
    "detached": ("markdown",),
    "vertical": ("text", "markdown", "html", "docx", "pdf", "flat"),
    "hybrid": ("text", "markdown", "html", "docx", "pdf"),
    "furniture": ("text", "markdown"),
    "cuts": ("text", "markdown", "html", "docx", "pdf"),
    "spaces": ("flat",),
    "permute": ("text", "markdown", "html", "docx", "pdf", "flat"),
    "invisible": ("text", "markdown", "html", "docx"),
    "duplicate": ("text", "markdown", "html", "docx"),
    "metadata": ("text", "markdown", "html"),
    "omitted": ("text", "markdown", "html", "docx", "pdf", "flat"),
}
# Pairs that are not combined (each changes the same rows in ways that would need a joint oracle).
# `omitted` with `detached`: with rows missing, order and counts no longer single out a row printed
# without its label.
_CLASH = {frozenset(p) for p in [("duplicate", "hybrid"), ("duplicate", "detached"), ("duplicate", "cuts"),
                                 ("duplicate", "omitted"), ("omitted", "hybrid"), ("omitted", "detached"),
                                 ("detached", "vertical")]}
# Grid steps run in this order whatever order the families were asked in.
_ORDER = ("omitted", "hybrid", "permute", "invisible", "labels", "vertical", "duplicate", "cuts", "detached",
          "furniture", "spaces", "metadata")

# Marker characters (private use) for rows the form post-processing turns into layout.
_CUT = "\ue000"    # end the table here and start another
_LINE = "\ue001"   # a line of text outside any table
_VROW = "\ue002"   # a value row with no label (Markdown `| v | v | … |`), values joined by _SEP
_SEP = "\ue003"  # not whitespace: a blank value at the end of a row must survive
_GLYPH = "glyph"   # the key of a label cell holding a glyph of a vertical label
_NUMBER = re.compile(r"[+\-]?\d+(?:\.\d+)?")


@functools.lru_cache(maxsize=None)
def _words() -> dict[str, Any]:
    """Layout words of the families (templates/synth_families.yaml)."""
    return read_data("synth_families.yaml")


# ---------------------------------------------------------------------------------------------
# The plan: what each family chose, applied to the grids, the text and the oracle


@dataclass
class _Plan:
    """One rendering: the report, form and families, and what the families chose (for the oracle)."""

    report: SynthReport
    form: str
    rng: random.Random
    families: tuple[str, ...]
    inferred: set[str] = field(default_factory=set)      # row keys printed with no label text at all
    differ: set[str] = field(default_factory=set)        # cells whose duplicated copies differ
    hybrid: dict[str, str] = field(default_factory=dict)  # other_handling column → printed text
    omitted: set[str] = field(default_factory=set)       # Table 3 row keys not printed
    cuts: tuple[str, ...] = ()


Grids = dict[str, list[list[_G]]]


def _first_data(grid: list[list[_G]]) -> int:
    """Index of the first grid row that holds a value cell."""
    return next(i for i, row in enumerate(grid) if any(c.kind == "value" for c in row))


def _row_key(row: list[_G]) -> str | None:
    """The template row key of a grid row (from its first value cell), None for label-only rows."""
    for c in row:
        if c.kind == "value" and c.key:
            return c.key.split("/")[1]
    return None


def _mark(kind: str, text: str = "", cs: int = 1) -> list[_G]:
    """A marker row: a table cut, a loose line or a label-less value row (see the post-processing)."""
    return [_G(kind + text, cs=cs, kind="head")]


def _labels_by_text(table: str, version: str) -> dict[str, Row]:
    """Printed label → template row, for a table's rows (Table 3 groups included)."""
    t = get_template(version).tables[table]
    return {r.printed_label: r for r in t.rows}


# ---------------------------------------------------------------------------------------------
# Families on the grids


def _hybrid(grids: Grids, plan: _Plan) -> None:
    """（六）其他处理 as one 2019 row: the sum of the three 2021 rows (or the first's placeholder)."""
    grid = grids["requests"]
    tmpl = get_template("2021")
    kids = [r.key for r in tmpl.tables["table_3"].rows if r.key.startswith("oth_")]
    label = get_template("2019").row_info[("table_3", "other_handling")].printed_label
    idx = [i for i, row in enumerate(grid) if _row_key(row) in kids]
    cols = tmpl.tables["table_3"].column_keys
    values = []
    for col in cols:
        cells = [plan.report.cells[f"table_3/{k}/{col}"] for k in kids]
        nums = [v for v in cells if isinstance(v, (int, float))]
        text = str(int(sum(nums)) if all(float(v).is_integer() for v in nums) else sum(nums)) if nums \
            else str(cells[0])
        plan.hybrid[col] = text
        values.append(_G(text, key=f"table_3/other_handling/{col}", kind="value"))
    top = next(c for row in grid for c in row[:1] if c.kind == "label" and c.rs > 3)
    top.rs -= len(idx) - 1
    first = grid[idx[0]]
    new = [first[0] if first[0].kind != "cont" else _cont(), _G(label, cs=2)] + values
    grid[idx[0]:idx[-1] + 1] = [new]


def _drop_row(grid: list[list[_G]], r: int) -> None:
    """Remove grid row r keeping the merges: a merged cell it starts moves to the next row, a merged
    cell it continues loses a row."""
    for i, cell in enumerate(grid[r]):
        if cell.kind == "cont":
            up = r - 1
            while up >= 0 and (i >= len(grid[up]) or grid[up][i].kind == "cont"):
                up -= 1
            if up >= 0:
                grid[up][i].rs -= 1
        elif cell.rs > 1:
            cell.rs -= 1
            grid[r + 1][i] = cell
    del grid[r]


def _omitted(grids: Grids, plan: _Plan) -> None:
    """Table 3 outcome rows not printed: a run of them (those between （二） and （七）, say) or a few
    scattered ones; a group whose rows are all gone loses its label too."""
    grid = grids["requests"]
    tmpl = get_template(plan.report.template)
    outcome = [r.key for r in tmpl.tables["table_3"].data_rows if _level(r) >= 2 and r.key != "results_total"]
    roll = plan.rng.random()
    if roll < 0.25:  # everything between （二） and （七）: 部分公开's label holds the word 其他
        gone = set(outcome[outcome.index("partial") + 1:])
    elif roll < 0.6:
        a = plan.rng.randrange(len(outcome))
        gone = set(outcome[a:a + plan.rng.randint(1, len(outcome) - a)])
    else:
        gone = set(plan.rng.sample(outcome, plan.rng.randint(1, 4)))
    if len(gone) == len(outcome):
        gone.discard(outcome[0])
    plan.omitted = gone
    for r in range(len(grid) - 1, -1, -1):
        if _row_key(grid[r]) in gone:
            _drop_row(grid, r)


def _permute(grids: Grids, plan: _Plan) -> None:
    """Table 3 columns in another order, the header printed one label per column in that order."""
    grid = grids["requests"]
    t = get_template(plan.report.template).tables["table_3"]
    cols = list(t.columns.values())
    order = list(range(len(cols)))
    while order == sorted(order):
        plan.rng.shuffle(order)
    spec = _layout(plan.report.template)["table_3"]
    first = _first_data(grid)
    head = [[_G(spec.get("header_note", ""), cs=3, rs=2, kind="head"),
             _G(spec.get("column_group", ""), cs=len(cols), kind="head")],
            [_cont(3)] + [_G(cols[i].label, kind="head") for i in order]]
    body = []
    for row in grid[first:]:
        vals = [c for c in row if c.kind == "value"]
        labels = [c for c in row if c.kind != "value"]
        body.append(labels + [vals[i] for i in order] if len(vals) == len(cols) else row)
    grid[:] = head + body


def _invisible(grids: Grids, plan: _Plan) -> None:
    """Format characters inside some numbers of every table."""
    chars = _words()["invisible"]
    share = plan.rng.uniform(0.1, 0.5)
    for grid in grids.values():
        for row in grid:
            for c in row:
                if c.kind == "value" and _NUMBER.fullmatch(c.text) and plan.rng.random() < share:
                    at = plan.rng.randint(1, len(c.text) - 1) if len(c.text) > 1 else plan.rng.randint(0, 1)
                    c.text = c.text[:at] + plan.rng.choice(chars) + c.text[at:]


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _label_variant(row: Row, labels: Sequence[str], rng: random.Random) -> str | None:
    """A printed variant of a row's label that stays closest to its own label (None if none is)."""
    w = _words()
    body = row.label
    number = row.printed_label[: len(row.printed_label) - len(body)]
    kinds = rng.sample(["missing", "cut", "numbering", "ascii", "lookalike"], rng.randint(1, 2))
    if "numbering" in kinds and row.number:
        lv = _level(row)
        digit = str(w["chinese_digits"].get(row.number.strip("（）()"), row.number))
        number = rng.choice(w["numbering"][lv]).format(n=row.number.strip("（）()"), d=digit)
    if "missing" in kinds and len(body) >= 5:
        at = rng.randint(1, len(body) - 2)
        body = body[:at] + body[at + 1:]
    if "cut" in kinds and len(body) >= 6:
        body = body[: rng.randint(max(4, -(-len(body) * 6 // 10)), len(body) - 1)]
    if "ascii" in kinds:
        table = str.maketrans(w["ascii_punctuation"])
        number, body = number.translate(table), body.translate(table)
    if "lookalike" in kinds:
        text = number + body
        spots = [i for i, ch in enumerate(text) if ch in w["lookalikes"]]
        if spots:
            i = rng.choice(spots)
            text = text[:i] + w["lookalikes"][text[i]] + text[i + 1:]
            number, body = text[: len(number)], text[len(number):]
    own = _similar(body, row.label)
    rival = max((_similar(body, other) for other in labels if other != row.label), default=0.0)
    if own < w["label_min_ratio"] or own - rival < w["label_margin"]:
        return None
    return number + body


def _labels(grids: Grids, plan: _Plan) -> None:
    """Row labels of Tables 2 and 3 printed as variants."""
    for sid, table in (("proactive", "table_2"), ("requests", "table_3")):
        by_text = _labels_by_text(table, plan.report.template)
        labels = [r.label for r in by_text.values()]
        share = plan.rng.uniform(0.3, 0.8)
        for row in grids[sid]:
            for c in row:
                if c.kind == "label" and c.text in by_text and plan.rng.random() < share:
                    variant = _label_variant(by_text[c.text], labels, plan.rng)
                    if variant:
                        c.text = variant


def _glyphs(text: str) -> list[str]:
    """A label's glyphs as a vertical label prints them: its numbering (三、 （三）) as one piece and
    a glyph that reads as a placeholder (一) kept with the one before it: alone in a row it could
    be taken for a cell."""
    words = set(common()["cells"]["placeholders"])
    number = re.match(r"[（(][^）)]*[）)]|[一二三四五六七八九十]+、", text)
    out: list[str] = [number.group(0)] if number else []
    for ch in text[number.end() if number else 0:]:
        if out and ch in words:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _spread(grid: list[list[_G]], r0: int, col: int, inside: bool = False) -> None:
    """A merged label cell at (row r0, position col) printed one glyph per row it spans; `inside`:
    each glyph between the row's own label and its values (a text layer's reading order)."""
    cell = grid[r0][col]
    glyphs = _glyphs(cell.text)
    n = cell.rs
    start = max(0, (n - len(glyphs)) // 2)
    for k in range(n):
        row = grid[r0 + k]
        text = glyphs[k - start] if 0 <= k - start < len(glyphs) else ""
        if k == n - 1 and k - start < len(glyphs) - 1:
            text = "".join(glyphs[max(0, k - start):])  # more glyphs than rows: the rest on the last row
        row[col] = _G("" if inside else text, kind="label", key=_GLYPH if text and not inside else None)
        if inside and text:
            at = next(i for i, c in enumerate(row) if c.kind == "value")
            row.insert(at, _G(text, kind="label", key=_GLYPH))


def _vertical(grids: Grids, plan: _Plan) -> None:
    """The results group label (and some sub-group labels) one glyph per data row; in text and
    Markdown (a PDF text layer's order) sometimes inside the rows, between label and values."""
    grid = grids["requests"]
    inside = plan.form in ("text", "markdown") and plan.rng.random() < 0.5
    for r, row in enumerate(grid):
        if row and row[0].kind == "label" and row[0].rs > 3:
            _spread(grid, r, 0, inside)
            break
    for r, row in enumerate(grid):
        if len(row) > 1 and row[1].kind == "label" and row[1].rs > 2 and plan.rng.random() < 0.3:
            _spread(grid, r, 1)


def _duplicate(grids: Grids, plan: _Plan, opts: dict[str, Any], original: Callable[..., Grids]) -> None:
    """Another report's Table 3 printed before the report's own."""
    rep = plan.report
    mine = _texts(rep, opts)
    for _ in range(20):  # another organ's table: one that differs somewhere
        other = random_report(plan.rng.getrandbits(64), template=rep.template, year=rep.year,
                              organ_kind=plan.rng.choice(["department", "government"]))
        their = _texts(other, opts)
        plan.differ = {k for k in mine if k.startswith("table_3/") and mine[k].strip() != their[k].strip()}
        if plan.differ:
            break
    theirs = original(other, opts, their, False)["requests"]
    ours = grids["requests"]
    grids["requests"] = theirs + [_mark(_CUT, cs=_grid_width(ours))] + ours


def _table4_split(grid: list[list[_G]], version: str) -> list[list[_G]]:
    """Table 4 as one 5-column table per block (label rows, column labels, values)."""
    t = get_template(version).tables["table_4"]
    cols = list(t.columns.values())
    values = {c.key: c for c in grid[-1] if c.key}
    out: list[list[_G]] = []
    for i, row in enumerate(t.data_rows):
        if i:
            out.append(_mark(_CUT, cs=len(cols)))
        if row.parent:
            out.append([_G(row.parent, cs=len(cols), kind="head")])
        out.append([_G(row.label, cs=len(cols), kind="head")])
        out.append([_G(c.label, kind="head") for c in cols])
        out.append([values[f"table_4/{row.key}/{c.key}"] for c in cols])
    return out


def _table3_per_row(grid: list[list[_G]], rng: random.Random) -> list[list[_G]]:
    """Table 3 as its header table and then one small table per row (group labels as lines)."""
    first = _first_data(grid)
    width = _grid_width(grid)
    out = grid[:first]
    for row in grid[first:]:
        glyphs = [c.text for c in row if c.kind == "label" and c.text and c.key == _GLYPH]
        labels = glyphs + [c.text for c in row if c.kind == "label" and c.text and c.key != _GLYPH]
        vals = [c for c in row if c.kind == "value"]
        out.append(_mark(_CUT, cs=width))
        for group in labels[:-1]:
            if rng.random() < 0.5:
                out.append(_mark(_LINE, group, cs=width))
        out.append([_G(labels[-1] if labels else "", cs=width - len(vals))] + vals)
    return out


def _table2_bands(grid: list[list[_G]], rng: random.Random, as_lines: bool) -> list[list[_G]]:
    """Table 2 bands in another order; or some bands as plain lines before the table."""
    bands: list[list[list[_G]]] = []
    for row in grid:
        if len(row) == 1 and row[0].kind == "head" or not bands:
            bands.append([])  # a band starts at its caption row
        bands[-1].append(row)
    if not as_lines:
        order = list(range(len(bands)))
        while order == sorted(order) and len(order) > 1:
            rng.shuffle(order)
        return [row for i in order for row in bands[i]]
    width = _grid_width(grid)
    # Only bands whose every cell prints something: in a plain line a blank cell leaves no trace.
    full = [i for i in range(1, len(bands))
            if all(c.text.strip() for row in bands[i] for c in row if c.kind == "value")]
    loose = [i for i in full if rng.random() < 0.7] or full[-1:]
    if not loose:
        return grid
    out: list[list[_G]] = []
    for i in loose:
        for row in bands[i]:
            sep = " " if any(c.kind == "value" for c in row) else ""
            out.append(_mark(_LINE, sep.join(c.text for c in row if c.text), cs=width))
    out.append(_mark(_CUT, cs=width))
    out += [row for i in range(len(bands)) if i not in loose for row in bands[i]]
    return out


def _shred_header(grid: list[list[_G]], version: str, rng: random.Random) -> list[list[_G]]:
    """The Table 3 header as a converter shreds it: loose lines with the first part of each
    organisation label run together, the rest of the labels as the table's first pipe row."""
    t = get_template(version).tables["table_3"]
    spec = _layout(version)["table_3"]
    cols = list(t.columns.values())
    org = [c.label for c in cols if c.group]
    width = _grid_width(grid)
    note = spec.get("header_note", "")
    cut = rng.randint(4, max(4, len(note) - 4))
    heads, rests = [], []
    for label in org[:-1]:
        k = rng.randint(1, len(label) - 1)
        heads.append(label[:k])
        rests.append(label[k:])
    lines = [spec.get("column_group", ""), note[:cut] + (org and cols[1].group or ""), note[cut:],
             cols[0].label + cols[-1].label, "".join(heads), org[-1]]
    first = _first_data(grid)
    return [_mark(_LINE, x, cs=width) for x in lines if x] + [[_G(x, kind="head") for x in rests]] + grid[first:]


def _cuts(grids: Grids, plan: _Plan) -> None:
    """Tables cut differently (the kinds drawn for this form and the other families)."""
    v = plan.report.template
    if "table4_split" in plan.cuts:
        grids["review"] = _table4_split(grids["review"], v)
    if "bands_order" in plan.cuts:
        grids["proactive"] = _table2_bands(grids["proactive"], plan.rng, as_lines=False)
    if "table2_lines" in plan.cuts:
        grids["proactive"] = _table2_bands(grids["proactive"], plan.rng, as_lines=True)
    if "table3_per_row" in plan.cuts:
        grids["requests"] = _table3_per_row(grids["requests"], plan.rng)
    if "header_shred" in plan.cuts:
        grids["requests"] = _shred_header(grids["requests"], v, plan.rng)


def _wrap(text: str, rng: random.Random) -> list[str]:
    """A label wrapped at a cell edge as a PDF text layer prints it."""
    w = rng.randint(6, 12)
    return [text[i:i + w] for i in range(0, len(text), w)] or [text]


def _detached(grids: Grids, plan: _Plan) -> None:
    """Results-block rows whose labels print as loose lines before label-less value rows."""
    rng = plan.rng
    grid = grids["requests"]
    width = _grid_width(grid)
    first = _first_data(grid)
    tmpl = get_template(plan.report.template)
    block = {r.key for r in tmpl.tables["table_3"].data_rows if _level(r) >= 2} | {"other_handling"}
    rows = grid[first:]
    idx = [i for i, row in enumerate(rows) if _row_key(row) in block]
    if not idx:
        return
    share = rng.uniform(0.3, 0.8)
    detached = {i for i in idx if rng.random() < share} or {rng.choice(idx)}
    omit = rng.choice(sorted(detached)) if rng.random() < 0.4 else None
    if omit is not None:
        plan.inferred.add(str(_row_key(rows[omit])))
    # The results label: its head stays where it was printed, the rest as glyph pieces among the lines.
    top_i = idx[0]
    top = rows[top_i][0]
    glyphs: list[str] = []
    if top.kind == "label" and top.text:
        keep = rng.randint(2, min(4, len(top.text)))
        rest = top.text[keep:]
        glyphs = [rest[i:i + 2] for i in range(0, len(rest), 2)]
        rows[top_i][0] = _G(top.text[:keep], cs=top.cs, kind="label")
    chunks: list[list[int]] = []
    for i in range(len(rows)):
        if i in detached:
            if chunks and chunks[-1][-1] == i - 1 and len(chunks[-1]) < rng.randint(1, 3):
                chunks[-1].append(i)
            else:
                chunks.append([i])
    lines: dict[int, list[list[str]]] = {}  # chunk start → label line groups (one per row)
    for chunk in chunks:
        groups = []
        for i in chunk:
            labels = [c.text for c in rows[i] if c.kind == "label" and c.text]
            if i == top_i and labels:
                labels = labels[1:]  # the results label head stays inline
                groups.append([rows[i][0].text])
            if i == omit:
                labels = labels[:-1]
            groups.append([piece for text in labels for piece in _wrap(text, rng)])
        lines[chunk[0]] = groups
    starts = [c[0] for c in chunks]
    for a, b in zip(starts, starts[1:]):  # a later row's label printed before an earlier row
        if rng.random() < 0.3 and lines[b] and lines[b][0]:
            lines[a].append(lines[b].pop(0))
    out = list(grid[:first])
    pending = list(glyphs)
    for i, row in enumerate(rows):
        if i not in detached:
            out.append(row)
            continue
        if i in lines:
            flat = [piece for group in lines[i] for piece in group]
            if pending and flat:
                piece = pending.pop(0)
                at = rng.randint(0, len(flat))
                if 0 < at < len(flat) and rng.random() < 0.5:
                    flat[at] = piece + flat[at]  # 理结计这一情形…: a glyph run into a wrapped line
                else:
                    flat.insert(at, piece)
            if i == starts[-1]:
                flat += pending
                pending = []
            if rng.random() < 0.25:
                flat.append(str(rng.randint(1, 9)))  # a stray number line before the value rows
            out += [_mark(_LINE, x, cs=width) for x in flat if x]
        out.append(_mark(_VROW, _SEP.join(c.text for c in row if c.kind == "value"), cs=width))
    grids["requests"] = out


_GRID_STEPS: dict[str, Callable[[Grids, _Plan], None]] = {
    "omitted": _omitted, "hybrid": _hybrid, "permute": _permute, "invisible": _invisible, "labels": _labels,
    "vertical": _vertical,
    "cuts": _cuts, "detached": _detached,
}


def _unmark(grids: Grids) -> None:
    """Forms without post-processing (DOCX, PDF): a marker row prints as an empty row."""
    for grid in grids.values():
        for row in grid:
            for c in row:
                if c.text[:1] in (_CUT, _LINE, _VROW):
                    c.text = ""


@contextlib.contextmanager
def _grid_hook(plan: _Plan) -> Iterator[None]:
    """While rendering, every renderer's `_grids` returns the grids with the plan's families applied."""
    base = __name__.rsplit(".", 1)[0]
    for info in pkgutil.iter_modules(importlib.import_module(base).__path__):
        importlib.import_module(f"{base}.{info.name}")  # a renderer imported later would escape the hook
    mods = [m for name, m in list(sys.modules.items())
            if (name == base or name.startswith(base + ".")) and m is not sys.modules[__name__]
            and callable(getattr(m, "_grids", None))]
    if not mods:
        raise RuntimeError(f"no module of {base} has `_grids`: the families cannot reach the renderers")
    saved = [(m, m._grids) for m in mods]

    def wrap(original: Callable[..., Grids]) -> Callable[..., Grids]:
        def grids(report: SynthReport, opts: dict[str, Any], texts: dict[str, str], unknown: bool = True) -> Grids:
            out = copy.deepcopy(original(report, opts, texts, unknown))
            for fam in _ORDER:
                if fam not in plan.families:
                    continue
                if fam == "duplicate":
                    _duplicate(out, plan, opts, original)
                elif fam in _GRID_STEPS:
                    _GRID_STEPS[fam](out, plan)
            if plan.form in ("docx", "pdf"):
                _unmark(out)
            return out
        return grids

    try:
        for m, original in saved:
            m._grids = wrap(original)
        yield
    finally:
        for m, original in saved:
            m._grids = original


# ---------------------------------------------------------------------------------------------
# Post-processing of the printed text


def _marker(text: str) -> tuple[str, str] | None:
    """(marker, text) of a line or cell carrying a marker."""
    for m in (_CUT, _LINE, _VROW):
        at = text.find(m)
        if at >= 0:
            rest = text[at + 1:]
            return m, rest
    return None


def _post_markdown(text: str) -> str:
    out: list[str] = []
    after_mark = False
    for line in text.split("\n"):
        hit = _marker(line)
        if hit:
            kind, rest = hit
            rest = rest.split(" |")[0].strip(" ")
            if kind == _CUT:
                out.append("")
            elif kind == _LINE:
                out.append(rest)
            else:
                vals = rest.split(_SEP)
                out += ["| " + " | ".join(vals) + " |", "|" + "---|" * len(vals)]
            after_mark = True
            continue
        if after_mark and line.startswith("|") and set(line) <= set("|-: "):
            continue  # the rule the renderer printed under a marker row
        if after_mark and line.startswith("|"):
            out += ["", line, "|" + "---|" * (line.count("|") - 1)]  # a new table starts
            after_mark = False
            continue
        after_mark = False
        out.append(line)
    return "\n".join(out)


_TR = re.compile(r"<tr>(?:(?!</tr>|<tr>).)*?</tr>", re.S)


def _post_html(text: str) -> str:
    text = text.replace("&#57344;", _CUT).replace("&#57345;", _LINE)

    def row(m: re.Match[str]) -> str:
        hit = _marker(m.group(0))
        if not hit:
            return m.group(0)
        kind, rest = hit
        close, reopen = "</tbody></table>", '<table border="1" cellspacing="0"><tbody>'
        if kind == _LINE:
            return f"{close}<p>{rest.split('<')[0]}</p>{reopen}"
        return close + reopen

    text = _TR.sub(row, text)
    return re.sub(r"<table[^>]*><tbody></tbody></table>", "", text)


def _post_text(text: str) -> str:
    out = []
    for line in text.split("\n"):
        hit = _marker(line)
        if hit:
            if hit[0] == _LINE:
                out.append(hit[1])
            continue
        out.append(line)
    return "\n".join(out)


def _region(lines: list[str], form: str) -> tuple[int, int]:
    """The line range of Table 3's section in a rendered text or Markdown file."""
    heads = _headings()
    pre = "## " if form == "markdown" else ""
    start = lines.index(pre + heads["requests"])
    end = lines.index(pre + heads["review"])
    return start, end


def _furniture(text: str, plan: _Plan, title: str) -> str:
    """Page marks, running headers and (Markdown) bare page numbers between Table 3 rows."""
    rng, w = plan.rng, _words()
    lines = text.split("\n")
    start, end = _region(lines, plan.form)
    if plan.form == "markdown":
        spots = [i for i in range(start, end) if lines[i].startswith("|") and re.search(r"\d", lines[i])
                 and not set(lines[i]) <= set("|-: ")]
    else:
        spots = [i for i in range(start, end - 1) if not lines[i] and lines[i + 1].startswith("\t")
                 and i > start + 1 and re.fullmatch(r"\t[^\t]*\d[^\t]*", lines[i - 1])]
    n = rng.randint(2, 30)
    for i in sorted(rng.sample(spots, min(len(spots), rng.randint(1, 3))), reverse=True):
        kind = rng.choice(["mark", "header", "bare"] if plan.form == "markdown" else ["mark", "header"])
        if kind == "mark":
            mark = rng.choice(w["page_marks"]).format(n=n, m=n + rng.randint(1, 9))
        elif kind == "header":
            mark = rng.choice(w["running_headers"]).format(title=title, agency=plan.report.agency)
        else:
            mark = str(n)
        if plan.form == "markdown":
            lines[i + 1:i + 1] = ["", mark, ""]
        else:
            lines[i + 1:i + 1] = [mark, ""]
        n += 1
    return "\n".join(lines)


def _spaces(text: str, plan: _Plan, expected: dict[str, dict[str, Any]]) -> str:
    """Stray spaces inside Table 3 digit runs of flat text, never as many pieces as columns."""
    rng = plan.rng
    tmpl = get_template(plan.report.template)
    t = tmpl.tables["table_3"]
    at = text.find(_headings()["requests"])
    end = text.find(_headings()["review"], at)
    share = rng.uniform(0.3, 1.0)
    for row in t.data_rows:
        keys = [f"table_3/{row.key}/{c}" for c in t.column_keys]
        run = str(expected[keys[0]]["raw"])
        if not re.fullmatch(r"\d{2,}", run) or any(expected[k]["raw"] != run for k in keys):
            continue
        # The run ends where the next label's numbering may begin (00000002.其他…).
        m = re.compile(r"(?<![\d.+\-])" + re.escape(run) + r"(?!\.|\d(?![.、]))").search(text, at, end)
        if not m:
            continue
        at = m.end()
        if rng.random() > share:
            continue
        choices = [k for k in range(1, min(4, len(run) - 1) + 1) if k + 1 != len(keys)]
        if not choices:
            continue
        cuts = sorted(rng.sample(range(1, len(run)), min(rng.choice(choices), len(run) - 1)))
        if len(cuts) + 1 == len(keys):
            continue
        spaced = "".join(run[a:b] + " " for a, b in zip([0, *cuts], cuts)) + run[cuts[-1]:]
        text = text[:m.start()] + spaced + text[m.end():]
        at, end = m.start() + len(spaced), end + len(spaced) - len(run)
    return text


def _metadata(text: str, plan: _Plan) -> str:
    """The title dressed (Markdown `#`, quotation marks, …) and a cited document whose name holds
    the title suffix (and sometimes a year) printed right after it."""
    rng, w, rep = plan.rng, _words(), plan.report
    suffix = common()["metadata"]["title_suffix"]
    dress = rng.choice(w["title_dress_forms"][plan.form])
    cited = rng.choice(w["cited_documents"]).format(year=rep.year)
    if plan.form == "html":
        body = max(0, text.find("<body"))
        m = re.compile(r">([^<>]*" + re.escape(htmlmod.escape(rep.agency)) + r"[^<>]*" + suffix + r"[^<>]*)<").search(
            text, body)
        if not m:
            return text
        end = text.find("</p>", m.end(1))
        text = text[:end + 4] + f"<p>{htmlmod.escape(cited)}</p>" + text[end + 4:]
        return text[:m.start(1)] + htmlmod.escape(dress.format(title=htmlmod.unescape(m.group(1)))) + text[m.end(1):]
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if rep.agency in line and suffix in line), None)
    if at is None:
        return "\n".join([cited, ""] + lines)
    lines[at:at + 1] = [dress.format(title=lines[at]), "", cited]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The oracle


def _fix_expected(plan: _Plan, expected: dict[str, dict[str, Any]]) -> None:
    """Move the generator's expected cells by the families' choices."""
    for key, rec in expected.items():
        if key.startswith("table_3/") and key.split("/")[1] in plan.inferred and rec["status"] == "ok":
            rec["status"] = "inferred"
        if key in plan.differ:
            rec.update(value=None, status="unreadable")
    for key, rec in expected.items():
        if key.startswith("table_3/") and key.split("/")[1] in plan.omitted:
            rec.update(value=None, status="missing", raw="")
    if plan.hybrid:
        for key, rec in expected.items():
            if key.startswith("table_3/oth_"):
                rec.update(value=None, status="missing", raw="")
        for col, text in plan.hybrid.items():
            key = f"table_3/other_handling/{col}"
            number = _NUMBER.fullmatch(text)
            expected[key] = {"table": "table_3", "row": "other_handling", "column": col,
                             "value": float(text) if number else None,
                             "status": "ok" if number else ("placeholder" if text.strip() else "blank"),
                             "raw": text}


def _key(rec: dict[str, Any]) -> str:
    return f"{rec['table']}/{rec['row']}/{rec['column']}"


# ---------------------------------------------------------------------------------------------
# Entry points


def _check(report: SynthReport, families: Sequence[str], form: str) -> None:
    for fam in families:
        if fam not in FAMILY_FORMS:
            raise ValueError(f"unknown family {fam!r}; choose from {', '.join(FAMILIES)}")
        if form not in FAMILY_FORMS[fam]:
            raise ValueError(f"family {fam} is not printed in form {form!r}; its forms: "
                             f"{', '.join(FAMILY_FORMS[fam])}")
    if "hybrid" in families and report.template != "2021":
        raise ValueError("family hybrid prints a 2021 report in the 2019 style; give a 2021 report")
    for pair in _CLASH:
        if pair <= set(families):
            raise ValueError(f"families {' and '.join(sorted(pair))} are not combined")


def _cut_kinds(form: str, families: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """The ways tables are cut for this form (and compatible with the other families)."""
    kinds = ["bands_order"]
    if form in ("text", "markdown", "html"):
        kinds.append("table4_split")
        if "detached" not in families:
            kinds.append("table3_per_row")
    if form in ("markdown", "html"):
        kinds.append("table2_lines")
    if form == "markdown" and "permute" not in families:
        kinds.append("header_shred")
    chosen = rng.sample(kinds, rng.randint(1, len(kinds)))
    if "bands_order" in chosen and "table2_lines" in chosen:
        chosen.remove("bands_order")
    if "table3_per_row" in chosen and "header_shred" in chosen:
        chosen.remove("header_shred")
    return tuple(chosen)


def render_families(report: SynthReport, families: Sequence[str], form: str, rng: random.Random | int = 0,
                    **options: Any) -> Rendered:
    """Render `report` in `form` with every family in `families` applied, and the oracle.

    `options` go to `render` (the form's options). `meta["families"]` names the families and
    `meta["cuts"]` the ways tables were cut; `meta["inferred_rows"]` the rows printed with no label.
    """
    families = tuple(dict.fromkeys(families))
    _check(report, families, form)
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    plan = _Plan(report=report, form=form, rng=random.Random(r.getrandbits(64)), families=families)
    if "cuts" in families:
        plan.cuts = _cut_kinds(form, families, plan.rng)
    seed = r.getrandbits(64)
    title = _title(report, random.Random(seed)) if form != "flat" else ""
    with _grid_hook(plan):
        out = render(report, form, rng=seed, **options)
    expected = {_key(rec): rec for rec in out.expected.to_dict("records")}
    for rec in expected.values():
        rec["value"] = None if pd.isna(rec["value"]) else float(rec["value"])
    data = out.data
    if form in ("text", "markdown", "html", "flat"):
        encoding = "gbk" if out.meta["options"].get("encoding") == "gbk" else "utf-8"
        text = data.decode(encoding)
        text = {"markdown": _post_markdown, "html": _post_html, "text": _post_text}.get(form, lambda s: s)(text)
        if "furniture" in families:
            text = _furniture(text, plan, title)
        if "spaces" in families:
            text = _spaces(text, plan, expected)
        if "metadata" in families:
            text = _metadata(text, plan)
        data = text.encode(encoding, errors="xmlcharrefreplace")
    _fix_expected(plan, expected)
    meta = {**out.meta, "families": families, "cuts": plan.cuts, "inferred_rows": sorted(plan.inferred),
            "duplicate_differs": len(plan.differ)}
    return Rendered(data=data, suffix=out.suffix, form=form, expected=_frame(list(expected.values())), meta=meta)


def render_family(report: SynthReport, family: str, form: str, rng: random.Random | int = 0,
                  **options: Any) -> Rendered:
    """Render `report` in `form` with one family (see FAMILIES and FAMILY_FORMS) and its oracle."""
    return render_families(report, (family,), form, rng, **options)


def random_combination(report: SynthReport, rng: random.Random | int = 0, form: str | None = None,
                       size: int | None = None) -> Rendered:
    """Render `report` with a random compatible set of 2-4 families in a form where they all occur."""
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    forms = [f for f in ("text", "markdown", "html", "docx", "pdf", "flat") if form in (None, f)]
    for _ in range(100):
        f = r.choice(forms)
        pool = [fam for fam in FAMILIES if f in FAMILY_FORMS[fam]
                and (fam != "hybrid" or report.template == "2021")]
        want = size or r.randint(2, 4)
        chosen: list[str] = []
        for fam in r.sample(pool, len(pool)):
            if len(chosen) < want and not any(frozenset((fam, c)) in _CLASH for c in chosen):
                chosen.append(fam)
        if len(chosen) >= min(2, want):
            return render_families(report, chosen, f, r)
    raise ValueError(f"no combination of families for form {form!r}")


# ---------------------------------------------------------------------------------------------
# Judging a parse against the oracle

VERDICTS = ("exact", "flagged", "silently_wrong", "overconfident")


def judge(expected: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """One row per expected template cell (unknown rows left out): what was wanted, what was read,
    and the verdict. `silently_wrong`: read `ok` with another value, or `ok` where the oracle says
    the cell cannot be read (unreadable, missing, blank, placeholder); `overconfident`: read `ok`
    with the right value where only `inferred` is justified; `exact`: status and value as wanted
    (`inferred` with the right value counts for an inferred cell); anything else `flagged`."""
    got = {f"{r['table']}/{r['row']}/{r['column']}": r for r in cells.to_dict("records")}
    rows = []
    for rec in expected.to_dict("records"):
        if str(rec["row"]).startswith("unknown:"):
            continue
        key = _key(rec)
        g = got.get(key)
        g_status = g["status"] if g is not None else "missing"
        g_value = None if g is None or pd.isna(g["value"]) else float(g["value"])
        w_status = rec["status"]
        w_value = None if pd.isna(rec["value"]) else float(rec["value"])
        same = g_value is not None and w_value is not None and abs(g_value - w_value) < 1e-9
        if g_status == "ok":
            if w_status == "ok":
                verdict = "exact" if same else "silently_wrong"
            elif w_status == "inferred":
                verdict = "overconfident" if same else "silently_wrong"
            else:
                verdict = "silently_wrong"
        elif g_status == w_status and (w_value is None or same):
            verdict = "exact"
        else:
            verdict = "flagged"
        rows.append({"key": key, "want_status": w_status, "want_value": w_value, "got_status": g_status,
                     "got_value": g_value, "verdict": verdict})
    return pd.DataFrame(rows, columns=["key", "want_status", "want_value", "got_status", "got_value", "verdict"])
