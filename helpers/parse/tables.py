"""Tables: every cell of one table from its region, for the row layouts (Tables 2 and 3) and the
one-row layout (Table 4); extra columns and unknown rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..template import Row, Table, Template, normalize
from .align import ValueRow, align_rows, fuzzy_hits, label_evidence, resembles
from .locate import Pos, _find, _View
from .rows import _anchored_hits, _band_hits, _collect, _match_rows
from .values import _assign, _cell, _classify, _flat_tokens, _Token


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
    hits = fuzzy_hits(view, table, region, _anchored_hits(view, table, region, _band_hits(view, table, region, hits)))
    second = _second_copy(view, table, region, hits)
    if second is not None:
        return _two_copies(view, template, table, region, second, units, notes)
    extras = _extra_columns(view, table, region, hits)
    checks: list[str] = []
    uncertain = [label for spec, label in extras if not spec["certain"]]
    printed: dict[str, tuple[list[str], list[str], list[str]]] = {}  # row → (keys, printed keys, dtypes)
    for row in table.data_rows:
        cols = table.row_columns(row)
        keys = [f"{table.key}/{row.key}/{c.key}" for c in cols]
        pkeys, dtypes = list(keys), [c.dtype for c in cols]
        if not row.columns:  # the extra columns stand among the table's own columns
            for spec, _label in extras:
                at = pkeys.index(f"{table.key}/{row.key}/{spec['after']}") + 1
                pkeys.insert(at, f"{table.key}/{row.key}/~{spec['key']}")
                dtypes.insert(at, "count")
        printed[row.key] = (keys, pkeys, dtypes)
    order = _column_order(view, table, region, hits) if not extras else None
    if order == "unsure":
        note = (f"{table.key}'s column headers are printed in an order that does not match the template's and "
                "cannot be aligned column by column; its rows are not read")
        notes.append(note)
        return cells + [_cell(k, None, "", "unreadable", "", note)
                        for row in table.data_rows for k in printed[row.key][0]]
    if isinstance(order, list):  # the printed header's order: the k-th value is the k-th header's column
        notes.append(f"{table.key} prints its columns in the order {', '.join(order)}; values read by header")
        for row in table.data_rows:
            if not row.columns:
                keys = printed[row.key][0]
                dtype = {c.key: c.dtype for c in table.row_columns(row)}
                printed[row.key] = (keys, [f"{table.key}/{row.key}/{c}" for c in order], [dtype[c] for c in order])
    plan = _plan_rows(view, table, region, hits, {k: len(v[1]) for k, v in printed.items()}, used)
    for row in table.data_rows:
        keys, pkeys, dtypes = printed[row.key]
        if row.key in plan.hybrid:
            cells += [_cell(k, None, "", "missing", "", plan.hybrid[row.key]) for k in keys]
            continue
        tokens, cap, how = plan.tokens.get(row.key, (None, "ok", ""))
        if tokens is None:
            if row.key in plan.unsure:
                raw, note = plan.unsure[row.key]
                cells += [_cell(k, None, raw, "unreadable", "", note) for k in keys]
            else:
                cells += [_cell(k, None, "", "missing", "", plan.absent.get(row.key, "row not found")) for k in keys]
            continue
        if uncertain and not row.columns:
            cells += [_cell(k, None, " ".join(t.text.strip() for t in tokens), "unreadable", "",
                            f"extra column '{uncertain[0]}' printed where its place among the columns is not "
                            "certain") for k in keys]
            continue
        row_cells = _assign(template, pkeys, dtypes, tokens, units)
        if how:
            for c in row_cells:
                if cap == "inferred" and c["status"] == "ok":
                    c["status"] = "inferred"
                c["note"] = f"{c['note']}; {how}" if c["note"] else how
        by_col = {c["column"]: c for c in row_cells}
        for spec, _label in extras if not row.columns else ():
            extra = by_col[f"~{spec['key']}"]
            parts = [by_col.get(k) for k in spec.get("sum", ())]
            if extra["status"] == "ok" and parts and all(p is not None and p["status"] == "ok" for p in parts):
                if abs(sum(p["value"] for p in parts) - extra["value"]) > 1e-9:
                    checks.append(f"{row.key} ({extra['raw']} printed, {sum(p['value'] for p in parts):g} summed)")
        cells += [c for c in row_cells if not c["column"].startswith("~")]
    for key, (tokens, note) in plan.alone.items():
        cols = order if isinstance(order, list) else table.column_keys  # the printed order, as for every row
        row_cells = _assign(template, [f"{table.key}/{key}/{c}" for c in cols],
                            [table.columns[c].dtype for c in cols], tokens, units)
        for c in row_cells:
            c["note"] = f"{c['note']}; {note}" if c["note"] else note
        cells += row_cells
        notes.append(note)
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


@dataclass
class _Plan:
    """Which printed values each data row gets, and how they were placed."""

    tokens: dict[str, tuple[list[_Token], str, str]] = field(default_factory=dict)  # row → (tokens, cap, how)
    unsure: dict[str, tuple[str, str]] = field(default_factory=dict)  # row → (raw, note)
    absent: dict[str, str] = field(default_factory=dict)  # row → note for a row printed without values
    hybrid: dict[str, str] = field(default_factory=dict)  # row → note: printed as its group's one row
    alone: dict[str, tuple[list[_Token], str]] = field(default_factory=dict)  # other-format key → (tokens, note)
    fallback: dict[str, list[_Token]] = field(default_factory=dict)  # row → values beside its label, not a row


def _second_copy(view: _View, table: Table, region: tuple[Pos, Pos], hits: list[Any]) -> tuple[Pos, Pos] | None:
    """Where a second copy of the table stands (its first rows' labels printed again, in table rows,
    after the rows read): (the first copy's end, the second's start, which holds its own header), or
    None. A table printed twice is never read from one copy alone."""
    rows = table.data_rows
    if table.layout != "rows" or len(hits) < 3:
        return None
    last = hits[-1][1]
    pos: Pos = (last[0], last[1].end())
    # the first rows' labels again; where the table stands in table rows, the copy must too (prose
    # that names them is not a table)
    tabular = view.block[hits[0][1][0]] in view.table_blocks
    again = []
    for row in rows[:4]:
        at = pos
        while (hit := _find(view, row.pattern, at, region[1])) is not None:
            if not tabular or view.block[hit[0]] in view.table_blocks:
                again.append(hit)
                break
            at = (hit[0], hit[1].end())
    if len(again) < 2:  # one label mentioned again (a note below the table) is not a second table
        return None
    first = min(again, key=lambda h: (h[0], h[1].start()))
    return (first[0], first[1].start()), pos


def _two_copies(view: _View, template: Template, table: Table, region: tuple[Pos, Pos],
                second: tuple[Pos, Pos], units: dict[str, str], notes: list[str]) -> list[dict[str, Any]]:
    """A table printed twice: a cell is read only where both copies print the same; else unreadable."""
    a_notes: list[str] = []
    a = _table_cells(view, template, table, (region[0], second[0]), units, a_notes)
    notes.extend(a_notes)
    b = {(c["table"], c["row"], c["column"]): c for c in _table_cells(view, template, table, (second[1], region[1]),
                                                                        units, [])}
    read = {c["row"] for c in b.values() if c["status"] != "missing"}  # rows the second copy prints
    if len(read) < max(3, len(table.data_rows) // 2):  # too little of a table there to be a copy of it
        return a
    out, differ = [], 0
    for c in a:
        other = b.get((c["table"], c["row"], c["column"]))
        if c["row"].startswith("unknown:"):
            out.append(c)
            continue
        same = other is not None and other["status"] == c["status"] and other["value"] == c["value"]
        if same:
            out.append(c)
            continue
        differ += 1
        raw = f"{c['raw']} | {other['raw'] if other else ''}"
        out.append(_cell(f"{c['table']}/{c['row']}/{c['column']}", None, raw, "unreadable", c["source"],
                         f"{table.key} is printed twice and the copies differ here ({raw})"))
    notes.append(f"{table.key} is printed twice; {differ} cells differ between the copies and are not read")
    return out


def _fit(tokens: list[_Token], width: int) -> list[_Token] | None:
    """The tokens as one row of `width` values, or None: trailing blanks past the width dropped, and
    leading blanks too when the rest are exactly `width` printed values, each a cell of its own (the
    empty second cell of a label merged over two columns); a single digit run (flattened text) is
    split later."""
    t = list(tokens)
    while len(t) > width and t[-1].kind == "blank":
        t.pop()
    extra = len(t) - width
    rest = t[extra:]
    if extra > 0 and all(x.kind == "blank" for x in t[:extra]) and all(x.kind != "blank" for x in rest) \
            and len({x.source for x in rest}) == len(rest):  # each value a cell of its own, none run together
        t = t[extra:]
    if len(t) == width or (len(t) == 1 and t[0].run and width > 1 and _digits(t[0].text) >= width):
        return t
    return None


def _digits(text: str) -> int:
    """How many digits a printed run holds (a run of fewer digits than columns is no row)."""
    return sum(ch.isdigit() for ch in normalize(text))


def _value_rows(view: _View, table: Table, region: tuple[Pos, Pos], skip: set[int]) -> list[ValueRow]:
    """Blocks of the region that hold printed values and no row's label, in printed order. Text
    before the values that names no data row (the glyphs of a vertical group label, "无法提供 作") is
    left out; a block with any data row's label is no value row."""
    start, end = region
    stop = min(end[0], len(view.norm) - 1)
    out: list[ValueRow] = []
    ci = start[0] + (1 if start[1] else 0)
    while ci <= stop:
        cis = [ci] + [c for c in _block_cells(view, ci) if c <= stop]
        ci = cis[-1] + 1
        if any(c in skip for c in cis):
            continue
        while len(cis) > 1 and _glyphs(view, table, cis[0]):
            cis = cis[1:]
        tokens = _value_cells(view, cis)
        if tokens and any(t.kind != "blank" for t in tokens):
            out.append(ValueRow(tokens, cis[0], cis[-1]))
    return out


