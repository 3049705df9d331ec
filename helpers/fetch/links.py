"""Reading a fetched page: which links are pagination, annual-report entries, attachments and
article images, and the page's own publication date.

Recognition goes by what a link says (its text, title, rel and the extension of its target), with
the words in helpers/templates/fetch.yaml; there is no URL pattern of any site in the code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

__all__ = ["Link", "Page", "config", "entry_year", "is_report_title", "normalize_url", "parse_date", "read_page",
           "site_of"]


@functools.cache
def config() -> dict[str, Any]:
    """The crawler's words and limits (helpers/templates/fetch.yaml)."""
    from ..template import read_data

    data = read_data("fetch.yaml")
    data["_year"] = re.compile(data["year_pattern"])
    data["_page_number"] = re.compile(data["page_number_pattern"])
    data["_date"] = re.compile(data["date_pattern"])
    data["_pagination"] = {w.lower() for w in data["pagination_words"]}
    data["_extensions"] = {"." + e.lower() for e in data["attachment_extensions"]}
    return data


@dataclass(frozen=True)
class Link:
    """A link of a page: absolute URL, text, and what it is (list, entry, attachment, image)."""

    url: str
    text: str
    kind: str
    year: int | None = None
    published: dt.date | None = None   # a date printed beside an entry on a list page


@dataclass
class Page:
    """A parsed page: its links by kind, its title and its own printed publication date."""

    url: str
    title: str
    encoding: str
    published: dt.date | None
    links: list[Link] = field(default_factory=list)

    def of(self, kind: str) -> list[Link]:
        return [link for link in self.links if link.kind == kind]


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The absolute URL without fragment, with lower-case scheme and host; None for non-HTTP links."""
    url = url.strip().replace("\\", "/")
    if base is not None:
        url = urljoin(base, url)
    url, _frag = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.hostname.lower()
    if parts.port and not (parts.scheme == "http" and parts.port == 80 or parts.scheme == "https" and parts.port == 443):
        netloc += f":{parts.port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def site_of(url: str) -> str:
    """The host:port of a URL: the unit of politeness (rate limit, robots.txt)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def registrable_domain(host: str) -> str:
    """The registrable domain of a host name (b.gov.cn for a.b.gov.cn); an IP address is itself."""
    if re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if ".".join(labels[-2:]) in config()["two_label_suffixes"] else 2
    return ".".join(labels[-keep:])


def is_report_title(text: str) -> bool:
    """Whether a link text names an annual report (a report word and a year, not a notice about it)."""
    cfg = config()
    return (any(w in text for w in cfg["report_words"]) and entry_year(text) is not None
            and not any(w in text for w in cfg["not_report_words"]))


def entry_year(text: str) -> int | None:
    """The year printed in a title (年 after four digits), or None."""
    m = config()["_year"].search(text)
    return int(m.group(1)) if m else None


