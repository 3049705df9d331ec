"""Store versions: one per ingest, correction and re-parse; immutable snapshots; `ogi diff` equals an
independent comparison of two versions' cells; prune; a store of the old format is migrated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import correct, diff_versions, list_versions, open_store, prune_versions
from helpers.cli import main
from helpers.store import MARKER, SCHEMAS, ingest

synth = pytest.importorskip("helpers.synth")

KEY = ["report_id", "table", "row", "column"]


def _corpus(folder: Path, reports: int, seed: int) -> Path:
    synth.write_corpus(folder, reports=reports, years=[2021, 2022], forms=["text", "html"], error_share=0.3, seed=seed)
    (folder / "manifest.csv").unlink()
    return folder


def _cells_of(store: Path, version: str) -> pd.DataFrame:
    """A version's cells read straight from the files its manifest lists (no helpers reader)."""
    manifest = next((store / "versions").glob(f"v-*-{version}.json"))
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    files = [store / "snapshots" / e["sha256"] / e["name"] for e in doc["parts"]["cells"]]
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A store with three versions: an ingest, a second ingest, then two corrections."""
    tmp = tmp_path_factory.mktemp("versions")
    store = tmp / "store"
    ingest(_corpus(tmp / "a", 6, 1), store, scheduler="serial", progress=False)
    ingest(_corpus(tmp / "b", 4, 2), store, scheduler="serial", progress=False)
    c = open_store(store)
    ok = c.cells[c.cells["status"] == "ok"].iloc[[0, 7]]
    for i, rec in enumerate(ok.to_dict("records")):
        correct(store, rec["report_id"], f"{rec['table']}/{rec['row']}/{rec['column']}", str(rec["value"] + 3),
                why=f"test {i}", by="t")
    return store, list(list_versions(store)["version"])


def test_every_write_records_a_version_and_a_no_op_does_not(history, tmp_path: Path) -> None:
    store, ids = history
    v = list_versions(store)
    assert len(ids) == 4 and len(set(ids)) == 4
    assert list(v["summary"].str.split(":").str[0]) == ["ingest", "ingest", "correct", "correct"]
    assert list(v["corrections"]) == [0, 0, 1, 2] and v["reports"].is_monotonic_increasing
    assert open_store(store).version_id == ids[-1]


def test_diff_equals_an_independent_comparison_of_the_cells(history, capsys: pytest.CaptureFixture[str]) -> None:
    store, ids = history
    for old, new in [(ids[0], ids[1]), (ids[1], ids[3]), (ids[0], ids[3]), (ids[3], ids[0])]:
        a, b = _cells_of(store, old), _cells_of(store, new)
        m = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
        sa, sb = m["status_a"].astype(object).fillna("-"), m["status_b"].astype(object).fillna("-")
        same_status = pd.Series([str(x) == str(y) for x, y in zip(sa, sb)], index=m.index, dtype=bool)
        va, vb = m["value_a"].astype("float64"), m["value_b"].astype("float64")
        same_value = (va.isna() & vb.isna()) | (va == vb)
        want = m[(m["_merge"] != "both") | ~same_status | ~same_value].sort_values(KEY)
        got = diff_versions(store, old, new)
        assert len(got) == len(want), (old, new)
        assert list(map(tuple, got[KEY].to_numpy())) == list(map(tuple, want[KEY].to_numpy()))
        assert list(got["change"].value_counts().sort_index().items()) == list(
            want["_merge"].astype(str).map({"both": "changed", "left_only": "removed", "right_only": "added"})
            .value_counts().sort_index().items())
        assert main(["diff", str(store), old[:8], new, "--format", "csv"]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0].split(",")[:4] == KEY and len(lines) == len(want) + 1
    corr = diff_versions(store, ids[2], ids[3])
    assert len(corr) == 1 and corr.iloc[0]["old_status"] == "ok" and corr.iloc[0]["new_status"] == "corrected"


def test_a_version_is_immutable_and_opens_as_it_was(history) -> None:
    store, ids = history
    old = open_store(store, version=ids[1])
    assert old.version_id == ids[1] and len(old.corrections) == 0
    assert (old.cells["status"] != "corrected").all()
    assert (open_store(store).cells["status"] == "corrected").sum() == 2
    assert len(open_store(store, version="latest~3").reports) == 6


def test_versions_cli_formats_and_prune(history, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, ids = history
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    assert main(["versions", str(copy), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == ids and {"created", "ogi_version", "summary"} <= set(rows[0])
    assert main(["versions", str(copy)]) == 0
    assert "(4 versions)" in capsys.readouterr().out
    assert main(["diff", str(copy), "nope", "latest"]) == 2
    assert "is not a version of this store" in capsys.readouterr().err
    before = sum(1 for _ in (copy / "snapshots").rglob("*.parquet"))
    assert main(["versions", str(copy), "--prune", "1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1].startswith(ids[-1])
    after = sum(1 for _ in (copy / "snapshots").rglob("*.parquet"))
    assert after < before
    assert len(open_store(copy, version=ids[-1]).cells) == len(open_store(copy).cells)
    with pytest.raises(Exception, match="not a version"):
        open_store(copy, version=ids[0])
    assert prune_versions(copy, 1) == []


def test_a_store_of_the_old_format_is_migrated_in_place(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest(_corpus(tmp_path / "a", 4, 5), store, scheduler="serial", progress=False)
    want = open_store(store).cells
    # make it a format-1 store: no versions, snapshots or sources, reports without the new columns
    for name in ("versions", "snapshots", "sources"):
        shutil.rmtree(store / name)
    for part in (store / "reports").glob("part-*.parquet"):
        t = pq.read_table(part)
        pq.write_table(t.drop(["n_corrected", "parser_version"]), part)
    meta = json.loads((store / MARKER).read_text())
    (store / MARKER).write_text(json.dumps(meta | {"format": 1}))
    c = open_store(store)            # opening migrates
    assert json.loads((store / MARKER).read_text())["format"] == 2
    assert list(c.reports.columns[:len(SCHEMAS["reports"])]) == SCHEMAS["reports"].names
    assert (c.reports["n_corrected"] == 0).all() and c.reports["parser_version"].isna().all()
    assert c.cells.equals(want)
    assert list(list_versions(store)["summary"]) == ["migrated from store format 1 to 2"]
    # no source copies were kept then: a re-parse reads the original files, which are unchanged
    from helpers import reparse_store

    res = reparse_store(store, progress=False)
    assert res.reparsed == 4 and not res.no_source and not res.transitions
    assert open_store(store).reports["parser_version"].notna().all()
    assert open_store(store).cells.equals(want)
