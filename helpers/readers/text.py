"""Text reader: Word exports (one cell per line, tab indents, bookmarks), archived flattened text,
markdown pipe tables and tab-separated rows.

Blank lines separate blocks; a line holding several cells (tabs or pipes between them) is a table
row of its own. A tab-only line is an empty cell. Archiver header fields (`标题: …`) are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..document import Block, Cell, Document
from ..template import common

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
    header, start = _header(lines)
    blocks: list[Block] = []
    current: list[Cell] = []

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append(Block(current, table=len(current) > 1))
            current = []

    for no, line in enumerate(lines[start:], start=start + 1):
        if not line.strip(" \r") and "\t" not in line:
            flush()
            continue
        if _PIPE_RULE.match(line):
            continue
        parts = _split(line)
        if len(parts) > 1:
            flush()
            blocks.append(Block([Cell(p, f"line {no}") for p in parts], table=True))
        else:
            current.append(Cell(parts[0], f"line {no}"))
    flush()
    return Document(path=str(path), form="text", blocks=blocks, encoding=encoding,
                    title=header.get("title"), header=header)
