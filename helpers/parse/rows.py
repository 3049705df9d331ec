"""Printed rows: each template row's label found in printed order, and the values printed with it."""

from __future__ import annotations

import re

from ..template import Row, Table, normalize
from .align import in_order
from .locate import LOOKAHEAD, Pos, _find, _View
from .values import _classify, _flat_tokens, _Token

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
                   for other in _containers(table, row) for n in other.pattern.finditer(text, lo, hi)) \
                and not _other_numbering(text, m, table, row):
            return hit
        pos = (ci, m.end())
    return None


_NUMBERING = re.compile(r"[(\[]\s*([一二三四五六七八九十]{1,3}|\d{1,2})\s*[)\]]|(\d{1,2})\s*[.、,]|([一二三四五六七八九十]{1,3})\s*、")
_NUMERALS = {ch: i for i, ch in enumerate("一二三四五六七八九十", start=1)}


def _numeral(text: str) -> int | None:
    """The value of a printed row number: 3, 三, 十二."""
    if text.isdigit():
        return int(text)
    if len(text) == 1:
        return _NUMERALS.get(text)
    if text.startswith("十"):
        return 10 + (_NUMERALS.get(text[1:], 0) if len(text) > 1 else 0)
    if len(text) >= 2 and text[1] == "十":
        return _NUMERALS.get(text[0], 0) * 10 + (_NUMERALS.get(text[2:], 0) if len(text) > 2 else 0)
    return None


def _other_numbering(text: str, m: re.Match[str], table: Table, row: Row) -> bool:
    """True if the numbering printed last before a keyword hit is another row's ("（九）移交信访渠道"
    is not 1.信访举报投诉类申请): a row number of another value names another row, unless another
    row's label stands between it and the keyword (the group's "（三）不予公开 ①属于国家秘密")."""
    if not row.number:
        return False
    want = _numeral(row.number.strip("（）()"))
    last = None
    for n in _NUMBERING.finditer(text, max(0, m.start() - 24), m.end()):
        last = n
    if last is None or want is None:
        return False
    printed = next(g for g in last.groups() if g)
    if printed.isdigit():  # digits run on from the values before ("…10000015.属于"): 5 or 15
        other = want not in {int(printed), int(printed[-1])}
    else:
        got = _numeral(printed)
        other = got is not None and got != want
    if not other:
        return False
    between = text[last.end():m.end()]
    return not any(r is not row and r.pattern.search(between) for r in table.rows)


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
        pos = (hit[0], _label_end(view, rows[j], hit))  # the rest of a label ("…不计其他情形）") is no row's
        i = j + 1
    return hits


def _label_end(view: _View, row: Row, hit: tuple[int, re.Match[str]]) -> int:
    """Where the hit row's own printed label ends: past the rest of its template label where the
    text goes on with it (部分公开 + （区分处理的，只计这一情形，不计其他情形）), so that no later row's
    keyword (其他) is found inside it."""
    ci, m = hit
    text = view.norm[ci]
    rest, rest_chars = _label_rest(row)
    i, k = m.end(), 0
    while i < len(text) and k < len(rest):
        if text[i] == " ":
            i += 1
        elif text[i] == rest[k]:
            i, k = i + 1, k + 1
        else:
            break
    if k < len(rest):  # the rest printed with a character left out or changed: up to the values, if
        d = _FIRST_DIGIT.search(text, m.end())  # what stands before them is the rest's characters in order
        stop = d.start() if d else len(text)
        seg = _LABEL_CHARS.sub("", text[m.end():stop])
        if len(seg) >= 2 and len(seg) * 3 >= len(rest_chars) * 2 and in_order(seg, rest, stray=1 / 8):
            return stop
    return i if k else m.end()


_LABEL_RESTS: dict[int, tuple[Row, str, str]] = {}


def _label_rest(row: Row) -> tuple[str, str]:
    """What of a row's template label follows its keyword (normalised, no spaces), and the letters
    of it: template data, worked out once per row per process (rows live as long as templates;
    the row itself is kept with it, so that a reused id never returns another row's)."""
    got = _LABEL_RESTS.get(id(row))
    if got is None or got[0] is not row:
        label = normalize(row.label).replace(" ", "")
        word = next((w for w in (normalize(x).replace(" ", "") for x in row.match or (row.label,)) if w in label), "")
        rest = label[label.index(word) + len(word):] if word else ""
        got = _LABEL_RESTS[id(row)] = (row, rest, _LABEL_CHARS.sub("", rest))
    return got[1], got[2]


_FIRST_DIGIT = re.compile(r"\d")
_LABEL_CHARS = re.compile(r"[^\u4e00-\u9fffA-Za-z]")


