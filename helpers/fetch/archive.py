"""An ogi archive: a folder with a descriptor, WARC files and a manifest table.

```
ARCHIVE/
  ogi-archive.json     marks the folder (format, runs with their start and end, settings)
  warc/run-0001-….warc.gz   every request and response, written from the raw bytes (warcio)
  manifest.csv         one row per URL and run: what was fetched, from where, and where it is
```

Each fetch is appended to the WARC file (request and response records, flushed) and then to the
manifest (one line, flushed): a manifest row is the commit of its WARC records. A crawl killed
between the two leaves WARC bytes without a row; on resume every WARC file is trimmed to the end
of its last committed record, a half-written manifest line is dropped, and the URL is fetched
again. A URL with a row in the current run is never fetched twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any


from . import FetchError

__all__ = ["DESCRIPTOR", "MANIFEST", "MANIFEST_COLUMNS", "Archive", "Response", "is_archive"]

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTOR = "ogi-archive.json"
MANIFEST = "manifest.csv"
FORMAT_VERSION = 1
MANIFEST_COLUMNS = ["run", "url", "organ", "kind", "year", "title", "status", "content_type", "bytes", "sha256",
                    "version", "changed", "published", "parent_url", "redirect", "error", "etag", "last_modified",
                    "fetched_at", "warc", "offset", "length"]
_DROP_HEADERS = {"transfer-encoding"}   # the stored body is de-chunked


@dataclass
class Response:
    """One HTTP exchange as it went over the wire (raw, undecoded body)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    raw: bytes
    truncated: bool = False


