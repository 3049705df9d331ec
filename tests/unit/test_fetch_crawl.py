"""ogi fetch against the generated site family on 127.0.0.1: recall, robots, bounds, rate, CLI."""

from __future__ import annotations

import pandas as pd

from helpers.cli import main
from helpers.fetch import Settings, crawl, read_manifest
from helpers.fetch.links import config
from helpers.fetch.seeds import Seed
from helpers.synth.site import SiteFamily, serve

FAST = dict(rate=None, concurrency=8, max_bytes=1 << 20, backoff=0.01, progress=False)


def test_the_site_family_is_crawled_completely_and_politely(tmp_path):
    """52 organs × 4 years, crawled once with the rate limit off (one test: the crawl is the cost)."""
    with serve(SiteFamily(organs=52)) as served:
        summary = crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
        big_crawl = (served, read_manifest(tmp_path / "a"), served.requests(), summary, tmp_path / "a")
    _every_report_document_is_fetched(big_crawl)
    _provenance_columns_of_the_manifest(big_crawl)
    _robots_txt_is_honoured(big_crawl)
    _errors_are_manifest_rows(big_crawl)
    _trap_and_loops_are_bounded(big_crawl)
    _requests_stay_on_the_seeds_sites(big_crawl)


def _requested(served, log: pd.DataFrame) -> pd.Series:
    return log.apply(lambda r: served.origins[r["site"]] + r["path"], axis=1)


def _every_report_document_is_fetched(big_crawl):
    served, manifest, _log, summary, _out = big_crawl
    expected = served.expected
    assert len(served.family.seeds) > 50 and len(served.family.years) == 4
    assert set(expected["kind"]) == {"page", "attachment", "image"}
    got = manifest[(manifest["status"] == 200) & (manifest["error"] == "")]
    merged = expected.merge(got[["url", "sha256"]], on=["url", "sha256"], how="left", indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, missing.head(10).to_string()
    assert summary.reached == len(served.seeds)
    # attachments of every form the readers take, in UTF-8 and GBK pages, from all three CMS styles
    types = set(got["content_type"].str.split(";").str[0])
    assert {"application/pdf", "text/plain", "text/html", "image/png",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"} <= types
    pages = got[got["kind"] == "page"]
    assert pages["content_type"].str.contains("gbk").any() and pages["content_type"].str.contains("utf-8").any()


def _provenance_columns_of_the_manifest(big_crawl):
    served, manifest, *_ = big_crawl
    docs = manifest[manifest["kind"].isin(["page", "attachment"]) & (manifest["status"] == 200)]
    assert (docs["parent_url"] != "").all()
    assert docs["year"].notna().all()
    assert set(docs["year"].dropna().astype(int)) == set(served.family.years)
    # every report document has a publication date: its page's own where printed, else the list's
    assert (docs[docs["error"] == ""]["published"] != "").all()
    pages = served.expected.query("kind == 'page'").merge(manifest[["url", "published"]], on="url")
    want = [str(served.family.dates[(o, y)][0] or served.family.dates[(o, y)][1]) for o, y in zip(pages["organ"], pages["year"])]
    assert list(pages["published"]) == want
    assert any(served.family.dates[k][0] is None for k in served.family.dates)     # some print none
    assert (manifest["sha256"].str.len().isin([0, 64])).all()


def _robots_txt_is_honoured(big_crawl):
    served, manifest, log, *_ = big_crawl
    disallowed = set(served.special("disallowed"))
    assert disallowed
    assert not disallowed & set(_requested(served, log))
    refused = manifest[manifest["error"].str.contains("robots")]
    assert disallowed <= set(refused["url"])


def _errors_are_manifest_rows(big_crawl):
    served, manifest, *_ = big_crawl
    rows = manifest.set_index("url")
    for url in served.special("404"):
        assert rows.loc[url, "status"] == 404
    for url in served.special("500"):
        assert rows.loc[url, "status"] == 500
    for url in served.special("transient_500"):   # retried with backoff, then fetched
        assert rows.loc[url, "status"] == 200 and rows.loc[url, "error"] == ""
    for url in served.special("huge"):
        assert "size limit" in rows.loc[url, "error"] and rows.loc[url, "bytes"] == 0
    for url in served.special("redirect"):
        assert rows.loc[url, "status"] == 301 and rows.loc[url, "redirect"] in rows.index


def _site(served, url: str) -> str:
    origin = "/".join(url.split("/")[:3])
    return next(site for site, o in served.origins.items() if o == origin)


def _trap_and_loops_are_bounded(big_crawl):
    served, manifest, log, *_ = big_crawl
    counts = _requested(served, log).value_counts()
    retried = set(served.special("transient_500")) | set(served.special("500"))
    assert (counts.drop(list(retried & set(counts.index))) == 1).all(), counts.head()   # no URL twice
    stale = config()["limits"]["stale_list_pages"]
    assert served.special("trap")
    for trap in served.special("trap"):
        site = _site(served, trap)
        lists = manifest[(manifest["kind"] == "list") & manifest["url"].str.startswith(served.origins[site] + "/")]
        real = served.family.list_pages[site]
        assert real <= len(lists) <= real + stale, (trap, real, len(lists))
    for loop in served.special("redirect_loop"):
        origin = "/".join(loop.split("/")[:3])
        hops = manifest[manifest["url"].str.startswith(origin + "/loop/")]
        assert len(hops) == 2 and set(hops["status"]) == {302}


def _requests_stay_on_the_seeds_sites(big_crawl):
    served, manifest, log, *_ = big_crawl
    origins = set(served.origins.values())
    assert set(manifest["url"].str.extract(r"^(https?://[^/]+)")[0]) <= origins
    assert set(log["host"]) <= {o.split("//")[1] for o in origins}


def test_rate_limit_per_host_from_the_server_log(tmp_path):
    family = SiteFamily(organs=3, years=(2022, 2023), seed=5)
    rate = 8.0
    with serve(family) as served:
        summary = crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a",
                        Settings(**(FAST | {"rate": rate, "concurrency": 3})))
        log = served.requests()
    assert summary.pages > 3
    for _host, times in log.groupby("host")["t"]:
        gaps = times.sort_values().diff().dropna()
        assert gaps.empty or gaps.min() >= 1 / rate - 0.01, gaps.min()
    # hosts are fetched concurrently: the whole crawl is shorter than its requests one after another
    assert summary.seconds < len(log) / rate - 0.5


def test_years_and_dry_run(tmp_path, capsys):
    family = SiteFamily(organs=3, years=(2022, 2023), seed=3)
    with serve(family) as served:
        served.seeds_csv(tmp_path / "seeds.csv")
        code = main(["fetch", str(tmp_path / "seeds.csv"), "--dry-run", "--rate", "0", "--no-progress",
                     "--backoff", "0.01"])
        out = capsys.readouterr().out
        log = served.requests()
        assert code == 0
        documents = {u.split("/", 3)[3] for u in served.expected["url"]}
        assert log["status"].eq(200).any() and not documents & {p.lstrip("/") for p in log["path"]}  # lists only
        assert "2023" in out and "2022" in out
        code = main(["fetch", str(tmp_path / "seeds.csv"), "--out", str(tmp_path / "a"), "--years", "2023",
                     "--rate", "0", "--no-progress", "--backoff", "0.01"])
        assert code == 0
    m = read_manifest(tmp_path / "a")
    docs = m[m["kind"].isin(["page", "attachment"]) & (m["status"] == 200)]
    assert set(docs["year"].astype(int)) == {2023}


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["fetch", "http://127.0.0.1:9/ndbg/", "--out", str(tmp_path / "a"), "--retries", "0",
                 "--no-progress"]) == 2          # no seed reached
    assert "no seed could be reached" in capsys.readouterr().err
    assert main(["fetch", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "b")]) == 2
    assert "neither an http(s) URL nor a seeds CSV" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("name,link\nx,y\n", encoding="utf-8")
    assert main(["fetch", str(bad), "--out", str(tmp_path / "c")]) == 2
    assert "organ,url" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_text("x")
    assert main(["fetch", "http://127.0.0.1:9/", "--out", str(tmp_path / "d")]) == 2
    assert "not an ogi archive" in capsys.readouterr().err


