"""Link recognition, seeds, robots.txt and the rate limiter of ogi fetch (no network)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.fetch import FetchError, read_seeds
from helpers.fetch.links import (
    entry_year,
    is_report_title,
    normalize_url,
    parse_date,
    read_page,
    registrable_domain,
    site_of,
)
from helpers.fetch.ratelimit import RateLimiter
from helpers.fetch.robots import Robots, robots_url

BASE = "http://www.example.gov.cn/col/ndbg/index.html"


def _page(body: str, charset: str = "utf-8", head: str = "") -> bytes:
    return (f'<html><head><meta charset="{charset}">{head}<title>t</title></head><body>{body}</body></html>'
            ).encode(charset, "xmlcharrefreplace")


@pytest.mark.parametrize("title, year", [
    ("某某市人民政府2022年政府信息公开工作年度报告", 2022),
    ("2021年度政府信息公开年度报告", 2021),
    ("某某局2023年政府信息公开年报", 2023),
    ("某某区2020年政务公开工作年度报告", 2020),
    ("2019 年某某镇政府信息公开工作年度报告", 2019),
])
def test_report_titles_in_both_formats_wordings(title, year):
    assert is_report_title(title) and entry_year(title) == year


@pytest.mark.parametrize("title", [
    "关于做好2022年政务公开工作的通知",      # a year, no report word
    "2022年政府信息公开工作年度报告解读",      # about the report, not the report
    "政府信息公开工作年度报告",                # no year
    "2022年部门预算公开",
])
def test_other_items_are_not_reports(title):
    assert not is_report_title(title)


def test_list_page_entries_pagination_and_dates():
    body = ('<div class="nav"><a href="/">首页</a></div><ul>'
            '<li><a href="a.html" title="某局2022年政府信息公开工作年度报告">某局2022年政府…</a><span>2023-01-20</span></li>'
            '<li><a href="b.pdf">某局2021年政府信息公开年报.pdf</a><span>2022-01-19</span></li>'
            '<li><a href="c.html">2022年政务公开工作要点</a><span>2022-06-01</span></li></ul>'
            '<div><a href="index_1.html">下一页</a> <a href="index_1.html">2</a> <a rel="next" href="index_9.html">»</a>'
            '<a href="javascript:void(0)">3</a></div>')
    page = read_page(BASE, _page(body))
    entries = {link.url.rsplit("/", 1)[-1]: link for link in page.links if link.year}
    assert set(entries) == {"a.html", "b.pdf"}
    assert entries["a.html"].kind == "entry" and entries["a.html"].published == dt.date(2023, 1, 20)
    assert entries["b.pdf"].kind == "attachment" and entries["b.pdf"].year == 2021
    lists = {link.url.rsplit("/", 1)[-1] for link in page.of("list")}
    assert {"index_1.html", "index_9.html"} <= lists


def test_a_date_is_taken_only_from_the_entrys_own_row():
    body = ('<div><dl><dt><a href="r.html">2022年某局政府信息公开年报</a></dt></dl>'
            '<dl><dt><a href="n.html">通知</a></dt><dd>发布时间：2023年06月02日</dd></dl></div>')
    (link,) = [x for x in read_page(BASE, _page(body)).links if x.year]
    assert link.published is None


def test_report_page_attachments_images_and_chrome():
    body = ('<div class="header"><img src="/logo.png"><a href="/app.apk">客户端下载</a></div>'
            '<div class="content"><h1>某局2022年政府信息公开工作年度报告</h1><div class="info">发布时间：2023-01-15</div>'
            '<p>正文</p><img src="/u/scan1.png"><p><a href="/down.jsp?id=3">附件：年度报告.docx</a></p>'
            '<p><a href="/u/x.ofd">统计表.ofd</a></p>'
            '<a href="/col/ndbg/r2021.html">上一篇：某局2021年政府信息公开工作年度报告</a></div>'
            '<div class="footer"><a href="/guide.pdf">指南.pdf</a></div>')
    page = read_page("http://www.example.gov.cn/col/ndbg/r2022.html", _page(body, "gbk"))
    assert page.encoding in ("gb18030", "gbk") and page.published == dt.date(2023, 1, 15)
    kinds = {link.url.split("/", 3)[3]: link.kind for link in page.links}
    assert kinds["down.jsp?id=3"] == "attachment" and kinds["u/x.ofd"] == "attachment"
    assert kinds["u/scan1.png"] == "image" and "logo.png" not in kinds
    assert kinds.get("app.apk") != "attachment" and kinds.get("guide.pdf") != "attachment"
    assert kinds["col/ndbg/r2021.html"] == "entry"


def test_publication_date_from_meta():
    page = read_page(BASE, _page("<p>x</p>", head='<meta name="PubDate" content="2024-01-30 09:00">'))
    assert page.published == dt.date(2024, 1, 30)


@pytest.mark.parametrize("text, date", [("2023-01-05", dt.date(2023, 1, 5)), ("2023/1/5", dt.date(2023, 1, 5)),
                                        ("2023年1月5日", dt.date(2023, 1, 5)), ("2023-02-30", None), ("无", None)])
def test_parse_date(text, date):
    assert parse_date(text) == date


def test_urls_hosts_and_domains():
    assert normalize_url("HTTP://WWW.Example.gov.cn:80/a/b.html#top") == "http://www.example.gov.cn/a/b.html"
    assert normalize_url("../x.pdf", BASE) == "http://www.example.gov.cn/col/x.pdf"
    assert normalize_url("mailto:a@b.cn") is None
    assert site_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080" and site_of("https://a.cn/") == "a.cn:443"
    assert registrable_domain("www.hz.gov.cn") == "hz.gov.cn" and registrable_domain("files.example.com") == "example.com"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"
    assert robots_url("http://a.cn:81/x/y?z") == "http://a.cn:81/robots.txt"


@given(st.from_regex(r"/[a-z0-9/_.-]{0,30}", fullmatch=True), st.from_regex(r"[a-z0-9=&]{0,12}", fullmatch=True))
def test_normalizing_is_idempotent(path, query):
    url = normalize_url(f"http://Example.gov.cn{path}" + (f"?{query}" if query else ""))
    assert url is not None and normalize_url(url) == url


def test_robots_wildcards_and_failures():
    rules = Robots.from_response(200, b"User-agent: *\nDisallow: /private/\nDisallow: /*?print=\nAllow: /private/ok\n"
                                      b"Crawl-delay: 2\n")
    assert not rules.allowed("http://a.cn/private/x.html", "ogi")
    assert rules.allowed("http://a.cn/private/ok", "ogi")
    assert not rules.allowed("http://a.cn/art/1.html?print=1", "ogi")
    assert rules.allowed("http://a.cn/art/1.html", "ogi") and rules.crawl_delay("ogi") == 2.0
    assert Robots.from_response(404, b"").allowed("http://a.cn/x", "ogi")
    assert not Robots.from_response(503, b"").allowed("http://a.cn/x", "ogi")
    assert not Robots.from_response(None, b"").allowed("http://a.cn/x", "ogi")


def test_rate_limiter_spaces_one_host_and_not_two():
    async def run() -> dict[str, list[float]]:
        limiter = RateLimiter(20.0)
        times: dict[str, list[float]] = {"a": [], "b": []}

        async def hit(host: str) -> None:
            async with limiter.slot(host):
                times[host].append(time.monotonic())

        await asyncio.gather(*(hit(h) for h in "abababab"))
        return times

    times = asyncio.run(run())
    for host in "ab":
        gaps = [b - a for a, b in zip(times[host], times[host][1:])]
        assert min(gaps) >= 0.05 - 0.005
    assert abs(times["a"][0] - times["b"][0]) < 0.04   # the two hosts do not wait for each other


def test_seeds_from_csv_and_urls(tmp_path):
    csv = tmp_path / "seeds.csv"
    csv.write_text("organ,url,notes\n某局,http://a.cn/ndbg/,x\n某局,http://a.cn/ndbg/,dup\n", encoding="utf-8")
    seeds = read_seeds([csv, "https://b.cn/col/"])
    assert [(s.organ, s.url) for s in seeds] == [("某局", "http://a.cn/ndbg/"), ("b.cn", "https://b.cn/col/")]
    bad = tmp_path / "bad.csv"
    bad.write_text("organ,url\n某局,ftp://x\n", encoding="utf-8")
    with pytest.raises(FetchError, match="line 2"):
        read_seeds([bad])


def test_robots_group_of_our_user_agent():
    from helpers.fetch.crawl import DEFAULT_USER_AGENT

    rules = Robots.from_response(200, b"User-agent: ogi-reports\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    assert not rules.allowed("http://a.cn/x", DEFAULT_USER_AGENT) and rules.allowed("http://a.cn/x", "Mozilla/5.0")
