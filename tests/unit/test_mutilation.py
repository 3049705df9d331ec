"""Mutilated corpus reports never yield a wrong `ok` cell (issue 11, "Must show").

Every text, Markdown and HTML report of ../shared/corpus (and the DOCX template) is mutated over
many seeds: lines or table rows dropped, Table 3 rows or columns swapped together with their labels,
invisible characters inserted into numbers, another report's Table 3 printed before the report's
own, the file cut short, re-encoded as GBK/GB18030. The truth moves with the mutation: a swapped
row or column keeps its own label, so its truth is unchanged; a cell where the duplicated table
differs from the report's own must not be `ok`; a dropped or cut cell may be missing or flagged. A
cell may always be flagged; a cell read `ok` must hold its truth value.
"""

from __future__ import annotations

import copy
import io
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI, ci_sample, corpus_dir, corpus_truths, load_truth
from helpers import OgiError, read_report
from helpers.synth import random_report, render

INVISIBLE = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062", "\u2063",
             "\u2064", "\ufe0f", "\u202a", "\u202c", "\u202d", "\u2066", "\u2069"]
ENTITIES = ["&shy;", "&#8203;", "&#x200B;", "&#8206;", "&#8288;"]
T3_MARK = "本年新收"
T3_TITLE = "收到和处理政府信息公开申请情况"
ORG = ["商业企业", "科研机构", "社会公益组织", "法律服务机构"]
REPORTS = [p for p in corpus_truths()
           if Path(load_truth(p)["_report"]).suffix in (".txt", ".md", ".html", ".docx")]
IDS = [p.parent.name for p in REPORTS]


class Mutated:
    """A mutated file: its bytes and suffix, what was done, the cells that must not be `ok`, and
    the tables (`table_3`) or columns (`table_3/*/total`) whose printed values no one can know
    (`unknowable`: not checked)."""

    def __init__(self, data: bytes, suffix: str, done: list[str], not_ok: set[str],
                 unknowable: frozenset[str] = frozenset()) -> None:
        self.data, self.suffix, self.done, self.not_ok = data, suffix, done, not_ok
        self.unknowable = unknowable


# ---------------------------------------------------------------------------------------------
# Locating Table 3 in a text


def _kind(truth: dict[str, Any], text: str) -> str:
    """html, markdown, flat (archiver text, cells run together) or word (one cell per line)."""
    suffix = Path(truth["_report"]).suffix
    if suffix == ".html":
        return "html"
    if suffix == ".md" or re.search(r"^\|.*\|\s*$", text, re.M):
        return "markdown"
    return "flat" if re.search(r"^={5,} *正文", text, re.M) else "word"


def _t3_span(text: str) -> tuple[int, int]:
    """Character span of Table 3: from its title (or table start) to Table 4's title (numbering
    included). Only called on texts that hold Table 3's first row label."""
    at = text.find(T3_MARK)
    start = max(text.rfind(T3_TITLE, 0, at), text.rfind("<table", 0, at))
    end = text.find("行政诉讼情况", at)
    if end < 0:
        return (start if start >= 0 else at), len(text)
    title = text.rfind("政府信息公开行政", at, end)
    end = title if title >= 0 else end
    while end > at and text[end - 1] in "一二三四五六七八九十、.# \t":
        end -= 1
    return (start if start >= 0 else at), end


def _line_span(text: str, a: int, b: int) -> tuple[int, int]:
    """Line indices covering characters a..b."""
    return text.count("\n", 0, a), text.count("\n", 0, b)


_TR = re.compile(r"<tr\b[^>]*>(?:(?!<tr\b).)*?</tr>", re.S | re.I)  # innermost rows (layout tables nest)
_TD = re.compile(r"<t[dh]\b[^>]*>.*?</t[dh]>", re.S | re.I)


def _cell_text(td: str) -> str:
    return re.sub(r"<[^>]+>|&nbsp;|\s", "", td)


def _is_value(text: str) -> bool:
    return bool(re.fullmatch(r"[+\-]?[\d.]+\D{0,2}|", text)) or len(text) <= 2


# ---------------------------------------------------------------------------------------------
# Mutations on text: each returns the new text, or None where it does not apply


