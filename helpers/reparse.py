"""Re-parsing a store when the parser improves, from the copies of the source files it keeps.

Every report row records the `parser_version` it was read with (the ogi version and a hash of the
template, rule and metric data: `helpers.store.parser_version`). `reparse_store` reads again every
report whose version differs from the running parser's (or every report, with `every`), from the
content-addressed copy under `sources/` (or from its original path when that file still has the
same sha256), applies the corrections in force to the new reading, validates it, and replaces the
report's rows part by part (see `helpers.store.replace_reports`: the `reports` part is written last
and carries the new parser version, so a run killed half-way reads the rest again when re-run).
It returns what changed: cells per old → new status, values changed, findings added and gone, and
the corrections kept, made obsolete (the parser now reads the same) or left without their cell.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import StoreError

__all__ = ["ReparseSummary", "reparse_store"]

CHUNK = 256          # reports re-read and written per step (whole parts at a time)
ABSENT = "absent"    # the status of a cell a reading does not have (e.g. an unknown row)


@dataclass
class ReparseSummary:
    """What a re-parse did and changed."""

    reparsed: int = 0
    considered: int = 0
    no_source: list[str] = field(default_factory=list)       # report ids whose file is not kept nor where it was
    failed: list[str] = field(default_factory=list)          # ... that no longer parse (left as they were)
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)   # (old, new status) → cells
    values_changed: int = 0                                   # cells whose value changed with the same status
    findings_added: int = 0
    findings_gone: int = 0
    corrections_kept: int = 0
    obsolete: list[dict[str, Any]] = field(default_factory=list)
    orphaned: list[dict[str, Any]] = field(default_factory=list)
    parser: str = ""
    seconds: float = 0.0
    version: str | None = None

    def lines(self) -> list[str]:
        """The change list as printed by `ogi ingest --reparse`."""
        out = [f"re-parsed {self.reparsed} of {self.considered} report(s) with parser {self.parser} in "
               f"{self.seconds:.1f} s" + (f"; version {self.version}" if self.version else "")]
        if self.no_source:
            out.append(f"not re-parsed, no kept source and the file is gone or changed: {len(self.no_source)} "
                       f"({', '.join(r[:12] for r in self.no_source[:3])}{' ...' if len(self.no_source) > 3 else ''})")
        if self.failed:
            out.append(f"not re-parsed, the file no longer reads: {len(self.failed)} (kept as they were)")
        out.append("cells by status, old -> new:" + ("" if self.transitions else " no change"))
        for (a, b), n in sorted(self.transitions.items()):
            out.append(f"  {a} -> {b}: {n}")
        out.append(f"values changed: {self.values_changed}")
        out.append(f"findings added: {self.findings_added}, gone: {self.findings_gone}")
        out.append(f"corrections kept: {self.corrections_kept}, obsolete: {len(self.obsolete)}, "
                   f"without their cell: {len(self.orphaned)}")
        for rec in self.obsolete:
            out.append(f"  obsolete: correction {rec['correction_id']} of {str(rec['report_id'])[:12]} "
                       f"{rec['table']}/{rec['row']}/{rec['column']}: the parser now reads the same")
        for rec in self.orphaned:
            out.append(f"  without its cell: correction {rec['correction_id']} of {str(rec['report_id'])[:12]} "
                       f"{rec['table']}/{rec['row']}/{rec['column']}: the new reading has no such cell")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _reread_task(items: list[tuple[str, str, str, Any]]) -> list[dict[str, Any]]:
    """Worker task: (source file, report_id, original path, its corrections) → the new rows of every
    table (corrections applied, validated), with the corrections made obsolete or left cellless."""
    from .corrections import apply_to_cells, result_of
    from .parse import read_report

    out = []
    for src, rid, path, corr in items:
        try:
            report = read_report(src)
        except Exception as exc:  # noqa: BLE001 - a file that no longer reads is kept as it was
            out.append({"kind": "failure", "report_id": rid, "message": f"{type(exc).__name__}: {exc}"})
            continue
        report.sha256, report.path = rid, path
        obsolete: list[dict[str, Any]] = []
        orphaned: list[dict[str, Any]] = []
        if corr is not None and len(corr):
            report.cells, obsolete, orphaned = apply_to_cells(report.cells, corr, fresh=True)
        res = result_of(report, rid, path)
        res.update(obsolete=obsolete, orphaned=orphaned, kept=0 if corr is None else
                   len(set(zip(corr["table"], corr["row"], corr["column"]))) - len(obsolete) - len(orphaned))
        out.append(res)
    return out


def _source(root: Path, rid: str, path: Any) -> str | None:
    """The file to read a report from: its kept copy, else its original path if unchanged."""
    from .store import _hash_file, _source_path

    kept = _source_path(root, rid)
    if kept is not None:
        return str(kept)
    if isinstance(path, str) and path and os.path.isfile(path):
        try:
            if _hash_file(path) == rid:
                return path
        except Exception:  # noqa: BLE001 - unreadable now: no source
            return None
    return None


def _chunks(todo: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Whole parts at a time, about CHUNK reports per step."""
    batch: list[pd.DataFrame] = []
    n = 0
    for _, group in todo.groupby("part", sort=True):
        batch.append(group)
        n += len(group)
        if n >= CHUNK:
            yield pd.concat(batch)
            batch, n = [], 0
    if batch:
        yield pd.concat(batch)


