"""Corrections by hand: the CLI, a corrections file and the explorer (in a live kernel) correct
unreadable cells; the store, an export and a brief show them as `corrected` with the reason, and a
relation that could not be evaluated because of the unreadable cell is evaluated."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import CorrectionRefused, correct, open_store
from helpers.cli import main
from helpers.store import ingest

synth = pytest.importorskip("helpers.synth")
from helpers.synth.families import render_family  # noqa: E402


def _write(tmp: Path, n: int = 3) -> dict[str, dict]:
    """`n` reports printing Table 3 twice with differing copies (their differing cells: unreadable);
    returns {file name: the generator's true cells}."""
    folder = tmp / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(n):
        rep = synth.random_report(100 + i, year=2022)
        out = render_family(rep, "duplicate", "text", rng=i)
        (folder / f"r{i}{out.suffix}").write_bytes(out.data)
        truth[f"r{i}{out.suffix}"] = rep.cells
    return truth


def _blocked(corpus, rid: str) -> list[tuple[str, str]]:
    """(relation key, the one unreadable cell) for R1 relations of a report not evaluated because of one cell."""
    f = corpus.findings
    f = f[(f["report_id"] == rid) & (f["rule"] == "R1") & (f["severity"] == "info")]
    out = []
    for t, r, c, msg in zip(f["table"], f["row"], f["column"], f["message"]):
        m = re.search(r"unreadable: ([^)]*)\)", str(msg))
        if m and "," not in m.group(1) and "not evaluated" in str(msg):
            out.append((f"{t}/{r}/{c}", f"{t}/{m.group(1).strip()}"))
    return out


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, dict, pd.DataFrame]:
    truth = _write(tmp_path)
    store = tmp_path / "store"
    ingest(tmp_path / "reports", store, scheduler="serial", progress=False)
    return store, truth, open_store(store).reports


