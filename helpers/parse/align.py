"""Alignment: printed rows to the template's rows, when labels and values are not printed together.

PDF text layers and PDF-to-text converters print the labels of several rows as loose lines and the
value rows after them with no label, or with a label cut short or mistyped. The rows are aligned
here by three kinds of evidence, never by proximity alone:

1. label similarity (a printed label whose best template row beats the runner-up by a margin);
2. the template's row order (anchors: rows printed with their label on the values' own line);
3. counts: between two anchors, the value rows with no label are assigned in order to the
   template rows with no anchor only when there are exactly as many of each.

A row assigned that way is `ok` when its label is printed somewhere in the table (detached), and
`inferred` (the note says how) when only order and counts single it out; a gap whose counts do not
agree comes out `unreadable` with the printed values kept in `raw`. Thresholds are data
(`alignment` in common.yaml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..template import Row, Table, common, normalize
from .locate import Pos, _View
from .values import _Token

__all__ = ["Alignment", "align_rows", "fuzzy_hits", "in_order", "label_evidence", "resembles"]


@lru_cache(maxsize=None)
def _settings() -> dict[str, float | re.Pattern[str]]:
    a = common()["alignment"]
    return {"similarity": float(a["similarity"]), "margin": float(a["margin"]),
            "numbering": re.compile(a["numbering"]), "label_chars": re.compile(a["label_chars"])}


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset(text)


@lru_cache(maxsize=4096)
def _core(text: str) -> str:
    """A printed label without its numbering, spaces and punctuation: what similarity compares."""
    s = _settings()
    t = normalize(text).replace(" ", "")
    t = s["numbering"].sub("", t)  # type: ignore[union-attr]
    return "".join(s["label_chars"].findall(t))  # type: ignore[union-attr]


_GRAMS: dict[int, tuple[tuple[Row, frozenset[str]], ...]] = {}
_BEST: dict[tuple[int, str], tuple[Row | None, float, float]] = {}


def _row_grams(table: Table) -> tuple[tuple[Row, frozenset[str]], ...]:
    """Each row's label bigrams, once per table object (templates live as long as the process)."""
    got = _GRAMS.get(id(table))
    if got is None:
        got = _GRAMS[id(table)] = tuple((row, _bigrams(_core(row.label))) for row in table.rows)
    return got


def _best_rows(table: Table, text: str) -> tuple[Row | None, float, float]:
    key = (id(table), text)
    got = _BEST.get(key)
    if got is None:
        if len(_BEST) > 50_000:
            _BEST.clear()
        got = _BEST[key] = _best_rows_uncached(table, text)
    return got