def parse_date(text: str) -> dt.date | None:
    """The first date printed in `text` (2023-01-15, 2023/1/15, 2023年1月15日), or None."""
    m = config()["_date"].search(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _text(el: Any) -> str:
    return re.sub(r"\s+", " ", el.text_content() or "").strip()


def _is_pagination(a: Any, text: str) -> bool:
    cfg = config()
    rel = (a.get("rel") or "").lower().split()
    return "next" in rel or "prev" in rel or text.lower() in cfg["_pagination"] or bool(cfg["_page_number"].match(text))


def _is_attachment(url: str, text: str) -> bool:
    cfg = config()
    ext = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    text_ext = PurePosixPath(text.rsplit(" ", 1)[-1]).suffix.lower() if "." in text else ""
    html_page = ext in (".htm", ".html") and text_ext not in cfg["_extensions"] and not any(
        w in text for w in cfg["attachment_words"])
    return not html_page and (ext in cfg["_extensions"] or text_ext in cfg["_extensions"]
                              or any(w in text for w in cfg["attachment_words"]))


def _in_chrome(el: Any) -> bool:
    """Whether an element sits in the site's chrome (header, navigation, footer), by its tag or the
    words of its class and id (fetch.yaml chrome_markers); links there are not the article's."""
    markers = config()["chrome_markers"]
    for node in (el, *el.iterancestors()):
        if node.tag in ("header", "nav", "footer"):
            return True
        names = f"{node.get('class') or ''} {node.get('id') or ''}".lower()
        if names.strip() and any(m in names for m in markers):
            return True
    return False


def _own_date(root: Any) -> dt.date | None:
    """The page's printed publication date: a date <meta>, else a labelled date before the article text."""
    cfg = config()
    for meta in root.iter("meta"):
        if (meta.get("name") or meta.get("property") or "") in cfg["date_meta_names"]:
            d = parse_date(meta.get("content") or "")
            if d:
                return d
    text = _text(root.find(".//body") if root.find(".//body") is not None else root)
    for label in cfg["date_labels"]:
        i = text.find(label)
        while i >= 0:
            m = cfg["_date"].search(text, i + len(label), i + len(label) + cfg["date_label_window"] + 12)
            if m and m.start() - (i + len(label)) <= cfg["date_label_window"]:
                d = parse_date(m.group(0))
                if d:
                    return d
            i = text.find(label, i + 1)
    return None


def _entry_date(a: Any) -> dt.date | None:
    """A date printed beside an entry link: in the smallest enclosing element that holds no other link."""
    el = a.getparent()
    for _ in range(3):
        if el is None or len(el.findall(".//a")) > 1:
            return None
        d = parse_date(_text(el))
        if d:
            return d
        el = el.getparent()
    return None


def read_page(url: str, data: bytes, declared: str | None = None) -> Page:
    """Parse an HTML page (decoded as the readers do) into its recognised links and date."""
    import lxml.html

    from ..read import decode_text

    try:
        text, encoding = decode_text(url, data, declared)
    except Exception:  # noqa: BLE001 - an undecodable page has no links to follow; it is still archived
        text, encoding = data.decode("utf-8", errors="replace"), "unknown"
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        root = lxml.html.document_fromstring(text or "<html></html>")
    except Exception:  # noqa: BLE001 - lxml refuses some degenerate inputs
        return Page(url=url, title="", encoding=encoding, published=None)
    base_el = root.find(".//base")
    base = normalize_url(base_el.get("href"), url) if base_el is not None and base_el.get("href") else url
    title_el = root.find(".//title")
    page = Page(url=url, title=_text(title_el) if title_el is not None else "", encoding=encoding,
                published=_own_date(root))
    seen: set[tuple[str, str]] = set()
    for a in root.iter("a"):
        href = a.get("href")
        if not href or href.strip().lower().startswith(("javascript:", "mailto:", "tel:")):
            continue
        target = normalize_url(href, base)
        if target is None or target == url:
            continue
        text_ = _text(a) or (a.get("title") or "").strip()
        title = a.get("title") or text_
        if is_report_title(title) or is_report_title(text_):
            name = title if is_report_title(title) else text_
            kind = "attachment" if _is_attachment(target, name) else "entry"
            link = Link(target, name, kind, entry_year(name), _entry_date(a))
        elif _is_pagination(a, text_):
            link = Link(target, text_, "list")
        elif _is_attachment(target, text_):
            link = Link(target, text_, "other" if _in_chrome(a) else "attachment")
        else:
            continue
        if (link.url, link.kind) not in seen:
            seen.add((link.url, link.kind))
            page.links.append(link)
    for img in root.iter("img"):
        if _in_chrome(img):
            continue
        src = img.get("src") or img.get("data-src")
        target = normalize_url(src, base) if src else None
        if target and (target, "image") not in seen:
            seen.add((target, "image"))
            page.links.append(Link(target, img.get("alt") or "", "image"))
    return page
