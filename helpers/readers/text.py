"""Text reader: Word exports (one cell per line, tab indents, bookmarks), archived flattened text,
markdown pipe tables and tab-separated rows.

Blank lines separate blocks; a line holding several cells (tabs or pipes between them) is a table
row of its own. A tab-only line is an empty cell. Archiver header fields (`标题: …`) are kept.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ..document import Block, Cell, Document
from ..errors import FileTooLarge
from ..limits import BOMB_HINT, LIMITS, Budget
from ..template import common

_DIGIT = re.compile(r"\d")
_HEADER_LINE_MAX = 200  # longer lines are prose, not a table header line
_CJK = re.compile(r"[\u4e00-\u9fff]")
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
# A markdown table rule has at least one pipe: a line of dashes alone is a placeholder cell ("--").
_PIPE_RULE = re.compile(r"^\s*(?=[^|]*\|)\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADER_FIELD = re.compile(r"^([^:：\s]{2,6})\s*[:：]\s*(.*)$")


def _split(line: str) -> list[str]:
    """The cells of one line: pipe-separated (with or without the edge pipes), tab-separated, or one."""
    s = line.strip("\r")
    if s.lstrip().startswith("|") and s.rstrip().endswith("|") and s.count("|") >= 2:
        return [c.strip() for c in s.strip().strip("|").split("|")]
    if s.count("|") >= 2:  # "label | 3 | 5": a pipe table row written without its edge pipes
        return [c.strip() for c in s.strip().split("|")]
    if s.startswith("\t"):
        s = s[1:]  # one indent tab is layout, not an empty cell
    return s.split("\t") if "\t" in s else [s]


def _repeated_headers(lines: list[str], start: int) -> set[int]:
    """Indices of table header lines printed again further down (a page copied with its table
    header repeated): a stretch of label lines right after values (not after other labels, as a
    band's header after its caption) equal line for line to a stretch printed earlier before rows
    with digits, at least three lines long (two when each line holds several cells). Read twice, a
    header label (总计, 其他) would be met among the rows."""
    runs: list[list[int]] = []
    run: list[int] = []
    for i in range(start, len(lines)):
        if not lines[i].strip():
            continue
        if _DIGIT.search(lines[i]):
            if run:
                runs.append(run)
            run = []
        else:
            run.append(i)
    out: set[int] = set()
    keys = [[_header_key(lines[i]) for i in r] for r in runs]
    where: dict[str, list[tuple[int, int]]] = {}  # header line → (earlier run, offset) it was printed at
    for k, later in enumerate(runs):
        texts = keys[k]
        for a, text in enumerate(texts):
            if a and texts[a - 1]:
                continue  # a header block starts a table: after values, not after other labels
            for r, b in where.get(text, ()) if text else ():
                before = keys[r]
                n = 0
                while a + n < len(texts) and b + n < len(before) and texts[a + n] and texts[a + n] == before[b + n]:
                    n += 1
                if n >= (2 if all(len(_split(lines[i])) > 1 for i in later[a:a + n]) else 3):
                    out.update(later[a:a + n])
        for b, text in enumerate(texts):
            if text:
                where.setdefault(text, []).append((k, b))
    return out


def _header_key(line: str) -> str | None:
    """A line as a header line to compare (stripped), or None when it cannot be one: prose (long),
    or a line with a placeholder or empty cell or without a CJK character (values, not labels)."""
    text = line.strip()
    if len(text) > _HEADER_LINE_MAX or not _CJK.search(text):
        return None
    words = _placeholders()
    if any(not c.strip() or c.strip() in words for c in _split(line)):
        return None
    return text


@lru_cache(maxsize=1)
def _placeholders() -> frozenset[str]:
    return frozenset(common()["cells"]["placeholders"])


def _header(lines: list[str]) -> tuple[dict[str, str], int]:
    """An archiver's header block (`标题: …` … `==== 正文 ====`) if the text starts with one."""
    meta = common()["metadata"]
    fields, body_mark = meta["header_fields"], re.compile(meta["body_mark"])
    header: dict[str, str] = {}
    for i, line in enumerate(lines[:20]):
        if body_mark.fullmatch(line.strip()):
            return header, i + 1
        m = _HEADER_FIELD.match(line.strip())
        if not m:
            continue
        for name, pattern in fields.items():
            if re.fullmatch(pattern, m.group(1)):
                header[name] = m.group(2).strip()
    return {}, 0


def read_text(path: Path, text: str, encoding: str) -> Document:
    """Turn decoded text into blocks of cells, each cell's source being its line number."""
    text = _BOOKMARK.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    if len(lines) > LIMITS.lines:
        raise FileTooLarge(path, f"{len(lines):,} lines, over the limit of {LIMITS.lines:,}", BOMB_HINT)
    cell_budget = Budget(path, "cells", LIMITS.cells)
    header, start = _header(lines)
    blocks: list[Block] = []
    current: list[Cell] = []

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append(Block(current, table=len(current) > 1))
            current = []

    repeated = _repeated_headers(lines, start)
    for no, line in enumerate(lines[start:], start=start + 1):
        if no - 1 in repeated:
            continue
        if not line.strip(" \r") and "\t" not in line:
            flush()
            continue
        if _PIPE_RULE.match(line):
            continue
        parts = _split(line)
        cell_budget.take(len(parts))
        if len(parts) > 1:
            flush()
            blocks.append(Block([Cell(p, f"line {no}") for p in parts], table=True))
        else:
            current.append(Cell(parts[0], f"line {no}"))
    flush()
    notes = [f"a header block of {len(repeated)} lines printed again (line {min(repeated) + 1}) was read once"] \
        if repeated else []
    return Document(path=str(path), form="text", blocks=blocks, encoding=encoding,
                    title=header.get("title"), header=header, notes=notes)