def test_time_outs_are_retried_then_recorded(tmp_path):
    family = SiteFamily(organs=5, years=(2023,), seed=2)   # organ 4's report pages answer after 0.15 s
    with serve(family) as served:
        crawl([Seed(o, u) for o, u in served.seeds[4:5]], tmp_path / "a",
              Settings(**(FAST | {"timeout": 0.05, "retries": 1})))
        log = served.requests()
    m = read_manifest(tmp_path / "a")
    slow = m[m["error"].str.contains("timed out")]
    assert len(slow) >= 1 and slow["status"].isna().all()
    for url in slow["url"]:
        path = "/" + url.split("/", 3)[3]
        assert (log["path"] == path).sum() == 2        # the first try and one retry


def test_robots_txt_redirects_are_followed(tmp_path):
    from helpers.synth.site import Resource

    family = SiteFamily(organs=1, years=(2023,), seed=1)
    site = next(k for k in family.sites if k != "files")
    family.sites[site]["/robots.txt"] = Resource(status=301, location="/new/robots.txt")
    family.sites[site]["/new/robots.txt"] = Resource(b"User-agent: *\nDisallow: /\n", "text/plain")
    with serve(family) as served:
        summary = crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
        paths = list(served.requests()["path"])
    assert paths == ["/robots.txt", "/new/robots.txt"] and summary.disallowed == 1 and summary.reached == 0


def test_full_warc_files_are_rotated(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from helpers.fetch.archive import read_body

    monkeypatch.setitem(config()["limits"], "warc_max_bytes", 4_000)
    family = SiteFamily(organs=2, years=(2023,), seed=6)
    with serve(family) as served:
        crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
        expected = served.expected
    warcs = sorted((tmp_path / "a" / "warc").glob("*.warc.gz"))
    assert len(warcs) > 1
    check = subprocess.run([Path(sys.executable).parent / "warcio", "check", *warcs], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    m = read_manifest(tmp_path / "a").set_index("url")
    import hashlib

    for url, sha in zip(expected["url"], expected["sha256"]):
        row = m.loc[url].to_dict() | {"url": url}
        assert hashlib.sha256(read_body(tmp_path / "a", row)).hexdigest() == sha
