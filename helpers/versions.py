"""Data versions of a store: immutable, citable snapshots of its tables, their list, diff and prune.

Every write to a store (an ingest, a correction, a re-parse, a migration) ends by recording a
version: a manifest `versions/v-<seq>-<id>.json` (written atomically) that lists the part files of
every table as they are then (name, sha256, size). The id is a hash of those contents, so the same
tables give the same id. A part file of a version is kept under `snapshots/<sha256>/<name>` (a hard
link, so it costs no space until the live part is rewritten), which is what makes a version
immutable although the store rewrites parts in place (links, corrections, re-parses). Opening a
version (`open_store(path, version=ID)`) reads its snapshot files; `prune_versions` drops all but
the newest versions and the snapshot files no kept version needs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import StoreError

__all__ = ["Version", "diff_versions", "list_versions", "prune_versions", "VERSION_TABLES"]

VERSIONS = "versions"
SNAPSHOTS = "snapshots"
# Tables whose part files make up a version: the batch-committed five, then the append-only ones.
VERSION_TABLES = ("reports", "cells", "findings", "failures", "sections", "corrections", "provenance")
VERSION_COLUMNS = ["version", "created", "ogi_version", "summary", "reports", "cells", "corrections"]
DIFF_COLUMNS = ["report_id", "table", "row", "column", "old_value", "old_status", "new_value", "new_status", "change"]


@dataclass(frozen=True)
class Version:
    """One store version: its id, when it was written, by which ogi, what it did, and its parts."""

    id: str
    created: str
    ogi_version: str
    summary: str
    parts: dict[str, list[dict[str, Any]]]
    counts: dict[str, int]
    file: Path

    def paths(self, root: Path) -> dict[str, list[Path]]:
        """The snapshot file of every part, per table (what `open_store(..., version=id)` reads)."""
        return {t: [root / SNAPSHOTS / p["sha256"] / p["name"] for p in self.parts.get(t, [])] for t in VERSION_TABLES}


def live_parts(root: Path) -> dict[str, list[Path]]:
    """The store's current part files per version table (committed batches, corrections, provenance)."""
    from .store import PROVENANCE, TABLES, _committed

    out: dict[str, list[Path]] = dict(_committed(root))
    for name, folder, pattern in (("corrections", "corrections", "corr-*.parquet"),
                                  ("provenance", PROVENANCE, "prov-*.parquet")):
        out[name] = sorted((root / folder).glob(pattern)) if (root / folder).is_dir() else []
    return {t: out.get(t, []) for t in (*TABLES, "corrections", "provenance")}


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _entries(root: Path, parts: dict[str, list[Path]], cache: dict[tuple[str, str], dict[str, Any]]) -> dict[
        str, list[dict[str, Any]]]:
    """{table: [{name, sha256, size, ino, mtime_ns}]}: hashes reused from `cache` for unchanged files."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, paths in parts.items():
        rows = []
        for p in paths:
            ino, size, mtime = _stat_key(p)
            old = cache.get((table, p.name))
            if old and (old.get("ino"), old.get("size"), old.get("mtime_ns")) == (ino, size, mtime):
                sha = old["sha256"]
            else:
                sha = _sha_file(p)
            rows.append({"name": p.name, "sha256": sha, "size": size, "ino": ino, "mtime_ns": mtime})
        out[table] = rows
    return out


def _id_of(entries: dict[str, list[dict[str, Any]]]) -> str:
    """A version id from the contents of its tables (order of parts and tables fixed)."""
    h = hashlib.sha256()
    for table in VERSION_TABLES:
        for e in sorted(entries.get(table, []), key=lambda e: e["name"]):
            h.update(f"{table}\0{e['name']}\0{e['sha256']}\n".encode())
    return h.hexdigest()[:16]


def _read(file: Path) -> Version | None:
    try:
        d = json.loads(file.read_text(encoding="utf-8"))
        return Version(id=str(d["id"]), created=str(d["created"]), ogi_version=str(d["ogi_version"]),
                       summary=str(d["summary"]), parts=d["parts"], counts=dict(d.get("counts", {})), file=file)
    except (OSError, ValueError, KeyError, TypeError):
        return None   # a manifest that does not read is not a version (an atomic write never leaves one)


def versions(root: Path) -> list[Version]:
    """The store's versions, oldest first."""
    folder = Path(root) / VERSIONS
    if not folder.is_dir():
        return []
    out = [_read(f) for f in sorted(folder.glob("v-*.json"))]
    return [v for v in out if v is not None]


