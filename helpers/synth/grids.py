"""The tables as grids of printed cells, shared by every renderer, and the oracle: what a correct parser reads (digit runs split by the parser's rules)."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..template import Row, Template, common, get_template
from .model import (
    EXPECTED_COLUMNS,
    SynthReport,
    _fmt,
    _is_number,
    _layout,
    _relation,
    _unknown_name,
    _unknown_records,
    _words,
)


@dataclass
class _G:
    """One logical table cell: text, spans, and the template key when it holds a value."""

    text: str
    cs: int = 1
    rs: int = 1
    key: str | None = None
    kind: str = "label"  # label, head, value, cont (continuation of a cell merged from above)


def _cont(cs: int = 1) -> _G:
    """A continuation cell: the part of a cell merged from the row above."""
    return _G("", cs=cs, kind="cont")


def _spans(n: int, width: int, data_shift: bool = False) -> list[int]:
    """Column spans of a Table 2 row of n logical cells in a grid `width` wide (2019: Shanghai-like)."""
    if n == width:
        return [1] * n
    if width == 5 and n == 4:
        return [1, 2, 1, 1] if data_shift else [1, 1, 2, 1]
    if width == 5 and n == 3:
        return [1, 2, 2]
    return [1] * (n - 1) + [width - n + 1] if n > 1 else [width]


def _grid_table2(tmpl: Template, texts: dict[str, str], mismatch: bool) -> list[list[_G]]:
    """Table 2 as rows of logical cells: per band a caption row, a header row and its data rows."""
    t = tmpl.tables["table_2"]
    bands = _layout(tmpl.version)["table_2"]["bands"]
    width = max(len(b["header"]) for b in bands) + (1 if tmpl.version == "2019" else 0)
    rows: list[list[_G]] = []
    for i, band in enumerate(bands):
        rows.append([_G(band["caption"], cs=width, kind="head")])
        header = band["header"]
        rows.append([_G(h, cs=s, kind="head") for h, s in zip(header, _spans(len(header), width))])
        shift = mismatch and i > 0 and len(header) == 4 and width == 5
        for row in t.data_rows:
            if row.band != band["id"]:
                continue
            keys = [f"table_2/{row.key}/{c.key}" for c in t.row_columns(row)]
            spans = _spans(len(keys) + 1, width, data_shift=shift)
            rows.append([_G(row.printed_label)] + [_G(texts[k], cs=s, key=k, kind="value") for k, s in zip(keys, spans[1:])])
    return rows


def _level(row: Row) -> int:
    """A Table 3 row's depth from its numbering: 一 → 1, （一） → 2, 1 → 3."""
    n = row.number or ""
    if n.startswith(("（", "(")):
        return 2
    if n.isdigit():
        return 3
    return 1


