"""The crawl: from each seed (an annual-report column) through its list pages to every report page,
attachment and article image, politely, into an ogi archive.

Each seed is crawled by one worker in a fixed order (its own first-in-first-out queue), so that a
crawl, a resumed crawl and a re-run visit the same URLs in the same order; `concurrency` workers
run seeds in parallel. Every request goes through the host's rate limit (one request at a time per
host:port, at most `rate` per second) and robots.txt. A URL with a manifest row in the current run
is never fetched again: its page is read back from the WARC file instead (this is how a killed
crawl rebuilds its queue). On a re-run (the previous run finished) every URL is asked for with its
ETag / Last-Modified; a 304 costs no body, and a changed body at an old URL is a new version.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import FetchError
from .archive import Archive, Response, sha256
from .links import config, normalize_url, read_page, registrable_domain, site_of
from .ratelimit import RateLimiter
from .robots import DEFAULT_USER_AGENT, Robots, robots_url
from .seeds import Seed

__all__ = ["DEFAULT_USER_AGENT", "FetchSummary", "Settings", "crawl"]


if TYPE_CHECKING:
    import pandas as pd


def _empty_frame() -> pd.DataFrame:
    import pandas as pd  # imported on use: `ogi --help` loads no pandas

    return pd.DataFrame()

_REDIRECTS = (301, 302, 303, 307, 308)


def _limit(name: str) -> Any:
    return config()["limits"][name]


@dataclass
class Settings:
    """How to crawl. rate: requests per second per host (None: no pacing); years: only entries of
    these years; dry_run: list pages only, the rest is listed, not fetched."""

    rate: float | None = 1.0
    concurrency: int = 4
    max_bytes: int = field(default_factory=lambda: int(_limit("max_bytes")))
    user_agent: str = DEFAULT_USER_AGENT
    years: frozenset[int] | None = None
    timeout: float = field(default_factory=lambda: float(_limit("timeout_seconds")))
    retries: int = field(default_factory=lambda: int(_limit("retries")))
    backoff: float = field(default_factory=lambda: float(_limit("backoff_seconds")))
    dry_run: bool = False
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "concurrency": self.concurrency, "max_bytes": self.max_bytes,
                "user_agent": self.user_agent, "years": sorted(self.years) if self.years else None,
                "timeout": self.timeout, "retries": self.retries}


@dataclass
class FetchSummary:
    """What a crawl did: per-kind counts, bytes, and a per-host table."""

    run: int
    seeds: int
    reached: int
    pages: int = 0           # list and report pages downloaded
    files: int = 0           # attachments and images downloaded
    bytes: int = 0
    not_modified: int = 0    # 304 answers (no body)
    changed: int = 0         # new versions of a URL already archived
    errors: int = 0          # HTTP errors, refusals, network errors
    disallowed: int = 0      # URLs robots.txt forbids (never requested)
    reused: int = 0          # rows of this run already done before a resume
    seconds: float = 0.0
    hosts: pd.DataFrame = field(default_factory=_empty_frame)
    would_fetch: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"run {self.run}: {self.reached}/{self.seeds} seeds reached, {self.pages} pages, {self.files} files, "
                f"{self.bytes / 1e6:.1f} MB, {self.not_modified} not modified, {self.changed} changed, "
                f"{self.errors} errors, {self.disallowed} disallowed by robots.txt"
                + (f", {self.reused} done before the resume" if self.reused else "") + f" in {self.seconds:.1f} s")


@dataclass(slots=True)
class Item:
    """A URL waiting in a seed's queue, with what is known of it when it was found."""

    url: str
    kind: str              # list, entry, attachment, image
    parent: str = ""
    year: int | None = None
    title: str = ""
    published: str = ""    # a date printed beside the link (list pages)
    depth: int = 0         # entry hops from a list page
    hops: int = 0          # redirects followed to reach this URL


@dataclass
class _SeedState:
    """One seed's crawl: list pages first (so that entries are found with their list dates), then the rest."""

    seed: Seed
    lists: collections.deque[Item] = field(default_factory=collections.deque)
    items: collections.deque[Item] = field(default_factory=collections.deque)
    list_pages: int = 0
    stale: int = 0
    reached: bool = False


