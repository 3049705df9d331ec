"""The readers' common output: a document as blocks (table rows or paragraphs) of text cells.

Every reader (text, HTML, DOCX, PDF) turns its input into this one shape, with each cell's
provenance, so that a single template-driven parser serves all forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "Cell", "Document"]


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
