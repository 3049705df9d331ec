"""A generated family of government sites for testing the crawler, and a local server for it.

`SiteFamily(organs, years)` invents one site per organ, each with an annual-report column (年报栏目)
in one of three CMS styles, each with its own list and pagination markup ("trs": 首页/上一页/下一页/尾页
pages index_N.html; "jcms": numbered ?page=N with 上页/下页; "dede": [N] links and rel=next arrows
on list_N.shtml), UTF-8 or GBK. Each organ-year report is a page (the HTML report in the article),
a page with an attachment (PDF, DOCX or text, rendered by `helpers.synth.render`), both (the
attachment printing the agency as the page does, or differently: `printed`), an attachment linked
straight from the list, or a page of scanned images plus an attachment. Around
them: news items, redirects, 404 and 500 responses (one that recovers), slow pages, a robots.txt
that disallows a folder and a wildcard, a huge file, a pagination trap and link loops. Attachments
live partly on a shared file host (another port of the same address).

`serve(family)` runs it on 127.0.0.1 (one port per site, so that each site is its own host) and
logs every request; `expected` lists every URL a complete crawl must fetch, with its sha256.
Pages answer conditional GETs (ETag, or Last-Modified only on dede sites); `edit(n)` changes n
reports in place, as a silent edit after publication.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import functools
import hashlib
import html
import io
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

from ..template import read_data
from . import SynthReport, perturb, random_report, render

__all__ = ["CMS", "LAYOUTS", "Resource", "Served", "SiteFamily", "serve"]

CMS = ("trs", "jcms", "dede")
LAYOUTS = ("page", "attach", "both", "direct", "images")
ATTACH_FORMS = ("pdf", "text", "docx", "text", "text", "text")   # the costly forms less often
PAGE_SIZE = 3
FILES = "files"                      # the site key of the shared file host
_HOST = "{{HOST:%s}}"                # placeholder for a site's origin, filled when ports are known
_MIME = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "text": "text/plain; charset=utf-8", "png": "image/png", "zip": "application/zip"}
_EXT = {"pdf": ".pdf", "docx": ".docx", "text": ".txt"}
_EPOCH = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


@functools.cache
def _words() -> dict[str, Any]:
    return read_data("synth_site.yaml")


@dataclass
class Resource:
    """What the server answers at one path of one site."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None       # for redirects (may hold a host placeholder)
    delay: float = 0.0                # seconds before answering
    fail_first: int = 0               # answer 500 this many times, then normally
    etag: bool = True                 # False: Last-Modified only
    modified: dt.datetime = _EPOCH
    size: int | None = None           # a generated body of this many bytes (the huge file)
    disposition: str | None = None    # Content-Disposition filename
    hits: int = 0


@dataclass
class _Doc:
    """One document of a report that a complete crawl must fetch."""

    site: str
    path: str
    organ: int
    year: int
    kind: str            # page, attachment, image