def _plan_rows(view: _View, table: Table, region: tuple[Pos, Pos], hits: list[Any], widths: dict[str, int],
               used: set[int]) -> _Plan:
    """Decide each data row's values: those printed beside its label (an anchor), else what alignment
    by label, order and counts allows (parse/align.py); never a value row by proximity alone."""
    plan = _Plan()
    data = {row.key for row in table.data_rows}
    hit_blocks = {view.block[hit[0]] for _, hit in hits}
    anchors: list[tuple[Row, int, int]] = []
    loose: list[tuple[Row, int]] = []  # rows whose label is printed without values beside it
    for i, (row, hit) in enumerate(hits):
        limit = (hits[i + 1][1][0], hits[i + 1][1][1].start()) if i + 1 < len(hits) else region[1]
        took: set[int] = set()
        tokens = _collect(view, hit, limit, took, below=False)
        if row.group:
            width = len(table.columns)
            fitted = _fit(tokens, width) if tokens and row.alone_as else None
            kids = table.children(row)
            if fitted is not None and kids and not any(r.key in {h.key for h, _ in hits} for r in kids):
                note = (f"{table.key} prints {row.printed_label} as one row (the other format's layout): kept "
                        f"as {table.key}/{row.alone_as}/*; its rows {', '.join(r.key for r in kids)} are not "
                        "printed")
                plan.alone[row.alone_as] = (fitted, note)
                for kid in kids:
                    plan.hybrid[kid.key] = note
                anchors.append((row, hit[0], max(took | {hit[0]})))
                used |= took
            continue
        if row.key not in data:
            continue
        fitted = _fit(tokens, widths[row.key]) if tokens else None
        if fitted is not None:
            plan.tokens[row.key] = (fitted, "ok", "")
            anchors.append((row, hit[0], max(took | {hit[0]})))
            used |= took
        else:
            loose.append((row, hit[0]))
            if tokens:  # printed beside the label but not one row of values: as printed, unless aligned
                plan.fallback[row.key] = tokens
            else:
                plan.absent[row.key] = "label printed with no values beside it"
    open_widths = {k: w for k, w in widths.items() if k not in plan.tokens and k not in plan.hybrid}
    if not open_widths:  # every row read beside its label: nothing to align
        return plan
    skip = {ci for ci in range(len(view.block)) if view.block[ci] in hit_blocks} | used
    value_rows = _value_rows(view, table, region, skip)
    labelled = {row.key for row in table.data_rows if row.key not in plan.tokens and
                (row.key in {r.key for r, _ in loose} or label_evidence(view, table, region, row))}
    anchors.sort(key=lambda a: a[1])
    aligned = align_rows(view, table, region, anchors, value_rows, open_widths, labelled)
    for key, (tokens, cap, how) in aligned.placed.items():
        plan.tokens[key] = (tokens, cap, how)
        plan.unsure.pop(key, None)
    for key, (raw, note) in aligned.unsure.items():
        plan.unsure[key] = (raw, note)
    for key, tokens in plan.fallback.items():
        if key not in plan.tokens and key not in plan.unsure:
            plan.tokens[key] = (tokens, "ok", "")  # read as printed: _assign says why it is unreadable
    for v in value_rows:
        if any(v.tokens is t for t, _, _ in plan.tokens.values()):
            used |= set(range(v.first, v.last + 1))
    return plan


