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
    """One parsed report: identity, provenance, the six sections and every table cell.

    `cells` may be given as a DataFrame or as the parser's list of cell dicts; the DataFrame is
    built on first use (a record printed as JSON or counted never needs it: building one costs
    more than a small page's parse)."""

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
        return cls(cells=rows, template=template, **meta)

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
        if self.__dict__.get("_frame") is None and "_rows" in self.__dict__:
            return [{c: _json_value(_as_value(r.get(c))) if c == "value" else _as_text(r.get(c))
                     for c in CELL_COLUMNS} for r in self.__dict__["_rows"]]
        out = []
        for rec in self.cells.to_dict("records"):
            rec["value"] = _json_value(rec["value"])
            for k in ("raw", "source", "note"):
                rec[k] = _as_text(rec[k])
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
        """Cells per status, in `STATUSES` order, statuses with no cell left out."""
        counts = self.cells["status"].astype(str).value_counts()
        order = [*STATUSES, *sorted(set(counts.index) - set(STATUSES))]
        return {k: int(counts[k]) for k in order if k in counts.index}

    # Display (a notebook shows `_repr_html_`, a console `__repr__`)

    def _finding_counts(self) -> dict[str, int] | None:
        """Findings per severity of the single-report rules (`validate` without a previous year), or
        None if validation itself fails: a display never raises."""
        try:
            from .validate import SEVERITIES, validate

            sev = validate(self)["severity"].astype(str).value_counts()
        except Exception:  # noqa: BLE001 - a repr must not raise, whatever the record holds
            return None
        return {k: int(sev.get(k, 0)) for k in SEVERITIES}

    def __repr__(self) -> str:
        """`<Report AGENCY YEAR (FORMAT format): N cells, N unreadable, N errors>`, control characters
        of the (untrusted) agency escaped."""
        agency = _printable(self.agency) if self.agency else "(agency not printed)"
        year = str(self.year) if self.year is not None else "(year not printed)"
        counts = self.status_counts()
        parts = [f"{len(self.cells)} cells", f"{counts.get('unreadable', 0)} unreadable"]
        findings = self._finding_counts()
        if findings is not None:
            errors = findings.get("error", 0)
            parts.append(f"{errors} error{'' if errors == 1 else 's'}")
        return f"<Report {agency} {year} ({_printable(self.template)} format): {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        """A small summary table for Jupyter: agency, year, format, source, cells per status and
        findings per severity. Every text of the report is HTML-escaped (report text is untrusted)."""
        from html import escape

        def e(v: Any) -> str:
            return escape("" if v is None else _printable(v), quote=True)

        try:
            fmt = f"{self.template} · {get_template(self.template).name}"
        except Exception:  # noqa: BLE001 - an unknown template still displays
            fmt = str(self.template)
        source = " · ".join(str(x) for x in (self.path, self.form, self.encoding) if x)
        findings = self._finding_counts()
        rows = [
            ("agency", e(self.agency) if self.agency else "<i>not printed</i>"),
            ("year", e(self.year) if self.year is not None else "<i>not printed</i>"),
            ("format", e(fmt)),
            ("title", e(self.title)),
            ("source", e(source)),
            ("sha256", f"<code>{e(self.sha256[:16])}</code>" if self.sha256 else ""),
            ("cells", e(f"{len(self.cells)}: " + ", ".join(f"{k} {v}" for k, v in self.status_counts().items()))),
            ("findings", e(", ".join(f"{k} {v}" for k, v in findings.items())) if findings is not None
             else "<i>validation failed</i>"),
        ]
        body = "".join(f"<tr><th style=\"text-align:left\">{k}</th><td style=\"text-align:left\">{v}</td></tr>"
                       for k, v in rows if v)
        return f'<table class="ogi-report"><caption>Report</caption>{body}</table>'


def _printable(text: Any) -> str:
    """`text` with control and other non-printable characters as escapes (`\\n`, `\\x1b`), for a
    console repr of untrusted report text."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class CellColumns(dict):  # type: ignore[type-arg]
    """Cells given as columns ({CELL_COLUMNS name: list}, value a float or None, the rest text):
    what the store reads back for validation (helpers/store.py), with no DataFrame and no dicts."""


def _get_cells(self: Report) -> pd.DataFrame:
    frame = self.__dict__.get("_frame")
    if frame is None:
        cols = self.__dict__.pop("_cols", None)
        rows = self.__dict__.pop("_rows") if cols is None else \
            [dict(zip(CELL_COLUMNS, vals)) for vals in zip(*(cols[c] for c in CELL_COLUMNS))]
        frame = self.__dict__["_frame"] = cells_frame(rows)
    return frame


def _set_cells(self: Report, cells: pd.DataFrame | list[dict[str, Any]] | CellColumns) -> None:
    if isinstance(cells, pd.DataFrame):
        self.__dict__.update(_frame=cells)
        self.__dict__.pop("_rows", None)
        self.__dict__.pop("_cols", None)
    elif isinstance(cells, CellColumns):
        self.__dict__.update(_frame=None, _cols=cells)
        self.__dict__.pop("_rows", None)
    else:
        self.__dict__.update(_frame=None, _rows=list(cells))
        self.__dict__.pop("_cols", None)


# Set after the dataclass is made, so that its generated __init__ and replace() go through it.
Report.cells = property(_get_cells, _set_cells, doc="The cell table (built from the parser's dicts on first use).")  # type: ignore[assignment]


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


def _as_value(v: Any) -> float | None:
    return None if _json_value(v) is None else float(v)


def _as_text(v: Any) -> str:
    return "" if v is None or v is pd.NA else str(v)


def cells_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A tidy cell table with stable dtypes: value a nullable float, status an ordered categorical
    (`STATUSES` order, `helpers.frames`), the rest strings."""
    from .frames import typed

    data: dict[str, Any] = {}
    for c in CELL_COLUMNS:
        if c == "value":
            data[c] = pd.array([_as_value(r.get(c)) for r in rows], dtype="Float64")
        else:
            data[c] = pd.array([_as_text(r.get(c)) for r in rows], dtype="string")
    return typed(pd.DataFrame(data, columns=CELL_COLUMNS))
