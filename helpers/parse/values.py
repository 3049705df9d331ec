"""Values: printed text to numbers, and the k-th printed value to the k-th column; digits an
archiver ran together are split only where the split is certain (or made certain by a printed
relation, which the cell's note names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..template import Template, normalize
from .locate import _vocab


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
            end = nm.end()
            if _NUMBERING_AFTER.match(norm, end) and not nm.group("frac") and not nm.group("sign"):
                # the run ends in the next row's numbering ("…0200020" + "7.属于…"): that digit is not a value
                if len(nm.group("int")) > 1:
                    out.append(_Token(raw[pos:end - 1], source, "number", run=True))
                pos = end - 1
                break
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


# A row's numbering right after a digit run: "." or "、" and then the label's first character.
_NUMBERING_AFTER = re.compile(r"[.、]\s*[\u4e00-\u9fff]")
# After the values: a separator or an opening bracket, then a digit ("5、8", "(5)8"); a remark in
# words ("12（含3件）") or the next label is not a joined number.
_JOINED = re.compile(r"\s*(?:[、,;/+~。)\]]\s*|\(\s*)\d")


# The numbering of the next row left before its label ("(1" of "(1)属于…", "1" of "①属于…").
_NEXT_NUMBERING = re.compile(r"\s*[(\[]?\s*\d{1,2}\s*")


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
