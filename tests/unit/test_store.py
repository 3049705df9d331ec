"""The corpus store: incremental ingest, failures kept, atomic batches, organ-year links, SQL, Dask."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import helpers
from helpers import StoreError, ingest, open_store
from helpers.cli import main
from helpers.store import READ_SCHEMAS, SCHEMAS, TABLES, _Runner, cross_year_rules

synth = pytest.importorskip("helpers.synth", reason="helpers.synth (the report generator) is not installed yet")

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Small generated corpora


def _corpus(tmp_path: Path, name: str = "corpus", *, reports: int = 12, bad: float = 0.0, seed: int = 3,
            forms: tuple[str, ...] = ("text", "html")) -> tuple[Path, pd.DataFrame]:
    out = tmp_path / name
    manifest = synth.write_corpus(out, reports=reports, years=[2021, 2022, 2023], forms=list(forms),
                                  error_share=0.25, bad_file_share=bad, seed=seed)
    return out, manifest


def _chains(tmp_path: Path, organs: int = 4, seed: int = 11) -> dict[int, list[Path]]:
    """Year folders of `organs` organs × 2021–2023; every other organ breaks X1 in its later years."""
    years: dict[int, list[Path]] = collections.defaultdict(list)
    for o in range(organs):
        prev = None
        for year in (2021, 2022, 2023):
            rep = synth.random_report(seed * 100 + o * 10 + year, year=year, previous=prev)
            prev = rep
            if o % 2 and year > 2021:
                rep = synth.perturb(rep, "table_3/carried_over/natural_person", 5)
            rendered = synth.render(rep, "text", rng=o)
            path = tmp_path / "years" / str(year) / f"organ{o}{rendered.suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rendered.data)
            years[year].append(path)
    return years


def _parts(store: Path) -> dict[str, list[str]]:
    return {t: sorted(p.name for p in (store / t).iterdir()) for t in TABLES}


def _consistent(store: Path) -> helpers.Corpus:
    """Open the store and check that its tables agree with one another."""
    corpus = open_store(store)
    reports = corpus.reports
    assert reports["report_id"].is_unique
    assert set(corpus.cells["report_id"]) == set(reports["report_id"])
    per_report = corpus.cells.groupby("report_id").size()
    assert (per_report.reindex(reports["report_id"]).to_numpy() == reports["n_cells"].to_numpy()).all()
    assert set(corpus.findings["report_id"]) <= set(reports["report_id"])
    assert not set(corpus.failures["sha256"].dropna()) & set(reports["report_id"])
    return corpus


# ---------------------------------------------------------------------------------------------
# Incremental ingest


def test_second_ingest_parses_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.parse

    corpus, manifest = _corpus(tmp_path)
    calls: list[str] = []
    real = helpers.parse.read_report

    def counting(path: Any, *a: Any, **k: Any) -> Any:
        calls.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(helpers.parse, "read_report", counting)
    store = tmp_path / "store"
    files = len(manifest) + 1  # + manifest.csv, which is not a report
    first = ingest(corpus, store, scheduler="serial", progress=False)
    assert len(calls) == files and first.ingested + first.failed == files and first.skipped == 0
    parts = _parts(store)
    calls.clear()
    second = ingest(corpus, store, scheduler="serial", progress=False)
    assert calls == []
    assert (second.ingested, second.failed, second.skipped) == (0, 0, files)
    assert _parts(store) == parts  # nothing written


def test_second_ingest_on_the_process_pool_is_a_no_op(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=9)
    store = tmp_path / "store"
    first = ingest(corpus, store, progress=False)
    assert first.ingested == len(manifest) and first.failed == 1  # manifest.csv
    parts = _parts(store)
    second = ingest([corpus], store, progress=False)
    assert (second.ingested, second.failed, second.skipped) == (0, 0, len(manifest) + 1)
    assert _parts(store) == parts
    serial = ingest(corpus, tmp_path / "serial", scheduler="serial", progress=False)
    assert serial.ingested == first.ingested
    a, b = open_store(store), open_store(tmp_path / "serial")
    cols = ["report_id", "organ_id", "year", "previous_report_id", "n_ok", "n_errors", "n_warnings"]
    assert a.reports[cols].sort_values("report_id").reset_index(drop=True).equals(
        b.reports[cols].sort_values("report_id").reset_index(drop=True))


def test_bad_files_are_in_failures_and_every_good_file_is_in(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=30, bad=0.3, seed=5)
    store = tmp_path / "store"
    summary = ingest(corpus, store, scheduler="serial", progress=False, batch_size=7)
    c = _consistent(store)
    good = manifest[manifest["bad_kind"].isna()]
    bad = manifest[manifest["bad_kind"].notna()]
    assert len(bad) >= 5
    stored = c.reports.set_index("path")
    assert set(good["path"]) <= set(stored.index)
    failed = c.failures.set_index("sha256")
    # A truncated report may still be readable in part: then it is stored with its cells `missing`.
    truncated = bad[bad["bad_kind"] == "truncated"]
    for path in truncated["path"]:
        assert path in stored.index and stored.loc[path, "n_missing"] > 0 or \
            helpers.store._hash_file(path) in failed.index
    assert set(stored.index) - set(good["path"]) <= set(truncated["path"])
    # Files with the same bytes (two empty files, say) are one failure: identity is the content.
    unreadable = {helpers.store._hash_file(p): p for p in bad.loc[bad["bad_kind"] != "truncated", "path"]}
    assert set(unreadable) <= set(failed.index)
    for sha in unreadable:
        row = failed.loc[sha]
        assert row["error_class"] in {cls.__name__ for cls in helpers.ReportError.__subclasses__()}
        assert row["message"].startswith(row["path"]) and len(row["message"]) > len(row["path"]) + 10
    assert summary.failed == len(c.failures) and summary.ingested == len(c.reports)
    assert summary.ingested + summary.failed + summary.skipped == len(manifest) + 1  # + manifest.csv


def test_copies_of_one_file_are_one_report(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=3)
    twin = tmp_path / "elsewhere" / "copy.txt"
    twin.parent.mkdir()
    shutil.copy(manifest["path"][0], twin)
    (tmp_path / "elsewhere" / ".hidden.txt").write_bytes(Path(manifest["path"][1]).read_bytes() + b"\n")
    summary = ingest([corpus, twin.parent], tmp_path / "store", scheduler="serial", progress=False)
    assert summary.ingested == 3 and summary.skipped == 1  # the copy; the hidden file is not looked at
    assert len(open_store(tmp_path / "store").reports) == 3


def test_ingest_skips_the_store_inside_the_folder_it_walks(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=3)
    store = corpus / "store"
    ingest(corpus, store, scheduler="serial", progress=False)
    again = ingest(corpus, store, scheduler="serial", progress=False)
    assert again.failed == 0 and again.skipped == len(manifest) + 1


def test_ingest_leaves_a_saved_pages_own_folder_to_the_page(tmp_path: Path) -> None:
    """`NAME_files/` beside `NAME.html` holds what the page shows (its table pictures, frames):
    read with the page, never as reports; a `_files` folder with no page beside it is walked."""
    folder = tmp_path / "saved"
    names = ("page.html", "page_files/frame.html", "Old.files/frame.html", "lonely_files/report.html", "old.htm")
    for n, rel in enumerate(names):  # a report of its own in each file (a copy would be skipped as one)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(synth.render(synth.random_report(n), "html", rng=n).data)
    summary = ingest(folder, tmp_path / "store", scheduler="serial", progress=False)
    paths = sorted(Path(p).relative_to(folder).as_posix() for p in open_store(tmp_path / "store").reports["path"])
    assert paths == ["lonely_files/report.html", "old.htm", "page.html"]
    assert summary.ingested == 3 and summary.failed == 0


# ---------------------------------------------------------------------------------------------
# Crashes and interruptions


def test_a_killed_run_leaves_a_readable_store_and_the_rerun_completes(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=48, forms=("text", "html", "markdown"))
    store = tmp_path / "store"
    cmd = [sys.executable, "-c", "from helpers.cli import entry; entry()", "ingest", str(corpus),
           "--store", str(store), "--batch-size", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while not list((store / "reports").glob("part-*.parquet")):
            assert proc.poll() is None, "ingest ended before writing its first part"
            assert time.monotonic() < deadline, "no part file within 60 s"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes, mid-batch
        proc.wait()
    n = len(manifest) + 1
    mid = _consistent(store)
    done = len(mid.reports) + len(mid.failures)
    assert 0 < done < n, f"the kill came too late to test anything ({done} of {n} done)"
    print(f"killed after {done} of {n} files")
    summary = ingest(corpus, store, progress=False)
    assert summary.skipped == done and summary.ingested + summary.failed == n - done
    final = _consistent(store)
    assert len(final.reports) == len(manifest) and set(final.reports["path"]) == set(manifest["path"])
    assert list(final.failures["path"]) == [str(corpus / "manifest.csv")]
    assert not [p for t in TABLES for p in (store / t).iterdir() if p.name.startswith(".tmp-")]


def test_an_uncommitted_batch_is_ignored_then_cleaned(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=6)
    store = tmp_path / "store"
    ingest(corpus, store, scheduler="serial", progress=False)
    before = open_store(store)
    n_cells = len(before.cells)
    # A crash between the cells part and the reports part of a batch leaves an orphan.
    part = next((store / "cells").glob("part-*.parquet"))
    orphan = store / "cells" / "part-99999999T000000-dead00-00001.parquet"
    shutil.copy(part, orphan)
    assert len(open_store(store).cells) == n_cells
    ingest(corpus, store, scheduler="serial", progress=False)
    assert not orphan.exists()


def test_duplicate_batches_are_read_once(tmp_path: Path) -> None:
    corpus, manifest = _corpus(tmp_path, reports=6)
    store = tmp_path / "store"
    ingest(corpus, store, scheduler="serial", progress=False)
    before = open_store(store)
    # A whole batch present twice (e.g. a store folder copied over itself by hand).
    for t in TABLES:
        for p in list((store / t).glob("part-*.parquet")):
            shutil.copy(p, p.with_name(p.name.replace("part-", "part-zz-")))
    after = open_store(store)
    assert after.reports["report_id"].is_unique and len(after.reports) == len(before.reports)
    assert len(after.cells) == len(before.cells) and len(after.findings) == len(before.findings)
    assert after.sql("SELECT count(*) AS n FROM cells")["n"][0] == len(before.cells)


def _crash_on_boom(task: list[str]) -> list[str]:
    """A worker task that kills its process on the item "boom" (as a segfaulting parser would)."""
    if "boom" in task:
        os._exit(3)
    time.sleep(0.05)
    return [x.upper() for x in task]


def test_a_worker_crash_names_its_item_and_the_others_go_on() -> None:
    runner = _Runner()
    try:
        pending = collections.deque([["a", "b"], ["c", "boom", "d"], ["e"], ["f", "g"]])
        results, errors = [], []
        for task, result, error in runner.run(_crash_on_boom, pending):
            (errors.append(task) if error is not None else results.extend(result))
    finally:
        runner.close()
    assert errors == [["boom"]]
    assert sorted(results) == ["A", "B", "C", "D", "E", "F", "G"]


# ---------------------------------------------------------------------------------------------
# Organ-year links and cross-year findings


def _links(store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = open_store(store)
    reports = c.reports[["report_id", "organ_id", "organ_name", "year", "previous_report_id", "n_errors",
                         "n_warnings"]].sort_values("report_id").reset_index(drop=True)
    findings = c.findings.astype(str).sort_values(list(c.findings.columns)).reset_index(drop=True)
    return reports, findings


def test_years_out_of_order_give_the_same_cross_year_findings(tmp_path: Path) -> None:
    years = _chains(tmp_path)
    orders = {"all_at_once": [[2021, 2022, 2023]], "in_order": [[2021], [2022], [2023]],
              "reversed": [[2023], [2022], [2021]], "shuffled": [[2023], [2021], [2022]]}
    results = {}
    for name, runs in orders.items():
        store = tmp_path / name
        for run in runs:
            ingest([p for y in run for p in years[y]], store, scheduler="serial", progress=False)
        results[name] = _links(store)
    reports, findings = results["all_at_once"]
    assert reports["previous_report_id"].notna().sum() == 4 * 2
    x1 = findings[(findings["rule"] == "X1") & (findings["severity"] == "warning")]
    assert len(x1) == 2 * 2  # organs 1 and 3, years 2022 and 2023
    assert set(findings["rule"]) & cross_year_rules() >= {"X1", "COPY"}
    for name, (r, f) in results.items():
        pd.testing.assert_frame_equal(r, reports, obj=name)
        pd.testing.assert_frame_equal(f, findings, obj=name)


def test_the_links_cross_year_findings_equal_validating_the_whole_reports(tmp_path: Path) -> None:
    # The link phase loads only the cells and sections the cross-year rules read
    # (validate.cross_year_inputs); its findings must be those of the whole parsed reports.
    from helpers.validate import findings_frame, findings_list

    files = []
    for o in range(4):   # organ 1 breaks X1, organ 2 X2, organ 3 both; html and text alike
        prev = None
        for year in (2021, 2022, 2023):
            rep = prev = synth.random_report(500 + o * 10 + year, year=year, previous=prev)
            if year > 2021 and o in (1, 3):
                rep = synth.perturb(rep, "table_3/carried_over/commercial", 3)
            if year > 2021 and o in (2, 3):
                rep = synth.perturb(rep, "table_2/normative_docs/in_force", -2)
            rendered = synth.render(rep, ("text", "html")[o % 2], rng=o)
            files.append(tmp_path / f"organ{o}-{year}{rendered.suffix}")
            files[-1].write_bytes(rendered.data)
    store = tmp_path / "store"
    ingest(files, store, scheduler="serial", progress=False)
    c = open_store(store)
    cross = cross_year_rules()
    got = c.findings[c.findings["rule"].isin(cross)]
    reports = c.reports.set_index("report_id")
    want = []
    for rid, prev in reports["previous_report_id"].dropna().items():
        cur_r, prev_r = (helpers.read_report(reports.at[i, "path"]) for i in (rid, prev))
        f = findings_frame(findings_list(cur_r, previous=prev_r, only=cross))
        want.append(f.assign(report_id=rid))
    want_f = pd.concat(want, ignore_index=True)
    cols = ["report_id", "rule", "severity", "table", "row", "column", "expected", "found", "delta", "message",
            "source"]
    norm = lambda f: f[cols].astype(str).sort_values(cols).reset_index(drop=True)  # noqa: E731
    assert {"X1", "X2", "COPY"} <= set(want_f["rule"]) and (want_f["severity"] == "warning").any()
    pd.testing.assert_frame_equal(norm(got), norm(want_f))


def test_a_late_year_in_the_middle_relinks_the_next_year(tmp_path: Path) -> None:
    years = _chains(tmp_path, organs=2)
    store = tmp_path / "store"
    ingest(years[2021] + years[2023], store, scheduler="serial", progress=False)
    gap = open_store(store).reports
    assert gap["previous_report_id"].isna().all()  # 2023 has no 2022 yet
    summary = ingest(years[2022], store, scheduler="serial", progress=False)
    assert summary.linked == 4  # both 2022 reports and both 2023 reports got a previous year
    r = open_store(store).reports.set_index("report_id")
    for rid, row in r.iterrows():
        if row["year"] > 2021:
            prev = r.loc[row["previous_report_id"]]
            assert (prev["organ_id"], prev["year"]) == (row["organ_id"], row["year"] - 1)


def test_an_interrupted_link_is_redone_by_the_next_run(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    years = _chains(tmp_path)
    store = tmp_path / "store"
    ingest([p for y in sorted(years) for p in years[y]], store, scheduler="serial", progress=False, batch_size=3)
    expected = _links(store)
    # As if the run had stopped after rewriting the findings but before the reports parts.
    for part in (store / "reports").glob("part-*.parquet"):
        t = pq.read_table(part)
        i = t.schema.get_field_index("previous_report_id")
        pq.write_table(t.set_column(i, "previous_report_id", pa.nulls(len(t), pa.string())), part)
    assert open_store(store).reports["previous_report_id"].isna().all()
    again = ingest([p for y in years for p in years[y]], store, scheduler="serial", progress=False)
    assert again.ingested == 0 and again.linked == 4 * 2
    for got, want in zip(_links(store), expected):
        pd.testing.assert_frame_equal(got, want)


# ---------------------------------------------------------------------------------------------
# Reading, SQL and the command line


def test_tables_have_the_contract_columns_and_types(tmp_path: Path) -> None:
    corpus, _ = _corpus(tmp_path, reports=6)
    ingest(corpus, tmp_path / "store", scheduler="serial", progress=False)
    c = open_store(tmp_path / "store")
    for name in TABLES:
        frame = getattr(c, name)
        names = READ_SCHEMAS.get(name, SCHEMAS[name]).names   # reports: + fetch provenance (ogi fetch)
        assert list(frame.columns) == names, name
        assert list(c.sql(f"SELECT * FROM {name} LIMIT 0").columns) == names, name
    assert str(c.reports["year"].dtype) == "Int64" and str(c.cells["value"].dtype) == "Float64"
    assert c.reports["organ_kind"].isin(["department", "government", "township", "unknown"]).all()
    assert c.reports["level"].isin(["province", "city", "county", "township", "department", "unknown"]).all()
    assert set(c.sections["section"]) <= {"overview", "proactive", "requests", "review", "problems", "other"}
    n = c.sql("SELECT count(*) AS n FROM cells c JOIN reports r USING (report_id) WHERE r.year = 2022")
    assert n["n"][0] == (c.cells.merge(c.reports, on="report_id")["year"] == 2022).sum()


def test_open_store_refuses_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not an ogi store"):
        open_store(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="not an ogi store"):
        ingest([], tmp_path, scheduler="serial", progress=False)
    with pytest.raises(StoreError, match="no such file"):
        ingest([tmp_path / "missing"], tmp_path / "store", scheduler="serial", progress=False)


def test_an_empty_store_reads_as_empty_tables(tmp_path: Path) -> None:
    ingest([], tmp_path / "store", scheduler="serial", progress=False)
    c = open_store(tmp_path / "store")
    assert len(c.reports) == 0 and list(c.cells.columns) == SCHEMAS["cells"].names
    assert c.sql("SELECT count(*) AS n FROM findings")["n"][0] == 0


def test_cli_ingest_and_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus, manifest = _corpus(tmp_path, reports=6)
    store = str(tmp_path / "store")
    assert main(["ingest", str(corpus), "--store", store, "--scheduler", "serial", "--no-progress"]) == 2
    out = capsys.readouterr()
    assert f"ingested {len(manifest)}, skipped 0, failed 1" in out.out and "failures" in out.err
    assert main(["ingest", str(corpus), "--store", store, "--scheduler", "serial"]) == 0
    assert f"ingested 0, skipped {len(manifest) + 1}, failed 0" in capsys.readouterr().out
    assert main(["query", store, "SELECT year, count(*) AS n FROM reports GROUP BY year ORDER BY year",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"year": y, "n": int((manifest["year"] == y).sum())} for y in (2021, 2022, 2023)]
    assert main(["query", store, "SELECT path, error_class FROM failures", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["path,error_class", f"{corpus / 'manifest.csv'},NotAReport"]
    assert main(["query", store, "SELECT organ_name, year FROM reports ORDER BY year LIMIT 2"]) == 0
    assert "(2 rows)" in capsys.readouterr().out
    assert main(["query", store, "SELEC nonsense"]) == 2
    assert "ogi query:" in capsys.readouterr().err


def test_cli_synth_writes_a_corpus_ingest_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    assert main(["synth", "--reports", "8", "--years", "2022", "2023", "--forms", "text", "markdown",
                 "--error-share", "0.25", "--bad-share", "0.25", "--seed", "2", "--out", str(out)]) == 0
    assert "8 files" in capsys.readouterr().out
    manifest = pd.read_csv(out / ".manifest.csv")
    assert len(manifest) == 8 and manifest["bad_kind"].notna().sum() == 2
    summary = ingest(out, tmp_path / "store", scheduler="serial", progress=False)
    assert summary.ingested == 6
    assert main(["synth", "--reports", "2", "--years", "2022", "--forms", "papyrus", "--out", str(out)]) == 2


# ---------------------------------------------------------------------------------------------
# Dask


def test_dask_local_cluster_gives_the_same_store(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    corpus, manifest = _corpus(tmp_path, reports=9)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        summary = ingest(corpus, tmp_path / "dask", scheduler=cl, progress=False, batch_size=4)
    assert summary.ingested == len(manifest) and summary.failed == 1
    ingest(corpus, tmp_path / "serial", scheduler="serial", progress=False)
    a, b = _links(tmp_path / "dask"), _links(tmp_path / "serial")
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])


def test_a_previous_year_link_goes_to_the_file_the_panel_makes_primary() -> None:
    """Two equally read files of one organ-year (a PDF and its HTML page): the next year links to
    the one the panel's rule prefers (form order html first), not to the smaller report_id."""
    from helpers.store import _expected_links

    index = pd.DataFrame({"report_id": ["a" * 64, "b" * 64, "c" * 64], "agency": ["某局"] * 3,
                          "organ_id": ["o1"] * 3, "organ_name": ["某局"] * 3, "year": [2022, 2022, 2023],
                          "form": ["pdf", "html", "text"], "n_ok": [200, 200, 200], "n_inferred": [0, 0, 0],
                          "n_corrected": [0, 0, 0], "n_unreadable": [0, 0, 0], "previous_report_id": [None] * 3})
    links = _expected_links(index)
    assert links.loc[2, "exp_prev"] == "b" * 64
    index.loc[1, "n_unreadable"] = 3                        # the page read less well: the PDF stands for it
    assert _expected_links(index).loc[2, "exp_prev"] == "a" * 64


