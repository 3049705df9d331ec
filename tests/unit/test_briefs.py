"""Briefs: papermill-equal execution on a reused kernel, offline pages, escaping, re-runs, failures,
the manifest, chart glyphs and the live explorer."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from helpers import plots
from helpers.brief_runner import (KernelWorker, NOTEBOOK_DIR, export_html, plan_briefs, prepare_notebook,
                                  run_briefs)
from helpers.errors import BriefError

SCRIPT = '<script>alert("brief")</script>'
SCRIPT_AGENCY = "测试市脚本局"


def build_store(root: Path) -> Path:
    """A small store: 6 generated reports over two years (one with an arithmetic error), one report
    whose narrative holds a <script> tag, and one empty file (a failure)."""
    from helpers.store import ingest
    from helpers.synth import random_report, render, write_corpus

    gen = root / "reports"
    write_corpus(gen, reports=6, years=[2022, 2023], forms=["text", "html"], error_share=0.34, seed=3)
    (gen / "manifest.csv").unlink()
    rep = random_report(5, template="2021", year=2023, agency=SCRIPT_AGENCY)
    rep.sections["problems"] = f"{SCRIPT}本年度存在的问题：<b>公开不及时</b>。" + rep.sections["problems"]
    (gen / "script_2023.txt").write_bytes(render(rep, "text").data)
    (gen / "empty_2023.txt").write_bytes(b"")
    store = root / "store"
    ingest([gen], store, scheduler="serial", progress=False)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("brief-store"))


@pytest.fixture(scope="module")
def briefs_out(store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("briefs")
    run = run_briefs(store, out, workers=1, progress=False)
    return out, run


def _normalise(nb: Any) -> dict[str, Any]:
    """A notebook without what differs between any two runs: times, ids, the output path."""
    d = json.loads(json.dumps(nb))
    pm = d["metadata"].get("papermill", {})
    for k in ("start_time", "end_time", "duration", "output_path", "input_path"):
        pm.pop(k, None)
    for cell in d["cells"]:
        cell.pop("id", None)
        cell["metadata"].pop("execution", None)
        for k in ("start_time", "end_time", "duration"):
            cell["metadata"].get("papermill", {}).pop(k, None)
    return d


# --------------------------------------------------------------------------------------------
# Execution equals papermill's


def test_injection_is_papermills(store: Path) -> None:
    """The notebook our runner executes is the one papermill's parameterize_notebook builds."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    job = [j for j in plan_briefs(store) if j.kind == "report"][0]
    ours = prepare_notebook(job.notebook, job.parameters)
    theirs = parameterize_notebook(load_notebook_node(job.notebook), job.parameters)
    a, b = _normalise(ours), _normalise(theirs)
    assert [c["source"] for c in a["cells"]] == [c["source"] for c in b["cells"]]
    injected = [c for c in a["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and f'report_id = "{job.parameters["report_id"]}"' in injected[0]["source"]
    tags = [c["metadata"].get("tags", []) for c in a["cells"]]
    assert tags.index(["injected-parameters"]) == next(i for i, t in enumerate(tags) if "parameters" in t) + 1
    assert a["metadata"]["papermill"]["parameters"] == job.parameters


@pytest.mark.slow
def test_reused_kernel_equals_fresh_papermill(store: Path) -> None:
    """A brief run as the second one on a reused kernel equals papermill's default run, output for
    output (execution counts and chart PNG bytes included)."""
    import papermill

    jobs = [j for j in plan_briefs(store) if j.kind == "report"]
    worker = KernelWorker()
    worker.start()
    try:
        worker.run(jobs[0].notebook, jobs[0].parameters)
        ours = worker.run(jobs[1].notebook, jobs[1].parameters)
    finally:
        worker.close()
    fresh = papermill.execute_notebook(jobs[1].notebook, None, parameters=jobs[1].parameters, progress_bar=False)
    a, b = _normalise(ours), _normalise(fresh)
    assert [c.get("execution_count") for c in a["cells"]] == [c.get("execution_count") for c in b["cells"]]
    assert a == b


# --------------------------------------------------------------------------------------------
# The published folder


def test_every_brief_written_and_indexed(briefs_out: tuple[Path, Any], store: Path) -> None:
    out, run = briefs_out
    from helpers.store import open_store

    reports = open_store(store).reports
    assert not run.failed
    index = (out / "index.html").read_text(encoding="utf-8")
    for rid, agency in zip(reports["report_id"], reports["agency"]):
        page = out / "reports" / f"{rid[:16]}.html"
        assert page.is_file()
        assert f'href="reports/{rid[:16]}.html"' in index
        assert agency in page.read_text(encoding="utf-8")
    assert 'href="corpus.html"' in index
    assert "empty_2023.txt" in index  # the file that could not be read is listed


def test_manifest_records_each_brief(briefs_out: tuple[Path, Any]) -> None:
    out, run = briefs_out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    briefs = {b["id"]: b for b in manifest["briefs"]}
    assert set(briefs) == {j.id for j in run.jobs}
    for b in briefs.values():
        assert b["status"] == "ok" and b["error"] is None
        assert b["seconds"] > 0 and re.fullmatch(r"[0-9a-f]{64}", b["input_hash"])
        assert (out / b["output"]).is_file()
    corpus = briefs["corpus"]
    assert corpus["parameters"]["brief_href"] == "reports/{short_id}.html"
    assert all({"store", "report_id", "index_href", "source_href"} <= set(b["parameters"])
               <= {"store", "report_id", "index_href", "source_href", "previous_href"}
               for k, b in briefs.items() if k != "corpus")
    assert any("previous_href" in b["parameters"] for b in briefs.values())    # two years of one organ


def test_rerun_skips_unchanged_briefs(briefs_out: tuple[Path, Any], store: Path) -> None:
    out, first = briefs_out
    again = run_briefs(store, out, workers=1, progress=False)
    assert again.ran == 0 and not again.failed
    page = out / first.jobs[-1].output
    page.unlink()  # a missing page is rebuilt, the rest still skipped
    third = run_briefs(store, out, workers=1, progress=False)
    assert third.ran == 1 and third.results[first.jobs[-1].id].ran and page.is_file()


def test_changed_input_reruns_its_brief(store: Path, tmp_path: Path) -> None:
    """The input hash covers the notebook: an edited notebook gives new hashes for its briefs."""
    nbs = tmp_path / "nbs"
    shutil.copytree(NOTEBOOK_DIR, nbs)
    before = {j.id: j.input_hash for j in plan_briefs(store, notebooks=nbs)}
    nb = nbformat.read(nbs / "report_brief.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("edited"))
    nbformat.write(nb, nbs / "report_brief.ipynb")
    after = {j.id: j.input_hash for j in plan_briefs(store, notebooks=nbs)}
    assert after["corpus"] == before["corpus"]
    assert all(after[k] != before[k] for k in before if k != "corpus")


def test_report_text_is_escaped(briefs_out: tuple[Path, Any], store: Path) -> None:
    out, _ = briefs_out
    from helpers.store import open_store

    reports = open_store(store).reports
    rid = reports.loc[reports["agency"] == SCRIPT_AGENCY, "report_id"].iloc[0]
    page = (out / "reports" / f"{rid[:16]}.html").read_text(encoding="utf-8")
    assert re.search(r"&lt;script&gt;alert\((&quot;|\")brief(&quot;|\")\)&lt;/script&gt;", page)
    assert "&lt;b&gt;公开不及时&lt;/b&gt;" in page
    for html_file in out.rglob("*.html"):
        assert "<script" not in html_file.read_text(encoding="utf-8").lower(), html_file


EXTERNAL = re.compile(r"https?://|//cdn|\bsrc\s*=\s*(?![\"']?data:)|@import|url\((?!\s*[\"']?data:)", re.I)


def test_url_scanner_catches_external_references() -> None:
    for bad in ('<script src="https://cdn.example/x.js">', "<img src='a.png'>",
                '<link href="//cdn.jsdelivr.net/a.css">', "@font-face { src: url(fonts/a.woff) }",
                '<a href="http://example.org">'):
        assert EXTERNAL.search(bad), bad
    assert not EXTERNAL.search('<img alt="" src="data:image/png;base64,iVBOR"> <a href="reports/ab.html">')


def test_no_external_url_in_any_output(briefs_out: tuple[Path, Any]) -> None:
    out, _ = briefs_out
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 9
    for page in pages:
        text = page.read_text(encoding="utf-8")
        hits = EXTERNAL.findall(text)
        assert not hits, f"{page}: {hits[:3]}"
        assert "require.js" not in text and "mathjax" not in text.lower() and "widget-state" not in text
        assert "data:image/png;base64," in text or page.name == "index.html"


def test_failed_brief_is_listed_and_the_batch_goes_on(store: Path, tmp_path: Path) -> None:
    jobs = [j for j in plan_briefs(store) if j.kind == "report"]
    bad_id = jobs[0].parameters["report_id"]
    nbs = tmp_path / "nbs"
    shutil.copytree(NOTEBOOK_DIR, nbs)
    nb = nbformat.read(nbs / "report_brief.ipynb", as_version=4)
    fail = f'if report_id == "{bad_id}":\n    raise RuntimeError("boom in a brief")'
    nb.cells.insert(2, nbformat.v4.new_code_cell(fail))
    nbformat.write(nb, nbs / "report_brief.ipynb")
    out = tmp_path / "out"
    run = run_briefs(store, out, workers=1, progress=False, notebooks=nbs)
    failed = {r.id: r for r in run.failed}
    assert list(failed) == [f"report:{bad_id}"]
    assert "RuntimeError: boom in a brief" in failed[f"report:{bad_id}"].error
    assert sum(r.status == "ok" for r in run.results.values()) == len(run.jobs) - 1
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "RuntimeError: boom in a brief" in index
    kept = out / failed[f"report:{bad_id}"].kept_notebook
    assert kept.is_file() and "papermill-error-cell" in kept.read_text(encoding="utf-8")
    page = (out / f"reports/{bad_id[:16]}.html").read_text(encoding="utf-8")
    assert "boom in a brief" in page
    manifest = {b["id"]: b for b in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["briefs"]}
    assert manifest[f"report:{bad_id}"]["status"] == "failed"
    assert "boom" in manifest[f"report:{bad_id}"]["error"]
    # a failed brief is tried again on the next run, the others are skipped
    again = run_briefs(store, out, workers=1, progress=False, notebooks=nbs)
    assert again.ran == 1


def test_cli_brief_exit_codes(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.cli import main

    out = tmp_path / "cli"
    assert main(["brief", str(store), "--out", str(out), "--workers", "1", "--no-progress", "--year", "2022"]) == 0
    text = capsys.readouterr().out
    assert f"open {out.absolute() / 'index.html'}" in text
    assert main(["brief", str(store), str(tmp_path), "--out", str(out)]) == 2
    assert "not both" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Static export of widgets, charts


def test_static_export_keeps_widget_fallback_only() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w", metadata={"tags": ["widget"]})
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox()", "text/html": "<p class='fallback'>static view</p>"}),
        nbformat.v4.new_output("display_data", data={"text/plain": "Dropdown()"})]
    gone = nbformat.v4.new_code_cell("x", metadata={"tags": ["remove-static"]})
    gone.outputs = [nbformat.v4.new_output("stream", name="stdout", text="only live")]
    nb.cells = [cell, gone]
    page = export_html(nb, "t")
    assert "static view" in page and "VBox" not in page and "Dropdown" not in page and "only live" not in page
    assert "widget-view" not in page and "<script" not in page.lower()


def test_charts_have_no_missing_glyphs(store: Path) -> None:
    from helpers import briefs

    reports = briefs.store_data(store).reports
    data = briefs.load_report(store=str(store), report_id=reports["report_id"].iloc[-1])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph .* missing")
        for chart in (briefs.outcomes_chart(data), briefs.applicants_chart(data), briefs.review_chart(data)):
            assert chart.png.startswith(b"\x89PNG") and len(chart.png) > 5000
    assert plots.cjk_fonts(), "a CJK font must be installed (scripts/system-deps.sh)"


def test_a_glyph_no_font_has_is_an_error() -> None:
    with pytest.raises(BriefError, match="no installed font"):
        plots.distribution_chart(pd.Series([1.0, 2.0, 3.0]), "\U000f0001")


def test_missing_values_are_not_drawn_as_zero() -> None:
    from helpers import Report

    cells = {"table_3/granted/total": "", "table_3/partial/total": 3}
    chart = plots.outcomes_chart(Report.from_cells(cells).cells, "2021")
    assert "予以公开" in chart.note and "部分公开" not in chart.note


# --------------------------------------------------------------------------------------------
# The explorer in a live kernel


def _kernel_json(client: Any, nb: Any, code: str) -> Any:
    """Run `code` (which prints one JSON line) as a new cell on the client's kernel."""
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    return json.loads(text.strip().splitlines()[-1])


STATE = ("import json, dataclasses\n"
         "_c = explorer.controls\n"
         "print(json.dumps({**dataclasses.asdict(explorer.state), 'summary': _c['summary'].value, "
         "'tables': _c['tables'].value, 'chart': len(_c['chart'].value), "
         "'chart_hash': hash(bytes(_c['chart'].value)), 'findings': _c['findings'].value},"
         " ensure_ascii=False, default=str))")


def test_explorer_follows_organ_year_and_metric(store: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from helpers import briefs

    nb = prepare_notebook(str(NOTEBOOK_DIR / "explore.ipynb"), {"store": str(store)})
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    reports = briefs.store_data(store).reports
    two_years = reports.groupby("organ_id").filter(lambda g: g["year"].nunique() >= 2)
    organ = str(two_years["organ_id"].iloc[0])
    with client.setup_kernel():
        client.execute(cleanup_kc=False)
        widget_outputs = [o for c in nb.cells if "widget" in c.metadata.get("tags", []) for o in c.outputs]
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) and "text/html" in o.get("data", {})
                   for o in widget_outputs)
        start = _kernel_json(client, nb, STATE)
        other = str(reports.loc[~reports["organ_id"].isin([organ, start["organ"]]), "organ_id"].iloc[0])
        # the user picks an organ, a year and a metric in the dropdowns
        s1 = _kernel_json(client, nb, f"explorer.controls['organ'].value = {other!r}\n" + STATE)
        assert s1["organ"] == other != start["organ"] and s1["summary"] != start["summary"]
        agency = reports.loc[(reports["organ_id"] == other) & (reports["year"] == s1["year"]), "agency"].iloc[0]
        assert agency in s1["summary"] and s1["report_id"] in set(reports["report_id"])
        s2 = _kernel_json(client, nb, f"explorer.controls['organ'].value = {organ!r}\n" + STATE)
        years = sorted(two_years.loc[two_years["organ_id"] == organ, "year"].astype(int))
        s3 = _kernel_json(client, nb, f"explorer.controls['year'].value = {years[0]}\n" + STATE)
        assert (s2["year"], s3["year"]) == (years[-1], years[0])
        rid = reports.loc[(reports["organ_id"] == organ) & (reports["year"] == years[0]), "report_id"].iloc[0]
        assert s3["report_id"] == rid and s3["tables"] != s2["tables"]
        s4 = _kernel_json(client, nb, "explorer.controls['metric'].value = 'reconsideration_rate'\n" + STATE)
        assert s4["metric"] == "reconsideration_rate" and s4["report_id"] == rid
        assert s4["chart_hash"] != s3["chart_hash"] and "行政复议率" in s4["summary"]
        metrics = briefs.store_data(store).metrics
        expect = metrics[(metrics["report_id"] == rid) & (metrics["metric"] == "reconsideration_rate")]["value"].iloc[0]
        assert (s4["value"] is None and pd.isna(expect)) or s4["value"] == pytest.approx(float(expect))
        with pytest.raises(CellExecutionError, match="unknown metric"):
            _kernel_json(client, nb, "explorer.select(metric='no_such_metric')\n" + STATE)
