"""Metadata: agency, year, dates and title from the title block and the signature; the sections' text."""

from __future__ import annotations

import datetime as dt
import re
from itertools import groupby
from operator import itemgetter
from typing import Any

from ..document import Document
from ..template import normalize, organ_kind
from .locate import Pos, _View, _vocab


def _date(text: str) -> dt.date | None:
    v = _vocab()
    for pattern in (v["date"], v["iso_date"]):
        m = pattern.search(normalize(text))
        if m:
            try:
                return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            except ValueError:
                continue
    return None


_DRESSING = re.compile(r"^[#*_`\"'\[\]]+|[#*_`\"'\[\]]+$")


def _title_parts(title: str) -> tuple[str | None, int | None]:
    """(agency, year) from a title like 2019年X政府信息公开工作年度报告 or X2022年度…报告."""
    v = _vocab()
    t = _DRESSING.sub("", re.sub(r"\s+", "", normalize(title)))  # Markdown # and **, quotes
    idx = t.find(v["title_suffix"])
    if idx < 0:
        return None, None
    head = t[:idx]
    if v["cited"].search(head):
        return None, None  # the suffix inside a cited document's name (《关于印发…年度报告》)
    head = _DRESSING.sub("", head)
    m = None
    for m in v["year_title"].finditer(head):
        pass
    year = int(m.group("year")) if m else None
    agency = (head[:m.start()] + head[m.end():]) if m else head
    agency = _DRESSING.sub("", v["title_strip"].sub("", agency).strip(" :：-_"))
    return (agency or None), year


def _metadata(doc: Document, view: _View, sections: dict[str, tuple[Pos, Pos]]) -> dict[str, Any]:
    v = _vocab()
    title = doc.header.get("title") or None
    top = [view.raw[i] for i in range(min(len(view.raw), 12))]
    # a title wrapped over two lines ("2024年X政府信息公开工作" / "年度报告") is read joined
    joined = [a.strip() + b.strip() for a, b in zip(top, top[1:])
              if v["title_suffix"] not in normalize(a).replace(" ", "")]
    candidates = [title, doc.title] + top + joined
    agency = year = None
    first_title = None
    for i, cand in enumerate(candidates):
        if not cand or v["title_suffix"] not in normalize(cand).replace(" ", ""):
            continue
        first_title = first_title or cand.strip()
        a, y = _title_parts(cand)
        if a is None and i >= 2 and i - 3 >= 0:
            prev = view.raw[i - 3].strip()  # a title block: the agency on the line above
            if prev and v["agency_suffix"].search(normalize(prev)) and len(prev) <= 30:
                a = prev
        agency = agency or a
        year = year or y
        if agency and year:
            break
    body = doc.text() if year is None else ""  # the whole text only where a fallback reads it
    if year is None:
        m = v["period"].search(normalize(body[:5000]))
        year = int(m.group("year")) if m else None
    if year is None and "overview" in sections:
        ci = sections["overview"][1][0]
        m = v["first_year"].search(normalize(" ".join(view.raw[ci:ci + 3])))
        year = int(m.group("year")) if m else None
    # Signature: an organ name and a date among the last lines.
    report_date = None
    tail = [r.strip() for r in view.raw[-6:] if r.strip()]
    for k in range(len(tail) - 1, -1, -1):
        d = _date(tail[k]) if len(tail[k]) <= 40 else None
        if d:
            report_date = d
            if agency is None and k > 0 and len(tail[k - 1]) <= 30 and v["agency_suffix"].search(normalize(tail[k - 1])):
                agency = tail[k - 1]
            break
    if report_date is None:
        body = body or doc.text()
        dates = list(v["date"].finditer(normalize(body[-200:])))
        if dates and not normalize(body[-200:])[dates[-1].end():].strip():  # a date that ends the text
            report_date = _date(dates[-1].group(0))
    published = _date(doc.header.get("published", "")) if doc.header.get("published") else None
    written = None
    for r, n in zip(view.raw[:40], view.norm[:40]):  # view.norm is each raw cell normalised
        if len(r) > 60 or v["stamp_label"].search(n) or _date(r) is None:
            continue  # a crawler's or archiver's stamp is never the report's date
        if published is None and v["published_label"].search(n):
            published = _date(r)
        elif written is None and v["written_label"].search(n):
            written = _date(r)
    if published is None:
        for r, n in zip(view.raw[:6], view.norm[:6]):
            if len(r) <= 40 and _date(r) and v["title_suffix"] not in n and not v["stamp_label"].search(n) \
                    and not v["written_label"].search(n):
                published = _date(r)
                break
    report_date = report_date or written
    if agency is None and doc.header.get("agency"):
        agency = doc.header["agency"]
    return {"agency": agency, "year": year, "report_date": report_date or published, "published": published,
            "organ_kind": organ_kind(agency), "title": first_title}


def _section_texts(view: _View, sections: dict[str, tuple[Pos, Pos]]) -> dict[str, str]:
    """Each section's body text: its cells from the heading's end to the next heading, the cells of
    one block joined by tabs, blocks by line breaks (slices of the view, grouped in one pass)."""
    order = sorted(sections.items(), key=lambda kv: kv[1][0])
    out = {}
    for i, (sid, (_, body_start)) in enumerate(order):
        end = order[i + 1][1][0] if i + 1 < len(order) else view.end
        first, last = body_start[0], min(end[0], len(view.raw) - 1)
        texts = view.raw[first:last + 1]
        if texts:
            texts[0] = texts[0][body_start[1]:end[1] if first == end[0] else None]
            if last == end[0] and last != first:
                texts[-1] = texts[-1][:end[1]]
        blocks = view.block[first:last + 1]
        joined = ("\t".join(t for _, t in group).strip() for _, group in groupby(zip(blocks, texts), key=itemgetter(0)))
        out[sid] = "\n".join(x for x in joined if x)
    return out
