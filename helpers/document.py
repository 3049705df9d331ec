"""The readers' common output: a document as blocks (table rows or paragraphs) of text cells.

Every reader (text, HTML, DOCX, PDF) turns its input into this one shape, with each cell's
provenance, so that a single template-driven parser serves all forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .template import common, normalize

__all__ = ["Block", "Cell", "Document", "report_title"]


def report_title(title: str | None) -> str | None:
    """A container's metadata title (Word or PDF properties), kept only when it names a report:
    it holds the title suffix (政府信息公开工作年度报告) and more, e.g. the agency or the year."""
    title = (title or "").strip()
    suffix = normalize(common()["metadata"]["title_suffix"])
    flat = normalize(title).replace(" ", "")
    return title if suffix in flat and len(flat) > len(suffix) else None


@dataclass(slots=True)
class Cell:
    """One piece of printed text: a table cell, a line, or a paragraph; `source` says where."""

    text: str
    source: str


@dataclass(slots=True)
class Block:
    """A table row (`table=True`) or a paragraph/line group, in reading order."""

    cells: list[Cell]
    table: bool = False


@dataclass
class Document:
    """What a reader produced: blocks in reading order plus what the container told us."""

    path: str
    form: str
    blocks: list[Block]
    encoding: str | None = None
    sha256: str | None = None
    title: str | None = None
    header: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """All text, a line per block, cells separated by tabs (for narrative and metadata)."""
        return "\n".join("\t".join(c.text for c in b.cells) for b in self.blocks)