def drop_lines(text: str, kind: str, rng: random.Random) -> str | None:
    """Drop one to three table lines (HTML: table rows; flat text: a row label)."""
    a, b = _t3_span(text)
    start = max(0, text.find("主动公开政府信息情况"))
    if kind == "html":
        rows = [m for m in _TR.finditer(text) if m.start() > start]
        gone = rng.sample(rows, min(len(rows), rng.randint(1, 3)))
        for m in sorted(gone, key=lambda m: -m.start()):
            text = text[:m.start()] + text[m.end():]
        return text
    if kind == "flat":  # a row (its label and its digit run) dropped: no two runs run together
        rows = list(_FLAT_ROW.finditer(text[a:b]))
        if not rows:
            return None
        m = rng.choice(rows)
        return text[:a + m.start()] + text[a + m.end():]
    lines = text.split("\n")
    lo, hi = _line_span(text, start, len(text))
    cands = [i for i in range(lo, min(hi, len(lines))) if lines[i].strip()]
    for i in sorted(rng.sample(cands, min(len(cands), rng.randint(1, 3))), reverse=True):
        del lines[i]
    return "\n".join(lines)


# A flattened Table 3 row: numbered label, then its digit run, which ends where the next label's
# numbering (2. 3、) begins.
_FLAT_ROW = re.compile(r"(?:\d[.、]|（[一二三四五六七]）)[\u4e00-\u9fff“”、，（）]{2,40}? ?"
                       r"\d+?(?=\d[.、]|[^\d.、]|$)")


def _t3_rows_html(text: str) -> list[re.Match[str]]:
    a, b = _t3_span(text)
    return [m for m in _TR.finditer(text, a, b)]


def swap_rows(text: str, kind: str, rng: random.Random) -> str | None:
    """Swap two Table 3 data rows, each with its own label and values."""
    a, b = _t3_span(text)
    if kind == "html":
        rows = [m for m in _t3_rows_html(text) if "rowspan" not in m.group(0).lower()]
        tds = {m.start(): _TD.findall(m.group(0)) for m in rows}
        rows = [m for m in rows if len(tds[m.start()]) >= 8 and not _is_value(_cell_text(tds[m.start()][-8]))]
        pairs = [(x, y) for x in rows for y in rows if x.start() < y.start()
                 and len(tds[x.start()]) == len(tds[y.start()])]
        if not pairs:
            return None
        x, y = rng.choice(pairs)
        return text[:x.start()] + y.group(0) + text[x.end():y.start()] + x.group(0) + text[y.end():]
    lines = text.split("\n")
    lo, hi = _line_span(text, a, b)
    if kind == "markdown":
        bare = [i for i in range(lo, hi) if lines[i].startswith("|") and not set(lines[i]) <= set("|-: ")
                and all(_is_value(c.strip()) for c in lines[i].strip("| ").split("|"))]
        if bare:
            return None  # rows assigned by their order (detached labels): a swap would change the truth
        rows = [i for i in range(lo, hi) if lines[i].startswith("|") and len(lines[i].strip("| ").split("|")) >= 8
                and not _is_value(lines[i].strip("| ").split("|")[0].strip())]
        groups = {}
        for i in rows:
            groups.setdefault(lines[i].count("|"), []).append(i)
        pairs = [(x, y) for g in groups.values() for x in g for y in g if x < y]
        if not pairs:
            return None
        x, y = rng.choice(pairs)
        lines[x], lines[y] = lines[y], lines[x]
        return "\n".join(lines)
    if kind == "flat":
        rows = [m for m in _FLAT_ROW.finditer(text, a, b) if m.group(0)[0].isdigit()]
        if len(rows) < 2:
            return None
        x, y = sorted(rng.sample(rows, 2), key=lambda m: m.start())
        return text[:x.start()] + y.group(0) + text[x.end():y.start()] + x.group(0) + text[y.end():]
    if kind == "word":
        blocks = _word_blocks(lines, lo, hi)
        full = [bl for bl in blocks if len(bl) == 8 and not _is_value(lines[bl[0]].strip())]
        if len(full) < 2:
            return None
        x, y = rng.sample(full, 2)
        saved = [lines[i] for i in x]
        for i, j in zip(x, y):
            lines[i] = lines[j]
        for j, s in zip(y, saved):
            lines[j] = s
        return "\n".join(lines)
    return None


