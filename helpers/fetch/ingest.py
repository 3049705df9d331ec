"""An archive's reports as ingest inputs: every downloaded report page and attachment (each
version), written out of the WARC files as a file, with its provenance (URL, fetch time, the
page's publication date, the parent page), and ingested into a store with that provenance.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from . import FetchError
from .archive import is_archive, read_body, read_manifest
from .links import config

__all__ = ["BODIES", "archive_inputs", "ingest_archive"]

BODIES = ".ogi-bodies"   # the archive's report bodies as files (hidden: never walked as inputs)
_SUFFIX = {"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html", "application/xhtml+xml": ".html",
           "application/msword": ".doc", "application/vnd.ms-excel": ".xls",
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx"}


def _suffix(row: dict[str, Any]) -> str:
    """The file suffix the readers sniff with: from the content type, else the URL's extension."""
    mime = str(row.get("content_type") or "").split(";")[0].strip().lower()
    if mime in _SUFFIX:
        return _SUFFIX[mime]
    ext = PurePosixPath(unquote(urlsplit(str(row["url"])).path)).suffix.lower()
    return ext if ext and len(ext) <= 6 else ".bin"


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def archive_inputs(archive: str | os.PathLike[str]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(file, provenance) for every report document of the archive, each distinct body once (its
    first fetch). A report page that only wraps attachments (small, with attachment children) is
    left out: the attachments are the report."""
    root = Path(archive)
    if not is_archive(root):
        raise FetchError(f"{root}: not an ogi archive (ogi-archive.json missing); create one with `ogi fetch`")
    m = read_manifest(root)
    ok = m[(m["status"] == 200) & (m["error"] == "") & (m["warc"] != "")]
    parents = set(ok[ok["kind"] == "attachment"]["parent_url"])
    wrapper_bytes = int(config()["ingest"]["wrapper_page_bytes"])
    out_dir = root / BODIES
    out_dir.mkdir(exist_ok=True)
    seen: set[str] = set()
    for row in ok[ok["kind"].isin(["page", "attachment"])].to_dict("records"):
        sha = row["sha256"]
        if sha in seen or (row["kind"] == "page" and row["url"] in parents and int(row["bytes"]) < wrapper_bytes):
            continue
        seen.add(sha)
        path = out_dir / f"{sha}{_suffix(row)}"
        if not path.exists():
            tmp = path.with_name(f".tmp-{path.name}")
            tmp.write_bytes(read_body(root, row))
            os.replace(tmp, path)
        yield path, {"report_id": sha, "source_url": row["url"],
                     "fetched_at": dt.datetime.fromisoformat(row["fetched_at"]) if row["fetched_at"] else None,
                     "published": _date(row["published"]), "parent_url": row["parent_url"] or None,
                     "organ": row["organ"] or None}


def ingest_archive(archive: str | os.PathLike[str], store: str | os.PathLike[str], **options: Any) -> Any:
    """Ingest an archive's reports into a store (options as for `helpers.ingest`), then record their
    provenance, which also reaches reports of the same bytes already in the store.

    The provenance names each file's organ as the seed gave it; the store's linking step then gives
    that organ to a report whose printed agency is the same name printed differently (or unread), so
    that a report published as a page and as an attachment is one organ-year: one row of the panel,
    the other file listed as its duplicate (`helpers.metrics.panel_table`)."""
    from ..store import add_provenance, ingest

    inputs = list(archive_inputs(archive))
    summary = ingest([str(p) for p, _ in inputs], store, **options)
    add_provenance(store, [prov for _, prov in inputs])
    return summary