# ---------------------------------------------------------------------------------------------
# The ingest's hot path: plain rows per task, one Arrow batch per table (no pandas per report)


def _frame_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The rows of a file as the store wrote them before the plain path: from `Report.cells` and
    `validate`'s DataFrames (the reference the plain rows must equal)."""
    from helpers.parse import read_report
    from helpers.store import _to_arrow
    from helpers.validate import validate

    report = read_report(path)
    cells = report.cells.copy()
    cells.insert(0, "report_id", report.sha256)
    findings = validate(report).copy()
    findings.insert(0, "report_id", report.sha256)
    sections = pd.DataFrame([{"report_id": report.sha256, "section": k, "text": v}
                             for k, v in report.sections.items() if v is not None],
                            columns=["report_id", "section", "text"])
    return {"cells": _to_arrow(cells, "cells").to_pylist(), "findings": _to_arrow(findings, "findings").to_pylist(),
            "sections": _to_arrow(sections, "sections").to_pylist()}


def test_a_task_gives_one_batch_per_table_equal_to_the_dataframe_rows(tmp_path: Path) -> None:
    from helpers.store import _parse_task

    corpus, _ = _corpus(tmp_path, reports=6, bad=0.0, forms=("text", "html", "markdown", "flat"))
    files = sorted(p for p in corpus.iterdir() if p.suffix != ".csv")
    res = _parse_task([(str(p), None) for p in files])
    assert res["kind"] == "batch" and len(res["reports"]) + len(res["failures"]) == len(files)
    assert len(res["reports"]) >= 4
    for name in ("cells", "findings", "sections"):
        assert res[name].schema.equals(SCHEMAS[name])
    by_path = {r["row"]["path"]: r["report_id"] for r in res["reports"]}
    for path, rid in by_path.items():
        want = _frame_rows(Path(path))
        for name in ("cells", "findings", "sections"):
            mine = [r for r in res[name].to_pylist() if r["report_id"] == rid]
            assert mine == want[name], (path, name)
            assert len(mine) > 0 or name == "findings"
    got = {name: res[name].to_pandas() for name in ("cells", "findings")}
    rows = {r["report_id"]: r["row"] for r in res["reports"]}
    for rid, row in rows.items():
        cells = got["cells"][got["cells"]["report_id"] == rid]
        assert row["n_cells"] == len(cells)
        assert row["n_ok"] == int((cells["status"] == "ok").sum())
        fnd = got["findings"][got["findings"]["report_id"] == rid]
        assert row["n_errors"] == int((fnd["severity"] == "error").sum())


