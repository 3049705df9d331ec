"""Parse stage: a `Document` (from any reader) → a `Report` with every template cell.

The steps, each a small function: flatten the blocks into a searchable view; find the six section
headings; cut the three table regions; detect the template version; find each row's printed label
in template order; collect the printed values after it; map the k-th value to the k-th column,
splitting digits that an archiver ran together only where the split is certain (or made certain by
a printed relation, which the cell's note names). Nothing is filled from a relation.

Real reports deviate from the template (template-spec §8.2); label and heading variants are data in
the YAML templates, and the code reads a deviation only where the printed text makes it certain:
headings without "一、" numbering count only as a whole paragraph/cell (`alone` in common.yaml); an
extra column (法人或其他组织小计) is placed by its header's neighbours and left out of the record;
Table 4 may stand over several rows of whole blocks or one labelled row per block; a cell or a row
whose values are joined to another number by a separator ("5、8", "(5)8") is unreadable, never
its first number; a table that prints the other format's columns (a 2021 report with the 2019 Table 2) is not
read. Anything uncertain comes out unreadable or missing with a note.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import NoTablesFound, NotAReport
from ..read import DEFAULT_MAX_BYTES, read_document
from ..record import Report
from ..template import get_template
from .locate import (
    _READ_FOR_SURE,
    _detect_version,
    _foreign_columns,
    _regions,
    _sections,
    _view,
)
from .metadata import _metadata, _section_texts
from .tables import _table_cells
from .values import _cell

__all__ = ["parse_document", "read_report"]


def parse_document(doc: Document) -> Report:
    """Turn a reader's `Document` into a `Report` (raises `NotAReport` / `NoTablesFound`)."""
    view = _view(doc)
    sections = _sections(view)
    meta = _metadata(doc, view, sections)
    regions = _regions(view, sections, get_template("2021"))
    version = _detect_version(view, regions, meta["year"])
    template = get_template(version)
    if version != "2021":
        regions = _regions(view, sections, template)
    units: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    table_notes: list[str] = []
    for table in template.tables.values():
        foreign = _foreign_columns(view, version, table, regions.get(table.key))
        if foreign:
            table_notes.append(foreign)
            rows += [_cell(f"{table.key}/{r.key}/{c.key}", None, "", "unreadable", "", foreign)
                     for r in table.data_rows for c in table.row_columns(r)]
            continue
        rows += _table_cells(view, template, table, regions.get(table.key), units, table_notes)
    # A report prints its tables: at least one cell read for sure (a number, a blank, a placeholder).
    if not any(r["status"] in _READ_FOR_SURE for r in rows):
        looks_like_report = len(sections) >= 2 or meta["title"] is not None
        if not looks_like_report:
            raise NotAReport(doc.path, "no report headings and none of the three statistical tables")
        raise NoTablesFound(doc.path, f"found {len(sections)} of the six section headings but no table row "
                                      "with printed values")
    notes = list(doc.notes) + table_notes
    missing_tables = [t for t in template.tables if t not in regions]
    if missing_tables:
        notes.append("tables not found: " + ", ".join(missing_tables))
    return Report(cells=rows, template=version, form=doc.form, encoding=doc.encoding,
                  sha256=doc.sha256, path=doc.path, sections=_section_texts(view, sections), units=units,
                  notes=notes, **meta)


def read_report(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, ocr: bool = True) -> Report:
    """Read and parse one report file (any form `helpers.read` takes) into a `Report`.

    With `ocr` (the default) scans and images are read by OCR; without it they raise `NoTextLayer`.
    Raises a `ReportError` subclass naming the file when it cannot be read as a report.
    """
    doc = read_document(Path(path), max_bytes=max_bytes, ocr=ocr)
    return parse_document(doc)
