"""ogi ingest ARCHIVE: every report of a crawl in the store with its URL, fetch time, publication
date and parent page; provenance reaches reports already stored; the brief shows the URL."""

from __future__ import annotations

import pytest

from helpers import open_store
from helpers.cli import main
from helpers.fetch import Settings, crawl
from helpers.fetch.ingest import archive_inputs
from helpers.fetch.seeds import Seed
from helpers.synth.site import SiteFamily, serve


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("fetch") / "archive"
    family = SiteFamily(organs=5, years=(2022, 2023), seed=3)
    with serve(family) as served:
        crawl([Seed(o, u) for o, u in served.seeds], out, Settings(rate=None, backoff=0.01, progress=False))
        expected = served.expected
    return out, family, expected


def test_every_report_gets_its_url_and_publication_date(archive, tmp_path, capsys):
    out, family, expected = archive
    store = tmp_path / "store"
    assert main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    reports = open_store(store).reports
    docs = expected[expected["kind"] != "image"]
    inputs = {prov["source_url"] for _, prov in archive_inputs(out)}
    assert inputs <= set(docs["url"])
    # every organ-year has at least one stored report, each with its provenance
    got = reports.dropna(subset=["source_url"])
    assert len(got) == len(reports) == len(inputs)
    assert set(zip(got["agency"], got["year"])) == {(r.agency, y) for (i, y), r in family.reports.items()}
    assert got["published"].notna().all() and got["fetched_at"].notna().all() and got["parent_url"].notna().all()
    assert (reports["source_url"].str.startswith("http://127.0.0.1:")).all()


def test_the_reports_own_date_wins_over_the_pages(archive, tmp_path):
    out, family, _ = archive
    store = tmp_path / "store"
    main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"])
    from helpers.parse import read_report

    reports = open_store(store).reports
    assert reports["published"].dtype == "datetime64[us]"   # public frames: dates as datetime64 (docs/store.md)
    reports = reports.assign(published=reports["published"].dt.date)
    own = {r: read_report(p).published for r, p in zip(reports["report_id"], reports["path"])}
    for rid, published in zip(reports["report_id"], reports["published"]):
        if own[rid] is not None:
            assert published == own[rid]
    prov = {p["report_id"]: p["published"] for _, p in archive_inputs(out)}
    for rid, published in zip(reports["report_id"], reports["published"]):
        if own[rid] is None:
            assert published == prov[rid]


def test_provenance_reaches_reports_already_stored(archive, tmp_path):
    out, _, _ = archive
    store = tmp_path / "store"
    files = [str(p) for p, _ in archive_inputs(out)]
    assert main(["ingest", *files, "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    assert open_store(store).reports["source_url"].isna().all()
    assert main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    reports = open_store(store).reports
    assert len(reports) == len(files) and reports["source_url"].notna().all()


def test_a_brief_shows_the_source_url(archive, tmp_path):
    from helpers.briefs import identity, report_from_store, store_data

    out, _, _ = archive
    store = tmp_path / "store"
    main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"])
    data = store_data(store)
    rid, url = data.reports.iloc[0][["report_id", "source_url"]]
    html = str(identity(report_from_store(data, rid, with_previous=False)))
    assert url in html


def test_a_report_as_page_and_attachment_is_one_organ_year(archive, tmp_path):
    """Both copies are stored (different bytes); the attachment's parent is the page, and the
    store's organ-year representative (the one the next year links to) is one of them."""
    out, family, _ = archive
    store = tmp_path / "store"
    main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"])
    reports = open_store(store).reports
    (organ, year), = [k for k, layout in family.layout.items() if layout == "both" and k[1] < max(family.years)]
    agency = family.reports[(organ, year)].agency
    both = reports[(reports["agency"] == agency) & (reports["year"] == year)]
    assert len(both) == 2 and set(both["form"]) >= {"html"}
    page = both[both["form"] == "html"].iloc[0]
    attachment = both[both["form"] != "html"].iloc[0]
    assert attachment["parent_url"] == page["source_url"]
    nxt = reports[(reports["agency"] == agency) & (reports["year"] == year + 1)]
    assert len(nxt) >= 1 and set(nxt["previous_report_id"]) <= set(both["report_id"])
    assert nxt["previous_report_id"].notna().all()