def _grid_table3(tmpl: Template, texts: dict[str, str], unknown: list[tuple[str, list[str]]],
                 pad_header: bool = False) -> list[list[_G]]:
    """Table 3 as rows of logical cells with the real template's merges (unknown rows before （七）)."""
    t = tmpl.tables["table_3"]
    spec = _layout(tmpl.version)["table_3"]
    cols = list(t.columns.values())
    org = [c for c in cols if c.group]
    group_label = org[0].group if org else ""
    first, last = cols[0], cols[-1]
    rows: list[list[_G]] = [[_G(spec.get("header_note", ""), cs=3, rs=3, kind="head"),
                             _G(spec.get("column_group", ""), cs=len(cols), kind="head")]]
    if pad_header:
        rows.append([_cont(3), _G(first.label, kind="head"), _G(group_label, cs=len(org), kind="head"),
                     _G(last.label, kind="head")])
        rows.append([_cont(3), _G("", kind="head")] + [_G(c.label, kind="head") for c in org] + [_G("", kind="head")])
    else:
        rows.append([_cont(3), _G(first.label, rs=2, kind="head"), _G(group_label, cs=len(org), kind="head"),
                     _G(last.label, rs=2, kind="head")])
        rows.append([_cont(3), _cont()] + [_G(c.label, kind="head") for c in org] + [_cont()])
    col_keys = [c.key for c in cols]
    done_row = _relation(tmpl, "R1").minus[0]

    def values(row_key: str) -> list[_G]:
        return [_G(texts[f"table_3/{row_key}/{c}"], key=f"table_3/{row_key}/{c}", kind="value") for c in col_keys]

    # The results block: level-2 leaves and groups with their level-3 rows, unknown rows before (七).
    entries: list[tuple[str, Any]] = []  # ("leaf1", row) | ("block", [items])
    block: list[tuple[Row | None, list[Row], str | None, list[str] | None]] = []
    results_label = ""
    for row in t.rows:
        lv = _level(row)
        if lv == 1:
            if row.group:
                results_label = row.printed_label
                entries.append(("block", block))
                continue
            entries.append(("leaf1", row))
        elif lv == 2:
            if row.key == done_row:
                for label, vals in unknown:
                    block.append((None, [], label, vals))
            block.append((row, [], None, None))
        else:
            block[-1][1].append(row)
    n_block = sum(max(1, len(kids)) for _, kids, _, _ in block)
    for kind, item in entries:
        if kind == "leaf1":
            rows.append([_G(item.printed_label, cs=3)] + values(item.key))
            continue
        top_done = False
        for row, kids, ulabel, uvals in item:
            top = _cont() if top_done else _G(results_label, rs=n_block)
            top_done = True
            if ulabel is not None:
                name = _unknown_name(ulabel)
                rows.append([top, _G(ulabel, cs=2)] + [_G(v, key=f"table_3/{name}/{c}", kind="value")
                                                        for v, c in zip(uvals or [], col_keys)])
            elif not kids:
                rows.append([top, _G(row.printed_label, cs=2)] + values(row.key))
            else:
                for j, kid in enumerate(kids):
                    mid = _G(row.printed_label, rs=len(kids)) if j == 0 else _cont()
                    rows.append([top if j == 0 else _cont(), mid, _G(kid.printed_label)] + values(kid.key))
    return rows


def _grid_table4(tmpl: Template, texts: dict[str, str]) -> list[list[_G]]:
    """Table 4 as four rows: block headers, leaf headers (merged down), litigation leaves, 15 values."""
    t = tmpl.tables["table_4"]
    cols = list(t.columns.values())
    top = [r for r in t.data_rows if not r.parent]
    sub = [r for r in t.data_rows if r.parent]
    parent = sub[0].parent if sub else ""
    n = len(cols)
    r0 = [_G(r.label, cs=n, kind="head") for r in top]
    if sub:
        r0.append(_G(parent or "", cs=n * len(sub), kind="head"))
    r1 = [_G(c.label, rs=2, kind="head") for _ in top for c in cols] + [_G(r.label, cs=n, kind="head") for r in sub]
    r2 = [_cont() for _ in top for _c in cols] + [_G(c.label, kind="head") for _ in sub for c in cols]
    r3 = [_G(texts[f"table_4/{r.key}/{c.key}"], key=f"table_4/{r.key}/{c.key}", kind="value")
          for r in [*top, *sub] for c in cols]
    return [r0, r1, r2, r3]


def _placed(grid: list[list[_G]]) -> Iterator[tuple[int, int, _G]]:
    """(grid row, first grid column, cell) of every printed cell (continuations of spans skipped)."""
    for r, grow in enumerate(grid):
        c = 0
        for cell in grow:
            if cell.kind != "cont":
                yield r, c, cell
            c += cell.cs


def _grid_width(grid: list[list[_G]]) -> int:
    """The number of grid columns of a table."""
    return max(sum(c.cs for c in row) for row in grid)