def test_three_corrections_cli_file_and_explorer_in_a_live_kernel(stored, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    store, truth, reports = stored
    before = open_store(store)
    before.reports, before.cells, before.findings   # read now: the parts are rewritten by the corrections
    picks = []   # (report_id, relation key, cell key, true value)
    for rid, path in zip(reports["report_id"], reports["path"]):
        blocked = _blocked(before, rid)
        assert blocked, f"{path}: no relation blocked by a single unreadable cell"
        rel, key = blocked[0]
        picks.append((rid, rel, key, float(truth[Path(path).name][key])))
    (r1, rel1, k1, v1), (r2, rel2, k2, v2), (r3, rel3, k3, v3) = picks

    # 1. the command line
    assert main(["correct", str(store), r1[:10], k1, f"{v1:g}", "--why", "page 3, second copy", "--by", "cli"]) == 0
    assert "corrected" in capsys.readouterr().out
    # 2. a corrections file
    csv = tmp_path / "fixes.csv"
    csv.write_text(f"report_id,key,value,as,why,by\n{r2},{k2},{v2:g},ok,from the PDF original,file\n", encoding="utf-8")
    assert main(["ingest", "--store", str(store), "--corrections", str(csv)]) == 0
    assert "1 correction(s) applied, 0 refused" in capsys.readouterr().out
    # 3. the explorer's form, in a live kernel (nbclient), through the same public function
    import nbformat
    from nbclient import NotebookClient

    organ = str(reports.set_index("report_id").loc[r3, "organ_id"])
    code = (f"from helpers.explore import Explorer\nex = Explorer({str(store)!r}, organ={organ!r})\n"
            f"assert {k3!r} in list(ex.cells_to_check()['key'])\nc = ex.controls\n"
            f"c['key'].value = {k3!r}\nc['value'].value = {f'{v3:g}'!r}\nc['why'].value = 'checked in the explorer'\n"
            "c['by'].value = 'kernel'\nc['submit'].click()\nprint(ex.state.correction_applied, ex.state.to_check)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert text.startswith("True"), text

    after = open_store(store)
    corr = after.corrections
    assert len(corr) == 3 and set(corr["by"]) == {"cli", "file", "kernel"}
    assert set(corr["parsed_status"]) == {"unreadable"} and corr["parsed_value"].isna().all()
    cells = after.cells
    for rid, rel, key, value in picks:
        t, r, c = key.split("/")
        row = cells[(cells["report_id"] == rid) & (cells["table"] == t) & (cells["row"] == r) & (cells["column"] == c)]
        assert len(row) == 1 and row.iloc[0]["status"] == "corrected" and row.iloc[0]["value"] == value
        old = before.cells
        was = old[(old["report_id"] == rid) & (old["table"] == t) & (old["row"] == r) & (old["column"] == c)]
        assert row.iloc[0]["raw"] == was.iloc[0]["raw"]                    # the printed text is kept
        cid = corr.loc[corr["report_id"] == rid, "correction_id"].iloc[0]
        assert cid in row.iloc[0]["note"]                                   # provenance names the correction
        # the relation blocked by the unreadable cell is now evaluated
        assert (rel, key) not in _blocked(after, rid)
        f = after.findings
        rt, rr, rc = rel.split("/")
        here = f[(f["report_id"] == rid) & (f["rule"] == "R1") & (f["table"] == rt) & (f["row"] == rr) & (f["column"] == rc)]
        assert not here["message"].str.contains("not evaluated").any()
    counts = after.reports.set_index("report_id")
    assert (counts.loc[[p[0] for p in picks], "n_corrected"] == 1).all()
    was = before.reports.set_index("report_id")["n_unreadable"]
    assert ((counts["n_unreadable"] + counts["n_corrected"]).reindex(was.index) == was).all()

    # the export: corrected values, status and reason, and the version it was made from
    from helpers import export_store

    res = export_store(store, "csv", tmp_path / "export")
    ex = pd.read_csv(res.path / "cells.csv")
    got = ex[ex["status"] == "corrected"]
    assert len(got) == 3 and set(got["value"]) == {v1, v2, v3}
    assert got["note"].str.contains("page 3, second copy").any()
    import json

    package = json.loads((res.path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["store_version"] == after.version_id == after.versions["version"].iloc[-1]

    # a brief: the corrected value, its tag and reason; the footer names the same version
    from helpers import briefs

    data = briefs.report_from_store(briefs.store_data(store), r1)
    tables = str(briefs.statistical_tables(data))
    assert "已更正" in tables and "page 3, second copy" in tables
    assert after.version_id in str(briefs.footer(data))


def test_refusals_name_the_problem(stored) -> None:
    store, _, reports = stored
    rid = str(reports["report_id"].iloc[0])
    corpus = open_store(store)
    ok_cell = corpus.cells[(corpus.cells["report_id"] == rid) & (corpus.cells["status"] == "ok")].iloc[0]
    key = f"{ok_cell['table']}/{ok_cell['row']}/{ok_cell['column']}"
    cases = [("0" * 64, key, "1", "ok", "x", "not in the store"),
             (rid, "table_3/nothing/total", "1", "ok", "x", "is not a cell"),
             (rid, key, "twelve", "ok", "x", "is not a number"),
             (rid, key, "1", "ok", "", "say why"),
             (rid, key, f"{ok_cell['value']:g}", "ok", "x", "already reads"),
             (rid, key, "5", "blank", "x", "holds no number")]
    n_versions = len(corpus.versions)
    for r, k, v, as_, why, expect in cases:
        with pytest.raises(CorrectionRefused, match=expect):
            correct(store, r, k, v, why=why, as_=as_)
        assert main(["correct", str(store), r, k, v, "--why", why or " ", "--as", as_]) == 2
    assert len(open_store(store).corrections) == 0 and len(open_store(store).versions) == n_versions
    # an ok cell may be corrected (a parser error), and the message says so; --as blank stores no number
    res = correct(store, rid, key, str(float(ok_cell["value"]) + 1), why="misread")
    assert "parser error" in res.message
    res = correct(store, rid, key, "", why="the original is empty there", as_="blank")
    c = open_store(store)
    cell = c.cells[(c.cells["report_id"] == rid) & (c.cells["table"] == ok_cell["table"]) &
                   (c.cells["row"] == ok_cell["row"]) & (c.cells["column"] == ok_cell["column"])].iloc[0]
    assert cell["status"] == "corrected" and pd.isna(cell["value"])
    # the second correction of a cell records what the parser read, not the first correction
    assert list(c.corrections["parsed_status"]) == ["ok", "ok"]
    assert c.reports.set_index("report_id").loc[rid, "n_corrected"] == 1


def test_a_corrections_file_applies_the_good_rows_and_names_the_bad(stored, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store, _, reports = stored
    rid = str(reports["report_id"].iloc[0])
    c = open_store(store)
    bad = c.cells[(c.cells["report_id"] == rid) & (c.cells["status"] == "unreadable")].iloc[0]
    key = f"{bad['table']}/{bad['row']}/{bad['column']}"
    f = tmp_path / "fix.csv"
    f.write_text(f"report_id,key,value,as,why,by\n{rid},{key},4,,seen,me\n{rid},table_9/x/y,1,ok,seen,me\n",
                 encoding="utf-8")
    assert main(["ingest", "--store", str(store), "--corrections", str(f)]) == 2
    out = capsys.readouterr()
    assert "1 correction(s) applied, 1 refused" in out.out and "table_9/x/y" in out.err
    assert len(open_store(store).corrections) == 1
    missing = tmp_path / "cols.csv"
    missing.write_text("report_id,key\n", encoding="utf-8")
    assert main(["ingest", "--store", str(store), "--corrections", str(missing)]) == 2
    assert "missing: value, why" in capsys.readouterr().err


def test_the_explorer_lists_the_cells_to_check_and_records_a_refusal(stored) -> None:
    from helpers.explore import Explorer

    store, _, reports = stored
    rid = str(reports["report_id"].iloc[0])
    ex = Explorer(store, organ=str(reports["organ_id"].iloc[0]))
    assert ex.state.report_id == rid
    table = ex.cells_to_check()
    cells = open_store(store).cells
    mine = cells[(cells["report_id"] == rid) & cells["status"].isin(["unreadable", "inferred"])]
    want = {f"{t}/{r}/{c}" for t, r, c in zip(mine["table"], mine["row"], mine["column"])}
    assert want <= set(table["key"]) and ex.state.to_check == len(table) > 0
    assert (table["status"].isin(["unreadable", "inferred"]) | (table["flagged_by"] != "")).all()
    assert {"raw", "source"} <= set(table.columns)
    state = ex.correct(table["key"].iloc[0], "many", why="x")
    assert state.correction_applied is False and "is not a number" in state.correction
    assert len(open_store(store).corrections) == 0
    assert "cells to check" in str(ex.render()) and "is not a number" in str(ex.render())


def test_a_stata_export_labels_a_cell_corrected_to_no_number(stored, tmp_path: Path) -> None:
    import pyreadstat

    from helpers import export_store
    from helpers.export import status_name, variable_name

    store, _, reports = stored
    rid = str(reports["report_id"].iloc[0])
    c = open_store(store)
    bad = c.cells[(c.cells["report_id"] == rid) & (c.cells["status"] == "unreadable")].iloc[0]
    key = f"{bad['table']}/{bad['row']}/{bad['column']}"
    correct(store, rid, key, "", why="the original prints a dash", as_="placeholder")
    res = export_store(store, "stata", tmp_path / "wide.dta", layout="wide")
    df, meta = pyreadstat.read_dta(str(res.path), user_missing=True, disable_datetime_conversion=True)
    name = variable_name(key)
    row = df[df["report_id"] == rid].iloc[0]
    assert row[name] == "f" and row[status_name(name, key)] == "corrected"
    assert meta.variable_value_labels[name]["f"] == "人工更正为无数值"
