"""The published briefs in a real browser: Debian's headless Chromium opens index.html and a report
brief from file://, every request stays on file:// (or data:), the agency and the table numbers are
on the page, report text shows as text, and screenshots are saved under build/e2e/.

Skipped with a reason when Chromium or Playwright is missing locally; a failure when CI is set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OGI_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "build" / "e2e"
IN_CI = bool(os.environ.get("CI"))
SCRIPT_AGENCY = "测试市脚本局"


def _playwright() -> Any:
    why = None
    if not CHROMIUM.is_file():
        why = f"{CHROMIUM} is not installed (Debian: apt-get install chromium, or scripts/system-deps.sh)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            why = "the playwright package is not installed (pip install -e '.[test]')"
    if why:
        if IN_CI:
            pytest.fail(f"CI is set but {why}")
        pytest.skip(why)
    return sync_playwright


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store of generated reports (fewer under CI) plus one whose narrative holds <script>, briefed."""
    from helpers.brief_runner import run_briefs
    from helpers.store import ingest
    from helpers.synth import random_report, render, write_corpus

    root = tmp_path_factory.mktemp("e2e")
    gen = root / "reports"
    write_corpus(gen, reports=4 if IN_CI else 8, years=[2022, 2023], forms=["text", "html"], error_share=0.5, seed=5)
    (gen / "manifest.csv").unlink()
    rep = random_report(9, template="2021", year=2023, agency=SCRIPT_AGENCY)
    rep.sections["problems"] = "<script>document.title='pwned'</script>问题：栏目更新不及时。" + rep.sections["problems"]
    (gen / "script.txt").write_bytes(render(rep, "text").data)
    store = root / "store"
    ingest([gen], store, scheduler="serial", progress=False)
    out = root / "briefs"
    run = run_briefs(store, out, workers=1, progress=False)
    assert not run.failed, [r.error for r in run.failed]
    return store, out


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.6f}".rstrip("0").rstrip(".")


@pytest.mark.slow
def test_briefs_open_offline_in_chromium(published: tuple[Path, Path]) -> None:
    from helpers.store import open_store

    sync_playwright = _playwright()
    store, out = published
    corpus = open_store(store)
    reports = corpus.reports
    target = reports[reports["agency"] == SCRIPT_AGENCY].iloc[0]
    other = reports[reports["agency"] != SCRIPT_AGENCY].sort_values("report_id").iloc[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("request", lambda r: requests.append(r.url))
            page.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())  # nothing leaves the page
            page.goto((out / "index.html").as_uri())
            body = page.inner_text("body")
            for agency in reports["agency"]:
                assert agency in body
            page.screenshot(path=str(SHOTS / "index.png"), full_page=True)

            # follow the index's link to a report brief, as a reader would
            page.click(f"a[href='reports/{other['report_id'][:16]}.html']")
            page.wait_for_load_state()
            assert page.url == (out / "reports" / f"{other['report_id'][:16]}.html").as_uri()
            text = page.inner_text("body")
            assert other["agency"] in text
            cells = corpus.cells[corpus.cells["report_id"] == other["report_id"]]
            for key in ("table_3/new_received/total", "table_3/results_total/total", "table_4/review/total",
                        "table_2/admin_penalty/value"):
                t, r, c = key.split("/")
                v = cells[(cells["table"] == t) & (cells["row"] == r) & (cells["column"] == c)]["value"].iloc[0]
                cell_texts = page.locator("table.stat td").all_inner_texts()
                assert _fmt(float(v)) in cell_texts, key
            for title in ("二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"):
                assert title in text
            loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 100)")
            assert len(loaded) == 3 and all(loaded)
            page.screenshot(path=str(SHOTS / "report-brief.png"), full_page=True)
            page.screenshot(path=str(SHOTS / "report-brief-top.png"))

            # the report whose narrative holds <script>: shown as text, never run
            page.goto((out / "reports" / f"{target['report_id'][:16]}.html").as_uri())
            assert "<script>document.title='pwned'</script>" in page.inner_text("body")
            assert page.title() != "pwned" and page.evaluate("document.scripts.length") == 0

            _finding_links_and_download(page, corpus, out)

            page.goto((out / "corpus.html").as_uri())
            assert "reports" in page.inner_text("body").lower() or "报告" in page.inner_text("body")
            page.screenshot(path=str(SHOTS / "corpus-brief.png"), full_page=True)
        finally:
            browser.close()
    assert requests, "the request log is empty"
    outside = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert not outside, f"requests left file://: {outside[:5]}"


def _finding_links_and_download(page: Any, corpus: Any, out: Path) -> None:
    """A report with an error finding and a previous year: its Chinese message is on the page, the
    previous year's link and the index link work, and the cells CSV download equals its cells."""
    import io

    import pandas as pd

    from helpers.briefs import finding_message
    from helpers.record import CELL_COLUMNS

    reports, findings = corpus.reports, corpus.findings
    errors = set(findings.loc[findings["severity"] == "error", "report_id"])
    with_prev = reports[reports["previous_report_id"].notna() & reports["report_id"].isin(errors)]
    assert len(with_prev), "the fixture needs a report with an error and a previous year"
    rec = with_prev.sort_values("report_id").iloc[0]
    rid, prev = str(rec["report_id"]), str(rec["previous_report_id"])
    page.goto((out / "reports" / f"{rid[:16]}.html").as_uri())
    text = page.inner_text("body")
    f = findings[(findings["report_id"] == rid) & (findings["severity"] == "error")].iloc[0].to_dict()
    zh = finding_message(f)
    assert zh and re.search(r"[\u4e00-\u9fff]", zh) and zh in text
    assert "table_3/" not in text                                       # display labels, not keys
    with page.expect_download() as dl:
        page.click("a.download[download$='_cells.csv']")
    got = pd.read_csv(io.BytesIO(Path(dl.value.path()).read_bytes()), dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    want = corpus.cells[corpus.cells["report_id"] == rid][CELL_COLUMNS].astype(str).replace({"<NA>": ""})
    want["value"] = corpus.cells.loc[corpus.cells["report_id"] == rid, "value"].map(
        lambda v: "" if pd.isna(v) else repr(float(v)))
    got["value"] = got["value"].map(lambda v: "" if v == "" else repr(float(v)))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
    page.click("a.nav-previous")
    page.wait_for_load_state()
    assert page.url == (out / "reports" / f"{prev[:16]}.html").as_uri()
    page.click("a.nav-index")
    page.wait_for_load_state()
    assert page.url == (out / "index.html").as_uri()


def test_no_generated_page_names_a_folder_of_this_machine(published: tuple[Path, Path]) -> None:
    import sys

    store, out = published
    folders = {str(out), str(store), str(store.parent), str(ROOT), sys.prefix, os.path.realpath(sys.prefix),
               os.getcwd(), str(Path.home())}
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = [f for f in folders if len(f) > 1 and f in text]
        assert not found, (page.name, found)