def _expected_rows(report: SynthReport, texts: dict[str, str], unknown: bool = True) -> list[dict[str, Any]]:
    """One record per template cell as printed in a cell-per-cell form (plus unknown rows)."""
    out = []
    for key in get_template(report.template).keys:
        t, r, c = key.split("/", 2)
        v = report.cells[key]
        if _is_number(v):
            out.append({"table": t, "row": r, "column": c, "value": float(v), "status": "ok", "raw": texts[key]})
        else:
            out.append({"table": t, "row": r, "column": c, "value": None,
                        "status": "placeholder" if str(v).strip() else "blank", "raw": str(v).strip()})
    if unknown:
        out += [{k: rec[k] for k in EXPECTED_COLUMNS} for rec in _unknown_records(report)]
    return out


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The expected cells as a DataFrame with a nullable float value column."""
    df = pd.DataFrame(rows, columns=EXPECTED_COLUMNS)
    df["value"] = pd.array([None if v is None else float(v) for v in df["value"]], dtype="Float64")
    return df


# The oracle's own number grammar and split counting: deliberately not the parser's
# (parse/values.py `_VALID`, `_run_splits`), so that a fault there cannot hide in what it is scored against.
_PIECE = {"count": re.compile(r"0|[1-9]\d*"), "amount": re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?"),
          "signed": re.compile(r"[+-]?(?:0|[1-9]\d*)")}


def split_run(run: str, dtypes: Sequence[str],
              relations: Sequence[tuple[int, Sequence[int], Sequence[int]]] = ()) -> list[tuple[float | None, str]]:
    """(value, status) per column for n numbers printed run together as `run`.

    Every split of `run` into one valid number per column is considered (counts: "0" or no leading
    zero; amounts: one decimal point allowed; signed: a leading +/-). One split: all "ok". Several:
    a column with the same value in all of them is "ok"; otherwise, if the relations printed within
    the row (result index, plus indices, minus indices) leave exactly one split, "inferred" with its
    value; else "unreadable" (None). Counted exactly by dynamic programming, never capped.
    """
    n, size = len(dtypes), len(run)
    ends = [[[j for j in range(i + 1, size + 1) if _PIECE[d].fullmatch(run, i, j)] for i in range(size)]
            for d in dtypes]
    back = [[0] * (size + 1) for _ in range(n + 1)]
    back[n][size] = 1
    for c in range(n - 1, -1, -1):
        for i in range(size):
            back[c][i] = sum(back[c + 1][j] for j in ends[c][i])
    if back[0][0] == 0:
        return [(None, "unreadable")] * n
    fwd = [[0] * (size + 1) for _ in range(n + 1)]
    fwd[0][0] = 1
    values: list[set[float]] = [set() for _ in range(n)]
    for c in range(n):
        for i in range(size):
            if not fwd[c][i]:
                continue
            for j in ends[c][i]:
                if back[c + 1][j]:
                    fwd[c + 1][j] += fwd[c][i]
                    values[c].add(float(run[i:j]))
    if back[0][0] == 1 or all(len(v) == 1 for v in values):
        return [(next(iter(v)), "ok") for v in values]
    solutions = _relation_splits(run, ends, back, list(dtypes), relations) if relations else []
    out: list[tuple[float | None, str]] = []
    for c in range(n):
        if len(values[c]) == 1:
            out.append((next(iter(values[c])), "ok"))
        elif len(solutions) == 1:
            out.append((solutions[0][c], "inferred"))
        else:
            out.append((None, "unreadable"))
    return out


def _relation_splits(run: str, ends: list[list[list[int]]], back: list[list[int]], dtypes: list[str],
                     relations: Sequence[tuple[int, Sequence[int], Sequence[int]]]) -> list[tuple[float, ...]]:
    """Up to two splits of `run` on which every relation holds (depth-first, memoised on partial sums)."""
    n, size = len(dtypes), len(run)
    rels = [(r, set(p), set(m)) for r, p, m in relations]
    ordered = all(r > max([*p, *m], default=-1) for r, p, m in rels)
    memo: dict[tuple[int, int, tuple[float, ...]], list[tuple[float, ...]]] = {}

    def step(c: int, i: int, sums: tuple[float, ...]) -> list[tuple[float, ...]]:
        if c == n:
            return [()] if i == size else []
        state = (c, i, sums)
        if state in memo:
            return memo[state]
        found: list[tuple[float, ...]] = []
        forced = [k for k, (r, _, _) in enumerate(rels) if r == c] if ordered else []
        candidates = ends[c][i]
        if forced:
            want = sums[forced[0]]
            if want < 0 or not float(want).is_integer():
                candidates = []
            else:
                piece = str(int(want))
                candidates = [j for j in candidates if run[i:j] == piece]
        for j in candidates:
            if not back[c + 1][j]:
                continue
            v = float(run[i:j])
            if forced and any(abs(sums[k] - v) > 1e-9 for k in forced):
                continue
            new = list(sums)
            for k, (r, p, m) in enumerate(rels):
                if c in p:
                    new[k] += v
                elif c in m:
                    new[k] -= v
                if r == c and ordered:
                    new[k] = 0.0
            for rest in step(c + 1, j, tuple(new)):
                found.append((v, *rest))
                if len(found) >= 2:
                    break
            if len(found) >= 2:
                break
        memo[state] = found
        return found

    if ordered:
        return step(0, 0, tuple(0.0 for _ in rels))
    # Relations whose result precedes an operand: enumerate all splits and filter (small rows only).
    sols: list[tuple[float, ...]] = []

    def walk(c: int, i: int, acc: list[float]) -> None:
        if len(sols) >= 2:
            return
        if c == n:
            if i == size and all(abs(acc[r] - (sum(acc[x] for x in p) - sum(acc[x] for x in m))) < 1e-9
                                 for r, p, m in rels):
                sols.append(tuple(acc))
            return
        for j in ends[c][i]:
            if back[c + 1][j]:
                walk(c + 1, j, acc + [float(run[i:j])])

    walk(0, 0, [])
    return sols


def _row_relations(tmpl: Template, keys: list[str]) -> list[tuple[int, list[int], list[int]]]:
    """The relation instances all of whose cells are printed in this one row."""
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for rel in tmpl.relations:
        for res, plus, minus in rel.instances(tmpl):
            if res in index and all(k in index for k in [*plus, *minus]):
                out.append((index[res], [index[k] for k in plus], [index[k] for k in minus]))
    return out


def _title(report: SynthReport, rng: random.Random) -> str:
    """The report title, in one of the usual word orders."""
    suffix = common()["metadata"]["title_suffix"]
    pattern = rng.choice(_words()["render"]["titles"])
    return str(pattern).format(agency=report.agency, year=report.year, suffix=suffix)


def _date_text(d: dt.date) -> str:
    """A date as printed in Chinese (2024年1月20日)."""
    return str(_words()["render"]["date"]).format(y=d.year, m=d.month, d=d.day)


def _headings() -> dict[str, str]:
    """Section id → printed heading (一、总体情况 …)."""
    return {s["id"]: f"{s['number']}、{s['heading']}" for s in common()["sections"]}


def _intro(report: SynthReport) -> str:
    """The lead-in paragraph (legal basis and statistics period), chosen by the agency name."""
    options = _words()["narrative"]["intro"]
    text = options[sum(map(ord, report.agency)) % len(options)]
    return str(text).format(agency=report.agency, year=report.year)


def _texts(report: SynthReport, opts: dict[str, Any]) -> dict[str, str]:
    """Every template cell as printed in cell-per-cell forms."""
    info = get_template(report.template).column_info
    out = {}
    for key, v in report.cells.items():
        if _is_number(v):
            text = _fmt(v, info[key].dtype, plus=opts.get("plus_sign", True))
            if opts.get("unit_suffix") and info[key].dtype == "amount" and info[key].unit is None:
                text += str(_words()["render"]["amount_unit"])
            out[key] = text
        else:
            out[key] = str(v)
    return out


def _unknown_texts(report: SynthReport) -> list[tuple[str, list[str]]]:
    """The unknown rows with their values as printed."""
    return [(label, [_fmt(v) for v in vals]) for label, vals in report.unknown_rows]


def _grids(report: SynthReport, opts: dict[str, Any], texts: dict[str, str],
           unknown: bool = True) -> dict[str, list[list[_G]]]:
    """The three tables as grids, keyed by the section that holds them."""
    tmpl = get_template(report.template)
    return {
        "proactive": _grid_table2(tmpl, texts, mismatch=bool(opts.get("colspan_mismatch"))),
        "requests": _grid_table3(tmpl, texts, _unknown_texts(report) if unknown else [],
                                 pad_header=bool(opts.get("pad_header"))),
        "review": _grid_table4(tmpl, texts),
    }