def _word_blocks(lines: list[str], lo: int, hi: int) -> list[list[int]]:
    """Runs of non-blank lines (one Word-export table row each) between lo and hi."""
    blocks, cur = [], []
    for i in range(lo, hi):
        if lines[i].strip():
            cur.append(i)
        elif cur:
            blocks.append(cur)
            cur = []
    return blocks + ([cur] if cur else [])


def swap_columns(text: str, kind: str, rng: random.Random) -> str | None:
    """Swap two Table 3 columns together with their header labels (two organisation columns, or
    自然人 with 总计)."""
    if kind == "html":
        rows = _t3_rows_html(text)
        org_row = next((m for m in rows if all(o in _cell_text(m.group(0)) for o in ORG)), None)
        top_row = next((m for m in rows if "自然人" in _cell_text(m.group(0))), None)
        if org_row is None or top_row is None:
            return None
        outer = rng.random() < 0.3
        head = top_row if outer else org_row
        tds = _TD.findall(head.group(0))
        names = ["自然人", "总计"] if outer else rng.sample([*ORG, "其他"], 2)
        pos = [next((k for k, td in enumerate(tds) if _cell_text(td) == n), None) for n in names]
        if None in pos:
            return None
        vpos = [0, 6] if outer else [[*ORG, "其他"].index(n) + 1 for n in names]
        edits: list[tuple[int, int, str]] = []
        new_head = _swap_tds(head.group(0), pos[0], pos[1])  # type: ignore[arg-type]
        edits.append((head.start(), head.end(), new_head))
        for m in rows:
            if m.start() <= max(org_row.start(), top_row.start()):
                continue
            tds = _TD.findall(m.group(0))
            if len(tds) >= 8:
                n = len(tds)
                edits.append((m.start(), m.end(), _swap_tds(m.group(0), n - 7 + vpos[0], n - 7 + vpos[1])))
        for s, e, new in sorted(edits, reverse=True):
            text = text[:s] + new + text[e:]
        return text
    if kind == "word":
        lines = text.split("\n")
        a, b = _t3_span(text)
        lo, hi = _line_span(text, a, b)
        names = rng.sample(ORG, 2)
        pos = [next((i for i in range(lo, hi) if lines[i].strip() == n), None) for n in names]
        if None in pos:
            return None
        lines[pos[0]], lines[pos[1]] = lines[pos[1]], lines[pos[0]]  # type: ignore[index]
        k = [ORG.index(n) + 1 for n in names]
        for bl in _word_blocks(lines, lo, hi):
            if len(bl) >= 8 and _is_value(lines[bl[-1]].strip()):
                vals = bl[-7:]
                lines[vals[k[0]]], lines[vals[k[1]]] = lines[vals[k[1]]], lines[vals[k[0]]]
        return "\n".join(lines)
    return None


def _swap_tds(tr: str, i: int, j: int) -> str:
    cells = list(_TD.finditer(tr))
    if max(i, j) >= len(cells) or i == j:
        return tr
    x, y = sorted((i, j))
    cx, cy = cells[x], cells[y]
    return tr[:cx.start()] + cy.group(0) + tr[cx.end():cy.start()] + cx.group(0) + tr[cy.end():]


def invisible(text: str, kind: str, rng: random.Random) -> str | None:
    """Format characters (HTML: sometimes as entities) inside one to six numbers of the tables."""
    start = max(0, text.find("主动公开政府信息情况"))
    spots = [m.start() + 1 for m in re.finditer(r"\d(?=\d)", text[start:])]
    if not spots:
        return None
    for at in sorted(rng.sample(spots, min(len(spots), rng.randint(1, 6))), reverse=True):
        ch = rng.choice(ENTITIES) if kind == "html" and rng.random() < 0.5 else rng.choice(INVISIBLE)
        text = text[:start + at] + ch + text[start + at:]
    return text


def cut(text: str, kind: str, rng: random.Random) -> str | None:
    """The file cut short after Table 2 began, never inside a number (that cut no one could see)."""
    start = max(0, text.find("主动公开政府信息情况"))
    if kind == "html":
        spots = [m.start() for m in re.finditer("<", text) if m.start() > start]
    elif kind == "flat":
        num = set("0123456789.")
        spots = [i for i in range(start, len(text)) if not (text[i - 1] in num and text[i] in num)]
    else:
        spots = [m.start() for m in re.finditer("\n", text) if m.start() > start]
    return text[:rng.choice(spots)] if spots else None


