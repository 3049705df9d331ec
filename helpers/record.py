"""The canonical record of one report: metadata, sections, and a tidy table of every template cell.

`Report.cells` has one row per template cell (plus rows the template does not know), with the
columns `table, row, column, value, raw, status, source, note`. A cell the parser could not read
has a status saying so and a null value: never 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .template import get_template

__all__ = ["CELL_COLUMNS", "STATUSES", "Report"]

CELL_COLUMNS = ["table", "row", "column", "value", "raw", "status", "source", "note"]

STATUSES = {
    "ok": "a printed number (a unit suffix allowed); value is that number",
    "blank": "an empty cell (whitespace, &nbsp;, U+3000): not 0",
    "placeholder": "a printed placeholder such as /, —, 无, 不适用: not 0",
    "unreadable": "printed but not readable with certainty (e.g. digits run together); value is null",
    "inferred": "digits run together whose split a printed relation makes unique (note says which)",
    "missing": "the row or table is absent from the report",
    "unknown": "a row the template does not know, kept as unknown:<label>",
    "corrected": "corrected by hand (`ogi correct`): value is the corrected number (null when the original "
                 "prints a blank or placeholder), raw is still what was printed, note names the correction",
}

ORGAN_KINDS = ("department", "government", "township", "unknown")


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if hasattr(value, "item"):
        return _json_value(value.item())
    return value


@dataclass
class Report:
    """One parsed report: identity, provenance, the six sections and every table cell."""

    cells: pd.DataFrame
    agency: str | None = None
    year: int | None = None
    report_date: dt.date | None = None
    published: dt.date | None = None
    organ_kind: str = "unknown"
    template: str = "2021"
    form: str | None = None
    encoding: str | None = None
    sha256: str | None = None
    path: str | None = None
    title: str | None = None
    sections: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # Construct

    @classmethod
    def from_cells(cls, cells: pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]],
                   template: str = "2021", **meta: Any) -> Report:
        """Build a record from a cell table, a {key: value} mapping or a list of cell dicts.

        Cells not given are `missing`; a mapping value that is a number is `ok`, None is `missing`,
        "" is `blank`, other text is a `placeholder`. Used by tests, the generator and validation.
        """
        tmpl = get_template(template)
        given: dict[tuple[str, str, str], dict[str, Any]] = {}
        extra: list[dict[str, Any]] = []
        if isinstance(cells, pd.DataFrame):
            records: Iterable[Mapping[str, Any]] = cells.to_dict("records")
        elif isinstance(cells, Mapping):
            records = [_cell_from_key(k, v) for k, v in cells.items()]
        else:
            records = cells
        for rec in records:
            rec = {c: rec.get(c) for c in CELL_COLUMNS}
            key = (rec["table"], rec["row"], rec["column"])
            if key in given or str(rec["row"]).startswith("unknown:"):
                extra.append(rec)
            else:
                given[key] = rec
        rows = []
        for t, r, c in tmpl.cells:
            rec = given.pop((t, r, c), None)
            if rec is None:
                rec = {"table": t, "row": r, "column": c, "value": None, "raw": "", "status": "missing",
                       "source": "", "note": ""}
            rows.append(rec)
        rows.extend(given.values())  # cells outside the template: kept, never dropped
        rows.extend(extra)
        return cls(cells=cells_frame(rows), template=template, **meta)

    # Convert

    def metadata(self) -> dict[str, Any]:
        """Identity and provenance as a JSON-ready dict (dates as ISO strings, absent as None)."""
        return {
            "agency": self.agency,
            "year": self.year,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "published": self.published.isoformat() if self.published else None,
            "organ_kind": self.organ_kind,
            "template": self.template,
            "form": self.form,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "path": self.path,
            "title": self.title,
            "units": dict(self.units),
            "sections": [k for k, v in self.sections.items() if v is not None],
            "notes": list(self.notes),
        }

    def cell_records(self) -> list[dict[str, Any]]:
        """The cells as JSON-ready dicts: value a number or None (never NaN)."""
        out = []
        for rec in self.cells.to_dict("records"):
            rec["value"] = _json_value(rec["value"])
            for k in ("raw", "source", "note"):
                rec[k] = "" if rec[k] is None or rec[k] is pd.NA else str(rec[k])
            out.append(rec)
        return out

    def to_dict(self) -> dict[str, Any]:
        """`{"report": metadata, "cells": [...]}`: the `ogi parse --format json` contract."""
        return {"report": self.metadata(), "cells": self.cell_records()}

    def values(self) -> dict[str, float | None]:
        """`{"table/row/column": value}` for the template cells (None where no number was read)."""
        return {f"{r['table']}/{r['row']}/{r['column']}": _json_value(r["value"])
                for r in self.cells.to_dict("records")}

    def cell(self, key: str) -> dict[str, Any] | None:
        """One cell by key `table/row/column`, as a dict, or None if absent."""
        t, r, c = key.split("/", 2)
        m = self.cells[(self.cells["table"] == t) & (self.cells["row"] == r) & (self.cells["column"] == c)]
        if m.empty:
            return None
        rec = m.iloc[0].to_dict()
        rec["value"] = _json_value(rec["value"])
        return rec

    def status_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.cells["status"].value_counts().items()}


def _cell_from_key(key: str, value: Any) -> dict[str, Any]:
    t, r, c = key.split("/", 2)
    if value is None:
        status, raw, val = "missing", "", None
    elif isinstance(value, str):
        status, raw, val = ("blank" if not value.strip() else "placeholder"), value, None
    else:
        status, raw, val = "ok", str(_json_value(value)), value
    return {"table": t, "row": r, "column": c, "value": val, "raw": raw, "status": status,
            "source": "", "note": ""}


def cells_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A tidy cell table with stable dtypes: value a nullable float, the rest strings."""
    data: dict[str, Any] = {}
    for c in CELL_COLUMNS:
        if c == "value":
            data[c] = pd.array([None if _json_value(r.get(c)) is None else float(r[c]) for r in rows],
                               dtype="Float64")
        else:
            data[c] = pd.array(["" if r.get(c) is None or r.get(c) is pd.NA else str(r[c]) for r in rows],
                               dtype="string")
    return pd.DataFrame(data, columns=CELL_COLUMNS)