@dataclass
class SiteFamily:
    """The invented sites: `sites[key][path] -> Resource`, the seeds and the expected documents."""

    organs: int = 52
    years: tuple[int, ...] = (2020, 2021, 2022, 2023)
    seed: int = 0
    slow: float = 0.15                   # seconds of delay of the slow sites' report pages (0: none)
    sites: dict[str, dict[str, Resource]] = field(default_factory=dict)
    seeds: list[tuple[str, str, str]] = field(default_factory=list)     # (organ name, site, path)
    docs: list[_Doc] = field(default_factory=list)
    reports: dict[tuple[int, int], SynthReport] = field(default_factory=dict)
    layout: dict[tuple[int, int], str] = field(default_factory=dict)
    special: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # name -> [(site, path)]
    list_pages: dict[str, int] = field(default_factory=dict)                  # site -> real list pages
    dates: dict[tuple[int, int], tuple[dt.date | None, dt.date]] = field(default_factory=dict)  # page's, list's
    printed: dict[tuple[int, int], str] = field(default_factory=dict)   # "both": the agency the attachment prints

    def __post_init__(self) -> None:
        self.years = tuple(sorted(self.years))
        self.sites[FILES] = {"/robots.txt": Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain")}
        for i in range(self.organs):
            self._build_site(i)

    # ------------------------------------------------------------------------------------------
    def _key(self, i: int) -> str:
        return f"o{i:03d}"

    def _add(self, site: str, path: str, res: Resource) -> None:
        self.sites.setdefault(site, {})[path] = res

    def _special(self, name: str, site: str, path: str) -> None:
        self.special.setdefault(name, []).append((site, path))

    def _build_site(self, i: int) -> None:
        w = _words()
        rng = random.Random(self.seed * 100003 + i)
        cms = CMS[i % len(CMS)]
        site = self._key(i)
        encoding = "gbk" if i % 4 == 1 else "utf-8"
        prev: SynthReport | None = None
        entries: list[dict[str, Any]] = []
        report_pages: list[tuple[int, str]] = []
        for j, year in enumerate(self.years):
            k = i * len(self.years) + j
            rep = random_report(rng.getrandbits(32), template="2019" if year <= 2020 else "2021", year=year,
                                previous=prev)
            prev = rep
            self.reports[(i, year)] = rep
            layout = LAYOUTS[k % len(LAYOUTS)]
            self.layout[(i, year)] = layout
            title = w["titles"][cms].format(agency=rep.agency, year=year)
            posted = rep.report_date + dt.timedelta(days=rng.randint(0, 6))
            entry = self._report_docs(i, site, cms, encoding, rep, layout, title, posted, k, rng)
            listed = posted + dt.timedelta(days=1)      # the list shows the day it was put in the column
            # the date printed on the page: the CMS's 发布时间 (dede prints none; there a report in
            # the article prints its own 发布日期), and the list's
            own = posted if cms != "dede" else rep.report_date if layout in ("page", "both") else None
            self.dates[(i, year)] = (own, listed)
            entries.append({"title": title, "href": entry, "date": listed})
            if layout != "direct":
                report_pages.append((year, entry))
        agency = self.reports[(i, self.years[0])].agency
        # Non-report items of the column, decoys and broken entries.
        for n, pattern in enumerate(rng.sample(w["news"], 3 + i % 3)):
            year = self.years[n % len(self.years)]
            path = self._page_path(cms, f"n{n}")
            self._add(site, path, Resource(self._page(cms, encoding, agency, pattern.format(year=year),
                                                      f"<p>{html.escape(pattern.format(year=year))}</p>", None)))
            entries.append({"title": pattern.format(year=year), "href": path, "date": dt.date(year, 6, 1 + n)})
        year = self.years[-1]
        if i % 7 == 3:   # an entry under the robots.txt-disallowed folder
            entries.append({"title": w["decoy_private"].format(year=year), "href": "/private/draft.html",
                            "date": dt.date(year + 1, 1, 3)})
            self._add(site, "/private/draft.html", Resource(b"<html><body>draft</body></html>"))
            self._special("disallowed", site, "/private/draft.html")
        if cms == "dede":  # disallowed by the wildcard rule
            target = report_pages[0][1] + "?print=1" if report_pages else "/x.html?print=1"
            entries.append({"title": w["decoy_print"].format(year=year), "href": target, "date": dt.date(year + 1, 1, 4)})
            self._special("disallowed", site, target)
        if i % 11 == 5:  # a deleted report: 404
            entries.append({"title": w["broken_title"].format(year=self.years[min(1, len(self.years) - 1)]), "href": "/gone/report.html",
                            "date": dt.date(self.years[min(1, len(self.years) - 1)] + 1, 1, 2)})
            self._special("404", site, "/gone/report.html")
        if i % 13 == 7:  # a server error that does not recover
            self._add(site, "/broken/report.html", Resource(status=500))
            entries.append({"title": w["broken_title"].format(year=self.years[0]), "href": "/broken/report.html",
                            "date": dt.date(self.years[0] + 1, 1, 2)})
            self._special("500", site, "/broken/report.html")
        if i % 10 == 9:  # a redirect loop
            self._add(site, "/loop/a.html", Resource(status=302, location="/loop/b.html"))
            self._add(site, "/loop/b.html", Resource(status=302, location="/loop/a.html"))
            entries.append({"title": w["broken_title"].format(year=self.years[min(2, len(self.years) - 1)]), "href": "/loop/a.html",
                            "date": dt.date(self.years[min(2, len(self.years) - 1)] + 1, 1, 2)})
            self._special("redirect_loop", site, "/loop/a.html")
        rng.shuffle(entries)
        entries.sort(key=lambda e: e["date"], reverse=True)
        self._list_pages(i, site, cms, encoding, agency, entries)
        robots = "User-agent: *\nDisallow: /private/\n" + ("Disallow: /*?print=\n" if cms == "dede" else "")
        self._add(site, "/robots.txt", Resource(robots.encode(), "text/plain"))
        # Link loops between report pages: 上一篇/下一篇 in a cycle (re-rendered with the links).
        for n, (year, path) in enumerate(report_pages):
            before, after = report_pages[n - 1], report_pages[(n + 1) % len(report_pages)]
            res = self.sites[site][path]
            if res.status != 200 or not res.body:
                continue
            links = (f'<div class="pn"><a href="{before[1]}">{html.escape(w["prev_label"])}'
                     f'{html.escape(self._title(i, before[0], cms))}</a> <a href="{after[1]}">'
                     f'{html.escape(w["next_label"])}{html.escape(self._title(i, after[0], cms))}</a></div>')
            res.body = res.body.replace(b"<!--pn-->", links.encode(encoding, "xmlcharrefreplace"))

    def _title(self, i: int, year: int, cms: str) -> str:
        return _words()["titles"][cms].format(agency=self.reports[(i, year)].agency, year=year)

    def _page_path(self, cms: str, name: str) -> str:
        return {"trs": f"/col/ndbg/{name}/t{name}.html", "jcms": f"/art/{name}/art_{name}.html",
                "dede": f"/html/ndbg/{name}.html"}[cms]

    def _report_docs(self, i: int, site: str, cms: str, encoding: str, rep: SynthReport, layout: str, title: str,
                     posted: dt.date, k: int, rng: random.Random) -> str:
        """Serve one report's documents; return the URL path its list entry links to."""
        w = _words()
        year = rep.year
        form = ATTACH_FORMS[(k // len(LAYOUTS)) % len(ATTACH_FORMS)]
        page_path = self._page_path(cms, f"r{year}")
        attach: tuple[str, str, str] | None = None        # (site, path, link text)
        if layout in ("attach", "both", "direct", "images"):
            printed = rep
            if layout == "both":   # the attachment may print the agency differently (attachment_agency)
                variants = w["attachment_agency"]
                agency = variants[(k // len(LAYOUTS)) % len(variants)].format(
                    agency=rep.agency, head=rep.agency[:2], tail=rep.agency[2:])
                printed = dataclasses.replace(rep, agency=agency)
                self.printed[(i, year)] = agency
            data = render(printed, form, rng=rng.getrandbits(32)).data
            name = f"{title}{_EXT[form]}"
            style = (k // 2) % 3 if layout != "direct" else 0
            if style == 0:
                apath, asite = f"/uploads/{year}/{i:03d}{k:04d}{_EXT[form]}", site
            elif style == 1:
                apath, asite = f"/files/o{i:03d}/{year}/{k:04d}{_EXT[form]}", FILES
            else:
                apath, asite = f"/download.jsp?fileid={i:03d}{k:04d}", site
            self._add(asite, apath, Resource(data, _MIME[form], etag=cms != "dede",
                                             disposition=name if style == 2 else None))
            self.docs.append(_Doc(asite, apath, i, year, "attachment"))
            attach = (asite, apath, f"{w['attachment_label']}{name}")
        if layout == "direct":
            assert attach is not None
            return attach[1] if attach[0] == site else _HOST % FILES + attach[1]
        article = ""
        if layout in ("page", "both"):
            frag = render(rep, "html", rng=rng.getrandbits(32), full_page=False, encoding="utf-8").data.decode("utf-8")
            article = re.sub(r"<meta[^>]*>", "", frag)
        elif layout == "attach":
            article = f"<p>{html.escape(w['intro'].format(agency=rep.agency, year=year))}</p>"
        else:  # images: a scanned report, shown as images, with the attachment below
            article = f"<p>{html.escape(w['images_intro'].format(agency=rep.agency, year=year))}</p>"
            for n in range(2):
                ipath = f"/uploads/{year}/img{i:03d}{k:04d}_{n}.png"
                self._add(site, ipath, Resource(_png(rng), _MIME["png"], etag=cms != "dede"))
                self.docs.append(_Doc(site, ipath, i, year, "image"))
                article += f'<p><img src="{ipath}" alt=""></p>'
        if attach is not None:
            href = attach[1] if attach[0] == site else _HOST % FILES + attach[1]
            article += f'<p class="attach"><a href="{href}">{html.escape(attach[2])}</a></p>'
        if i % 16 == 8 and year == self.years[-1]:   # a huge attachment beside the report
            self._add(site, "/uploads/huge.zip", Resource(content_type=_MIME["zip"], size=3 * 1024 * 1024))
            article += f'<p><a href="/uploads/huge.zip">{html.escape(w["huge_name"])}</a></p>'
            self._special("huge", site, "/uploads/huge.zip")
        body = self._page(cms, encoding, rep.agency, title, article, posted)
        res = Resource(body, f"text/html; charset={encoding}", etag=cms != "dede",
                       delay=self.slow if i % 9 == 4 else 0.0)
        if i % 13 == 2 and year == self.years[0]:
            res.fail_first = 2                        # a transient server error: retried, then fetched
            self._special("transient_500", site, page_path)
        self._add(site, page_path, res)
        self.docs.append(_Doc(site, page_path, i, year, "page"))
        if i % 10 == 6:                               # the list links an old address that redirects
            old = f"/old{page_path}"
            self._add(site, old, Resource(status=301, location=page_path))
            self._special("redirect", site, old)
            return old
        return page_path

    def _page(self, cms: str, encoding: str, agency: str, title: str, article: str, posted: dt.date | None) -> bytes:
        """A report (or news) page in the CMS's chrome."""
        w = _words()
        nav = "".join(f'<a href="/">{html.escape(x)}</a> ' for x in w["nav"])
        footer = html.escape(w["footer"].format(agency=agency))
        info = (f'{html.escape(w["published_label"])}{posted.isoformat()}　{html.escape(w["source_label"])}'
                f'{html.escape(agency)}') if posted and cms != "dede" else html.escape(w["source_label"] + agency)
        meta = f'<meta name="PubDate" content="{posted.isoformat()} 09:30">' if posted and cms == "trs" else ""
        head = (f'<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={encoding}">'
                f"{meta}<title>{html.escape(title)}</title></head><body>")
        if cms == "trs":
            page = (f'{head}<div class="header"><img src="/images/logo.png" alt="">{nav}</div>'
                    f'<div class="content"><h1>{html.escape(title)}</h1><div class="info">{info}</div>'
                    f'<div class="TRS_Editor">{article}</div><!--pn--></div><div class="footer">{footer}</div>')
        elif cms == "jcms":
            page = (f'{head}<table width="100%"><tr><td class="nav">{nav}</td></tr><tr><td class="main">'
                    f'<table><tr><td class="title">{html.escape(title)}</td></tr><tr><td class="info">{info}</td></tr>'
                    f'<tr><td id="zoom">{article}</td></tr></table><!--pn--></td></tr>'
                    f'<tr><td class="foot">{footer}</td></tr></table>')
        else:
            page = (f'{head}<header>{nav}</header><article><h2>{html.escape(title)}</h2><p class="src">{info}</p>'
                    f'<div class="body">{article}</div><!--pn--></article><footer>{footer}</footer>')
        return (page + "</body></html>").encode(encoding, "xmlcharrefreplace")

    def _list_url(self, cms: str, n: int) -> str:
        if cms == "trs":
            return "/col/ndbg/index.html" if n == 0 else f"/col/ndbg/index_{n}.html"
        if cms == "jcms":
            return f"/col/list.jsp?page={n + 1}"
        return f"/html/ndbg/list_7_{n + 1}.shtml"

    def _list_pages(self, i: int, site: str, cms: str, encoding: str, agency: str, entries: list[dict[str, Any]]) -> None:
        """The column's list pages, with the CMS's pagination (and traps or loops for some sites)."""
        w = _words()
        pages = [entries[n:n + PAGE_SIZE] for n in range(0, len(entries), PAGE_SIZE)]
        trap = {12: "repeat", 20: "empty"}.get(i % 25)
        n_pages = len(pages)
        self.list_pages[site] = n_pages
        total = n_pages + (60 if trap else 0)          # a trap goes on (far beyond any sane bound)
        for n in range(total):
            items = pages[min(n, n_pages - 1)] if n < n_pages or trap == "repeat" else []
            body = self._list_body(cms, items)
            pag = self._pagination(cms, n, n_pages if not trap else n + 2, loop=(cms == "jcms" and i % 2 == 0))
            title = f"{w['column_name']} - {agency}{w['site_suffix']}"
            page = (f'<!DOCTYPE html><html><head><meta charset="{encoding}"><title>{html.escape(title)}</title></head>'
                    f'<body><div class="nav">{"".join(f"<a href=/>{html.escape(x)}</a>" for x in w["nav"])}</div>'
                    f'<h3>{html.escape(w["column_name"])}</h3>{body}{pag}'
                    f'<div class="footer">{html.escape(w["footer"].format(agency=agency))}</div></body></html>')
            self._add(site, self._list_url(cms, n), Resource(page.encode(encoding, "xmlcharrefreplace"),
                                                             f"text/html; charset={encoding}", etag=cms != "dede"))
        if trap:
            self._special("trap", site, self._list_url(cms, 0))
        seed = self._list_url(cms, 0)
        if i % 17 == 1:                                 # the column moved: the seed redirects
            self._add(site, "/ndbg/", Resource(status=302, location=seed))
            seed = "/ndbg/"
        self.seeds.append((agency, site, seed))

    def _list_body(self, cms: str, items: list[dict[str, Any]]) -> str:
        def e(x: Any) -> str:
            return html.escape(str(x))

        if cms == "trs":   # truncated text, the full title in the title attribute
            lis = "".join(f'<li><a href="{e(it["href"])}" title="{e(it["title"])}">{e(_short(it["title"]))}</a>'
                          f'<span class="date">{it["date"].isoformat()}</span></li>' for it in items)
            return f'<ul class="list">{lis}</ul>'
        if cms == "jcms":
            trs = "".join(f'<tr><td><a href="{e(it["href"])}">{e(it["title"])}</a></td>'
                          f'<td>[{it["date"].isoformat()}]</td></tr>' for it in items)
            return f'<table class="list">{trs}</table>'
        dls = "".join(f'<dl><dt><a href="{e(it["href"])}">{e(it["title"])}</a></dt>'
                      f'<dd>{e(_words()["published_label"])}'
                      f'{e(_words()["list_date"].format(y=it["date"].year, m=it["date"].month, d=it["date"].day))}</dd></dl>'
                      for it in items)
        return f'<div class="news">{dls}</div>'

    def _pagination(self, cms: str, n: int, n_pages: int, loop: bool = False) -> str:
        """The CMS's pagination markup for page n of n_pages."""
        p = _words()["pagination"][cms]
        last = n_pages - 1
        if cms == "trs":
            parts = [f'<a href="{self._rel(cms, 0)}">{p["first"]}</a>']
            if n > 0:
                parts.append(f'<a href="{self._rel(cms, n - 1)}">{p["prev"]}</a>')
            if n < last:
                parts.append(f'<a href="{self._rel(cms, n + 1)}">{p["next"]}</a>')
            parts.append(f'<a href="{self._rel(cms, last)}">{p["last"]}</a>')
            return f'<div class="page-box">{" ".join(parts)} <span>{_words()["page_total"].format(n=n_pages)}</span></div>'
        if cms == "jcms":
            lis = "".join(f'<li class="{"active" if m == n else ""}"><a href="?page={m + 1}">{m + 1}</a></li>'
                          for m in range(max(0, n - 4), min(n_pages, n + 5)))
            if n > 0:
                lis = f'<li><a href="?page={n}">{p["prev"]}</a></li>' + lis
            if n < last or loop:                        # the last page's 下页 goes back to page 1: a loop
                lis += f'<li><a href="?page={(n + 1) % n_pages + 1 if n == last else n + 2}">{p["next"]}</a></li>'
            return f'<ul class="pagination">{lis}</ul>'
        arrows = ""
        if n > 0:
            arrows += f'<a class="prev" rel="prev" href="{self._rel(cms, n - 1)}">{p["prev"]}</a>'
        nums = "".join(f'<a href="{self._rel(cms, m)}">[{m + 1}]</a>' for m in range(max(0, n - 3), min(n_pages, n + 4))
                       if m != n)
        if n < last:
            arrows += f'<a class="next" rel="next" href="{self._rel(cms, n + 1)}">{p["next"]}</a>'
        return f'<div class="pages">{nums}{arrows}</div>'

    def _rel(self, cms: str, n: int) -> str:
        return self._list_url(cms, n).rsplit("/", 1)[-1]

    # ------------------------------------------------------------------------------------------
    def edit(self, n: int = 3, seed: int = 1) -> list[tuple[str, str]]:
        """Change n reports in place (one number each; the page or file is re-rendered, the list
        pages stay as they were): a silent edit. Returns the (site, path) of the changed documents."""
        rng = random.Random(seed)
        single = [d for d in self.docs if d.kind == "attachment"
                  and self.layout[(d.organ, d.year)] in ("attach", "direct")]
        out = []
        for d in rng.sample(single, n):
            res = self.sites[d.site][d.path]
            rep = self.reports[(d.organ, d.year)]
            key = next(k for k, v in rep.cells.items() if k.startswith("table_3/") and isinstance(v, (int, float)))
            rep = perturb(rep, key, 1)
            self.reports[(d.organ, d.year)] = rep
            form = next(f for f, m in _MIME.items() if m == res.content_type)
            res.body = render(rep, form, rng=rng.getrandbits(32)).data
            res.modified = res.modified + dt.timedelta(days=30)
            out.append((d.site, d.path))
        return out


def _short(title: str, n: int = 22) -> str:
    return title if len(title) <= n else title[:n] + "…"


def _png(rng: random.Random) -> bytes:
    """A small grey 'scan' image."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (160, 220), 255)
    draw = ImageDraw.Draw(img)
    for y in range(20, 200, 12):
        draw.line((15, y, 15 + rng.randint(60, 130), y), fill=rng.randint(0, 90), width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The local server


@dataclass
class Served:
    """A running family: origins per site, the seeds as URLs, the request log, the expected URLs."""

    family: SiteFamily
    origins: dict[str, str]
    servers: list[ThreadingHTTPServer]
    log: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, site: str, path: str) -> str:
        return self.origins[site] + path if path.startswith("/") else path.replace(_HOST % FILES, self.origins[FILES])

    @property
    def seeds(self) -> list[tuple[str, str]]:
        """(organ, start URL) of every site."""
        return [(organ, self.url(site, path)) for organ, site, path in self.family.seeds]

    def seeds_csv(self, path: Any) -> None:
        """Write the seeds as a CSV file (organ,url)."""
        pd.DataFrame(self.seeds, columns=["organ", "url"]).to_csv(path, index=False)

    @property
    def expected(self) -> pd.DataFrame:
        """Every document a complete crawl fetches: url, organ (index), year, kind, sha256."""
        rows = []
        for d in self.family.docs:
            res = self.family.sites[d.site][d.path]
            rows.append({"url": self.url(d.site, d.path), "organ": d.organ, "year": d.year, "kind": d.kind,
                         "sha256": hashlib.sha256(self._body(d.site, res)).hexdigest()})
        return pd.DataFrame(rows)

    def special(self, name: str) -> list[str]:
        """The URLs of one kind of special case (disallowed, 404, 500, trap, huge, redirect, ...)."""
        return [self.url(site, path) for site, path in self.family.special.get(name, [])]

    def requests(self) -> pd.DataFrame:
        """The server log: t (monotonic seconds), site, host, path, status, conditional."""
        with self.lock:
            return pd.DataFrame(list(self.log), columns=["t", "site", "host", "path", "status", "conditional"])

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    def _body(self, site: str, res: Resource) -> bytes:
        if res.size is not None:
            return b"\0" * res.size
        body = res.body
        if b"{{HOST:" in body:
            body = body.replace((_HOST % FILES).encode(), self.origins[FILES].encode())
        return body

    def close(self) -> None:
        """Stop every server (all at once: each takes up to a poll interval)."""
        stoppers = [threading.Thread(target=s.shutdown) for s in self.servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for s in self.servers:
            s.server_close()


def _handler(served: Served, site: str) -> type[BaseHTTPRequestHandler]:
    family = served.family

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            res = family.sites[site].get(self.path)
            conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
            self._rec = {"t": time.monotonic(), "site": site, "host": self.headers.get("Host", ""),
                         "path": self.path, "status": None, "conditional": conditional}   # logged on arrival
            with served.lock:
                served.log.append(self._rec)
            if res is None:
                return self._send(404, b"<html><body>404 Not Found</body></html>", "text/html", {}, conditional)
            if res.delay:
                time.sleep(res.delay)
            with served.lock:
                res.hits += 1
                failing = res.hits <= res.fail_first
            if failing or res.status == 500:
                return self._send(500, b"<html><body>500</body></html>", "text/html", {}, conditional)
            if res.status in (301, 302):
                loc = served.url(site, res.location or "/")
                return self._send(res.status, b"", "text/html", {"Location": loc}, conditional)
            body = served._body(site, res)
            headers = {"Last-Modified": email.utils.format_datetime(res.modified, usegmt=True)}
            if res.etag:
                headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            if res.disposition:
                from urllib.parse import quote

                headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(res.disposition)}"
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if res.etag and inm and inm == headers["ETag"]:
                return self._send(304, b"", res.content_type, headers, conditional)
            if not res.etag and ims:
                with contextlib.suppress(TypeError, ValueError):
                    if email.utils.parsedate_to_datetime(ims) >= res.modified:
                        return self._send(304, b"", res.content_type, headers, conditional)
            self._send(200, body, res.content_type, headers, conditional)

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str], conditional: bool) -> None:
            self._rec["status"] = status
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (the crawler refusing a huge body) is not an error here."""


@contextlib.contextmanager
def serve(family: SiteFamily) -> Iterator[Served]:
    """Serve every site of the family on its own port of 127.0.0.1 (threads of this process)."""
    served = Served(family, {}, [])
    for site in family.sites:
        server = _Server(("127.0.0.1", 0), _handler(served, site))
        served.servers.append(server)
        served.origins[site] = f"http://127.0.0.1:{server.server_address[1]}"
    for server in served.servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    try:
        yield served
    finally:
        served.close()