def is_archive(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a folder marked as an ogi archive."""
    return (Path(path) / DESCRIPTOR).is_file()


def _clean(value: Any) -> Any:
    """A manifest cell on one line (so that a half-written line is always the last one)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r", " ").replace("\n", " ")
    return value


class Archive:
    """An archive folder opened for a crawl (or, with `dry=True`, an in-memory stand-in)."""

    def __init__(self, root: str | os.PathLike[str], dry: bool = False) -> None:
        self.root = Path(root)
        self.dry = dry
        self.run = 0
        self._warc: Any = None
        self._warc_name = ""
        self._manifest: Any = None
        self._writer: Any = None
        self._rows: list[dict[str, Any]] = []
        self.descriptor: dict[str, Any] = {}
        from .links import config

        self.warc_max_bytes = int(config()["limits"]["warc_max_bytes"])

    # -- opening ------------------------------------------------------------------------------
    def open(self, settings: dict[str, Any]) -> int:
        """Create or open the folder, trim what a kill cut, and start (or resume) a run; returns it."""
        if self.dry:
            self.run = 1
            return self.run
        root = self.root
        if root.exists() and not root.is_dir():
            raise FetchError(f"{root}: exists and is not a folder; give a folder for the archive")
        if root.is_dir() and not is_archive(root) and any(not p.name.startswith(".") for p in root.iterdir()):
            raise FetchError(f"{root}: a non-empty folder that is not an ogi archive ({DESCRIPTOR} missing); "
                             "choose a new or empty folder")
        (root / "warc").mkdir(parents=True, exist_ok=True)
        if is_archive(root):
            self.descriptor = json.loads((root / DESCRIPTOR).read_text(encoding="utf-8"))
            if self.descriptor.get("format") != "ogi-archive":
                raise FetchError(f"{root / DESCRIPTOR}: not an ogi archive descriptor")
        else:
            self.descriptor = {"format": "ogi-archive", "version": FORMAT_VERSION,
                               "created": _now().isoformat(), "runs": []}
        self._trim()
        runs = self.descriptor["runs"]
        if runs and runs[-1].get("finished") is None:
            self.run = runs[-1]["run"]
            runs[-1].setdefault("resumed", []).append(_now().isoformat())
        else:
            self.run = (runs[-1]["run"] + 1) if runs else 1
            runs.append({"run": self.run, "started": _now().isoformat(), "finished": None})
        self.descriptor["settings"] = settings
        self._save_descriptor()
        new = not (root / MANIFEST).exists()
        self._manifest = open(root / MANIFEST, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._manifest, fieldnames=MANIFEST_COLUMNS)
        if new:
            self._writer.writeheader()
            self._manifest.flush()
        return self.run

    def _save_descriptor(self) -> None:
        tmp = self.root / f".{DESCRIPTOR}.tmp"
        tmp.write_text(json.dumps(self.descriptor, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.root / DESCRIPTOR)

    def _trim(self) -> None:
        """Drop a half-written manifest line and WARC bytes that no manifest row commits."""
        path = self.root / MANIFEST
        if path.exists():
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(path, "r+b") as fh:
                    fh.truncate(data.rfind(b"\n") + 1)
        ends: dict[str, int] = {}
        for row in self._read_rows():
            if row.get("warc"):
                ends[row["warc"]] = max(ends.get(row["warc"], 0), int(row["offset"]) + int(row["length"]))
        for warc in (self.root / "warc").glob("*.warc.gz"):
            size = warc.stat().st_size
            end = ends.get(warc.name, 0)
            if size > end:
                with open(warc, "r+b") as fh:
                    fh.truncate(end)
            if end == 0:
                warc.unlink()

    def close(self, finished: bool) -> None:
        """Close the files; mark the run finished when the crawl ran to its end."""
        if self.dry:
            return
        if self._warc is not None:
            self._warc.close()
            self._warc = None
        if self._manifest is not None:
            self._manifest.close()
            self._manifest = None
        if finished:
            self.descriptor["runs"][-1]["finished"] = _now().isoformat()
        self._save_descriptor()

    # -- reading ------------------------------------------------------------------------------
    def _read_rows(self) -> Iterator[dict[str, str]]:
        path = self.root / MANIFEST
        if not path.exists():
            return
        with open(path, newline="", encoding="utf-8") as fh:
            yield from csv.DictReader(fh)

    def manifest(self) -> pd.DataFrame:
        """The manifest table (every run), as a DataFrame."""
        if self.dry:
            import pandas as pd

            return pd.DataFrame(self._rows, columns=MANIFEST_COLUMNS)
        return read_manifest(self.root)

    def rows(self) -> list[dict[str, str]]:
        """The manifest rows as plain records, in the order they were written."""
        return [dict(r) for r in self._rows] if self.dry else list(self._read_rows())

    def body(self, row: dict[str, Any]) -> bytes:
        """The (content-decoded) body of the response a manifest row points to."""
        return read_body(self.root, row)

    # -- writing ------------------------------------------------------------------------------
    def _warc_writer(self) -> Any:
        from warcio.warcwriter import WARCWriter

        if self._warc is not None and self._warc.tell() > self.warc_max_bytes:   # rotate a full file
            self._warc.close()
            self._warc = None
        if self._warc is None:
            self._warc_name = f"run-{self.run:04d}-{_now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}.warc.gz"
            self._warc = open(self.root / "warc" / self._warc_name, "ab")
            self._warc_w = WARCWriter(self._warc, gzip=True)
        return self._warc_w

    def record(self, row: dict[str, Any], responses: Response | list[Response] | None) -> dict[str, Any]:
        """Write the exchanges of one URL (earlier attempts first, e.g. a 500 that was retried) to the
        WARC file, then its manifest row; returns the row."""
        row = {c: _clean(row.get(c)) for c in MANIFEST_COLUMNS}
        row["run"] = self.run
        if isinstance(responses, Response):
            responses = [responses]
        if responses and not self.dry:
            self._warc_writer()
            start = self._warc.tell()
            for response in responses:
                self._write_pair(response)
            self._warc.flush()
            row.update(warc=self._warc_name, offset=start, length=self._warc.tell() - start)
        if self.dry:
            self._rows.append(row)
        else:
            self._writer.writerow(row)
            self._manifest.flush()
        return row

    def _write_pair(self, response: Response) -> None:
        """A request record and its response record, from the bytes as they went over the wire."""
        from warcio.statusandheaders import StatusAndHeaders

        w = self._warc_w
        path = response.url.split("/", 3)[3] if response.url.count("/") >= 3 else ""
        req_h = StatusAndHeaders(f"{response.method} /{path} HTTP/1.1", response.request_headers, is_http_request=True)
        req = w.create_warc_record(response.url, "request", payload=io.BytesIO(b""), length=0, http_headers=req_h)
        headers = [(k, v) for k, v in response.headers if k.lower() not in _DROP_HEADERS]
        resp_h = StatusAndHeaders(f"{response.status} {response.reason}".strip(), headers,
                                  protocol=response.http_version or "HTTP/1.1")
        extra = {"WARC-Truncated": "length"} if response.truncated else None
        resp = w.create_warc_record(response.url, "response", payload=io.BytesIO(response.raw),
                                    length=len(response.raw), http_headers=resp_h, warc_headers_dict=extra)
        w.write_request_response_pair(req, resp)


def read_manifest(root: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest of an archive folder as a DataFrame (every run)."""
    import pandas as pd  # imported on use: `ogi --help` loads no pandas

    path = Path(root) / MANIFEST
    if not is_archive(root):
        raise FetchError(f"{root}: not an ogi archive ({DESCRIPTOR} missing); create one with `ogi fetch`")
    if not path.exists():
        return pd.DataFrame(columns=MANIFEST_COLUMNS)
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    for col in ("run", "status", "bytes", "version", "offset", "length", "year"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    frame["changed"] = frame["changed"].map({"True": True, "False": False}).astype("boolean")
    return frame


def read_body(root: str | os.PathLike[str], row: dict[str, Any]) -> bytes:
    """The content-decoded body of the response record a manifest row points to."""
    from warcio.archiveiterator import ArchiveIterator

    if not row.get("warc"):
        raise FetchError(f"{row.get('url')}: no WARC record in the manifest row (status {row.get('status')})")
    path = Path(root) / "warc" / str(row["warc"])
    start, end = int(row["offset"]), int(row["offset"]) + int(row["length"])
    body = None
    with open(path, "rb") as fh:
        fh.seek(start)
        records = ArchiveIterator(fh)
        for rec in records:
            data = rec.content_stream().read() if rec.rec_type == "response" else None
            if records.get_record_offset() >= end:   # absolute offsets; asked after reading (it reads to the end)
                break
            if data is not None:                      # the last attempt's answer is the row's
                body = data
    if body is not None:
        return body
    raise FetchError(f"{path}: no response record at offset {row['offset']}; the archive is damaged")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
