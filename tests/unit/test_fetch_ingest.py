"""ogi ingest ARCHIVE: every report of a crawl in the store with its URL, fetch time, publication
date and parent page; provenance reaches reports already stored; the brief shows the URL; a report
published as a page and as an attachment is one organ-year of the panel (the other file its
duplicate), even when the attachment prints the agency differently."""

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
    family = SiteFamily(organs=8, years=(2022, 2023), seed=3, slow=0)
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
    printed = {(family.printed.get((i, y), r.agency), y) for (i, y), r in family.reports.items()}
    assert set(zip(got["agency"], got["year"])) == printed | {(r.agency, y) for (i, y), r in family.reports.items()}
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


def _ids_by_url(reports):
    return dict(zip(reports["source_url"], reports["report_id"]))


def test_a_report_as_page_and_attachment_is_one_organ_year(archive, tmp_path):
    """Both copies are stored (different bytes, the attachment's parent is the page); the panel has
    one row per organ-year of the generator, the page or the attachment its primary and the other
    listed as its duplicate, also where the attachment prints the agency differently; the next year
    links to the primary."""
    from helpers.metrics import panel_table
    from helpers.organs import identify

    out, family, expected = archive
    store = tmp_path / "store"
    assert main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    c = open_store(store)
    reports = c.reports
    table = panel_table(c.cells, reports).table
    organ_years = {(identify(r.agency).organ_id, y) for (i, y), r in family.reports.items()}
    assert len(table) == len(family.reports) == len(organ_years)
    assert set(zip(table["organ_id"], table["year"].astype(int))) == organ_years
    both = [k for k, layout in family.layout.items() if layout == "both"]
    misprinted = [k for k in both if family.printed[k] != family.reports[k].agency]
    assert len(both) >= 3 and len(misprinted) >= 2          # a place printed before, a separator inside
    ids = _ids_by_url(reports)
    docs = expected[expected["kind"] != "image"]
    for organ, year in both:
        urls = docs[(docs["organ"] == organ) & (docs["year"] == year)]["url"]
        files = {ids[u] for u in urls}
        assert len(files) == 2
        row = table[(table["organ_id"] == identify(family.reports[(organ, year)].agency).organ_id)
                    & (table["year"] == year)].iloc[0]
        assert row["n_files"] == 2 and {row["report_id"], row["duplicates"]} == files
        stored = reports[reports["report_id"].isin(files)]
        assert stored["organ_id"].nunique() == 1                                # one organ ...
        assert set(stored["agency"]) == {family.reports[(organ, year)].agency, family.printed[(organ, year)]}
        if year < max(family.years):                                           # ... whose next year links here
            nxt = reports[(reports["organ_id"] == stored["organ_id"].iloc[0]) & (reports["year"] == year + 1)]
            assert len(nxt) >= 1 and set(nxt["previous_report_id"]) == {row["report_id"]}
    single = table[table["n_files"] == 1]
    assert (single["duplicates"] == "").all() and len(single) == len(family.reports) - len(both)


def test_without_the_seeds_organ_a_misprint_splits_the_organ_year(archive, tmp_path):
    """The same files ingested from disk (no provenance, so no seed organ): each misprinted
    attachment is an organ-year of its own, which is what the archive's organ prevents."""
    from helpers.metrics import panel_table

    out, family, _ = archive
    store = tmp_path / "store"
    files = [str(p) for p, _ in archive_inputs(out)]
    assert main(["ingest", *files, "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    c = open_store(store)
    misprinted = [k for k, v in family.printed.items() if v != family.reports[k].agency]
    assert len(panel_table(c.cells, c.reports).table) == len(family.reports) + len(misprinted)
    assert main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"]) == 0
    c = open_store(store)
    assert len(panel_table(c.cells, c.reports).table) == len(family.reports)


def test_the_corpus_brief_counts_each_organ_year_once(archive, tmp_path):
    """Counts, distributions, rankings and findings of the corpus brief go over one file per
    organ-year (the panel's); the brief says how many files are copies; every file keeps its link."""
    import re

    from helpers import briefs
    from helpers.metrics import panel_table

    out, family, _ = archive
    store = tmp_path / "store"
    main(["ingest", str(out), "--store", str(store), "--no-progress", "--scheduler", "serial"])
    c = briefs.load_corpus(str(store))
    n_both = sum(layout == "both" for layout in family.layout.values())
    assert len(c.reports) == len(c.all_years) == len(family.reports)
    assert len(c.files) == len(family.reports) + n_both == len(open_store(store).reports)
    assert set(c.reports["report_id"]) == set(panel_table(c.store.cells, c.store.reports).table["report_id"])
    assert not c.reports.duplicated(["organ_id", "year"]).any()
    title = str(briefs.corpus_title(c))
    assert f"{len(family.reports)} {briefs.label('reports')}" in title
    assert briefs.label("duplicate_files").format(n=n_both, files=len(c.files)) in title
    # the rankings name each organ-year once; the per-year counts are over one file per organ-year
    ranked = str(briefs.rankings(c, metrics=["requests_new"], top=100, top_per_year=100))
    names = re.findall(r"<tr><td>\d+</td><td>([^<]*)</td><td>([^<]*)</td>", ranked)
    assert names and len(names) == len(set(names))
    metrics = c.store.metrics
    solid = metrics[(metrics["metric"] == "grant_rate") & metrics["value"].notna() & ~metrics["small_n"].fillna(False)]
    year_of = dict(zip(c.all_files["report_id"], c.all_files["year"]))
    over_files = solid["report_id"].map(year_of).value_counts()
    over_reports = solid[solid["report_id"].isin(set(c.all_years["report_id"]))]["report_id"].map(year_of).value_counts()
    assert (over_files > over_reports.reindex(over_files.index, fill_value=0)).any()   # copies would count twice
    by_year = str(briefs.distributions_by_year(c, metrics=["grant_rate"]))
    shown = {int(y): int(n) for y, n in re.findall(r"<tr><td>[^<]*</td><td>(\d{4})</td><td>(\d+)</td>", by_year)}
    assert shown == {int(y): int(n) for y, n in over_reports.items()}
    per_year = {y: sum(1 for (_, yy) in family.reports if yy == y) for y in family.years}
    links = str(briefs.brief_links(c))
    assert all(rid[:16] in links for rid in c.files["report_id"])
    c23 = briefs.load_corpus(str(store), year=2023)
    assert len(c23.reports) == per_year[2023] and len(c23.files) == per_year[2023] + sum(
        1 for (i, y), layout in family.layout.items() if layout == "both" and y == 2023)