# ---------------------------------------------------------------------------------------------
# Duplicated Table 3 (another report's), with the cells that then must not be ok


def _same(a: Any, b: Any) -> bool:
    num = isinstance(a, (int, float)) and isinstance(b, (int, float))
    if num:
        return abs(float(a) - float(b)) < 1e-9
    texts = not isinstance(a, (int, float)) and not isinstance(b, (int, float))
    return texts and str(a).strip() == str(b).strip()


def _printed(truth: dict[str, Any]) -> dict[str, Any]:
    """The truth as printed: numbers, and blank/placeholder text."""
    return {**truth.get("raw", {}), **truth["cells"], **truth.get("extra_cells", {})}


def duplicate(text: str, kind: str, rng: random.Random, truth: dict[str, Any],
              others: list[dict[str, Any]]) -> tuple[str, set[str], int] | None:
    """Another report's Table 3 printed right before the report's own: a corpus report of the same
    layout and format where there is one, else a generated report in the same form. Returns the
    new text, the cells where the copies differ, and where the report's own Table 3 now ends."""
    same = [o for o in others if o["template"] == truth["template"] and _kind(o, _read(o)) == kind
            and o["slug"] != truth["slug"]]
    if same:
        other = rng.choice(same)
        theirs, ttext = _printed(other), _read(other)
        a, b = _t3_span(ttext)
        piece = ttext[a:b]
        if kind != "html":
            piece = piece[piece.find("（本列"):] if "（本列" in piece else piece
    else:
        form = {"html": "html", "markdown": "markdown", "flat": "flat", "word": "text"}[kind]
        rep = random_report(rng.getrandbits(32), template=truth["template"],
                            year=2023 if truth["template"] == "2021" else 2019)
        opts: dict[str, Any] = {"encoding": "utf-8", "layout_tables": False, "mso": False} if form == "html" else {}
        gen = render(rep, form, rng=rng.getrandbits(32), **opts).data.decode("utf-8")
        theirs = dict(rep.cells)
        a, b = _t3_span(gen)
        piece = gen[a:b]
        if kind == "html":
            piece = piece[piece.find("<table"):piece.rfind("</table>") + len("</table>")]
        elif kind == "flat":
            piece = piece[len(T3_TITLE):]
        else:
            piece = piece[piece.find("\n") + 1:]  # the rows after the section heading
    a, _ = _t3_span(text)
    if kind == "html":
        at = text.find("<table", a) if text.find("<table", a) >= 0 else a
        new = text[:at] + piece + text[at:]
    elif kind == "flat":
        at = text.find("（本列", a)
        at = at if at >= 0 else a
        new = text[:at] + piece + text[at:]
    else:
        at = text.find("\n", a) + 1
        new = text[:at] + "\n" + piece.strip("\n") + "\n\n" + text[at:]
    mine = _printed(truth)
    differ = {k for k, v in mine.items() if k.startswith("table_3/") and not _same(v, theirs.get(k, None))}
    return new, differ, _t3_span(text)[1] + len(new) - len(text)


def _read(truth: dict[str, Any]) -> str:
    return Path(truth["_report"]).read_bytes().decode("utf-8")