def _decode(raw: bytes, headers: list[tuple[str, str]]) -> bytes:
    """The body without its Content-Encoding (gzip, deflate); other codings are kept as sent."""
    enc = next((v.lower().strip() for k, v in headers if k.lower() == "content-encoding"), "")
    try:
        if enc in ("gzip", "x-gzip"):
            return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        if enc == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)
    except zlib.error:
        return raw
    return raw


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _charset(ctype: str) -> str | None:
    for part in ctype.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip("\"'")
    return None


def _is_html(ctype: str, body: bytes) -> bool:
    mime = ctype.split(";")[0].strip().lower()
    if mime:
        return mime in config()["html_types"]
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


class _Crawler:
    def __init__(self, archive: Archive, seeds: Sequence[Seed], settings: Settings) -> None:
        self.archive = archive
        self.seeds = list(seeds)
        self.s = settings
        self.limiter = RateLimiter(settings.rate)
        self.sem = asyncio.Semaphore(max(1, settings.concurrency))
        self.robots: dict[str, Robots] = {}
        self.robots_locks: dict[str, asyncio.Lock] = {}
        self.seen: set[str] = set()
        self.done: dict[str, dict[str, Any]] = {}
        self.prev_body: dict[str, dict[str, Any]] = {}
        self.prev_meta: dict[str, dict[str, Any]] = {}
        self.host_stats: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.summary = FetchSummary(run=archive.run, seeds=len(seeds), reached=0)
        self.progress: Any = None
        self.client: Any = None
        for row in archive.rows():
            url, run, status = row["url"], int(row["run"]), row["status"]
            if run == archive.run:
                self.done[url] = row
            elif status in ("200", "304") and not row.get("error"):
                self.prev_meta[url] = row
                if status == "200" and row.get("warc"):
                    self.prev_body[url] = row

    # -- requests -----------------------------------------------------------------------------
    async def _get(self, url: str, headers: dict[str, str]) -> tuple[list[Response], str]:
        """One GET with retries (5xx, 429, time-outs, network errors), paced by the host's limit:
        every answer received (the last one is the result) and the error of a failed last try."""
        import httpx

        host = site_of(url)
        error = ""
        answers: list[Response] = []
        for attempt in range(self.s.retries + 1):
            resp: Response | None = None
            try:
                async with self.limiter.slot(host), self.sem:
                    async with self.client.stream("GET", url, headers=headers) as r:
                        raw = bytearray()
                        truncated = False
                        length = r.headers.get("content-length")
                        if length and length.isdigit() and int(length) > self.s.max_bytes:
                            truncated = True
                        else:
                            async for chunk in r.aiter_raw():
                                raw += chunk
                                if len(raw) > self.s.max_bytes:
                                    del raw[self.s.max_bytes:]
                                    truncated = True
                                    break
                        resp = Response(url=url, method="GET", request_headers=list(r.request.headers.items()),
                                        status=r.status_code, reason=r.reason_phrase or "",
                                        http_version=r.http_version or "HTTP/1.1",
                                        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in r.headers.raw],
                                        raw=bytes(raw), truncated=truncated)
            except httpx.TimeoutException:
                error = f"timed out after {self.s.timeout:g} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if resp is not None:
                answers.append(resp)
                if resp.status < 500 and resp.status != 429:
                    return answers, ""
                error = f"HTTP {resp.status}"
            if attempt < self.s.retries:
                await asyncio.sleep(self.s.backoff * 2 ** attempt)
        return answers, error

    async def _robots(self, url: str) -> Robots:
        """The rules of the URL's host: fetched (and archived) once per run, or read back."""
        host = site_of(url)
        if host in self.robots:
            return self.robots[host]
        async with self.robots_locks.setdefault(host, asyncio.Lock()):
            if host in self.robots:
                return self.robots[host]
            rurl = robots_url(url)
            for _hop in range(int(_limit("max_redirects")) + 1):   # RFC 9309: follow redirects (to https, www.)
                row = self.done.get(rurl)
                if row is None:
                    row, body, _ = await self._fetch(Item(rurl, "robots"), "")
                else:
                    body = self._body_of(row)
                    self.summary.reused += 1
                if str(row.get("status") or "") not in _REDIRECTS_S or not row.get("redirect") \
                        or row["redirect"] == rurl:
                    break
                rurl = row["redirect"]
            status = int(row["status"]) if str(row.get("status") or "").isdigit() else None
            rules = Robots.from_response(status if status != 304 else 200, body)
            delay = rules.crawl_delay(self.s.user_agent)
            if delay:
                self.limiter.set_delay(host, delay)
            self.robots[host] = rules
            return rules

    def _body_of(self, row: dict[str, Any]) -> bytes:
        """The body a row stands for (a 304 row: the last downloaded version's)."""
        status = str(row.get("status") or "")
        if status == "200" and row.get("warc"):
            return self.archive.body(row)
        if status == "304" and row["url"] in self.prev_body:
            return self.archive.body(self.prev_body[row["url"]])
        return b""

    async def _fetch(self, item: Item, organ: str) -> tuple[dict[str, Any], bytes, Any]:
        """Request one URL (conditionally when archived before) and record it; returns the row, the
        body and, for an HTML list or report page, the parsed page."""
        headers = {}
        meta = self.prev_meta.get(item.url)
        if meta is not None and item.url in self.prev_body:
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        answers, error = await self._get(item.url, headers)
        resp = answers[-1] if answers and (not error or error.startswith("HTTP ")) else None   # None: no answer
        row: dict[str, Any] = {"url": item.url, "organ": organ, "kind": item.kind, "year": item.year,
                               "title": item.title, "published": item.published, "parent_url": item.parent,
                               "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        body = b""
        stats = self.host_stats[site_of(item.url)]
        if resp is None:
            row["error"] = error
            stats["errors"] += 1
            self.summary.errors += 1
            return self.archive.record(row, answers), body, None
        ctype = _header(resp.headers, "content-type")
        row.update(status=resp.status, content_type=ctype, etag=_header(resp.headers, "etag"),
                   last_modified=_header(resp.headers, "last-modified"))
        if resp.status == 304 and item.url in self.prev_body:
            prev = self.prev_body[item.url]
            row.update(sha256=prev["sha256"], version=prev["version"], changed=False, bytes=0,
                       content_type=ctype or prev["content_type"], kind=prev["kind"])
            stats["not_modified"] += 1
            self.summary.not_modified += 1
            if prev["kind"] in ("list", "page", "robots"):   # its links are needed again; a file's body is not
                body = self.archive.body(prev)
        elif resp.status in _REDIRECTS:
            row["redirect"] = normalize_url(_header(resp.headers, "location"), item.url) or ""
        elif resp.status == 200:
            body = _decode(resp.raw, resp.headers)
            row.update(bytes=len(body), sha256=sha256(body))
            prev = self.prev_body.get(item.url)
            if resp.truncated:
                row.update(error=f"larger than the size limit of {self.s.max_bytes} bytes: not downloaded in full",
                           sha256="")
                stats["errors"] += 1
                self.summary.errors += 1
            elif prev is None:
                row.update(version=1, changed=False)
            elif prev["sha256"] == row["sha256"]:
                row.update(version=prev["version"], changed=False)
            else:
                row.update(version=int(prev["version"]) + 1, changed=True)
                self.summary.changed += 1
            stats["bytes"] += len(resp.raw)
            self.summary.bytes += len(resp.raw)
        else:
            row["error"] = error or f"HTTP {resp.status}"
            stats["errors"] += 1
            self.summary.errors += 1
        page = None
        if resp.status == 200 and not resp.truncated:
            html = _is_html(ctype, body)
            if item.kind == "entry":
                row["kind"] = "page" if html else "attachment"
            if html and row["kind"] in ("list", "page"):
                stats["pages"] += 1
                self.summary.pages += 1
            elif row["kind"] in ("attachment", "image"):
                stats["files"] += 1
                self.summary.files += 1
        if resp.status in (200, 304) and body and row["kind"] in ("list", "page") and _is_html(row["content_type"], body):
            page = read_page(item.url, body, _charset(row["content_type"]))
            if row["kind"] == "page" and page.published:   # the page's own printed date wins over the list's
                row["published"] = page.published.isoformat()
        return self.archive.record(row, answers), body, page

    # -- the crawl ----------------------------------------------------------------------------
    def _in_scope(self, url: str, kind: str, seed: Seed) -> bool:
        if len(url) > int(_limit("max_url_length")):
            return False
        if kind in ("list", "entry"):
            return site_of(url) == site_of(seed.url)
        return registrable_domain(urlsplit(url).hostname or "") == registrable_domain(urlsplit(seed.url).hostname or "")

    def _queue(self, st: _SeedState, item: Item, front: bool = False) -> None:
        if item.url in self.seen or not self._in_scope(item.url, item.kind, st.seed):
            return
        if self.s.years and item.kind in ("entry", "attachment") and item.year is not None \
                and item.year not in self.s.years:
            return
        self.seen.add(item.url)
        queue = st.lists if item.kind == "list" else st.items
        if front:
            queue.appendleft(item)
        else:
            queue.append(item)

    async def _visit(self, st: _SeedState, item: Item) -> None:
        """Fetch (or read back) one queued URL and queue what its page links to."""
        seed = st.seed
        if self.s.dry_run and item.kind != "list":
            self.summary.would_fetch.append({"organ": seed.organ, "kind": item.kind, "year": item.year,
                                             "title": item.title, "url": item.url, "parent_url": item.parent})
            return
        row, page = self.done.get(item.url), None
        if row is not None:
            body = self._body_of(row)
            self.summary.reused += 1
        else:
            rules = await self._robots(item.url)
            if not rules.allowed(item.url, self.s.user_agent):
                self.summary.disallowed += 1
                self.host_stats[site_of(item.url)]["disallowed"] += 1
                self.archive.record({"url": item.url, "organ": seed.organ, "kind": item.kind, "year": item.year,
                                     "title": item.title, "published": item.published, "parent_url": item.parent,
                                     "error": rules.reason or "disallowed by robots.txt",
                                     "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}, None)
                self._tick(st)
                return
            row, body, page = await self._fetch(item, seed.organ)
            self._tick(st)
        status = str(row.get("status") or "")
        if status in _REDIRECTS_S and row.get("redirect"):
            if item.hops < int(_limit("max_redirects")):
                self._queue(st, Item(row["redirect"], item.kind, item.parent, item.year, item.title, item.published,
                                     item.depth, item.hops + 1), front=True)
            return
        if status not in ("200", "304") or row.get("error"):
            return
        if item.kind == "list":
            st.reached = True
        ctype = str(row.get("content_type") or "")
        if row["kind"] not in ("list", "page") or not _is_html(ctype, body):
            return
        page = page or read_page(item.url, body, _charset(ctype))
        if row["kind"] == "list":
            self._from_list(st, item, page)
        else:
            self._from_report(st, item, page)

    def _from_list(self, st: _SeedState, item: Item, page: Any) -> None:
        st.list_pages += 1
        new = 0
        for link in page.links:
            if link.kind in ("entry", "attachment") and link.year is not None:
                before = len(self.seen)
                self._queue(st, Item(link.url, "entry" if link.kind == "entry" else "attachment", item.url, link.year,
                                     link.text, link.published.isoformat() if link.published else ""))
                new += len(self.seen) > before
        st.stale = 0 if new else st.stale + 1
        if st.stale >= int(_limit("stale_list_pages")) or st.list_pages >= int(_limit("max_list_pages")):
            return
        folder = urlsplit(item.url).path.rsplit("/", 1)[0]
        for link in page.of("list"):  # pagination stays in the list's folder (a 首页 to the home page does not)
            if urlsplit(link.url).path.rsplit("/", 1)[0] == folder:
                self._queue(st, Item(link.url, "list", item.url))

    def _from_report(self, st: _SeedState, item: Item, page: Any) -> None:
        published = page.published.isoformat() if page.published else item.published
        for link in page.links:
            if link.kind in ("attachment", "image"):
                self._queue(st, Item(link.url, link.kind, item.url, link.year or item.year, link.text or item.title,
                                     published, item.depth))
            elif link.kind == "entry" and item.depth < int(_limit("max_entry_depth")):
                self._queue(st, Item(link.url, "entry", item.url, link.year, link.text,
                                     link.published.isoformat() if link.published else "", item.depth + 1))

    def _tick(self, st: _SeedState | None = None) -> None:
        """One URL done: the bars' figures (the seed's host, the whole crawl)."""
        if self.progress is not None:
            s = self.summary
            host = self.host_stats[site_of(st.seed.url)] if st is not None else {}
            self.progress.tick(id(st) if st is not None else None, host,
                               {"pages": s.pages, "files": s.files, "bytes": s.bytes, "errors": s.errors})

    async def _seed_worker(self, seeds: asyncio.Queue[Seed]) -> None:
        while True:
            try:
                seed = seeds.get_nowait()
            except asyncio.QueueEmpty:
                return
            st = _SeedState(seed)
            self._queue(st, Item(seed.url, "list"))
            if not st.lists:  # the seed URL was queued by another seed already
                st.reached = True
            self.progress.start(id(st), site_of(seed.url))
            try:
                while st.lists or st.items:
                    await self._visit(st, (st.lists or st.items).popleft())
            finally:
                self.progress.finish(id(st))
            self.summary.reached += st.reached

    async def run(self) -> FetchSummary:
        import httpx

        from .progress import Progress

        t0 = time.perf_counter()
        limits = httpx.Limits(max_connections=max(4, self.s.concurrency * 2), max_keepalive_connections=max(4, self.s.concurrency * 2))
        headers = {"User-Agent": self.s.user_agent, "Accept-Encoding": "gzip, deflate"}
        self.progress = Progress(self.s.progress, self.s.concurrency, sys.stderr)
        queue: asyncio.Queue[Seed] = asyncio.Queue()
        for seed in self.seeds:
            queue.put_nowait(seed)
        async with httpx.AsyncClient(timeout=self.s.timeout, headers=headers, follow_redirects=False,
                                     limits=limits, trust_env=False) as client:
            self.client = client
            workers = [asyncio.create_task(self._seed_worker(queue)) for _ in range(max(1, self.s.concurrency))]
            try:
                await asyncio.gather(*workers)
            finally:
                for w in workers:
                    w.cancel()
                self.progress.close()
        self.summary.seconds = time.perf_counter() - t0
        import pandas as pd

        self.summary.hosts = pd.DataFrame([{"host": h, **{k: c.get(k, 0) for k in
                                                          ("pages", "files", "bytes", "not_modified", "errors",
                                                           "disallowed")}}
                                           for h, c in sorted(self.host_stats.items())])
        return self.summary


_REDIRECTS_S = {str(s) for s in _REDIRECTS}


def crawl(seeds: Iterable[Seed], out: str | Any, settings: Settings | None = None) -> FetchSummary:
    """Crawl the seeds into the archive folder `out` (created, resumed or re-run as it stands).

    Returns the summary; HTTP errors and refusals are manifest rows, not exceptions. A crawl
    interrupted (Ctrl-C, a kill) leaves an archive that the next call resumes.
    """
    settings = settings or Settings()
    seeds = list(seeds)
    if not seeds:
        raise FetchError("no seeds to crawl")
    archive = Archive(out, dry=settings.dry_run)
    archive.open(settings.to_dict())
    finished = False
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:   # the usual case: no event loop in this thread
            summary = asyncio.run(_Crawler(archive, seeds, settings).run())
        else:                  # called from a running loop (a notebook): crawl in a thread of its own
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                summary = pool.submit(lambda: asyncio.run(_Crawler(archive, seeds, settings).run())).result()
        finished = True
    finally:
        archive.close(finished=finished)
    return summary