def _best_rows_uncached(table: Table, text: str) -> tuple[Row | None, float, float]:
    """The template row a printed label text resembles most: (row, score, margin over the runner-up).

    Dice similarity of character bigrams; a printed text that holds a row's whole label counts fully
    for that row (a label run together with the glyphs of a vertical group label).
    """
    core = _core(text)
    if len(core) < 2:
        return None, 0.0, 0.0
    grams = _bigrams(core)
    labels = [_core(row.label) for row, _ in _row_grams(table)]
    scores: list[tuple[float, int, Row]] = []
    for k, (row, rg) in enumerate(_row_grams(table)):
        if not rg:
            continue
        shared = len(grams & rg)
        score = 2 * shared / (len(grams) + len(rg))
        if shared == len(rg) and len(rg) >= 2:  # the whole label is printed, with other text around it
            score = max(score, 0.95)
        elif len(core) * 2 >= len(labels[k]) and in_order(core, labels[k]):
            score = max(score, 0.8)  # the label with characters left out (cut short, a typo dropping some)
        if len(core) >= 3 and abs(len(core) - len(labels[k])) <= 1:  # a look-alike in a short label (处/外)
            same = sum(1 for a, b in zip(core, labels[k]) if a == b)
            score = max(score, 0.9 * same / max(len(core), len(labels[k])))
        scores.append((score, k, row))
    scores.sort(key=lambda s: -s[0])
    if not scores:
        return None, 0.0, 0.0
    best = scores[0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    return best[2], best[0], best[0] - second


def in_order(short: str, long: str, stray: float = 0.0) -> bool:
    """True if the characters of `short` stand in `long` in order, all but a `stray` share of them
    (a look-alike or a typo in a printed label)."""
    j = hits = 0
    for ch in short:
        k = long.find(ch, j)
        if k >= 0:
            hits, j = hits + 1, k + 1
    return hits >= len(short) * (1 - stray)


def _label_like(text: str) -> bool:
    return len(_core(text)) >= 2


def resembles(table: Table, text: str, row: Row) -> bool:
    """True if `text` is a printed form of `row`'s label: its best match, with the margin."""
    best, score, margin = _best_rows(table, text)
    s = _settings()
    return best is row and score >= s["similarity"] and margin >= s["margin"]  # type: ignore[operator]


def fuzzy_hits(view: _View, table: Table, region: tuple[Pos, Pos],
               hits: list[tuple[Row, tuple[int, re.Match[str]]]]) -> list[tuple[Row, tuple[int, re.Match[str]]]]:
    """Hits for rows whose keywords are not printed (a character missing, a look-alike), found by
    label similarity between the hits of the rows before and after them in template order."""
    found = {row.key for row, _ in hits}
    order = {row.key: k for k, row in enumerate(table.rows)}
    if all(r.key in found for r in table.data_rows):
        return hits
    used = {hit[0] for _, hit in hits}
    out = list(hits)
    start, end = region
    for row in table.data_rows:
        if row.key in found:
            continue
        k = order[row.key]
        before = [h for r, h in out if order[r.key] < k]
        after = [h for r, h in out if order[r.key] > k]
        lo = max((h[0] for h in before), default=start[0] - 1) + 1
        hi = min((h[0] for h in after), default=min(end[0], len(view.norm) - 1) + 1)
        if row.band:  # bands may be printed in any order: the whole table, the label's best match there
            lo, hi = start[0], min(end[0], len(view.norm) - 1) + 1
        for ci in range(max(lo, start[0]), hi):
            if ci in used or not _label_like(view.norm[ci]):
                continue
            if resembles(table, view.norm[ci], row):
                m = _WHOLE.match(view.norm[ci])
                assert m is not None
                out.append((row, (ci, m)))
                used.add(ci)
                found.add(row.key)
                break
    out.sort(key=lambda h: (h[1][0], h[1][1].start()))
    return out


_WHOLE = re.compile(r".*")


def label_evidence(view: _View, table: Table, region: tuple[Pos, Pos], row: Row) -> bool:
    """True if `row`'s label is printed anywhere in the table (detached from its values): its
    keyword, in one text line or across consecutive ones, or a text that resembles it best."""
    start, end = region
    stop = min(end[0], len(view.norm) - 1)
    prev = ""
    for ci in range(start[0], stop + 1):
        text = view.norm[ci]
        if not _label_like(text):
            prev = ""
            continue
        # the keyword counts only in a text whose closest label is this row's (其他 in 法人或其他组织 or
        # in 其他法律行政法规禁止公开 is no evidence for 3.其他)
        keyword = (row.pattern.search(text) and _best_rows(table, text)[0] is row) or \
            (prev and row.pattern.search(prev + text) and _best_rows(table, prev + text)[0] is row)
        if keyword or resembles(table, text, row):
            return True
        prev = text
    return False


@dataclass
class ValueRow:
    """A printed line or table row holding values only (no label): a candidate for a template row."""

    tokens: list[_Token]
    first: int  # view cell index of its first cell
    last: int

    @property
    def width(self) -> int:
        toks = list(self.tokens)
        while toks and toks[-1].kind == "blank":
            toks.pop()
        return len(toks)


@dataclass
class Alignment:
    """What alignment decided for the rows it placed: row key → (tokens, status cap, note)."""

    placed: dict[str, tuple[list[_Token], str, str]] = field(default_factory=dict)
    unsure: dict[str, tuple[str, str]] = field(default_factory=dict)  # row key → (raw, note)


def align_rows(view: _View, table: Table, region: tuple[Pos, Pos], anchors: list[tuple[Row, int, int]],
               value_rows: list[ValueRow], widths: dict[str, int], labelled: set[str]) -> Alignment:
    """Assign unlabelled value rows to the template rows between anchors, by order and counts.

    `anchors`: rows read with their own label (row, first and last view cell), in printed order;
    `widths`: the number of values each data row prints; `labelled`: rows whose label is printed
    somewhere (so a placed row can be `ok`).
    """
    out = Alignment()
    rows = table.data_rows
    index = {row.key: k for k, row in enumerate(rows)}
    marks = [(-1, region[0][0] - 1, region[0][0] - 1)] + \
        _increasing([(index[r.key], first, last) for r, first, last in anchors if r.key in index]) + \
        [(len(rows), 10**12, 10**12)]
    for (ka, _fa, la), (kb, fb, _lb) in zip(marks, marks[1:]):
        if kb <= ka:
            continue
        gap_rows = [r for r in rows[ka + 1:kb] if r.key in widths]
        orphans = [v for v in value_rows if la < v.first and v.last < fb]
        if not gap_rows or not orphans:
            continue
        fitting = [v for v in orphans if v.width in {widths[r.key] for r in gap_rows}]
        strays = [v for v in orphans if v not in fitting]
        where = _between(rows, ka, kb)
        if len(fitting) == len(gap_rows) and all(v.width == widths[r.key] for v, r in zip(fitting, gap_rows)):
            stray_note = (f"; {len(strays)} stray value line(s) left out ("
                          + ", ".join(" ".join(t.text.strip() for t in v.tokens) for v in strays) + ")"
                          if strays else "")
            for row, v in zip(gap_rows, fitting):
                if row.key in labelled:
                    out.placed[row.key] = (v.tokens, "ok", f"value row printed apart from its label; placed by "
                                                             f"template order {where}, counts agree{stray_note}")
                else:
                    out.placed[row.key] = (v.tokens, "inferred", f"value row printed with no label; placed by "
                                                                   f"template order {where}, counts agree{stray_note}")
        else:
            raw = " | ".join(" ".join(t.text.strip() for t in v.tokens) for v in orphans)
            note = (f"{len(fitting)} unlabelled value rows printed for {len(gap_rows)} rows {where}: which row is "
                    "which is not certain")
            for row in gap_rows:
                out.unsure[row.key] = (raw, note)
    return out


def _increasing(marks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The longest run of anchors (in printed order) whose template rows increase too: an anchor
    printed out of order keeps its own values but bounds no gap."""
    marks = sorted(marks, key=lambda m: m[1])
    best: list[list[tuple[int, int, int]]] = []
    for m in marks:
        prev = max((b for b in best if b[-1][0] < m[0]), key=len, default=[])
        best.append(prev + [m])
    return max(best, key=len, default=[])


def _between(rows: list[Row], ka: int, kb: int) -> str:
    a = rows[ka].key if ka >= 0 else "the table's start"
    b = rows[kb].key if kb < len(rows) else "the table's end"
    return f"between {a} and {b}"
