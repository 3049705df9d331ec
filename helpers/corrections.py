"""Corrections by hand: the right number for a cell the parser misread, kept as data.

A correction (report, cell key `table/row/column`, value, what the original prints `as` — ok, blank
or placeholder —, why, by whom) is appended to the store's `corrections` table (one part file per
call, never rewritten), with the parsed value and status it replaces. The cell in `cells` keeps
one row: status `corrected`, the corrected value (null for a blank or placeholder), the printed
`raw` as it was, the `source` location as it was, and a `note` naming the correction. The
corrected reports are then validated again (cross-year rules included) and a store version is
recorded. A re-parse applies the corrections to the new reading, and reports a correction the
parser now agrees with (obsolete) instead of dropping it silently.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import CorrectionRefused, StoreError

__all__ = ["AS_STATUSES", "Correction", "CorrectionResult", "apply_corrections", "correct", "read_corrections_file"]

AS_STATUSES = ("ok", "blank", "placeholder")    # what the original prints
FILE_COLUMNS = ("report_id", "key", "value", "as", "why", "by")
CORRECTIONS = "corrections"


@dataclass(frozen=True)
class Correction:
    """One correction as asked for: report (id or a unique prefix), cell key, value text, `as`, why, by."""

    report_id: str
    key: str
    value: str | float | None
    why: str
    by: str = ""
    as_: str = "ok"


@dataclass(frozen=True)
class CorrectionResult:
    """What became of one correction: applied (with its id) or refused (with the reason)."""

    correction: Correction
    applied: bool
    message: str
    correction_id: str | None = None
    report_id: str | None = None


def _number(text: Any) -> float | None:
    """A correction's value as a finite number, or None when it is not one."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        v = float(text)
    else:
        t = str(text if text is not None else "").strip().replace(",", "").replace("，", "")
        try:
            v = float(t)
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def _fmt(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "no number"
    return f"{float(v):g}"


def note_for(rec: Mapping[str, Any]) -> str:
    """The provenance note of a corrected cell: which correction, why, by whom, what was parsed."""
    by = f" by {rec['by']}" if rec.get("by") else ""
    at = rec["at"].date().isoformat() if hasattr(rec.get("at"), "date") else str(rec.get("at") or "")[:10]
    return (f"correction {rec['correction_id']}{by} on {at}: {rec['why']} "
            f"(parsed {rec['parsed_status']}, {_fmt(rec['parsed_value'])})")


def latest(corrections: pd.DataFrame) -> pd.DataFrame:
    """The correction in force per (report, cell): the latest one."""
    if corrections.empty:
        return corrections
    return (corrections.sort_values(["at", "correction_id"], kind="stable")
            .drop_duplicates(["report_id", "table", "row", "column"], keep="last"))


def _same_reading(status: str, value: Any, corr: Mapping[str, Any]) -> bool:
    """Whether a parsed cell already reads, with certainty, what the correction says (an inferred
    cell is a guess: a correction may confirm it)."""
    if corr["as"] in ("blank", "placeholder"):
        return status == corr["as"]
    return status == "ok" and value is not None and not pd.isna(value) and float(value) == float(corr["value"])


def apply_to_cells(cells: pd.DataFrame, corrections: pd.DataFrame, *, fresh: bool = False) -> tuple[
        pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    """One report's cells with its corrections in force applied; also the corrections made obsolete
    (with `fresh`, i.e. on a new parse: the parser now reads the same) and those whose cell is gone."""
    cells = cells.copy()
    obsolete: list[dict[str, Any]] = []
    orphaned: list[dict[str, Any]] = []
    if corrections.empty:
        return cells, obsolete, orphaned
    pos = {(t, r, c): i for i, (t, r, c) in enumerate(zip(cells["table"], cells["row"], cells["column"]))}
    status = cells["status"].astype(object).tolist()
    value = cells["value"].astype(object).tolist()
    note = cells["note"].astype(object).tolist()
    for rec in latest(corrections).to_dict("records"):
        i = pos.get((rec["table"], rec["row"], rec["column"]))
        if i is None:
            orphaned.append(rec)
            continue
        if fresh and _same_reading(str(status[i]), value[i], rec):
            obsolete.append(rec | {"now_status": status[i], "now_value": value[i]})
            note[i] = f"correction {rec['correction_id']} obsolete: the parser now reads the same"
            continue
        status[i] = "corrected"
        value[i] = None if rec["as"] != "ok" or pd.isna(rec["value"]) else float(rec["value"])
        note[i] = note_for(rec)
    cells["status"] = pd.array([str(s) for s in status], dtype=cells["status"].dtype
                               if str(cells["status"].dtype) == "string" else "string")
    cells["value"] = pd.array([None if v is None or pd.isna(v) else float(v) for v in value], dtype="Float64")
    cells["note"] = pd.array(["" if n is None or n is pd.NA else str(n) for n in note], dtype="string")
    return cells, obsolete, orphaned


def read_corrections_file(path: str | os.PathLike[str]) -> list[Correction]:
    """The rows of a corrections CSV (columns report_id,key,value,as,why,by; `as` and `by` may be
    empty), in file order. A missing column or an unreadable file is a clear `StoreError`."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("report_id", "key", "value", "why") if c not in (reader.fieldnames or [])]
            if missing:
                raise StoreError(f"{p}: a corrections file needs the columns {','.join(FILE_COLUMNS)}; "
                                 f"missing: {', '.join(missing)}")
            rows = list(reader)
    except OSError as exc:
        raise StoreError(f"{p}: cannot read the corrections file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise StoreError(f"{p}: not a UTF-8 CSV file ({exc})") from None
    return [Correction(report_id=(r.get("report_id") or "").strip(), key=(r.get("key") or "").strip(),
                       value=r.get("value"), why=(r.get("why") or "").strip(), by=(r.get("by") or "").strip(),
                       as_=(r.get("as") or "").strip() or "ok") for r in rows]


def correct(store: str | os.PathLike[str], report_id: str, key: str, value: str | float | None, *, why: str,
            by: str = "", as_: str = "ok", wait: bool = True) -> CorrectionResult:
    """Correct one cell of a stored report by hand (see the module doc). Raises `CorrectionRefused`
    (with the reason) when the report or key is not in the store, the value is not a number (or is
    given for a blank or placeholder), `why` is empty, or the cell already reads that value."""
    res = apply_corrections(store, [Correction(report_id, key, value, why, by, as_)], wait=wait)[0]
    if not res.applied:
        raise CorrectionRefused(res.message)
    return res


def apply_corrections(store: str | os.PathLike[str], corrections: Iterable[Correction], *,
                      wait: bool = True, runner: Callable[[], Any] | None = None) -> list[CorrectionResult]:
    """Apply several corrections in one go (one corrections part, one re-validation, one version).
    Each is checked on its own: a refused one is returned with its reason, the others are applied."""
    from .store import SCHEMAS, _atomic_write, _is_store, _locked, finish_pending
    from .versions import write_version
    import pyarrow as pa

    root = Path(store).absolute()
    if not _is_store(root):
        raise StoreError(f"{root}: not an ogi store (ogi-store.json missing); ingest reports into it first")
    asked = list(corrections)
    with _locked(root, wait=wait):
        finish_pending(root, runner)
        index, stored = _stored(root)
        results: list[CorrectionResult] = []
        records: list[dict[str, Any]] = []
        seen: dict[tuple[str, str], int] = {}
        now = dt.datetime.now(dt.UTC)
        for c in asked:
            rec, why_not = _check(c, index, stored)
            if rec is None:
                results.append(CorrectionResult(c, False, why_not))
                continue
            rec.update(correction_id=f"c{now.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}", at=now,
                       why=c.why, by=c.by)
            k = (rec["report_id"], c.key)
            if k in seen:   # the same cell twice in one file: the later row wins (as it would in two calls)
                results[seen[k]] = CorrectionResult(asked[seen[k]], False, f"{c.key}: replaced by a later row "
                                                    "for the same cell")
                records = [r for r in records if (r["report_id"], f"{r['table']}/{r['row']}/{r['column']}") != k]
            seen[k] = len(results)
            records.append(rec)
            results.append(CorrectionResult(c, True, why_not, rec["correction_id"], rec["report_id"]))
        if not records:
            return results
        (root / CORRECTIONS).mkdir(exist_ok=True)
        name = f"corr-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}.parquet"
        _atomic_write(pa.Table.from_pylist(records, schema=SCHEMAS["corrections"]), root / CORRECTIONS / name)
        _rebuild(root, sorted({r["report_id"] for r in records}), runner)
        n = len(records)
        write_version(root, f"correct: {n} cell(s) of {len({r['report_id'] for r in records})} report(s): "
                            + "; ".join(f"{r['report_id'][:8]} {r['table']}/{r['row']}/{r['column']}" for r in records[:3])
                            + (" ..." if n > 3 else ""))
    return results


def _stored(root: Path) -> tuple[pd.DataFrame, Any]:
    """The reports index and a lazy reader of one report's cells and corrections in force."""
    from .store import report_parts

    return report_parts(root), _CellReader(root)


class _CellReader:
    """Reads the stored cells of a report (one part at a time, cached) and the corrections table."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parts: dict[str, pd.DataFrame] = {}
        self.corrections = read_table(root)

    def cells(self, rid: str, part: str) -> pd.DataFrame:
        import pyarrow.parquet as pq

        from .store import SCHEMAS, _to_pandas

        if part not in self._parts:
            self._parts[part] = _to_pandas(pq.read_table(self.root / "cells" / part, schema=SCHEMAS["cells"]))
        f = self._parts[part]
        return f[f["report_id"] == rid]


def read_table(root: Path) -> pd.DataFrame:
    """The store's corrections table (every part, oldest first)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .store import SCHEMAS, _to_pandas

    parts = sorted((root / CORRECTIONS).glob("corr-*.parquet")) if (root / CORRECTIONS).is_dir() else []
    tables = [pq.read_table(p, schema=SCHEMAS["corrections"]) for p in parts]
    return _to_pandas(pa.concat_tables(tables) if tables else SCHEMAS["corrections"].empty_table())


def _check(c: Correction, index: pd.DataFrame, stored: _CellReader) -> tuple[dict[str, Any] | None, str]:
    """(the correction record, what it does) or (None, why it is refused)."""
    rid = (c.report_id or "").strip().lower()
    if len(rid) < 6:
        return None, f"report {c.report_id!r}: give the report_id (its sha256, or at least 6 of its first digits)"
    ids = index["report_id"].astype(str)
    hits = ids[ids == rid] if (ids == rid).any() else ids[ids.str.startswith(rid)]
    if len(hits) != 1:
        return None, (f"report {c.report_id!r} is not in the store" if not len(hits) else
                      f"report {c.report_id!r} is ambiguous ({len(hits)} reports start with it); give more digits")
    rid = str(hits.iloc[0])
    if c.as_ not in AS_STATUSES:
        return None, f"--as {c.as_!r}: the original prints ok (a number), blank or placeholder"
    if not c.why:
        return None, f"{c.key}: say why (--why TEXT: e.g. where in the original you read it)"
    parts = c.key.split("/")
    if len(parts) != 3:
        return None, f"key {c.key!r}: a cell key is table/row/column, e.g. table_3/new_received/total"
    part = str(index.loc[ids == rid, "part"].iloc[0])
    cells = stored.cells(rid, part)
    hit = cells[(cells["table"] == parts[0]) & (cells["row"] == parts[1]) & (cells["column"] == parts[2])]
    if hit.empty:
        return None, f"key {c.key!r} is not a cell of report {rid[:12]}; see its cells with: ogi query STORE " \
                     f"\"SELECT \\\"table\\\", \\\"row\\\", \\\"column\\\" FROM cells WHERE report_id = '{rid}'\""
    if c.as_ == "ok":
        value = _number(c.value)
        if value is None:
            return None, f"{c.key}: value {c.value!r} is not a number (use --as blank or --as placeholder for a " \
                         "cell that prints none)"
    else:
        if str(c.value if c.value is not None else "").strip() not in ("", "-"):
            return None, f"{c.key}: a cell printed {c.as_} holds no number; give '' as the value, not {c.value!r}"
        value = None
    cell = hit.iloc[0]
    status, cur = str(cell["status"]), cell["value"]
    parsed_status, parsed_value = status, (None if pd.isna(cur) else float(cur))
    if status == "corrected":   # corrected before: what the parser read is in that correction
        prev = stored.corrections
        prev = latest(prev[(prev["report_id"] == rid) & (prev["table"] == parts[0]) & (prev["row"] == parts[1])
                           & (prev["column"] == parts[2])])
        if len(prev):
            parsed_status, pv = str(prev.iloc[-1]["parsed_status"]), prev.iloc[-1]["parsed_value"]
            parsed_value = None if pd.isna(pv) else float(pv)
    rec = {"report_id": rid, "table": parts[0], "row": parts[1], "column": parts[2], "value": value, "as": c.as_,
           "parsed_value": parsed_value, "parsed_status": parsed_status}
    if status != "corrected" and _same_reading(status, cur, rec):
        return None, f"{c.key}: the cell already reads {_fmt(cur)} ({status}); nothing to correct"
    what = f"{c.key} of {rid[:12]}: {status} {_fmt(cur)} → corrected {_fmt(value) if c.as_ == 'ok' else c.as_}"
    if status == "ok":
        what += " (the parser had read a number: corrected as a parser error)"
    elif status == "inferred" and value is not None and not pd.isna(cur) and float(cur) == value:
        what += " (confirms the inferred value)"
    return rec, what


def _rebuild(root: Path, ids: list[str], runner: Callable[[], Any] | None = None) -> None:
    """Re-apply the corrections in force to the stored cells of these reports, validate them again and
    replace their rows (the lock is held)."""
    from .store import _committed, _load_reports, replace_reports, report_parts

    index = report_parts(root)
    part_of = dict(zip(index["report_id"], index["part"]))
    ids = [i for i in ids if i in part_of]
    if not ids:
        return
    reports = _load_reports(root, _committed(root), set(ids), {part_of[i] for i in ids})
    table = read_table(root)
    results = {}
    for rid, report in reports.items():
        cells, _, _ = apply_to_cells(report.cells, table[table["report_id"] == rid])
        report.cells = cells
        results[rid] = result_of(report, rid, str(report.path or "")) | {"keep_parser": True}
    replace_reports(root, results, runner)


def result_of(report: Any, rid: str, path: str) -> dict[str, Any]:
    """The rows of every table for a (corrected or re-read) report, as the ingest writes them."""
    from .store import _report_row, _to_arrow
    from .validate import validate

    findings = validate(report).copy()
    findings.insert(0, "report_id", rid)
    cells = report.cells.copy()
    cells.insert(0, "report_id", rid)
    sections = pd.DataFrame([{"report_id": rid, "section": k, "text": v} for k, v in report.sections.items()
                             if v is not None], columns=["report_id", "section", "text"])
    return {"kind": "report", "report_id": rid, "row": _report_row(report, rid, path, findings),
            "cells": _to_arrow(cells, "cells"), "findings": _to_arrow(findings, "findings"),
            "sections": _to_arrow(sections, "sections")}


def reapply_pending(root: Path, runner: Callable[[], Any] | None = None) -> int:
    """Apply the corrections in force that the cells do not show yet (a run killed between writing a
    correction and rewriting its report's parts); returns how many reports were rebuilt."""
    table = read_table(root)
    if table.empty:
        return 0
    from .store import _committed, _read_columns, report_parts

    ids = set(table["report_id"])
    index = report_parts(root)
    held = set(index.loc[index["report_id"].isin(ids), "part"])   # only the parts holding corrected reports
    parts = [p for p in _committed(root)["cells"] if p.name in held]
    cells = _read_columns(parts, "cells", ["report_id", "table", "row", "column", "note"])
    cells = cells[cells["report_id"].isin(ids)]
    shown = {(r, t, ro, co): str(n) for r, t, ro, co, n in zip(cells["report_id"], cells["table"], cells["row"],
                                                               cells["column"], cells["note"])}
    todo = sorted({rec["report_id"] for rec in latest(table).to_dict("records")
                   if (k := (rec["report_id"], rec["table"], rec["row"], rec["column"])) in shown
                   and str(rec["correction_id"]) not in shown[k]})
    if todo:
        _rebuild(root, todo, runner)
    return len(todo)