def _collect(view: _View, hit: tuple[int, re.Match[str]], limit: Pos, used: set[int],
             below: bool = True) -> list[_Token]:
    """The printed values that belong to a label: after it in its row, else (`below`) in the rows
    below. A cell that starts with another row's numbering ("5.要求…", "（三）不") ends them: that
    numbering is never a value."""
    ci, m = hit
    tokens: list[_Token] = []
    text_end = limit[1] if limit[0] == ci else len(view.norm[ci])
    tail_raw, tail = view.raw[ci][m.end():text_end], view.norm[ci][m.end():text_end]
    tokens += _flat_tokens(tail_raw, tail, view.source[ci])
    if tokens and tokens[0].kind == "placeholder" and tail[:1] == normalize(tokens[0].text)[:1] and \
            _GLUED.match(tail):
        tokens = tokens[1:]  # punctuation glued to the label ("予以公开、": a vertical 三、's glyph), not a value
    if tokens:
        used.add(ci)
    label_block = view.block[ci]
    value_block = label_block  # the row the values come from: the label's, else the first below with any
    j = ci + 1
    stop = min(limit[0], len(view.norm) - 1)
    while j <= stop:
        if view.block[j] != value_block:
            if tokens or not below:
                break
            value_block = view.block[j]
        if _ROW_NUMBERING.match(view.norm[j]) or _NUMBERING_INSIDE.search(view.norm[j]):
            break
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


# A cell that begins with a row's numbering and its label: the next row, not a value.
_ROW_NUMBERING = re.compile(r"\s*(?:[(\[]\s*(?:[一二三四五六七八九十]{1,2}|\d{1,2})\s*[)\]]|\d{1,2}\s*[.、,]|[一二三四五六七八九十]{1,2}\s*、)\s*[\u4e00-\u9fff]")
# A row's numbering after glyphs of a vertical label ("度办2.其他法律…"): label text, never a value.
_NUMBERING_INSIDE = re.compile(r"^[^\d]*?[\u4e00-\u9fff]\s*\d{1,2}\s*[.、]\s*[\u4e00-\u9fff]")
# A placeholder-like character printed right against the label (no space): part of the label.
_GLUED = re.compile(r"[^\s\d]")


# Text with a number that is not at its start: in a row below the label, that is prose, not values.
_LATE_TEXT = re.compile(r"\s*[^\d\s+-][^\d]*\d")


def _every_label(view: _View, table: Table, row: Row, region: tuple[Pos, Pos]) -> list[tuple[int, re.Match[str]]]:
    """Every hit of a row's label in the region, in printed order."""
    seen = []
    pos, end = region
    while (hit := _find_label(view, table, row, pos, end)) is not None:
        seen.append(hit)
        pos = (hit[0], hit[1].end())
    return seen


def _band_hits(view: _View, table: Table, region: tuple[Pos, Pos],
               hits: list[tuple[Row, tuple[int, re.Match[str]]]]) -> list[tuple[Row, tuple[int, re.Match[str]]]]:
    """Rows of a banded table (Table 2) printed out of the template's order: a band's label found
    once anywhere in the table, in a cell no other row's label holds, is that row's label."""
    found = {row.key for row, _ in hits}
    taken = {hit[0] for _, hit in hits}
    out = list(hits)
    for row in table.data_rows:
        if row.key in found or not row.band:
            continue
        seen = _every_label(view, table, row, region)
        fresh = [h for h in seen if h[0] not in taken]
        if len(seen) == 1 and len(fresh) == 1:
            out.append((row, fresh[0]))
            taken.add(fresh[0][0])
    out.sort(key=lambda h: (h[1][0], h[1][1].start()))
    return out


def _anchored_hits(view: _View, table: Table, region: tuple[Pos, Pos],
                   hits: list[tuple[Row, tuple[int, re.Match[str]]]]) -> list[tuple[Row, tuple[int, re.Match[str]]]]:
    """Rows the ordered search skipped (a later row's label printed, detached, before them) whose
    label stands once in the table with values beside it in its own table row: that row is theirs."""
    found = {row.key for row, _ in hits}
    taken = {hit[0] for _, hit in hits}
    out = list(hits)
    for row in table.data_rows:
        if row.key in found:
            continue
        seen = _every_label(view, table, row, region)
        with_values = [h for h in seen if h[0] not in taken and view.block[h[0]] in view.table_blocks
                       and _collect(view, h, region[1], set(), below=False)]
        if len(seen) == 1 and len(with_values) == 1:
            out.append((row, with_values[0]))
            taken.add(with_values[0][0])
    out.sort(key=lambda h: (h[1][0], h[1][1].start()))
    return out
