"""Store stage: a corpus of parsed reports as Parquet tables, ingested incrementally and in parallel.

A store is a folder with one sub-folder per table (reports, cells, findings, failures, sections) of
Parquet part files. Each ingest batch writes one part per table, each atomically (temp file +
os.replace), and the `reports` part last: it is the batch's commit record, so a part of another
table without its `reports` twin is an orphan of an interrupted run, ignored by readers and removed
by the next ingest. A re-run skips every file whose sha256 is already stored (as a report or as a
failure), so a killed run resumes with nothing lost or duplicated.

The pipeline: the ingest process hashes the files as the workers ask for more (so hashing overlaps
parsing), copies the new ones to `sources/` on a few threads, and sends them in tasks of TASK_FILES;
a worker parses and validates each file into plain rows (no pandas object per report) and returns
one compact result per task, an Arrow record batch per table; a writer thread turns every
DEFAULT_BATCH_SIZE reports into one part per table (row groups of DuckDB's size) while the next
batch is parsed. Memory is bounded by the tasks in flight and two batches, whatever the corpus size.

After the parse batches, `ingest` links each organ's consecutive years (`previous_report_id`) and
recomputes the cross-year findings (the rules that run only with a previous report: X1, X2, COPY)
of every report whose link changed, whatever order the years arrived in, rewriting only the parts
that hold those reports (findings first, then reports, so that an interrupted link is redone).

Each batch also writes its file list (`batches/part-….json`: path and sha256 of every file) before
its parts, so that `ingest(..., repair=True)` can drop a batch whose part is damaged and ingest
its files again. Readers check every part's footer on opening and name a damaged part with the
repair command (`StoreDamaged`). The lock is taken before the store is set up, and a second ingest
waits for it; pool workers exit when the ingest process dies (even by SIGKILL); a failed write
(a full disk, permissions) is one `StoreError` line that leaves the stored batches intact.

Corrections by hand (helpers/corrections.py) and re-parses (helpers/reparse.py) replace a report's
rows in the parts that hold them (`replace_reports`: the `reports` part last, the cross-year
findings around them from a journal that the next write finishes). Every write ends by recording a
data version (helpers/versions.py); a store of an older format is migrated in place (`migrate`).
Each new file is also copied to `sources/` under its sha256, which is what a re-parse reads.

`open_store(path)` returns a `Corpus`: the tables as pandas DataFrames and as DuckDB views;
`open_store(path, sandbox=True)` (what `ogi query` uses) runs SQL read-only, with DuckDB's
external access off, `allowed_paths` = the store's own part files and the configuration locked.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import datetime as dt
import errno
import fcntl
import functools
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import OgiError, QueryError, ReportError, StoreBusy, StoreDamaged, StoreError
from .frames import missing
from .read import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from .validate import Inputs

__all__ = ["Corpus", "IngestSummary", "PROVENANCE_SCHEMA", "QueryResult", "SCHEMAS", "TABLES", "add_provenance",
           "check_read_only", "cross_year_rules", "ingest", "open_store"]

TABLES = ("reports", "cells", "findings", "failures", "sections")
MARKER = "ogi-store.json"
BATCHES = "batches"           # per batch, the files it holds (path, sha256): what --repair re-ingests
FORMAT_VERSION = 2            # 2: versions, corrections, kept sources, n_corrected and parser_version in reports
SOURCES = "sources"           # content-addressed copies of the ingested files (what --reparse reads)
DEFAULT_BATCH_SIZE = 1024     # reports per part file: ~200k cell rows, two DuckDB row groups; bounds a run's memory
ROW_GROUP = 122_880           # rows per Parquet row group: DuckDB's own, the unit its scans run in parallel
FLUSH_SECONDS = 60.0          # ... and a part is written at least this often, so a long run keeps its work
TASK_FILES = 8                # files per task sent to a worker
LINK_CHUNK = 1000             # organ-year pairs re-validated per step of the link phase (a part's reports)

_STR, _INT, _FLOAT, _DATE = pa.string(), pa.int64(), pa.float64(), pa.date32()
_TS = pa.timestamp("us", tz="UTC")
_COUNT_STATUSES = ("ok", "blank", "placeholder", "unreadable", "inferred", "missing", "unknown", "corrected")

SCHEMAS: dict[str, pa.Schema] = {
    "reports": pa.schema(
        [("report_id", _STR), ("path", _STR), ("agency", _STR), ("organ_id", _STR), ("organ_name", _STR),
         ("organ_kind", _STR), ("level", _STR), ("region_code", _STR), ("region", _STR), ("year", _INT),
         ("template", _STR), ("form", _STR), ("encoding", _STR), ("report_date", _DATE), ("published", _DATE),
         ("title", _STR), ("n_cells", _INT)]
        + [(f"n_{s}", _INT) for s in _COUNT_STATUSES]
        + [("n_errors", _INT), ("n_warnings", _INT), ("previous_report_id", _STR), ("parser_version", _STR),
           ("ingested_at", _TS)]),
    "cells": pa.schema([("report_id", _STR), ("table", _STR), ("row", _STR), ("column", _STR), ("value", _FLOAT),
                        ("raw", _STR), ("status", _STR), ("source", _STR), ("note", _STR)]),
    "findings": pa.schema([("report_id", _STR), ("rule", _STR), ("severity", _STR), ("table", _STR), ("row", _STR),
                           ("column", _STR), ("expected", _FLOAT), ("found", _FLOAT), ("delta", _FLOAT),
                           ("message", _STR), ("source", _STR)]),
    "failures": pa.schema([("path", _STR), ("sha256", _STR), ("error_class", _STR), ("message", _STR),
                           ("ingested_at", _TS)]),
    "sections": pa.schema([("report_id", _STR), ("section", _STR), ("text", _STR)]),
    # Corrections by hand (helpers/corrections.py), append-only: one part per call, never rewritten.
    "corrections": pa.schema([("correction_id", _STR), ("report_id", _STR), ("table", _STR), ("row", _STR),
                              ("column", _STR), ("value", _FLOAT), ("as", _STR), ("why", _STR), ("by", _STR),
                              ("at", _TS), ("parsed_value", _FLOAT), ("parsed_status", _STR)]),
}


@functools.lru_cache(maxsize=1)
def parser_version() -> str:
    """The parser's version as the store records it per report: the ogi version and a hash of the
    data that decides what a file parses into (templates, common vocabulary, rules and metrics).
    A report stored under another version is what `ingest(..., reparse=True)` reads again."""
    from . import __version__
    from .template import read_data

    h = hashlib.sha256()
    for name in PARSER_DATA:
        h.update(name.encode() + b"\0" + json.dumps(read_data(name), sort_keys=True, ensure_ascii=False,
                                                    default=str).encode() + b"\0")
    return f"{__version__}+{h.hexdigest()[:12]}"


PARSER_DATA = ("2019.yaml", "2021.yaml", "common.yaml", "organs.yaml", "rules.yaml", "metrics.yaml")


@functools.lru_cache(maxsize=1)
def cross_year_rules() -> frozenset[str]:
    """Rule ids that need the previous year's report (catalogue `runs: with_previous`): X1, X2, COPY."""
    from .validate import get_rules

    return frozenset(r.id for r in get_rules() if r.runs == "with_previous")


# ---------------------------------------------------------------------------------------------
# Arrow ↔ pandas


def _pandas_type(t: pa.DataType) -> Any:
    """pandas dtype for an Arrow type: nullable Int64/Float64 for numbers, the default otherwise."""
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_floating(t):
        return pd.Float64Dtype()
    return None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas with nullable Int64/Float64 numbers, dates as datetime.date, text as str
    (the internal form, which `_to_arrow` writes back; public frames go through `_public`)."""
    return table.to_pandas(types_mapper=_pandas_type, date_as_object=True)


def _public(table: pa.Table) -> pd.DataFrame:
    """Arrow → the DataFrame a user gets (`helpers.frames.typed`): dates as datetime64, status,
    severity and level as ordered categoricals in the project's order (docs/store.md)."""
    from .frames import typed

    return typed(_to_pandas(table))