def _column_order(view: _View, table: Table, region: tuple[Pos, Pos], hits: list[Any]) -> list[str] | str | None:
    """The order of the columns as the table's header prints them, when it is not the template's.

    Only header rows of whole cells count (a cell that is exactly one column label; text lines that
    run several labels together are ignored). None: the template's order (or nothing to go by); a
    list: the printed order of all columns; "unsure": another order that the header does not fix.
    """
    if not hits or any(row.columns for row in table.data_rows):
        return None
    first = hits[0][1][0]
    group = next((c.group for c in table.columns.values() if c.group), None)
    labels = {_SPACE.sub("", normalize(c.label)): c.key for c in table.columns.values()}
    if group:
        labels[_SPACE.sub("", normalize(group))] = "~group"
    rows: list[list[tuple[str, int]]] = []  # per header row: (column key, grid position), printed order
    ci = region[0][0]
    while ci < first:
        cis = [ci] + [c for c in _block_cells(view, ci) if c < first]
        ci = cis[-1] + 1
        seq = [(labels[t], _grid_col(view, c, k)) for k, c in enumerate(cis)
               if (t := _SPACE.sub("", view.norm[c])) in labels]
        if len(seq) >= 2:
            rows.append(seq)
        for c in cis:  # a flattened header: every column label run together in one text, in some order
            run = _labels_in_text(_SPACE.sub("", view.norm[c]), labels)
            if _complete_run(run, table):
                rows.append(run)
    lo = region[0][1] if region[0][0] == first else 0
    top_hit = next((h for r, h in hits if r is table.data_rows[0]), hits[0][1])
    hi = top_hit[1].end() if top_hit[0] == first else len(view.norm[first])  # its lead may hold header text
    head = view.norm[first][lo:hi]  # the header run on before the first row's label
    if _complete_run(run := _labels_in_text(_SPACE.sub("", head), labels), table):
        rows.append(run)
    # A two-row header run into one sequence (自然人 法人或其他组织 总计, then the five organisations) is
    # the template's own layout: it names no other order.
    members_set = {c.key for c in table.columns.values() if c.group}
    tops = [k for k in table.columns if k not in members_set]
    canonical = [tops[0], "~group", *tops[1:], *[k for k in table.columns if k in members_set]]
    rows = [seq for seq in rows if [k for k, _ in seq] != canonical]
    if not rows:
        return None
    want = list(table.columns)
    rank = {k: i for i, k in enumerate(want)}
    members = [c.key for c in table.columns.values() if c.group]
    if group:
        rank["~group"] = min(rank[m] for m in members) if members else 0
    if all([rank[k] for k, _ in seq] == sorted(rank[k] for k, _ in seq) for seq in rows):
        return None
    at: dict[str, int] = {}
    flat = next((seq for seq in rows if sorted(k for k, _ in seq) == sorted(want)), None)
    if flat is not None:
        at = {k: pos for k, pos in flat}
    else:
        top = next((seq for seq in rows if "~group" in {k for k, _ in seq}), None)
        inner = next((seq for seq in rows if sorted(k for k, _ in seq) == sorted(members)), None)
        if top is not None and inner is not None:
            spots = sorted(pos for _, pos in inner)
            g = dict(top).get("~group")
            # the group label spans its columns: they stand together, starting under it
            if g == spots[0] and spots == list(range(spots[0], spots[0] + len(spots))):
                at = {k: pos for k, pos in top if k != "~group"} | dict(inner)
    if sorted(at) != sorted(want) or len(set(at.values())) != len(at):
        return "unsure"
    return sorted(want, key=lambda k: at[k])