def _stored_rows(root: Path, parts: list[str], ids: list[str], name: str, columns: list[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .store import SCHEMAS, _to_pandas

    arr = pa.array(ids, pa.string())
    tables = []
    for part in parts:
        t = pq.read_table(root / name / part, schema=SCHEMAS[name], columns=columns)
        tables.append(t.filter(pc.is_in(t["report_id"], value_set=arr)))
    return _to_pandas(pa.concat_tables(tables)) if tables else _to_pandas(SCHEMAS[name].empty_table().select(columns))


_CELL_KEY = ["report_id", "table", "row", "column"]
_FINDING_KEY = ["report_id", "rule", "severity", "table", "row", "column"]


def _cell_changes(old: pd.DataFrame, new: pd.DataFrame, summary: ReparseSummary) -> None:
    m = old.merge(new, on=_CELL_KEY, how="outer", suffixes=("_old", "_new"))
    a = m["status_old"].astype(object).where(m["status_old"].notna(), ABSENT)
    b = m["status_new"].astype(object).where(m["status_new"].notna(), ABSENT)
    for (x, y), n in collections.Counter(zip(a, b)).items():
        if x != y:
            summary.transitions[(x, y)] = summary.transitions.get((x, y), 0) + n
    va, vb = m["value_old"].astype("Float64"), m["value_new"].astype("Float64")
    diff = (va.isna() != vb.isna()) | (va.notna() & vb.notna() & (va != vb)).fillna(False)
    summary.values_changed += int((diff.astype(bool) & (a == b)).sum())


def _finding_keys(frame: pd.DataFrame) -> collections.Counter[tuple[Any, ...]]:
    cols = frame[_FINDING_KEY].astype(object).where(frame[_FINDING_KEY].notna(), None)
    return collections.Counter(map(tuple, cols.itertuples(index=False, name=None)))


def reparse_store(store: str | os.PathLike[str], *, every: bool = False, workers: int | None = None,
                  scheduler: Any = None, progress: bool = True, wait: bool = True) -> ReparseSummary:
    """Read again the reports of a store that an older parser read (`every`: all of them) and replace
    their rows, keeping the corrections (see the module doc). Ends by recording a store version."""
    from .corrections import read_table
    from .store import (FORMAT_VERSION, _clean_orphans, _format, _is_store, _locked,
                        _migrate_locked, _progress_bar, _Runner, finish_pending, parser_version, replace_reports,
                        report_parts)
    from .versions import write_version

    t0 = time.perf_counter()
    root = Path(store).absolute()
    if not _is_store(root):
        raise StoreError(f"{root}: not an ogi store (ogi-store.json missing); create one with "
                         f"`ogi ingest FILES --store {store}`")
    summary = ReparseSummary(parser=parser_version())
    runners: list[_Runner] = []

    def runner() -> _Runner:
        if not runners:
            runners.append(_Runner(workers, scheduler))
        return runners[0]

    with _locked(root, wait=wait):
        if _format(root) < FORMAT_VERSION:
            _migrate_locked(root)
        _clean_orphans(root)
        try:
            finish_pending(root, runner)
            index = report_parts(root)
            summary.considered = len(index)
            todo = index if every else index[index["parser_version"].astype(object) != summary.parser]
            corrections = read_table(root)
            by_report = {rid: g for rid, g in corrections.groupby("report_id")} if len(corrections) else {}
            bar = _progress_bar(len(todo), progress)
            old_findings: collections.Counter[tuple[Any, ...]] = collections.Counter()
            reread: dict[str, str] = {}     # report_id → its part (parts keep their names when rewritten)
            for chunk in _chunks(todo):
                items = []
                for rid, path in zip(chunk["report_id"], chunk["path"]):
                    src = _source(root, rid, path)
                    if src is None:
                        summary.no_source.append(rid)
                        continue
                    items.append((src, rid, path, by_report.get(rid)))
                results: dict[str, dict[str, Any]] = {}
                if items:
                    pending = collections.deque(items[i:i + 8] for i in range(0, len(items), 8))
                    run = runner().run(_reread_task, pending) if len(items) > 16 else \
                        ((t, _reread_task(t), None) for t in list(pending))
                    for task, res, error in run:
                        if error is not None:
                            res = [{"kind": "failure", "report_id": task[0][1], "message": str(error)}]
                        for r in res:
                            if r["kind"] == "report":
                                results[r["report_id"]] = r
                            else:
                                summary.failed.append(r["report_id"])
                        bar.update(len(task))
                ids = sorted(results)
                parts = sorted(set(chunk["part"]))
                cols = ["report_id", "table", "row", "column", "value", "status"]
                old_cells = _stored_rows(root, parts, ids, "cells", cols)
                old_findings.update(_finding_keys(_stored_rows(root, parts, ids, "findings", _FINDING_KEY)))
                replace_reports(root, results, runner, finish=False)   # cross-year findings: once, below
                new_cells = _stored_rows(root, parts, ids, "cells", cols)
                _cell_changes(old_cells, new_cells, summary)
                reread.update((i, p) for i, p in zip(chunk["report_id"], chunk["part"]) if i in results)
                for r in results.values():
                    summary.obsolete += r.get("obsolete", [])
                    summary.orphaned += r.get("orphaned", [])
                    summary.corrections_kept += int(r.get("kept", 0))
                summary.reparsed += len(results)
            bar.close()
            finish_pending(root, runner)
            by_part: dict[str, list[str]] = collections.defaultdict(list)
            for rid, part in reread.items():
                by_part[part].append(rid)
            new_findings: collections.Counter[tuple[Any, ...]] = collections.Counter()
            for part, rids in by_part.items():
                new_findings.update(_finding_keys(_stored_rows(root, [part], sorted(rids), "findings", _FINDING_KEY)))
            summary.findings_added = sum((new_findings - old_findings).values())
            summary.findings_gone = sum((old_findings - new_findings).values())
        except BaseException:
            for r in runners:
                r.close(cancel=True)
            runners.clear()
            raise
        finally:
            for r in runners:
                r.close()
        text = (f"re-parse{' --all' if every else ''}: {summary.reparsed} report(s) with parser {summary.parser}; "
                f"{sum(summary.transitions.values())} cell status change(s), {summary.values_changed} value(s)")
        summary.version = write_version(root, text).id
    summary.seconds = time.perf_counter() - t0
    return summary