def test_a_write_error_of_the_writer_thread_is_one_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.store as store_mod

    corpus, _ = _corpus(tmp_path, reports=6)
    store = tmp_path / "store"

    def full_disk(table: Any, dest: Path) -> None:
        raise StoreError(f"{dest}: cannot write: No space left on device; free some space")

    monkeypatch.setattr(store_mod, "_atomic_write", full_disk)
    with pytest.raises(StoreError, match="No space left"):
        ingest(corpus, store, scheduler="serial", progress=False, batch_size=2)
    assert not list((store / "reports").glob("part-*.parquet"))   # nothing committed


def test_the_cli_help_names_the_default_batch_size(capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.store import DEFAULT_BATCH_SIZE

    try:
        main(["ingest", "--help"])
    except SystemExit:
        pass
    assert f"default {DEFAULT_BATCH_SIZE}" in " ".join(capsys.readouterr().out.split())


# ---------------------------------------------------------------------------------------------
# Kept sources: durable and named before the batch that needs them commits


def _kept(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (store / "sources").rglob("*") if p.is_file()}


def _kept_shas(store: Path) -> set[str]:
    """The sha256 of every kept copy's bytes, asserting each is named for it (temp files are not)."""
    out = set()
    for name, data in _kept(store).items():
        sha = hashlib.sha256(data).hexdigest()
        assert name.split(".")[0] == sha, f"sources/{name} does not hold the file it is named for"
        out.add(sha)
    return out


def _file_shas(folder: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_every_report_has_its_whole_source_in_place_when_its_batch_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.store as store_mod

    corpus, _ = _corpus(tmp_path, reports=9)
    store = tmp_path / "store"
    real = store_mod._atomic_write
    checked: list[str] = []

    def commit_checks(table: Any, dest: Path) -> None:
        if dest.parent.name == "reports":   # the commit: every report's copy is whole, under its name
            for rid, path in zip(table.column("report_id").to_pylist(), table.column("path").to_pylist()):
                kept = store_mod._source_path(store, rid)
                assert kept is not None and kept.read_bytes() == Path(path).read_bytes()
                checked.append(rid)
        real(table, dest)

    monkeypatch.setattr(store_mod, "_atomic_write", commit_checks)
    summary = ingest(corpus, store, scheduler="serial", progress=False, batch_size=2)
    assert len(set(checked)) == summary.ingested > 4   # (the link phase rewrites some parts: checked again)
    assert _kept_shas(store) == _file_shas(corpus)    # one copy of every file, no temp file left


def test_without_syncfs_every_copy_is_fsynced_before_it_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.store as store_mod

    corpus, _ = _corpus(tmp_path, reports=4)
    store = tmp_path / "store"
    synced: set[str] = set()
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.add(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).parent.parent.name == "sources":
            assert Path(src).name in synced, f"{src} named before it was fsynced"
        real_replace(src, dst)

    monkeypatch.setattr(store_mod, "_synced", lambda folder: False)
    monkeypatch.setattr(store_mod.os, "fsync", fsync)
    monkeypatch.setattr(store_mod.os, "replace", replace)
    summary = ingest(corpus, store, scheduler="serial", progress=False)
    assert summary.ingested and _kept_shas(store) == _file_shas(corpus)


def test_a_copy_that_fails_leaves_no_partial_source_and_the_rerun_keeps_it_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil as shutil_mod

    corpus, _ = _corpus(tmp_path, reports=4)
    store = tmp_path / "store"
    real = shutil_mod.copyfile
    calls = []

    def half_then_full_disk(src: Any, dst: Any, **kw: Any) -> Any:
        calls.append(src)
        if len(calls) == 2:
            Path(dst).write_bytes(Path(src).read_bytes()[:10])
            raise OSError(28, "No space left on device")
        return real(src, dst, **kw)

    monkeypatch.setattr(shutil_mod, "copyfile", half_then_full_disk)
    with pytest.raises(StoreError, match="No space left"):
        ingest(corpus, store, scheduler="serial", progress=False)
    assert not list((store / "reports").glob("part-*.parquet"))   # the batch did not commit
    assert _kept_shas(store) < _file_shas(corpus)                  # nor left a partial or temp copy
    monkeypatch.setattr(shutil_mod, "copyfile", real)
    summary = ingest(corpus, store, scheduler="serial", progress=False)
    assert summary.ingested and _kept_shas(store) == _file_shas(corpus)