_GRID_COL = re.compile(r"\bcol (\d+)")


def _complete_run(run: list[tuple[str, int]], table: Table) -> bool:
    """A header text that names every column exactly once and no group label (a one-line header run
    together): its order is the printed order. A two-row header run together (自然人 法人或其他组织
    总计 商业企业 …) is the template's own layout and names no other order."""
    keys = [k for k, _ in run]
    return sorted(keys) == sorted(table.columns)


def _labels_in_text(text: str, labels: dict[str, str]) -> list[tuple[str, int]]:
    """The column labels a text prints, with their offsets; a label inside a longer one (其他 in
    法人或其他组织) does not count."""
    found: list[tuple[int, int, str]] = []
    for label, key in sorted(labels.items(), key=lambda kv: -len(kv[0])):
        start = 0
        while (i := text.find(label, start)) >= 0:
            start = i + len(label)
            if not any(a <= i < b for a, b, _ in found):
                found.append((i, i + len(label), key))
    return [(key, a) for a, _, key in sorted(found)]


def _grid_col(view: _View, ci: int, k: int) -> int:
    """A cell's column in its table's grid: from the reader's provenance when it says, else its place."""
    m = _GRID_COL.search(view.source[ci])
    return int(m.group(1)) if m else k


def _glyphs(view: _View, table: Table, ci: int) -> bool:
    """True if cell `ci` is a few glyphs of a vertical group label ("无法提供 作", "度办"): short text,
    no row numbering, no value, and no data row's label; a numbered label ("（八）正在补正中") is a row."""
    text = view.norm[ci]
    if _classify(view.raw[ci]) is not None or _ROW_NUMBER.search(text) or len(_SPACE.sub("", text)) > 8:
        return False
    return not any(row.pattern.search(text) or resembles(table, text, row) for row in table.data_rows)


_ROW_NUMBER = re.compile(r"[(\[]\s*(?:[一二三四五六七八九十]{1,3}|\d{1,2})\s*[)\]]|\d{1,2}\s*[.、]|[一二三四五六七八九十]{1,3}\s*、")


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