def _to_arrow(frame: pd.DataFrame, name: str) -> pa.Table:
    """A DataFrame → an Arrow table of the store's schema for `name` (absent columns and missing values → null)."""
    schema = SCHEMAS[name]
    frame = frame.reindex(columns=schema.names)
    try:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        pass  # mixed object columns: convert value by value
    cols = []
    for f in schema:
        vals = [None if missing(v) else (str(v) if pa.types.is_string(f.type) else v) for v in frame[f.name].tolist()]
        cols.append(pa.array(vals, type=f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _empty(name: str) -> pa.Table:
    """An empty table of the store's schema for `name`."""
    return SCHEMAS[name].empty_table()


# ---------------------------------------------------------------------------------------------
# The worker side: one file → one result record (never raises)


def _hash_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """sha256 hex digest of a regular file's bytes: the report_id. FIFOs, devices and sockets are
    refused by type (never opened), and at most `max_bytes` + 1 bytes are read (`FileTooLarge`)."""
    from .limits import bounded_chunks

    h = hashlib.sha256()
    for chunk in bounded_chunks(path, max_bytes):
        h.update(chunk)
    return h.hexdigest()


def _failure(path: str, sha: str | None, exc: BaseException) -> dict[str, Any]:
    """A failures-table record for a file (error class and message as `ogi parse` reports them)."""
    from .cli import failure_record

    err = failure_record(path, exc)["error"]
    return {"kind": "failure", "path": path, "sha256": sha, "error_class": err["class"], "message": err["message"]}


def _report_row(report: Any, report_id: str, path: str, findings: pd.DataFrame) -> dict[str, Any]:
    """The `reports` row of a parsed report (organ identity from its printed agency), its findings a DataFrame."""
    statuses = collections.Counter(str(s) for s in report.cells["status"].tolist())
    severities = collections.Counter(str(s) for s in findings["severity"].tolist()) if len(findings) else {}
    return _row_of(report, report_id, path, len(report.cells), statuses, severities)


def _row_of(report: Any, report_id: str, path: str, n_cells: int, statuses: collections.Counter[str] | dict[str, int],
            severities: collections.Counter[str] | dict[str, int], version: str | None = None) -> dict[str, Any]:
    """The `reports` row from a report's metadata and its cell status and finding severity counts."""
    from .organs import identify

    organ = identify(report.agency)
    kind = organ.kind if organ.kind != "unknown" else (report.organ_kind or "unknown")
    level = organ.level if organ.kind != "unknown" else (kind if kind in ("township", "department") else "unknown")
    row = {
        "report_id": report_id, "path": path, "agency": report.agency, "organ_id": organ.organ_id,
        "organ_name": organ.name, "organ_kind": kind, "level": level, "region_code": organ.region_code,
        "region": organ.region, "year": report.year, "template": report.template, "form": report.form,
        "encoding": report.encoding, "report_date": report.report_date, "published": report.published,
        "title": report.title, "n_cells": n_cells,
        "n_errors": int(severities.get("error", 0)), "n_warnings": int(severities.get("warning", 0)),
        "previous_report_id": None, "parser_version": version or parser_version(),
    }
    row.update({f"n_{s}": int(statuses.get(s, 0)) for s in _COUNT_STATUSES})
    return row


_CELL_TEXT = ("table", "row", "column", "raw", "status", "source", "note")


def _cell_columns(report: Any) -> dict[str, list[Any]]:
    """A report's cells as plain columns (value a float or None, the rest text, "" when absent):
    from the parser's cell dicts, or from its DataFrame when one was built (a reader or a correction)."""
    from .record import _as_text, _as_value

    frame = report.__dict__.get("_frame")
    if frame is None and "_cols" in report.__dict__:
        return {c: list(v) for c, v in report.__dict__["_cols"].items()}
    if frame is None and "_rows" in report.__dict__:
        rows = report.__dict__["_rows"]
        out = {c: [v if type(v) is str else _as_text(v) for v in (r.get(c) for r in rows)] for c in _CELL_TEXT}
        out["value"] = [v if type(v) is float and v == v else _as_value(v) for v in (r.get("value") for r in rows)]
        return out
    frame = report.cells
    out = {c: [_as_text(v) for v in frame[c].tolist()] for c in _CELL_TEXT}
    out["value"] = [None if v != v else v for v in frame["value"].to_numpy(dtype=float, na_value=np.nan).tolist()]
    return out


class _Rows:
    """Rows of the cells, findings and sections tables as plain columns, collected report by report
    and turned into one Arrow record batch per table (so no pandas object is built per report)."""

    NAMES = ("cells", "findings", "sections")

    def __init__(self) -> None:
        self.cols: dict[str, dict[str, list[Any]]] = {n: {c: [] for c in SCHEMAS[n].names} for n in self.NAMES}

    def add(self, report_id: str, cells: dict[str, list[Any]], findings: Sequence[Any],
            sections: Sequence[tuple[str, str]]) -> None:
        """One report's rows: its cell columns, its `Finding` records and its (section, text) pairs."""
        c = self.cols["cells"]
        c["report_id"].extend([report_id] * len(cells["value"]))
        for name, values in cells.items():
            c[name].extend(values)
        f = self.cols["findings"]
        f["report_id"].extend([report_id] * len(findings))
        for name in _FINDING_FIELDS:
            col = f[name]
            if name in ("expected", "found", "delta"):
                col.extend(None if (v := getattr(x, name)) is None or v != v else float(v) for x in findings)
            else:
                col.extend(None if (v := getattr(x, name)) is None else str(v) for x in findings)
        s = self.cols["sections"]
        s["report_id"].extend([report_id] * len(sections))
        s["section"].extend(k for k, _ in sections)
        s["text"].extend(v for _, v in sections)

    def batch(self, name: str) -> pa.RecordBatch:
        """The rows of one table as a record batch of the store's schema."""
        schema = SCHEMAS[name]
        return pa.RecordBatch.from_arrays([pa.array(self.cols[name][f.name], type=f.type) for f in schema],
                                          schema=schema)


_FINDING_FIELDS = tuple(SCHEMAS["findings"].names[1:])   # the `Finding` fields, in the table's order


def _parse_into(rows: _Rows, path: str, sha: str | None, max_bytes: int, version: str | None = None) -> dict[str, Any]:
    """Parse and validate one file, adding its cells, findings and sections to `rows`; returns its
    `reports` row as {"kind": "report", "report_id", "row"}, or a failure record (never raises)."""
    from .parse import read_report
    from .validate import findings_list

    try:
        report = read_report(path, max_bytes=max_bytes)
    except Exception as exc:  # noqa: BLE001 - a bad file is a failure record, never a dead batch
        return _failure(path, sha, exc)
    report_id = report.sha256 or sha
    if report_id is None:
        return _failure(path, sha, RuntimeError("the parser returned no sha256 for the file"))
    try:
        findings = findings_list(report)
    except Exception as exc:  # noqa: BLE001 - a validator bug must not lose the batch
        return _failure(path, report_id, RuntimeError(f"validation failed: {type(exc).__name__}: {exc}"))
    cells = _cell_columns(report)
    sections = [(k, v if isinstance(v, str) else str(v)) for k, v in report.sections.items() if v is not None]
    rows.add(report_id, cells, findings, sections)
    row = _row_of(report, report_id, path, len(cells["value"]), collections.Counter(cells["status"]),
                  collections.Counter(str(f.severity) for f in findings), version)
    return {"kind": "report", "report_id": report_id, "row": row}


def _parse_one(path: str, sha: str | None, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse and validate one file into the rows of every table (one Arrow table each), or a failure record."""
    rows = _Rows()
    res = _parse_into(rows, path, sha, max_bytes)
    if res["kind"] == "report":
        res.update({name: pa.Table.from_batches([rows.batch(name)]) for name in _Rows.NAMES})
    return res


def _parse_task(items: list[tuple[str, str | None]], max_bytes: int = DEFAULT_MAX_BYTES,
                version: str | None = None) -> dict[str, Any]:
    """A worker task: a few (path, sha256) pairs → one compact result: their `reports` rows, their
    failure records and one Arrow record batch per other table (cells, findings, sections), and the
    worker's CPU seconds for it. `version` is the ingest's `parser_version()` (which a worker then
    need not compute: it hashes the template data)."""
    cpu = time.process_time()
    rows = _Rows()
    reports, failures = [], []
    for path, sha in items:
        res = _parse_into(rows, path, sha, max_bytes, version)
        (reports if res["kind"] == "report" else failures).append(res)
    out: dict[str, Any] = {"kind": "batch", "reports": reports, "failures": failures}
    out.update({name: rows.batch(name) for name in _Rows.NAMES})
    out["cpu_s"] = time.process_time() - cpu
    return out


def _failed_task(failures: list[dict[str, Any]]) -> dict[str, Any]:
    """A task result holding only failure records (a task whose worker died)."""
    empty = {name: pa.RecordBatch.from_pylist([], schema=SCHEMAS[name]) for name in _Rows.NAMES}
    return {"kind": "batch", "reports": [], "failures": failures, **empty, "cpu_s": 0.0}


def _worker_init(owner: int | None = None) -> None:
    """Process-pool workers: Ctrl-C is the parent's business, and a worker whose ingest process
    died (SIGKILL included) exits within a second. The ingest process is `owner`, not the parent:
    forkserver workers are children of the fork server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    owner = owner or parent

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent or not alive(owner):
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="ogi-orphan-watch").start()


# ---------------------------------------------------------------------------------------------
# Where the work runs: in-process, a process pool, or a Dask cluster


class _Feed:
    """Tasks made on demand from an iterator, with the deque operations `_Runner.run` uses (truth,
    popleft, extend, extendleft): the ingest hashes files as the workers ask for more."""

    def __init__(self, tasks: Iterator[list[Any]]) -> None:
        self._tasks = tasks
        self._queue: collections.deque[list[Any]] = collections.deque()

    def __bool__(self) -> bool:
        if not self._queue:
            nxt = next(self._tasks, None)
            if nxt is not None:
                self._queue.append(nxt)
        return bool(self._queue)

    def popleft(self) -> list[Any]:
        if not self:
            raise IndexError("no more tasks")
        return self._queue.popleft()

    def extend(self, tasks: Iterable[list[Any]]) -> None:
        self._queue.extend(tasks)

    def extendleft(self, tasks: Iterable[list[Any]]) -> None:
        self._queue.extendleft(tasks)


class _Runner:
    """Runs list-shaped tasks and yields (task, result, error) as they finish.

    A task that fails as a whole (a worker process died, a Dask worker was lost) is split into
    single-item tasks that are re-run one at a time, so the one item that kills a worker is
    reported with the error (error is only ever set for single-item tasks) and the others go on.
    """

    def __init__(self, workers: int | None = None, scheduler: Any = None) -> None:
        self.kind = "processes"
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._client: Any = None
        self._owned: list[Any] = []
        if isinstance(scheduler, str) and scheduler in ("serial", "sync"):
            self.kind = "serial"
        elif scheduler is not None or workers is not None:
            self.kind = "dask"
            self._start_dask(workers, scheduler)

    # set-up and tear-down

    def _start_dask(self, workers: int | None, scheduler: Any) -> None:
        """Connect to Dask: a new LocalCluster of `workers` processes, an address, a Client or a cluster."""
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise StoreError("Dask is not installed: pip install 'dask[distributed]'") from exc
        import logging

        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            self._owned.append(cluster)
            self._client = Client(cluster)
            self._owned.insert(0, self._client)
        elif isinstance(scheduler, str):
            try:
                self._client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise StoreError(f"cannot reach the Dask scheduler at {scheduler}: {exc} "
                                 "(start one with `dask scheduler` and `dask worker ADDRESS`)") from exc
            self._owned.append(self._client)
        elif hasattr(scheduler, "submit"):          # a distributed.Client
            self._client = scheduler
        elif hasattr(scheduler, "scheduler_address"):  # a cluster object, e.g. LocalCluster(...)
            self._client = Client(scheduler)
            self._owned.append(self._client)
        else:
            raise StoreError(f"scheduler must be a Dask address, Client or cluster, not {type(scheduler).__name__}")
        n = len(self._client.scheduler_info().get("workers", {}))
        self.workers = max(n, workers or 0, 1)

    def _process_pool(self) -> cf.ProcessPoolExecutor:
        """The local pool, started on first use (forkserver: no fork of a threaded parent)."""
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["helpers.store", "helpers.parse", "helpers.validate"])
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
        return self._pool

    def close(self, cancel: bool = False) -> None:
        """Stop the pool (dropping queued tasks if `cancel`) and whatever Dask objects this runner made."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None
        for obj in self._owned:
            with contextlib.suppress(Exception):
                obj.close()
        self._owned = []

    # running

    def run(self, fn: Callable[[list[Any]], Any], pending: collections.deque[list[Any]] | _Feed) -> Iterator[
            tuple[list[Any], Any, BaseException | None]]:
        """Run `fn(task)` for every task taken from `pending` (which may grow while running)."""
        suspects: collections.deque[list[Any]] = collections.deque()
        if self.kind == "serial":
            while pending:
                task = pending.popleft()
                try:
                    yield task, fn(task), None
                except Exception as exc:  # noqa: BLE001
                    if len(task) > 1:
                        pending.extendleft([x] for x in reversed(task))
                    else:
                        yield task, None, exc
            return
        if self.kind == "dask":
            yield from self._run_dask(fn, pending, suspects)
        else:
            yield from self._run_processes(fn, pending, suspects)

    def _run_processes(self, fn: Callable[[list[Any]], Any], pending: collections.deque[list[Any]] | _Feed,
                       suspects: collections.deque[list[Any]]) -> Iterator[tuple[list[Any], Any, BaseException | None]]:
        """`run` on the local process pool, restarting it when a worker dies."""
        inflight: dict[cf.Future[Any], list[Any]] = {}
        limit = self.workers * 3
        alone: cf.Future[Any] | None = None   # a suspect running by itself
        while pending or suspects or inflight:
            pool = self._process_pool()
            try:
                # Suspects (tasks lost with a crashed worker) run one at a time, so a crash names its item.
                if suspects and not inflight:
                    task = suspects.popleft()
                    alone = pool.submit(fn, task)
                    inflight[alone] = task
                while not suspects and pending and len(inflight) < limit:
                    task = pending.popleft()
                    inflight[pool.submit(fn, task)] = task
            except cf.BrokenExecutor:  # the pool broke between two submissions: requeue and restart it
                suspects.extend([x] for x in task)
                for t in inflight.values():
                    suspects.extend([x] for x in t)
                inflight.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[union-attr]
                self._pool = None
                continue
            done, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = inflight.pop(fut)
                try:
                    yield task, fut.result(), None
                except cf.BrokenExecutor as exc:
                    broken = True
                    if fut is alone and len(task) == 1:
                        yield task, None, exc      # it ran alone: this item killed the worker
                    else:
                        suspects.extend([x] for x in task)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                    if len(task) > 1:
                        suspects.extend([x] for x in task)
                    else:
                        yield task, None, exc
            if broken:
                for task in inflight.values():
                    suspects.extend([x] for x in task)
                inflight.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[union-attr]
                self._pool = None

    def _run_dask(self, fn: Callable[[list[Any]], Any], pending: collections.deque[list[Any]] | _Feed,
                  suspects: collections.deque[list[Any]]) -> Iterator[tuple[list[Any], Any, BaseException | None]]:
        """`run` on a Dask cluster (a few tasks per worker in flight)."""
        from distributed import as_completed

        client = self._client
        inflight: dict[Any, list[Any]] = {}
        limit = self.workers * 4
        ac = as_completed()

        def submit(task: list[Any]) -> None:
            fut = client.submit(fn, task, pure=False, retries=0)
            inflight[fut] = task
            ac.add(fut)

        while pending and len(inflight) < limit:
            submit(pending.popleft())
        while inflight:
            fut = next(ac)
            task = inflight.pop(fut)
            try:
                yield task, fut.result(), None
            except Exception as exc:  # noqa: BLE001 - KilledWorker and the like
                if len(task) > 1:
                    suspects.extend([x] for x in task)
                else:
                    yield task, None, exc
            fut.release()
            while suspects and len(inflight) < limit:
                submit(suspects.popleft())
            while pending and len(inflight) < limit:
                submit(pending.popleft())


# ---------------------------------------------------------------------------------------------
# The store on disk


@dataclass
class IngestSummary:
    """What one `ingest` run did: files ingested, skipped (already stored), failed, and the time taken."""

    ingested: int
    skipped: int
    failed: int
    seconds: float
    linked: int = 0      # reports whose cross-year link (previous_report_id, X1/X2/COPY) was recomputed
    repaired: list[str] = field(default_factory=list)   # damaged batches dropped by `repair`
    lost: list[str] = field(default_factory=list)       # ... files of theirs that are no longer there
    version: str | None = None                           # the store version after the run
    write_seconds: float = 0.0   # time the writer spent building and writing the parse batches' parts
    worker_cpu_s: float = 0.0    # CPU seconds the workers spent parsing and validating (all tasks)
    parse_seconds: float = 0.0   # wall time until every parse batch was written (the rest: linking years)

    def counts(self) -> str:
        """The counts, as one phrase (a version's summary)."""
        return f"ingested {self.ingested}, skipped {self.skipped}, failed {self.failed}, linked {self.linked}"

    def __str__(self) -> str:
        rate = f" ({self.ingested / self.seconds:.1f} reports/s)" if self.ingested and self.seconds > 0 else ""
        text = (f"ingested {self.ingested}, skipped {self.skipped}, failed {self.failed}, "
                f"linked {self.linked} in {self.seconds:.1f} s{rate}")
        if self.repaired:
            text += f"; repair: dropped {len(self.repaired)} damaged batch(es) and ingested their files again"
            if self.lost:
                text += f" ({len(self.lost)} no longer there: {', '.join(self.lost[:3])}{' ...' if len(self.lost) > 3 else ''})"
        if self.version:
            text += f"; version {self.version}"
        return text


def _is_store(path: Path) -> bool:
    """Whether a folder is an ogi store (has the marker file)."""
    return (path / MARKER).is_file()


def _write_error(path: Path, exc: OSError) -> StoreError:
    """A failed write as one line naming the path (a full disk, a read-only folder, permissions)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        hint = "free some space and run the same command again"
    elif isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check that you may write there"
    else:
        hint = "check the disk and run the same command again"
    return StoreError(f"{path}: cannot write: {reason}; {hint} (what the store held before is intact)")


def _atomic_write(table: pa.Table, dest: Path) -> None:
    """Write a Parquet file via a hidden temp file in the same folder and os.replace."""
    _atomic(dest, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP))


def _atomic(dest: Path, write: Callable[[Path], None]) -> None:
    """Write `dest` through `write(tmp)` on a hidden temp file, fsync and os.replace; an OSError
    (ENOSPC, EACCES ...) becomes a one-line `StoreError` and leaves `dest` as it was."""
    tmp = dest.with_name(f".tmp-{secrets.token_hex(4)}-{dest.name}")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise _write_error(dest, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _create_store(root: Path) -> None:
    """Make `root` a store (or check that it is one); a non-empty folder that is not a store is refused.

    Called with the lock held (see `_locked`), so two ingests starting together on a new store
    never see each other's half-made folder; the marker is written before the table folders."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: exists and is not a folder; choose a folder for the store")
    if not _is_store(root) and any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise StoreError(f"{root}: a non-empty folder that is not an ogi store ({MARKER} missing); "
                         "choose a new or empty folder")
    try:
        if not _is_store(root):
            meta = json.dumps({"format": FORMAT_VERSION, "tables": list(TABLES),
                               "created": dt.datetime.now(dt.UTC).isoformat()}, indent=1)
            _atomic(root / MARKER, lambda tmp: tmp.write_text(meta, encoding="utf-8"))
        for name in (*TABLES, BATCHES, SOURCES):
            (root / name).mkdir(exist_ok=True)
    except OSError as exc:
        raise _write_error(root, exc) from None


@contextlib.contextmanager
def _locked(root: Path, wait: bool = True) -> Iterator[None]:
    """One ingest at a time per store: an advisory lock on `root/.lock` that the OS drops when the
    process dies (a kill leaves no stale lock). The second ingest waits for the first (`wait`), or
    raises `StoreBusy`. The folder is made first, so that the lock exists before anything else."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: exists and is not a folder; choose a folder for the store")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fh = open(root / ".lock", "a+")
    except OSError as exc:
        raise _write_error(root, exc) from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise StoreBusy(f"{root}: another ingest is writing to this store; wait for it to finish") from None
            print(f"{root}: another ingest is writing to this store; waiting for it to finish", file=sys.stderr)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fh.close()


def _format(root: Path) -> int:
    """The store's format version (its marker's `format`; 1 for a marker that does not say)."""
    try:
        return int(json.loads((root / MARKER).read_text(encoding="utf-8")).get("format", 1))
    except (OSError, ValueError, AttributeError):
        return 1


def migrate(root: Path, wait: bool = True) -> bool:
    """Bring a store of an older format up to FORMAT_VERSION in place: every `reports` part gains
    the columns added since (n_corrected = 0, parser_version null: unknown, so `--reparse` reads
    those reports again), each part rewritten atomically, then the marker's format, then a first
    version. Interrupted, it is redone by the next open or ingest. Returns whether it migrated.
    A store that cannot be written (or, with `wait=False`, is being written) is left as it is."""
    if not _is_store(root) or _format(root) >= FORMAT_VERSION:
        return False
    try:
        with _locked(root, wait=wait):
            if _format(root) >= FORMAT_VERSION:
                return False
            _migrate_locked(root)
    except (StoreBusy, StoreError, PermissionError):
        return False
    return True


def _migrate_locked(root: Path) -> None:
    from .versions import write_version

    old = _format(root)
    schema = SCHEMAS["reports"]
    for part in sorted((root / "reports").glob("part-*.parquet")):
        t = pq.read_table(part)
        if t.schema.names == schema.names:
            continue
        for name in ("n_corrected", "parser_version"):
            if name not in t.schema.names:
                f = schema.field(name)
                fill = pa.array([0] * len(t), f.type) if name == "n_corrected" else pa.nulls(len(t), f.type)
                t = t.append_column(f, fill)
        _atomic_write(t.select(schema.names).cast(schema), part)
    try:
        meta = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    meta.update({"format": FORMAT_VERSION, "tables": list(TABLES), "migrated_from": old,
                 "migrated": dt.datetime.now(dt.UTC).isoformat()})
    text = json.dumps(meta, indent=1)
    _atomic(root / MARKER, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    write_version(root, f"migrated from store format {old} to {FORMAT_VERSION}")


def _source_path(root: Path, sha: str) -> Path | None:
    """The kept copy of the file with this sha256 (`sources/<sha[:2]>/<sha><suffix>`), if there is one."""
    folder = root / SOURCES / sha[:2]
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith(sha))
    except OSError:
        return None
    return folder / names[0] if names else None


_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def _copy_source(root: Path, path: str, sha: str) -> tuple[Path, Path] | None:
    """Copy a file into the store's sources folder under a hidden temp name, for
    `sources/<sha[:2]>/<sha><suffix>` (the suffix the readers may use); returns (temp, destination),
    or None when a copy is already there. Not yet durable nor in place: `_place_copies` does both
    for a whole batch at once (one fsync per file was the ingesting process's largest cost)."""
    import shutil

    if _source_path(root, sha) is not None:
        return None
    suffix = Path(path).suffix.lower()
    dest = root / SOURCES / sha[:2] / (sha + (suffix if _SUFFIX.match(suffix) else ""))
    tmp = dest.with_name(f".tmp-{secrets.token_hex(4)}-{dest.name}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _write_error(dest, exc) from None
    return tmp, dest


@functools.lru_cache(maxsize=1)
def _syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2) (every dirty page of one filesystem written back in one call), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def _synced(folder: Path) -> bool:
    """True once syncfs(2) has written back the filesystem that holds `folder`; False where there
    is no syncfs or it failed (the caller then fsyncs file by file)."""
    sync = _syncfs()
    if sync is None:
        return False
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return sync(fd) == 0
    finally:
        os.close(fd)


def _place_copies(root: Path, copies: Sequence[tuple[Path, Path]]) -> None:
    """Make copied sources durable, then give them their names: one syncfs of the store's
    filesystem (an fsync per file where there is none), so that a name under `sources/` always
    holds the whole file; an OSError becomes a `StoreError` and the temp files are removed."""
    if not copies:
        return
    try:
        if not _synced(root / SOURCES):   # where syncfs fails, fsync tells which file and why
            for tmp, _ in copies:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
        for tmp, dest in copies:
            os.replace(tmp, dest)
    except OSError as exc:
        for tmp, _ in copies:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise _write_error(copies[0][1].parent, exc) from None


def _committed(root: Path) -> dict[str, list[Path]]:
    """Part files per table that belong to a committed batch (one whose `reports` part exists)."""
    names = sorted(p.name for p in (root / "reports").glob("part-*.parquet"))
    keep = set(names)
    out: dict[str, list[Path]] = {}
    for table in TABLES:
        folder = root / table
        parts = sorted(p for p in folder.glob("part-*.parquet") if p.name in keep) if folder.is_dir() else []
        out[table] = parts
    return out


def _clean_orphans(root: Path) -> None:
    """Remove temp files and the parts (and file lists) of batches that never committed (an interrupted run)."""
    keep = {p.name for p in (root / "reports").glob("part-*.parquet")}
    for folder in (*TABLES, BATCHES):
        if not (root / folder).is_dir():
            continue
        for p in (root / folder).iterdir():
            part = p.name if folder != BATCHES else p.stem + ".parquet"
            if p.name.startswith(".tmp-") or (p.name.startswith("part-") and part not in keep):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
    for folder in ("corrections", "versions", SOURCES, "snapshots"):   # temp files of a killed copy or write
        if (root / folder).is_dir():
            for p in (root / folder).glob("**/.tmp-*"):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def _read_columns(parts: Sequence[Path], name: str, columns: list[str]) -> pd.DataFrame:
    """Some columns of every part of a table, with the part's file name in column `part`."""
    frames = []
    for p in parts:
        try:
            t = pq.read_table(p, columns=columns, schema=SCHEMAS[name])
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise _damaged(p.parents[1], p, exc) from None
        f = _to_pandas(t)
        f["part"] = p.name
        frames.append(f)
    if not frames:
        f = _to_pandas(SCHEMAS[name].empty_table().select(columns))
        f["part"] = pd.Series(dtype=str)
        return f
    return pd.concat(frames, ignore_index=True)


def _batch_parts(root: Path) -> list[str]:
    """The part names of every committed batch (one name for all five tables)."""
    return sorted(p.name for p in (root / "reports").glob("part-*.parquet"))


def _batch_files(root: Path, part: str) -> list[dict[str, Any]]:
    """The files a batch holds, from its file list (kept apart from its parts, so it survives a
    damaged part); for a store written before file lists, from whatever of its parts still reads."""
    listing = root / BATCHES / (Path(part).stem + ".json")
    with contextlib.suppress(OSError, ValueError):
        return list(json.loads(listing.read_text(encoding="utf-8"))["files"])
    files: list[dict[str, Any]] = []
    for name, sha in (("reports", "report_id"), ("failures", "sha256")):
        with contextlib.suppress(OSError, ValueError, pa.ArrowException):
            t = pq.read_table(root / name / part, columns=["path", sha], schema=SCHEMAS[name])
            files += [{"path": a, "sha256": b} for a, b in zip(t["path"].to_pylist(), t[sha].to_pylist())]
    return files


def _repair(root: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Drop every batch with a part that does not read in full (or is gone): its `reports` part
    first (the batch is then uncommitted), then the others. Returns the dropped batches and the
    files they held, which the caller re-ingests."""
    dropped: list[str] = []
    files: list[dict[str, Any]] = []
    for part in _batch_parts(root):
        broken = False
        for name in TABLES:
            try:
                _check_part(root, root / name / part, name, full=True)
            except StoreDamaged:
                broken = True
                break
        if not broken:
            continue
        files += _batch_files(root, part)
        dropped.append(part)
        for name in TABLES:   # reports first: from here the batch is an orphan, whatever happens
            with contextlib.suppress(FileNotFoundError):
                (root / name / part).unlink()
        with contextlib.suppress(FileNotFoundError):
            (root / BATCHES / (Path(part).stem + ".json")).unlink()
    return dropped, files


_SAVED_PAGE = (".htm", ".html", ".xhtml", ".shtml", ".mht", ".mhtml")


def _page_folder(d: str, filenames: list[str]) -> bool:
    """Whether folder `d` is a saved web page's own (`NAME_files/` or `NAME.files/` beside `NAME.html`,
    as browsers save a page): its pictures are read with the page, its files are no reports."""
    low = d.lower()
    stem = low[:-6] if low.endswith(("_files", ".files")) else None
    names = {f.lower() for f in filenames}
    return stem is not None and any(stem + ext in names for ext in _SAVED_PAGE)


def _walk(paths: Iterable[str | os.PathLike[str]], root: Path) -> Iterator[str]:
    """Every non-hidden file under `paths`, in sorted order; stores (this one included) and saved
    pages' own folders (`NAME_files/`) are skipped."""
    root_real = os.path.realpath(root)
    for given in paths:
        p = Path(given)
        if p.is_file():
            if not os.path.realpath(p).startswith(root_real + os.sep):  # never the store's own files
                yield str(p.absolute())
        elif p.is_dir():
            if os.path.realpath(p) == root_real or _is_store(p):
                continue
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                     and not _page_folder(d, filenames)
                                     and os.path.realpath(os.path.join(dirpath, d)) != root_real
                                     and not _is_store(Path(dirpath, d)))
                for f in sorted(filenames):
                    if not f.startswith("."):
                        yield os.path.abspath(os.path.join(dirpath, f))
        elif os.path.lexists(p):   # a FIFO, device, socket or dangling link: refused by type, as a failure
            yield str(p.absolute())
        else:
            raise StoreError(f"{given}: no such file or folder; check the path")


class _Copies:
    """Copies files into the store's sources folder on a few threads, so that keeping the sources
    does not hold up the hashing that feeds the workers; `commit` makes a batch's copies durable
    and gives them their names before the batch's parts are written."""

    def __init__(self, root: Path, threads: int = 2) -> None:
        self.root = root
        self._pool = cf.ThreadPoolExecutor(threads, thread_name_prefix="ogi-sources")
        self._futures: list[cf.Future[tuple[Path, Path] | None]] = []

    def add(self, path: str, sha: str) -> None:
        self._futures.append(self._pool.submit(_copy_source, self.root, path, sha))

    def drain(self) -> list[cf.Future[tuple[Path, Path] | None]]:
        """The copies started since the last call (what the next batch waits for)."""
        out, self._futures = self._futures, []
        return out

    def commit(self, futures: Sequence[cf.Future[tuple[Path, Path] | None]]) -> None:
        """Wait for these copies and put them in place (durable first); the first copy error is
        raised once the others are done, and no temp file of them is left."""
        done, error = [], None
        for fut in futures:
            try:
                if (pair := fut.result()) is not None:
                    done.append(pair)
            except StoreError as exc:
                error = error or exc
        if error is not None:
            for tmp, _ in done:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise error
        _place_copies(self.root, done)

    def close(self) -> None:
        """Put every copy still pending in place (raising the first error) and stop the threads."""
        try:
            self.commit(self.drain())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _BatchWriter:
    """Collects task results and writes them as one part per table, the `reports` part last.

    The writing (building the tables, Parquet encoding, fsync) runs on a thread of its own, one
    batch at a time, so that the ingest process goes on feeding the workers meanwhile; `flush`
    waits for the previous batch's write before handing over the next, so at most two batches
    are held. A write error is raised by the next `flush` or by `close`. `seconds` is the time
    spent writing, for the benchmarks (what a cluster is limited by when its workers are many)."""

    def __init__(self, root: Path, batch_size: int, background: bool = True,
                 copies: _Copies | None = None) -> None:
        self.root = root
        self.copies = copies     # the source copies a batch waits for before its commit
        self.batch_size = batch_size
        self.run = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        self.seq = 0
        self.seconds = 0.0
        self._reset()
        self._thread = cf.ThreadPoolExecutor(1, thread_name_prefix="ogi-writer") if background else None
        self._writing: cf.Future[None] | None = None

    def _reset(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.batches: dict[str, list[pa.RecordBatch]] = {name: [] for name in _Rows.NAMES}
        self.last_flush = time.monotonic()

    def add(self, result: dict[str, Any]) -> None:
        """Keep one task result (or one failure record); write the batch when it holds batch_size
        reports (or 4 × batch_size files, or is a minute old)."""
        if result["kind"] == "failure":
            self.failures.append(result)
        else:
            self.reports += result["reports"]
            self.failures += result["failures"]
            for name in _Rows.NAMES:
                if result[name].num_rows:
                    self.batches[name].append(result[name])
        if len(self.reports) >= self.batch_size or len(self.reports) + len(self.failures) >= 4 * self.batch_size or \
                time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Hand the kept results to the writer (a no-op when there are none)."""
        if not self.reports and not self.failures:
            return
        self.seq += 1
        job = (f"part-{self.run}-{self.seq:05d}.parquet", self.reports, self.failures, self.batches,
               self.copies.drain() if self.copies is not None else [])
        self._reset()
        self._wait()
        if self._thread is None:
            self._write(*job)
        else:
            self._writing = self._thread.submit(self._write, *job)

    def _wait(self) -> None:
        """Wait for the write in progress; its error (a `StoreError`) is raised here."""
        if self._writing is not None:
            fut, self._writing = self._writing, None
            fut.result()

    def close(self) -> None:
        """Write what is kept and wait for every write to finish."""
        try:
            self.flush()
            self._wait()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True)
                self._thread = None

    def _write(self, name: str, reps: list[dict[str, Any]], fails: list[dict[str, Any]],
               batches: dict[str, list[pa.RecordBatch]], copies: list[cf.Future[tuple[Path, Path] | None]]) -> None:
        t0 = time.perf_counter()
        if self.copies is not None:   # the kept sources of the batch's files are on disk before it commits
            self.copies.commit(copies)
        now = dt.datetime.now(dt.UTC)
        tables: dict[str, pa.Table] = {n: pa.Table.from_batches(batches[n], schema=SCHEMAS[n]) for n in _Rows.NAMES}
        tables["failures"] = pa.Table.from_pylist(
            [{k: f[k] for k in ("path", "sha256", "error_class", "message")} | {"ingested_at": now} for f in fails],
            schema=SCHEMAS["failures"])
        tables["reports"] = pa.Table.from_pylist([r["row"] | {"ingested_at": now} for r in reps],
                                                 schema=SCHEMAS["reports"])
        files = [{"path": r["row"]["path"], "sha256": r["report_id"]} for r in reps] + \
                [{"path": f["path"], "sha256": f["sha256"]} for f in fails]
        listing = json.dumps({"part": name, "files": files}, ensure_ascii=False)
        _atomic(self.root / BATCHES / (Path(name).stem + ".json"),
                lambda tmp: tmp.write_text(listing, encoding="utf-8"))
        for table in ("cells", "findings", "sections", "failures", "reports"):  # reports last: the commit
            _atomic_write(tables[table], self.root / table / name)
        self.seconds += time.perf_counter() - t0


def ingest(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], store: str | os.PathLike[str], *,
           workers: int | None = None, scheduler: Any = None, progress: bool = True,
           batch_size: int = DEFAULT_BATCH_SIZE, max_bytes: int = DEFAULT_MAX_BYTES,
           retry_failed: bool = False, repair: bool = False, wait: bool = True,
           keep_sources: bool = True) -> IngestSummary:
    """Parse, validate and store every file under `paths` that the store does not hold yet.

    A second ingest into the same store waits for the first (`wait=False`: `StoreBusy` at once).
    A damaged part file raises `StoreDamaged`; with `repair`, every batch with a part that does
    not read in full is dropped and the files of its file list are ingested again.

    Files are identified by sha256; one already stored as a report or a failure is skipped (with
    `retry_failed`, failures are tried again). Work runs on a local process pool by default; with
    `workers=N` on a Dask LocalCluster of N workers; with `scheduler` on a Dask cluster (an address
    such as "tcp://host:8786", a `distributed.Client` or a cluster object), or "serial" in-process.
    Results are written every `batch_size` reports; then organ-years are linked (see the module doc).
    With `keep_sources` (the default), a copy of each new file is kept in the store's `sources/`
    folder under its sha256, which is what a re-parse reads. The run ends by recording a store
    version (helpers/versions.py) when the tables changed.
    """
    t0 = time.perf_counter()
    root = Path(store).absolute()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if batch_size <= 0:
        raise StoreError("batch_size must be a positive number of reports")
    with _locked(root, wait=wait):
        _create_store(root)
        if _format(root) < FORMAT_VERSION:
            _migrate_locked(root)
        _clean_orphans(root)
        dropped: list[str] = []
        lost: list[str] = []
        if repair:
            dropped, files = _repair(root)
            again = list(dict.fromkeys(f["path"] for f in files if f.get("path")))
            lost = [p for p in again if not os.path.lexists(p)]
            paths += [p for p in again if p not in lost]
        parts = _committed(root)
        _check_parts(root, parts)
        known = set(_read_columns(parts["reports"], "reports", ["report_id"])["report_id"].dropna())
        if not retry_failed:
            known |= set(_read_columns(parts["failures"], "failures", ["sha256"])["sha256"].dropna())
        files = list(_walk(paths, root))
        counts: collections.Counter[str] = collections.Counter()
        copies = _Copies(root) if keep_sources else None
        writer = _BatchWriter(root, batch_size, copies=copies)
        bar = _progress_bar(len(files), progress)

        def tasks() -> Iterator[list[tuple[str, str | None]]]:
            """The new files in tasks of TASK_FILES, hashed (and their sources kept) as the workers
            ask for more, so that this overlaps the parsing."""
            task: list[tuple[str, str | None]] = []
            for path in files:
                try:
                    sha = _hash_file(path, max_bytes)
                except ReportError as exc:   # not a regular file, unreadable, too large: never parsed
                    writer.add(_failure(path, None, exc))
                    counts["failed"] += 1
                    bar.update(1)
                    continue
                if sha in known:
                    counts["skipped"] += 1
                    bar.update(1)
                    continue
                known.add(sha)
                if copies is not None:
                    copies.add(path, sha)
                task.append((path, sha))
                if len(task) == TASK_FILES:
                    yield task
                    task = []
            if task:
                yield task

        runners: list[_Runner] = []

        def runner() -> _Runner:
            """The pool, started on first need (a no-op run starts none)."""
            if not runners:
                runners.append(_Runner(workers, scheduler))
            return runners[0]

        worker_cpu = 0.0
        try:
            pending = _Feed(tasks())
            fn = functools.partial(_parse_task, max_bytes=max_bytes, version=parser_version())
            for task, result, error in (runner().run(fn, pending) if pending else ()):
                if error is not None:
                    path, sha = task[0]
                    result = _failed_task([_failure(path, sha, RuntimeError(
                        f"the worker processing it died ({type(error).__name__}: {error})"))])
                counts["ingested"] += len(result["reports"])
                counts["failed"] += len(result["failures"])
                worker_cpu += result["cpu_s"]
                writer.add(result)
                bar.update(len(task))
            writer.close()
            if copies is not None:
                copies.close()
            parsed_at = time.perf_counter()
            bar.close()
            finish_pending(root, runner)
            linked = _link(root, runner)
            from .corrections import reapply_pending

            reapply_pending(root, runner)   # corrections a killed run had not applied yet
        except BaseException:
            with contextlib.suppress(StoreError):
                writer.close()  # Ctrl-C: keep what is done; the re-run does the rest (a full disk: nothing more)
            if copies is not None:
                with contextlib.suppress(StoreError):
                    copies.close()
            for r in runners:
                r.close(cancel=True)
            runners.clear()
            raise
        finally:
            bar.close()
            for r in runners:
                r.close()
        ingested, skipped, failed = counts["ingested"], counts["skipped"], counts["failed"]
        summary = IngestSummary(ingested=ingested, skipped=skipped, failed=failed,
                                seconds=time.perf_counter() - t0, linked=linked, repaired=dropped, lost=lost,
                                write_seconds=writer.seconds, worker_cpu_s=worker_cpu,
                                parse_seconds=parsed_at - t0)
        from .versions import write_version

        summary.version = write_version(root, f"ingest: {summary.counts()}").id
    return summary


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr, shown only on a terminal and when enabled."""
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, desc="ingest",
                disable=not enabled or not sys.stderr.isatty() or total == 0)


# ---------------------------------------------------------------------------------------------
# Linking organ-years and the cross-year findings


_INDEX_COLUMNS = ["report_id", "agency", "organ_id", "organ_name", "year", "form", "n_ok", "n_inferred",
                  "n_corrected", "n_unreadable", "previous_report_id"]


def _expected_links(index: pd.DataFrame) -> pd.DataFrame:
    """For every report: the previous report it should link to and the organ's name (from its latest year).

    Deterministic whatever the ingest order: of several reports of one organ-year, one represents
    it by the panel's rule for its primary (`metrics.primary_order`: most readable cells, fewest
    unreadable, the form order, then the smallest report_id), here over the report's cell counts.
    """
    from .metrics import primary_order
    from .organs import clean_name

    idx = index.copy()
    readable = sum(idx[c].fillna(0) for c in ("n_ok", "n_inferred", "n_corrected") if c in idx)
    unreadable = idx["n_unreadable"].fillna(0) if "n_unreadable" in idx else 0
    forms = idx["form"] if "form" in idx else pd.Series([""] * len(idx), index=idx.index)
    idx = idx.assign(**primary_order(readable, unreadable, forms))
    ranked = idx.dropna(subset=["organ_id", "year"]).sort_values(["organ_id", "year", "_readable", "_unreadable",
                                                                  "_form", "report_id"], kind="stable")
    rep = ranked.drop_duplicates(["organ_id", "year"])
    rep_key = {(o, int(y)): r for o, y, r in zip(rep["organ_id"], rep["year"], rep["report_id"])}
    latest = rep.sort_values(["organ_id", "year"]).drop_duplicates("organ_id", keep="last")
    names = {o: clean_name(a) for o, a in zip(latest["organ_id"], latest["agency"])}
    exp_prev, exp_name = [], []
    for o, y, own in zip(idx["organ_id"], idx["year"], idx["organ_name"]):
        if o is None or missing(o):
            exp_prev.append(None)
            exp_name.append(None if missing(own) else own)
            continue
        exp_prev.append(rep_key.get((o, int(y) - 1)) if not missing(y) else None)
        exp_name.append(names.get(o, None if missing(own) else own))
    idx["exp_prev"] = exp_prev
    idx["exp_name"] = exp_name
    return idx


def _same(a: Any, b: Any) -> bool:
    """Equality where two missing values are the same."""
    return (missing(a) and missing(b)) or a == b


def _organ_hints(root: Path) -> dict[str, str]:
    """report_id → the organ a crawl's seed names for the file (provenance `organ`, first fetch)."""
    folder = root / PROVENANCE
    frames = [pq.read_table(p) for p in sorted(folder.glob("prov-*.parquet"))] if folder.is_dir() else []
    frames = [t.select(["report_id", "organ", "fetched_at"]).to_pandas() for t in frames if "organ" in t.column_names]
    if not frames:
        return {}
    hints = pd.concat(frames).dropna(subset=["organ"]).sort_values("fetched_at", kind="stable")
    return dict(hints.drop_duplicates("report_id")[["report_id", "organ"]].itertuples(index=False))


def _expected_organs(index: pd.DataFrame, hints: dict[str, str]) -> list[Any]:
    """Per report, the organ its seed names (an `Organ`) where that should be its identity, else None
    (keep the one of its printed agency): when the printed agency is that organ's name printed
    differently (`organs.printed_alike`), or was not read and the seed names a known kind of organ.
    So a report published as a page and as an attachment is one organ-year even when one copy
    misprints the name; the printed `agency` is kept as printed."""
    from .organs import identify, printed_alike

    out: list[Any] = []
    for rid, agency in zip(index["report_id"], index["agency"]):
        hint = hints.get(rid)
        organ = identify(hint) if hint else None
        if organ is not None and organ.organ_id is not None and (
                printed_alike(None if missing(agency) else agency, hint)
                or (missing(agency) and organ.kind != "unknown")):
            out.append(organ)
        else:
            out.append(None)
    return out


def _link(root: Path, runner: Callable[[], _Runner] | None = None) -> int:
    """Link organ-years and recompute cross-year findings where a link changed; returns how many reports."""
    parts = _committed(root)
    index = _read_columns(parts["reports"], "reports", _INDEX_COLUMNS).drop_duplicates("report_id")
    if index.empty:
        return 0
    organs = _expected_organs(index, _organ_hints(root))
    organ_changed = [o is not None and o.organ_id != cur for o, cur in zip(organs, index["organ_id"])]
    index["organ_id"] = [cur if o is None else o.organ_id for o, cur in zip(organs, index["organ_id"])]
    idx = _expected_links(index)
    prev_changed = [not _same(a, b) for a, b in zip(idx["previous_report_id"], idx["exp_prev"])]
    name_changed = [not _same(a, b) for a, b in zip(idx["organ_name"], idx["exp_name"])]
    idx["prev_changed"] = prev_changed
    idx["exp_organ"] = organs
    affected = idx[[p or n or o for p, n, o in zip(prev_changed, name_changed, organ_changed)]]
    if affected.empty:
        return 0
    part_of = dict(zip(index["report_id"], index["part"]))
    # Part by part (memory bounded by one part's reports): new cross-year findings, then the findings
    # part rewritten, then the reports part (the commit of the link: if the run stops before it,
    # the link still differs from the expected one, and the next run redoes this part).
    for part, group in affected.groupby("part"):
        relink = group[group["prev_changed"]]
        counts = _relink_findings(root, parts, part, relink, part_of, runner) if len(relink) else None
        frame = _to_pandas(pq.read_table(root / "reports" / part, schema=SCHEMAS["reports"]))
        upd = group.set_index("report_id")
        hit = frame["report_id"].isin(upd.index)
        for col, src in (("previous_report_id", "exp_prev"), ("organ_name", "exp_name")):
            frame[col] = frame[col].astype(object).where(~hit, frame["report_id"].map(upd[src]).astype(object))
        _set_organs(frame, upd["exp_organ"])
        if counts is not None:
            for col, src in (("n_errors", "error"), ("n_warnings", "warning")):
                frame[col] = frame["report_id"].map(counts[src]).astype("Int64").fillna(frame[col])
        _atomic_write(_to_arrow(frame, "reports"), root / "reports" / part)
    return len(affected)


def _set_organs(frame: pd.DataFrame, organs: pd.Series) -> None:
    """Give the reports of `frame` that `organs` (report_id → Organ or None) names that organ's
    identity: id and region, and its kind and level where its name tells them."""
    for i, rid in enumerate(frame["report_id"]):
        organ = organs.get(rid)
        if organ is None or missing(organ):
            continue
        frame.loc[frame.index[i], ["organ_id", "region_code", "region"]] = [organ.organ_id, organ.region_code,
                                                                           organ.region]
        if organ.kind != "unknown":
            frame.loc[frame.index[i], ["organ_kind", "level"]] = [organ.kind, organ.level]


def _relink_findings(root: Path, parts: dict[str, list[Path]], part: str, relink: pd.DataFrame,
                     part_of: dict[str, str], runner: Callable[[], _Runner] | None) -> pd.DataFrame:
    """Replace the cross-year findings of the re-linked reports of one part; returns their error/warning counts."""
    cross_arr = pa.array(sorted(cross_year_rules()), pa.string())
    pairs = [(r, p) for r, p in zip(relink["report_id"], relink["exp_prev"]) if not missing(p)]
    pairs.sort(key=lambda rp: part_of[rp[1]])
    new: list[pa.Table] = []
    for i in range(0, len(pairs), LINK_CHUNK):
        new.extend(_cross_findings(root, parts, pairs[i:i + LINK_CHUNK], part_of, runner))
    ids = list(relink["report_id"])
    ids_arr = pa.array(ids, pa.string())
    old = pq.read_table(root / "findings" / part, schema=SCHEMAS["findings"])
    drop = pc.and_(pc.is_in(old["report_id"], value_set=ids_arr),
                   pc.fill_null(pc.is_in(old["rule"], value_set=cross_arr), False))
    table = pa.concat_tables([old.filter(pc.invert(drop)), *new])
    _atomic_write(table, root / "findings" / part)
    sub = _to_pandas(table.select(["report_id", "severity"]).filter(pc.is_in(table["report_id"], value_set=ids_arr)))
    return pd.crosstab(sub["report_id"], sub["severity"]).reindex(index=ids, columns=["error", "warning"],
                                                                   fill_value=0)


def _split_by_report(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{report_id: its rows (report_id dropped, row order kept)} by slicing a stably sorted frame."""
    frame = frame.sort_values("report_id", kind="stable").reset_index(drop=True)
    ids = frame["report_id"].to_numpy()
    body = frame.drop(columns="report_id")
    if not len(ids):
        return {}
    starts = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]] + [len(ids)]
    return {ids[a]: body.iloc[a:b].reset_index(drop=True) for a, b in zip(starts, starts[1:])}


def _load_reports(root: Path, parts: dict[str, list[Path]], ids: set[str], part_names: set[str],
                  plain: bool = False, only: Inputs | None = None) -> dict[str, Any]:
    """Rebuild `Report` objects for `ids` from the store (only the named parts are read). With
    `plain`, their cells are the parser's kind of cell dicts, not DataFrames (what validation reads
    fastest, and smaller to send to a worker: the link phase). With `only`, just those template
    rows and sections are loaded (what the cross-year rules read: a tenth of the cells)."""
    from .record import Report

    ids_arr = pa.array(sorted(ids), type=pa.string())
    keep = {"cells": None if only is None or only.rows is None else sorted(f"{t}/{r}" for t, r in only.rows),
            "sections": None if only is None or only.sections is None else sorted(only.sections)}
    tables: dict[str, pa.Table] = {}
    for name in ("reports", "cells", "sections"):
        paths = [p for p in parts[name] if p.name in part_names]
        tables[name] = _rows_of(paths, name, ids_arr, keep.get(name)) if paths else _empty(name)
    if plain:
        cells_by: dict[str, Any] = _columns_by_report(tables["cells"])
        secs_by = {k: {r["section"]: r["text"] for r in g} for k, g in _rows_by_report(tables["sections"]).items()}
    else:
        cells_by = _split_by_report(_to_pandas(tables["cells"]))
        secs_by = {k: dict(zip(g["section"], g["text"]))
                   for k, g in _split_by_report(_to_pandas(tables["sections"])).items()}
    out: dict[str, Any] = {}
    for row in _to_pandas(tables["reports"]).drop_duplicates("report_id").to_dict("records"):
        rid = row["report_id"]
        cells = cells_by.get(rid)
        if cells is None:
            continue
        out[rid] = Report(cells=cells, agency=row["agency"], year=None if missing(row["year"]) else int(row["year"]),
                          report_date=None if missing(row["report_date"]) else row["report_date"],
                          published=None if missing(row["published"]) else row["published"],
                          organ_kind=row["organ_kind"] or "unknown", template=row["template"] or "2021",
                          form=row["form"], encoding=row["encoding"], sha256=rid, path=row["path"],
                          title=row["title"], sections=secs_by.get(rid, {}))
    return out


_KEEP_BY = {"cells": "\"table\" || '/' || \"row\"", "sections": "section"}   # what `keep` of `_rows_of` names


def _rows_of(paths: list[Path], name: str, ids: pa.Array, keep: list[str] | None = None) -> pa.Table:
    """The rows of these report ids in these parts of a table, in stored order; with `keep`, only
    the cells of those "table/row"s or the sections of those ids. DuckDB reads the report_id
    column first and the others only where it matches: the link phase needs a few reports from
    each of many parts (previous years spread over the store), and reading every part in full
    for each chunk made it quadratic in the number of parts."""
    import duckdb

    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        con.register("_ids", pa.table({"rid": ids}))
        cols = ", ".join(f'"{f.name}"' for f in SCHEMAS[name])
        where = "report_id IN (SELECT rid FROM _ids)"
        if keep is not None:
            con.register("_keep", pa.table({"k": pa.array(keep, pa.string())}))
            where += f" AND {_KEEP_BY[name]} IN (SELECT k FROM _keep)"
        rel = con.sql(f"SELECT {cols} FROM read_parquet({_sql_list(paths)}, filename = true, file_row_number = true, "
                      f"union_by_name = true) WHERE {where} ORDER BY filename, file_row_number")
        return _fetch_arrow(rel).cast(SCHEMAS[name])
    except duckdb.Error as exc:
        raise StoreError(f"{paths[0].parents[1]}: reading stored {name} rows failed: {_one_line(exc)}; "
                         f"if a part file is damaged, run `ogi ingest --store {paths[0].parents[1]} --repair`") from None
    finally:
        con.close()


def _columns_by_report(table: pa.Table) -> dict[str, Any]:
    """{report_id: its cells as `CellColumns`, in stored order} (no DataFrame, no dict per cell)."""
    from .record import CELL_COLUMNS, CellColumns

    ids = table["report_id"].to_pylist()
    cols = {c: table[c].to_pylist() for c in CELL_COLUMNS}
    for c in CELL_COLUMNS:
        if c != "value":
            cols[c] = ["" if v is None else v for v in cols[c]]
    spans: dict[str, list[tuple[int, int]]] = {}
    start = 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            spans.setdefault(ids[start], []).append((start, i))
            start = i
    return {rid: CellColumns({c: [v for a, b in sp for v in cols[c][a:b]] for c in CELL_COLUMNS})
            for rid, sp in spans.items()}


def _rows_by_report(table: pa.Table) -> dict[str, list[dict[str, Any]]]:
    """{report_id: its rows as dicts without report_id, in stored order}, with no DataFrame."""
    names = [n for n in table.column_names if n != "report_id"]
    cols = [table[n].to_pylist() for n in names]
    out: dict[str, list[dict[str, Any]]] = {}
    for rid, *vals in zip(table["report_id"].to_pylist(), *cols):
        out.setdefault(rid, []).append(dict(zip(names, vals)))
    return out


def _cross_task(pairs: list[tuple[Any, Any]]) -> pa.Table:
    """Worker task: the cross-year findings of (report, previous report) pairs, as one table (only
    the cross-year rules run: the others' findings are stored already)."""
    from .validate import findings_list

    cross = cross_year_rules()
    rows = _Rows()
    empty: dict[str, list[Any]] = {"value": []}
    for cur, prev in pairs:
        rows.add(cur.sha256, empty, findings_list(cur, previous=prev, only=cross), ())
    return pa.Table.from_batches([rows.batch("findings")])


def _cross_findings(root: Path, parts: dict[str, list[Path]], pairs: list[tuple[str, str]],
                    part_of: dict[str, str], runner: Callable[[], _Runner] | None) -> Iterator[pa.Table]:
    """Cross-year findings for a chunk of (report_id, previous_report_id) pairs (of both reports,
    only what the cross-year rules read is loaded)."""
    from .validate import cross_year_inputs

    ids = {x for pair in pairs for x in pair}
    reports = _load_reports(root, parts, ids, {part_of[i] for i in ids}, plain=True, only=cross_year_inputs())
    tasks = [(reports[c], reports[p]) for c, p in pairs if c in reports and p in reports]
    pool = runner() if runner is not None and len(tasks) >= 64 else None  # small work: not worth a pool
    if pool is None or pool.kind == "serial":
        yield _cross_task(tasks)
        return
    pending = collections.deque(tasks[i:i + 32] for i in range(0, len(tasks), 32))
    for task, result, error in pool.run(_cross_task, pending):
        yield _cross_task(task) if error is not None else result  # a crashed worker: validate it here


# ---------------------------------------------------------------------------------------------
# Replacing stored reports in place (corrections, re-parses): part by part, the `reports` part last.
#
# Before any part changes, the ids are written to a journal (`pending.json`); the cross-year findings
# of those reports and of the reports that follow them are recomputed after the parts, and the journal
# is removed last. A run killed in between leaves the journal, and the next write to the store
# (`finish_pending`, called by every ingest, correction and re-parse) finishes the job.

PENDING = "pending.json"


def report_parts(root: Path) -> pd.DataFrame:
    """report_id → the committed part that holds it (and its path and parser_version)."""
    parts = _committed(root)
    return _read_columns(parts["reports"], "reports", ["report_id", "path", "parser_version"]) \
        .drop_duplicates("report_id")


def replace_reports(root: Path, results: dict[str, dict[str, Any]],
                    runner: Callable[[], _Runner] | None = None, finish: bool = True) -> None:
    """Replace the stored rows of these reports (results as `_parse_one` makes them, with the new
    rows of every table) in the parts that hold them, keep their link, then recompute cross-year
    findings around them (with `finish`; else they wait in the journal for `finish_pending`, so
    that a caller replacing many reports in steps relinks once). Called with the lock held."""
    if not results:
        return
    index = report_parts(root)
    part_of = dict(zip(index["report_id"], index["part"]))
    ids = sorted(r for r in results if r in part_of)
    _write_pending(root, ids)
    by_part: dict[str, list[str]] = collections.defaultdict(list)
    for rid in ids:
        by_part[part_of[rid]].append(rid)
    cross = pa.array(sorted(cross_year_rules()), pa.string())
    for part, rids in sorted(by_part.items()):
        arr = pa.array(rids, pa.string())
        # the part's reports in their written order: the replaced rows go back where they were
        order = pq.read_table(root / "reports" / part, columns=["report_id"], schema=SCHEMAS["reports"])["report_id"]
        for name in ("cells", "sections", "findings"):
            old = pq.read_table(root / name / part, schema=SCHEMAS[name])
            drop = pc.is_in(old["report_id"], value_set=arr)
            if name == "findings":   # cross-year findings stay until they are recomputed below
                drop = pc.and_(drop, pc.invert(pc.fill_null(pc.is_in(old["rule"], value_set=cross), False)))
            new = [results[r][name] for r in rids]
            if name == "findings":
                new = [t.filter(pc.invert(pc.fill_null(pc.is_in(t["rule"], value_set=cross), False))) for t in new]
            table = pa.concat_tables([old.filter(pc.invert(drop)), *new])
            rank = pc.fill_null(pc.index_in(table["report_id"], value_set=order), len(order))
            _atomic_write(table.take(pc.sort_indices(rank)), root / name / part)   # a stable sort
        frame = _to_pandas(pq.read_table(root / "reports" / part, schema=SCHEMAS["reports"]))
        keep = ("path", "previous_report_id", "organ_name", "ingested_at")
        rows = []
        for rec in frame.to_dict("records"):
            res = results.get(rec["report_id"])
            if res is not None and rec["report_id"] in rids:   # a correction keeps the parser version it read with
                rec = dict(res["row"]) | {k: rec[k] for k in keep + (("parser_version",) if res.get("keep_parser") else ())}
            rows.append(rec)
        _atomic_write(_to_arrow(pd.DataFrame(rows, columns=SCHEMAS["reports"].names), "reports"),
                      root / "reports" / part)
    if finish:
        finish_pending(root, runner)


def _write_pending(root: Path, ids: list[str]) -> None:
    old: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        old = list(json.loads((root / PENDING).read_text(encoding="utf-8"))["reports"])
    text = json.dumps({"reports": sorted(set(old) | set(ids))})
    _atomic(root / PENDING, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def finish_pending(root: Path, runner: Callable[[], _Runner] | None = None) -> int:
    """Recompute the cross-year findings (and error/warning counts) of the reports in the journal
    and of the reports that follow them, then remove the journal. Returns how many reports."""
    try:
        ids = set(json.loads((root / PENDING).read_text(encoding="utf-8"))["reports"])
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError):
        ids = None   # a journal that does not read: redo every report
    _link(root, runner)
    parts = _committed(root)
    index = _read_columns(parts["reports"], "reports", _INDEX_COLUMNS).drop_duplicates("report_id")
    if ids is None:
        ids = set(index["report_id"])
    hit = index[index["report_id"].isin(ids) | index["previous_report_id"].isin(ids)]
    part_of = dict(zip(index["report_id"], index["part"]))
    for part, group in hit.groupby("part"):
        relink = group.assign(exp_prev=group["previous_report_id"])
        counts = _relink_findings(root, parts, part, relink, part_of, runner)
        frame = _to_pandas(pq.read_table(root / "reports" / part, schema=SCHEMAS["reports"]))
        for col, src in (("n_errors", "error"), ("n_warnings", "warning")):
            frame[col] = frame["report_id"].map(counts[src]).astype("Int64").fillna(frame[col])
        _atomic_write(_to_arrow(frame, "reports"), root / "reports" / part)
    with contextlib.suppress(FileNotFoundError):
        (root / PENDING).unlink()
    return len(hit)


# ---------------------------------------------------------------------------------------------
# Reading: the Corpus


def _sql_list(paths: Sequence[Path]) -> str:
    """A SQL list literal of file paths (quotes doubled)."""
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _fetch_arrow(relation: Any) -> pa.Table:
    """The whole result of a DuckDB relation as an Arrow table (DuckDB 1.x and 2.x)."""
    fetch = getattr(relation, "to_arrow_table", None) or getattr(relation, "arrow")
    table = fetch()
    return table.read_all() if hasattr(table, "read_all") else table


class Corpus:
    """A store opened for reading: the tables as DataFrames (read on first use) and DuckDB views.

    A snapshot: parts written after `open_store` are not seen; open the store again for them.
    Reports are de-duplicated on report_id (and the other tables follow the kept report's batch).
    """

    def __init__(self, path: str | os.PathLike[str], *, sandbox: bool = False, version: str | None = None) -> None:
        from . import versions

        self.path = Path(path).absolute()
        if not self.path.is_dir() or not _is_store(self.path):
            raise StoreError(f"{self.path}: not an ogi store ({MARKER} missing); "
                             f"create one with `ogi ingest FILES --store {path}`")
        self.sandbox = sandbox
        migrate(self.path, wait=False)
        if version is None:
            self._parts = versions.live_parts(self.path)
            self.version = None
        else:
            v = versions.find_version(self.path, version)
            self._parts = v.paths(self.path)
            self.version = v.id
        _check_parts(self.path, self._parts)

    @functools.cached_property
    def version_id(self) -> str:
        """The id of the data version read: the one opened, else that of the store's current tables
        (the latest entry of `versions` when it was recorded). Exports and briefs print it."""
        from . import versions

        return self.version or versions.current_id(self.path)

    @functools.cached_property
    def versions(self) -> pd.DataFrame:
        """The store's versions, oldest first (`helpers.list_versions`)."""
        from .versions import list_versions

        return list_versions(self.path)

    @functools.cached_property
    def corrections(self) -> pd.DataFrame:
        """Every correction made by hand, oldest first (append-only; see helpers/corrections.py)."""
        return self._frame("corrections")

    def __repr__(self) -> str:
        return f"Corpus({str(self.path)!r}, {len(self._parts['reports'])} parts)"

    @functools.cached_property
    def con(self) -> Any:
        """A DuckDB connection with the views reports, cells, findings, failures, sections."""
        import duckdb

        try:
            return self._connect()
        except duckdb.Error as exc:
            raise self._read_error(exc) from None

    def _read_error(self, exc: BaseException) -> OgiError:
        """A DuckDB error while reading: `StoreDamaged` (with the repair command) when it names a part."""
        msg = _one_line(exc)
        if str(self.path) in msg:
            return StoreDamaged(f"{self.path}: a part file of the store does not read ({msg}); repair the store with "
                                f"`ogi ingest --store {self.path} --repair` (drops that batch and re-ingests its files)")
        return QueryError(msg)

    def _connect(self) -> Any:
        import duckdb

        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        if self.sandbox:
            _lock_down(con, [p for name in (*TABLES, "corrections", "provenance") for p in self._parts[name]])
        for name in (*TABLES, "corrections"):
            parts = self._parts[name]
            if parts:
                con.execute(f"CREATE VIEW _{name}_raw AS SELECT * FROM read_parquet({_sql_list(parts)}, "
                            "filename = true, file_row_number = true, union_by_name = true)")
            else:
                empty = SCHEMAS[name].empty_table()
                empty = empty.append_column("filename", pa.array([], pa.string()))
                empty = empty.append_column("file_row_number", pa.array([], pa.int64()))
                con.register(f"_{name}_empty", empty)
                con.execute(f"CREATE VIEW _{name}_raw AS SELECT * FROM _{name}_empty")
        con.execute("""CREATE VIEW _reports_kept AS SELECT * EXCLUDE (_rn) FROM (
                         SELECT *, row_number() OVER (PARTITION BY report_id ORDER BY filename, file_row_number) AS _rn
                         FROM _reports_raw) WHERE _rn = 1""")
        dupes = con.execute("SELECT count(*) - count(DISTINCT report_id) FROM _reports_raw").fetchone()[0]
        con.execute("CREATE VIEW _reports_o AS SELECT * FROM _reports_kept")
        for name in ("cells", "findings", "sections"):
            if dupes:
                con.execute(f"""CREATE VIEW _{name}_o AS SELECT t.* FROM _{name}_raw t SEMI JOIN _reports_kept k
                                ON t.report_id = k.report_id AND parse_filename(t.filename) = parse_filename(k.filename)""")
            else:
                con.execute(f"CREATE VIEW _{name}_o AS SELECT * FROM _{name}_raw")
        # A file's latest failure, unless it has since been ingested (a retry that worked).
        con.execute("""CREATE VIEW _failures_o AS SELECT * EXCLUDE (_rn) FROM (
                         SELECT *, row_number() OVER (PARTITION BY coalesce(sha256, path)
                                                      ORDER BY ingested_at DESC, filename DESC) AS _rn
                         FROM _failures_raw) WHERE _rn = 1
                         AND (sha256 IS NULL OR sha256 NOT IN (SELECT report_id FROM _reports_raw))""")
        con.execute("CREATE VIEW _corrections_o AS SELECT * FROM _corrections_raw")
        for name in (*TABLES, "corrections"):
            cols = ", ".join(f'"{f.name}"' for f in SCHEMAS[name])
            con.execute(f"CREATE VIEW {name} AS SELECT {cols} FROM _{name}_o")
        _provenance_views(con, self._parts["provenance"])  # fetch provenance: the reports view gains its columns
        con.register("_versions_frame", self.versions)
        con.execute("CREATE VIEW versions AS SELECT * FROM _versions_frame")
        return con

    def _frame(self, name: str) -> pd.DataFrame:
        """A whole table as a DataFrame with the store's dtypes, in the order it was written."""
        import duckdb

        schema = READ_SCHEMAS.get(name, SCHEMAS[name])
        source = "_reports_p" if name == "reports" else f"_{name}_o"
        cols = ", ".join(f'"{f.name}"' for f in schema)
        try:
            table = _fetch_arrow(self.con.sql(f"SELECT {cols} FROM {source} ORDER BY filename, file_row_number"))
        except duckdb.Error as exc:
            raise self._read_error(exc) from None
        return _public(table.cast(schema))

    @functools.cached_property
    def reports(self) -> pd.DataFrame:
        """One row per report: identity, organ, provenance, cell status counts, finding counts, link."""
        return self._frame("reports")

    @functools.cached_property
    def cells(self) -> pd.DataFrame:
        """Every template cell of every report (report_id + the `Report.cells` columns)."""
        return self._frame("cells")

    @functools.cached_property
    def findings(self) -> pd.DataFrame:
        """Every validation finding (report_id + the `validate` columns), cross-year rules included."""
        return self._frame("findings")

    @functools.cached_property
    def failures(self) -> pd.DataFrame:
        """Files that could not be read: path, sha256, error class and message."""
        return self._frame("failures")

    @functools.cached_property
    def sections(self) -> pd.DataFrame:
        """The narrative text of each report's sections."""
        return self._frame("sections")

    def sql(self, query: str) -> pd.DataFrame:
        """Run a DuckDB SQL query over the views and return the result as a DataFrame."""
        if self.sandbox:
            check_read_only(query)
            import duckdb

            try:
                relation = self.con.sql(query)
            except duckdb.Error as exc:
                raise QueryError(_one_line(exc)) from None
        else:
            relation = self.con.sql(query)
        if relation is None:  # a statement without a result (e.g. CREATE VIEW)
            return pd.DataFrame()
        return _public(_fetch_arrow(relation))


    def query(self, query: str) -> QueryResult:
        """Run one SQL statement and return its columns, DuckDB types and rows as Python values
        (lists, dicts, Decimal, dates, bytes ... as DuckDB gives them); DuckDB errors and, in a
        sandbox, statements other than one read-only query raise `QueryError`."""
        import duckdb

        if self.sandbox:
            check_read_only(query)
        try:
            relation = self.con.sql(query)
            if relation is None:
                return QueryResult([], [], [])
            return QueryResult([str(c) for c in relation.columns], [str(t) for t in relation.types],
                               relation.fetchall())
        except duckdb.PermissionException as exc:
            raise QueryError(f"{_one_line(exc)} (the sandbox reads only the store's own tables; --unsafe lifts it)") \
                from None
        except duckdb.Error as exc:
            raise self._read_error(exc) from None



# ---------------------------------------------------------------------------------------------
# Fetch provenance (`ogi ingest ARCHIVE`, helpers/fetch/ingest.py): where and when a report was
# fetched. Kept in its own folder of parts (`provenance/prov-*.parquet`, one per archive ingest,
# outside the batch commit of TABLES) and joined into the `reports` view by report_id, so that
# ingesting an archive adds provenance to reports already in the store without rewriting them.
# `published` is the report's own printed date when it has one, else the fetched page's.

PROVENANCE = "provenance"
PROVENANCE_SCHEMA = pa.schema([("report_id", _STR), ("source_url", _STR), ("fetched_at", _TS), ("published", _DATE),
                               ("parent_url", _STR), ("organ", _STR)])   # organ: the crawl seed's (see _link)
READ_SCHEMAS = {"reports": pa.schema(list(SCHEMAS["reports"]) + [PROVENANCE_SCHEMA.field(n) for n in
                                                                  ("source_url", "fetched_at", "parent_url")])}


def add_provenance(store: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Add provenance records (PROVENANCE_SCHEMA; report_id is the file's sha256) to a store, then
    link organ-years again: a record's `organ` can give a report its organ (see `_link`)."""
    root = Path(store).absolute()
    if not _is_store(root):
        raise StoreError(f"{root}: not an ogi store ({MARKER} missing); ingest the files first")
    table = pa.Table.from_pylist(list(records), schema=PROVENANCE_SCHEMA)
    if not len(table):
        return 0
    (root / PROVENANCE).mkdir(exist_ok=True)
    name = f"prov-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}.parquet"
    with _locked(root):
        _atomic_write(table, root / PROVENANCE / name)
        _link(root)
    return len(table)


def _provenance_views(con: Any, parts: list[Path]) -> None:
    """`_provenance` (the first fetch of each report_id) and the reports views with its columns."""
    if parts:
        con.execute(f"CREATE VIEW _provenance_raw AS SELECT * FROM read_parquet({_sql_list(parts)}, filename = true, "
                    "union_by_name = true)")
    else:
        empty = PROVENANCE_SCHEMA.empty_table().append_column("filename", pa.array([], pa.string()))
        con.register("_provenance_empty", empty)
        con.execute("CREATE VIEW _provenance_raw AS SELECT * FROM _provenance_empty")
    con.execute("""CREATE VIEW _provenance AS SELECT * EXCLUDE (_rn, filename) FROM (
                     SELECT *, row_number() OVER (PARTITION BY report_id ORDER BY fetched_at, filename) AS _rn
                     FROM _provenance_raw) WHERE _rn = 1""")
    cols = ", ".join('coalesce(r.published, p.published) AS published' if f.name == "published" else f'r."{f.name}"'
                     for f in SCHEMAS["reports"])
    con.execute(f"""CREATE VIEW _reports_p AS SELECT r.filename, r.file_row_number, {cols},
                      p.source_url, p.fetched_at, p.parent_url
                    FROM _reports_o r LEFT JOIN _provenance p ON r.report_id = p.report_id""")
    names = ", ".join(f'"{f.name}"' for f in READ_SCHEMAS["reports"])
    con.execute(f"CREATE OR REPLACE VIEW reports AS SELECT {names} FROM _reports_p")


@dataclass
class QueryResult:
    """The result of `Corpus.query`: column names, DuckDB type names, rows of Python values."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def _check_parts(root: Path, parts: dict[str, list[Path]]) -> None:
    """Raise `StoreDamaged` naming the first committed part whose Parquet footer cannot be read."""
    for name in TABLES:
        for p in parts[name]:
            _check_part(root, p, name)


def _check_part(root: Path, path: Path, name: str, full: bool = False) -> None:
    """One part: its footer (cheap) or, with `full`, all its data, readable with the table's schema."""
    try:
        if full:
            pq.read_table(path, schema=SCHEMAS[name])
        else:
            meta = pq.read_metadata(path)
            if meta.num_columns != len(SCHEMAS[name]):
                raise ValueError(f"{meta.num_columns} columns, not the {len(SCHEMAS[name])} of table {name}")
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _damaged(root, path, exc) from None


def _damaged(root: Path, path: Path | str, exc: BaseException | str) -> StoreDamaged:
    """The one-line error for a part file that does not read, with the repair command."""
    why = exc if isinstance(exc, str) else _one_line(exc)
    return StoreDamaged(f"{path}: a damaged part file of the store ({why}); repair the store with "
                        f"`ogi ingest --store {root} --repair` (drops that batch and re-ingests its files)")


def _one_line(exc: BaseException) -> str:
    """A DuckDB error as one line (its first line; the caret diagram that follows is dropped)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def _lock_down(con: Any, parts: Sequence[Path]) -> None:
    """Sandbox a DuckDB connection: no file outside the store's own part files (so no COPY, no
    ATTACH, no INSTALL/LOAD, no URL), and the configuration locked so no SET can undo it."""
    con.execute("SET allowed_paths = " + (_sql_list(parts) if parts else "[]"))
    con.execute("SET allowed_directories = []")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


_READ_ONLY = ("SELECT",)


def check_read_only(query: str) -> None:
    """Refuse anything but one read-only statement (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE,
    and EXPLAIN of one of those): the sandbox's second wall, since allowed part files are writable."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    if len(statements) != 1:
        raise QueryError(f"one SQL statement at a time, not {len(statements)}"
                         + (" (use --unsafe to run several)" if statements else ""))
    st = statements[0]
    kind = str(st.type).rsplit(".", 1)[-1]
    if kind == "EXPLAIN":
        inner = re.sub(r"^\s*EXPLAIN\s+(ANALYZE\s+)?", "", st.query, flags=re.I)
        try:
            inner_st = duckdb.extract_statements(inner)
        except duckdb.Error:
            inner_st = []
        if len(inner_st) == 1 and str(inner_st[0].type).rsplit(".", 1)[-1] in _READ_ONLY:
            return
    elif kind in _READ_ONLY:
        return
    raise QueryError(f"a {kind} statement is refused: ogi query is read-only and sandboxed "
                     "(only a SELECT runs; --unsafe gives DuckDB's full power on your own machine)")


def open_store(path: str | os.PathLike[str], *, sandbox: bool = False, version: str | None = None) -> Corpus:
    """Open a store folder written by `ingest` (raises StoreError when it is not one, or names the
    damaged part file). With `sandbox`, SQL runs read-only with no access outside the store; with
    `version` (an id of `ogi versions`, or `latest~N`), the tables as they were in that version."""
    return Corpus(path, sandbox=sandbox, version=version)