def _cache(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    vs = versions(root)
    if not vs:
        return {}
    return {(t, e["name"]): e for t, es in vs[-1].parts.items() for e in es}


def current_id(root: Path) -> str:
    """The id the store's current tables have (that of its latest version when nothing changed since)."""
    root = Path(root)
    return _id_of(_entries(root, live_parts(root), _cache(root)))


def _rows(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    n = 0
    for p in paths:
        with contextlib.suppress(OSError, ValueError):
            n += pq.read_metadata(p).num_rows
    return n


def _link(src: Path, dest: Path) -> None:
    """`dest` as a hard link of `src` (a copy where the file system has no hard links)."""
    from .store import _atomic

    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except FileExistsError:
        return
    except OSError:
        _atomic(dest, lambda tmp: shutil.copyfile(src, tmp))


def write_version(root: Path, summary: str) -> Version:
    """Record the store's current tables as a version (called with the store's lock held); when they
    are those of the latest version, that version is returned and nothing is written."""
    from . import __version__
    from .store import _atomic, _write_error

    root = Path(root)
    vs = versions(root)
    parts = live_parts(root)
    entries = _entries(root, parts, {(t, e["name"]): e for t, es in vs[-1].parts.items() for e in es} if vs else {})
    vid = _id_of(entries)
    if vs and vs[-1].id == vid:
        return vs[-1]
    try:
        for table, es in entries.items():   # the snapshot files first: a manifest never names a missing one
            for p, e in zip(parts[table], es):
                _link(p, root / SNAPSHOTS / e["sha256"] / e["name"])
        (root / VERSIONS).mkdir(exist_ok=True)
    except OSError as exc:
        raise _write_error(root / SNAPSHOTS, exc) from None
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    counts = {t: _rows(parts[t]) for t in ("reports", "cells", "corrections")}
    seq = int(vs[-1].file.name.split("-")[1]) + 1 if vs else 1
    doc = {"id": vid, "created": created, "ogi_version": __version__, "summary": " ".join(summary.split()),
           "counts": counts, "parts": entries}
    file = root / VERSIONS / f"v-{seq:06d}-{vid}.json"
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    _atomic(file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return Version(id=vid, created=created, ogi_version=__version__, summary=doc["summary"], parts=entries,
                   counts=counts, file=file)


def find_version(root: Path, ref: str) -> Version:
    """A version by its id (or a unique prefix of at least 4 characters), `latest`, or `latest~N`."""
    vs = versions(root)
    if not vs:
        raise StoreError(f"{root}: the store has no versions yet; run `ogi ingest` on it once to record one")
    ref = str(ref).strip()
    if ref == "latest" or ref.startswith("latest~"):
        back = int(ref.split("~", 1)[1]) if "~" in ref and ref.split("~", 1)[1].isdigit() else 0
        if back >= len(vs):
            raise StoreError(f"{root}: {ref}: the store has only {len(vs)} version(s)")
        return vs[-1 - back]
    hits = [v for v in vs if v.id == ref] or ([v for v in vs if v.id.startswith(ref)] if len(ref) >= 4 else [])
    ids = list(dict.fromkeys(v.id for v in hits))
    if len(ids) != 1:
        known = ", ".join(v.id for v in vs[-5:])
        what = "is ambiguous" if ids else "is not a version of this store"
        raise StoreError(f"{root}: {ref!r} {what}; list them with `ogi versions {root}` (latest: {known})")
    return [v for v in hits if v.id == ids[0]][-1]


def list_versions(store: str | os.PathLike[str]) -> pd.DataFrame:
    """The store's versions, one row each, oldest first: id, time, ogi version, summary, and the rows
    of reports, cells and corrections it holds."""
    root = _root(store)
    rows = [{"version": v.id, "created": v.created, "ogi_version": v.ogi_version, "summary": v.summary,
             "reports": int(v.counts.get("reports", 0)), "cells": int(v.counts.get("cells", 0)),
             "corrections": int(v.counts.get("corrections", 0))} for v in versions(root)]
    frame = pd.DataFrame(rows, columns=VERSION_COLUMNS)
    for c in ("reports", "cells", "corrections"):
        frame[c] = frame[c].astype("Int64")
    return frame


def _root(store: str | os.PathLike[str]) -> Path:
    from .store import MARKER, _is_store

    root = Path(store).absolute()
    if not _is_store(root):
        raise StoreError(f"{root}: not an ogi store ({MARKER} missing); create one with `ogi ingest FILES --store {store}`")
    return root


def prune_versions(store: str | os.PathLike[str], keep: int) -> list[str]:
    """Keep the newest `keep` versions (at least 1): the older manifests are removed, then every
    snapshot file that no kept version lists. Returns the ids removed."""
    from .store import _locked

    if keep < 1:
        raise StoreError("--prune KEEP: keep at least 1 version (the latest)")
    root = _root(store)
    with _locked(root):
        vs = versions(root)
        gone = vs[:-keep] if len(vs) > keep else []
        for v in gone:   # manifests first: an interrupted prune leaves unlisted snapshots, removed next time
            with contextlib.suppress(FileNotFoundError):
                v.file.unlink()
        kept = {(e["sha256"], e["name"]) for v in versions(root) for es in v.parts.values() for e in es}
        snaps = root / SNAPSHOTS
        if snaps.is_dir():
            for folder in snaps.iterdir():
                for f in list(folder.iterdir()) if folder.is_dir() else []:
                    if (folder.name, f.name) not in kept:
                        with contextlib.suppress(FileNotFoundError):
                            f.unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()   # only when empty
    return [v.id for v in gone]


def diff_versions(store: str | os.PathLike[str], old: str, new: str) -> pd.DataFrame:
    """The cells that differ between two versions of a store, one row each: the key (report_id,
    table, row, column), the old and the new value and status, and `change` (changed, added for a
    cell only the new version has, removed for one only the old has). Sorted by key."""
    from .store import open_store

    root = _root(store)
    a = open_store(root, version=find_version(root, old).id)
    b = open_store(root, version=find_version(root, new).id)
    q = """
      WITH o AS (SELECT report_id, "table", "row", "column", value, status FROM a.cells),
           n AS (SELECT report_id, "table", "row", "column", value, status FROM b.cells)
      SELECT coalesce(o.report_id, n.report_id) AS report_id, coalesce(o."table", n."table") AS "table",
             coalesce(o."row", n."row") AS "row", coalesce(o."column", n."column") AS "column",
             o.value AS old_value, o.status AS old_status, n.value AS new_value, n.status AS new_status,
             CASE WHEN o.report_id IS NULL THEN 'added' WHEN n.report_id IS NULL THEN 'removed' ELSE 'changed' END
               AS change
      FROM o FULL OUTER JOIN n USING (report_id, "table", "row", "column")
      WHERE o.report_id IS NULL OR n.report_id IS NULL OR o.status IS DISTINCT FROM n.status
            OR o.value IS DISTINCT FROM n.value
      ORDER BY 1, 2, 3, 4"""
    import duckdb

    con = duckdb.connect(":memory:")
    con.register("a_cells", a.cells[["report_id", "table", "row", "column", "value", "status"]].astype(
        {"status": "string"}))
    con.register("b_cells", b.cells[["report_id", "table", "row", "column", "value", "status"]].astype(
        {"status": "string"}))
    from .store import _fetch_arrow, _to_pandas

    table = _fetch_arrow(con.sql(q.replace("a.cells", "a_cells").replace("b.cells", "b_cells")))
    return _to_pandas(table).reindex(columns=DIFF_COLUMNS)