def reencode(text: str, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """The text re-encoded as GBK or GB18030 (an HTML page's declared charset changed with it)."""
    enc = rng.choice(["gbk", "gb18030"])
    if kind == "html":
        text = re.sub(r"charset\s*=\s*[\"']?utf-?8", f"charset={enc}", text, flags=re.I)
        return text.encode(enc, errors="xmlcharrefreplace"), enc
    try:
        return text.encode(enc), enc
    except UnicodeEncodeError:
        return text.encode("gb18030"), "gb18030"


TEXT_MUTATIONS: dict[str, Callable[[str, str, random.Random], str | None]] = {
    "drop_lines": drop_lines, "swap_rows": swap_rows, "swap_columns": swap_columns, "invisible": invisible,
    "cut": cut,
}


ORG_COLUMNS = ("commercial", "research", "public_welfare", "legal_service", "other_org")


def _unlabelled_columns(text: str, kind: str) -> frozenset[str]:
    """Table 3 columns (as `table_3/*/column`) whose header a later drop took after their swap:
    the values then stand in another column's place with no label to say so, which is what a
    report printing them in that order looks like; which column holds which truth no one can know."""
    a, b = _t3_span(text)
    if kind == "html":
        heads = [_cell_text(m.group(0)) for m in _t3_rows_html(text)]
    else:
        heads = ["".join(text[a:b].split("\n"))]
    out: set[str] = set()
    if not any(all(o in h for o in ORG) for h in heads):
        out |= {f"table_3/*/{c}" for c in ORG_COLUMNS}
    if kind == "html" and not any("自然人" in h for h in heads):
        out |= {"table_3/*/natural_person", "table_3/*/total"}
    return frozenset(out)


def mutate_text(truth: dict[str, Any], others: list[dict[str, Any]], seed: int) -> Mutated:
    """One to two mutations of a text, Markdown or HTML report, sometimes re-encoded."""
    rng = random.Random(seed)
    text = _read(truth)
    kind = _kind(truth, text)
    names = [*TEXT_MUTATIONS, "duplicate"]
    done: list[str] = []
    not_ok: set[str] = set()
    own_end: int | None = None  # where the report's own Table 3 ends once another's is put before it
    unknowable: frozenset[str] = frozenset()
    order = {"duplicate": 1, "cut": 2}  # the copy goes in after the edits of the report's own table
    for name in sorted(rng.sample(names, rng.randint(1, 2)), key=lambda n: order.get(n, 0)):
        if name != "cut" and T3_MARK not in text:
            continue
        if name == "duplicate":
            res = duplicate(text, kind, rng, truth, others)
            if res is None:
                continue
            text, differ, own_end = res
            not_ok |= differ
        else:
            new = TEXT_MUTATIONS[name](text, kind, rng)
            if new is None:
                continue
            text = new
            if name == "cut" and own_end is not None and len(text) < own_end:
                # the cut took (part of) the report's own Table 3 and left the other's whole: the
                # file's Table 3 is no longer the report's, and which rows of its own survive no
                # truth says; Table 3 is not checked
                unknowable = frozenset({"table_3"})
                not_ok = {k for k in not_ok if not k.startswith("table_3/")}
        done.append(name)
    if "swap_columns" in done:
        unknowable |= _unlabelled_columns(text, kind)
    if rng.random() < 0.3:
        data, enc = reencode(text, kind, rng)
        done.append(f"reencode:{enc}")
    else:
        data = text.encode("utf-8")
    return Mutated(data, Path(truth["_report"]).suffix, done, not_ok, unknowable)


# ---------------------------------------------------------------------------------------------
# DOCX (python-docx edits on the XML)


def mutate_docx(truth: dict[str, Any], seed: int) -> Mutated:
    """A table row dropped, two Table 3 rows swapped, Table 3 duplicated, or invisible characters
    put into cells."""
    import docx

    rng = random.Random(seed)
    d = docx.Document(str(truth["_report"]))
    tables = d.tables
    t3 = next((t for t in tables if any(T3_MARK in c.text for r in t.rows for c in r.cells)), tables[-1])
    trs = list(t3._tbl.tr_lst)
    name = rng.choice(["drop_row", "swap_rows", "duplicate", "invisible"])
    if name == "drop_row":
        t = rng.choice(tables)._tbl
        t.remove(rng.choice(list(t.tr_lst)))
    elif name == "swap_rows":
        x, y = sorted(rng.sample(range(3, len(trs)), 2))
        a, b = trs[x], trs[y]
        pa = a.getprevious()
        b.addprevious(a)
        if pa is not None:
            pa.addnext(b)
    elif name == "duplicate":
        t3._tbl.addprevious(copy.deepcopy(t3._tbl))
    else:
        cells = [c for t in tables for r in t.rows for c in r.cells]
        for c in rng.sample(cells, min(len(cells), 10)):
            for p in c.paragraphs:
                p.add_run(rng.choice(INVISIBLE))
    buf = io.BytesIO()
    d.save(buf)
    return Mutated(buf.getvalue(), ".docx", [name], set())


# ---------------------------------------------------------------------------------------------
# Judging


def wrong_ok(truth: dict[str, Any], cells: list[dict[str, Any]], not_ok: set[str]) -> list[str]:
    """Cells read `ok` against the truth: a different number, a number where a blank or placeholder
    is printed or where the format's row is not printed, or `ok` where the copies differ."""
    nums = {**truth["cells"], **truth.get("extra_cells", {})}
    raw = truth.get("raw", {})
    absent = set(truth.get("not_printed", []))
    out = []
    for c in cells:
        if c["status"] != "ok":
            continue
        key = f"{c['table']}/{c['row']}/{c['column']}"
        if key in not_ok:
            out.append(f"{key}: ok {c['value']} although the two Table 3 copies differ")
        elif key in nums and (c["value"] is None or abs(float(c["value"]) - float(nums[key])) > 1e-9):
            out.append(f"{key}: ok {c['value']}, truth {nums[key]}")
        elif key in raw:
            out.append(f"{key}: ok {c['value']}, printed {raw[key]!r}")
        elif key in absent:
            out.append(f"{key}: ok {c['value']}, not printed")
    return out


def _check(truth: dict[str, Any], others: list[dict[str, Any]], seed: int, tmp_path: Path) -> list[str]:
    m = mutate_docx(truth, seed) if Path(truth["_report"]).suffix == ".docx" else mutate_text(truth, others, seed)
    path = tmp_path / f"mutated-{seed}{m.suffix}"
    path.write_bytes(m.data)
    try:
        cells = read_report(path).cell_records()
    except OgiError:
        return []  # a refused file yields no cell, so no wrong one
    cells = [c for c in cells
             if c["table"] not in m.unknowable and f"{c['table']}/*/{c['column']}" not in m.unknowable]
    return [f"seed {seed} [{'+'.join(m.done)}] {w}" for w in wrong_ok(truth, cells, m.not_ok)]


def _run(truth_path: Path, seeds: list[int], tmp_path: Path) -> None:
    corpus_dir()
    truth = load_truth(truth_path)
    others = [load_truth(p) for p in REPORTS if Path(load_truth(p)["_report"]).suffix != ".docx"]
    wrong: list[str] = []
    for seed in seeds:
        wrong += _check(truth, others, seed, tmp_path)
    assert not wrong, f"{truth['slug']}: {len(wrong)} wrong ok cells, e.g.\n" + "\n".join(wrong[:8])


def test_the_corpus_has_reports_to_mutilate() -> None:
    corpus_dir()
    assert len(REPORTS) >= 5


@pytest.mark.parametrize("truth_path", REPORTS, ids=IDS)
def test_mutilated_report_never_yields_a_wrong_ok(truth_path: Path, tmp_path: Path) -> None:
    seeds = list(range(40))
    _run(truth_path, ci_sample(seeds, 10, seed=3) if IN_CI else seeds[:20], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("truth_path", REPORTS, ids=IDS)
def test_mutilated_report_never_yields_a_wrong_ok_over_many_seeds(truth_path: Path, tmp_path: Path) -> None:
    _run(truth_path, ci_sample(list(range(1000, 1200)), 10, seed=5), tmp_path)


def test_mutations_change_the_file_and_keep_the_truth_aligned() -> None:
    """The mutations do what they say: a swapped row keeps its label with its values."""
    corpus_dir()
    html = next((p for p in REPORTS if Path(load_truth(p)["_report"]).suffix == ".html"), None)
    if html is None:
        pytest.skip("no HTML report in the corpus")
    truth = load_truth(html)
    text = _read(truth)
    for name, fn in TEXT_MUTATIONS.items():
        new = fn(text, "html", random.Random(1))
        assert new is not None and new != text, name
    swapped = swap_columns(text, "html", random.Random(2))
    assert swapped is not None
    assert sorted(_TD.findall(swapped)) == sorted(_TD.findall(text))  # the same cells, moved


def test_a_swap_whose_header_is_dropped_leaves_its_columns_unknowable() -> None:
    """Swapped columns are checked while their header row is printed, and not once it is gone."""
    corpus_dir()
    html = next((p for p in REPORTS if Path(load_truth(p)["_report"]).suffix == ".html"), None)
    if html is None:
        pytest.skip("no HTML report in the corpus")
    text = swap_columns(_read(load_truth(html)), "html", random.Random(2))
    assert text is not None
    assert _unlabelled_columns(text, "html") == frozenset()
    org_row = next(m for m in _t3_rows_html(text) if all(o in _cell_text(m.group(0)) for o in ORG))
    headless = text[:org_row.start()] + text[org_row.end():]
    assert _unlabelled_columns(headless, "html") == {f"table_3/*/{c}" for c in ORG_COLUMNS}
