"""Exports of a generated multi-year corpus that mixes both formats and publishes some organ-years
twice: every table, the panel (one row per organ-year, rebuilt here independently from the cells),
statuses that survive every format, Stata extended missing values, Frictionless data packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.export import SUFFIXES, TABLES, export_store, status_name, variable_name
from helpers.metrics import panel_keys
from helpers.template import common, get_template

OGI = str(Path(sys.executable).parent / "ogi")
FORM_ORDER = ["html", "docx", "pdf", "text"]     # the panel keeps the page before its copies
STATA_CODES = {"blank": "a", "placeholder": "b", "unreadable": "c", "missing": "d", "not_in_format": "e"}


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Path:
    """A folder built once per test session, also under pytest-xdist (the workers share the base
    temporary folder; an flock makes one of them build it while the others wait)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".done").exists():
            build(root)
            (root / ".done").touch()
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """9 generated reports over 2020–2022 (2019 and 2021 formats), plus one report published as a
    page and as text (same numbers) and one published twice with a number changed (a conflict)."""
    return _shared(tmp_path_factory, "export-package", _build_store) / "store"


def _build_store(root: Path) -> None:
    from helpers.store import ingest
    from helpers.synth import perturb, random_report, render, write_corpus

    files = root / "files"
    write_corpus(files, reports=9, years=[2020, 2021, 2022], forms=["text", "html"], error_share=0.3, seed=7)
    (files / "manifest.csv").unlink(missing_ok=True)
    twin = random_report(11, template="2021", year=2022, agency="测试市双份局", placeholder_share=0.05)
    (files / "twin.html").write_bytes(render(twin, "html").data)
    (files / "twin.txt").write_bytes(render(twin, "text").data)
    other = random_report(12, template="2019", year=2020, agency="测试县冲突办")
    (files / "conflict_a.txt").write_bytes(render(other, "text").data)
    changed = perturb(other, "table_3/granted/total", 5)
    (files / "conflict_b.html").write_bytes(render(changed, "html").data)
    ingest([files], root / "store", scheduler="serial", progress=False)
    from helpers.store import open_store

    corpus = open_store(root / "store")
    for to in SUFFIXES:
        export_store(corpus, to, root / "exports" / to, layout="wide")


@pytest.fixture(scope="module")
def corpus(store: Path):
    from helpers.store import open_store

    c = open_store(store)
    assert set(c.reports["template"]) == {"2019", "2021"} and len(c.reports) == 13
    return c


@pytest.fixture(scope="module")
def exports(store: Path) -> dict[str, Path]:
    """Every table in every format, wide, exported once with the store (read only by the tests)."""
    return {to: store.parent / "exports" / to for to in SUFFIXES}


def _read(path: Path, to: str) -> pd.DataFrame:
    if to == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if to == "parquet":
        return pd.read_parquet(path)
    if to == "xlsx":
        return pd.read_excel(path, sheet_name="data", dtype=str, keep_default_na=False)
    import pyreadstat

    df, _ = pyreadstat.read_dta(path, user_missing=True)
    return df


def _independent_panel(corpus) -> dict[tuple[str, int], dict[str, tuple[float | None, str]]]:
    """(organ_id, year) → {2021 key or group key: (value, status)}, from the cells and common.yaml
    alone: the most completely read file per organ-year; 2019 keys renamed by the map; the （六）
    group summed."""
    comp = common()["comparable"]
    rows21 = comp["table_3_2021_to_2019"]
    t2 = comp["table_2_2021_to_2019"]
    keys19 = set(get_template("2019").keys)
    group = {"table_3/other_handling/" + c.split("/")[-1]: [f"table_3/{r}/{c.split('/')[-1]}" for r in rows21]
             for c in get_template("2019").keys if c.startswith("table_3/other_handling/")}
    cells = corpus.cells.assign(key=lambda d: d["table"] + "/" + d["row"] + "/" + d["column"])
    by_report = {rid: dict(zip(g["key"], zip(g["value"], g["status"]))) for rid, g in cells.groupby("report_id")}
    out = {}
    for (organ, year), g in corpus.reports.groupby(["organ_id", "year"]):
        forms = dict(zip(g["report_id"], g["form"]))

        def score(rid: str) -> tuple[int, int, int]:
            sts = [s for _, s in by_report[rid].values()]
            return (-sum(s in ("ok", "inferred") for s in sts), sum(s == "unreadable" for s in sts),
                    FORM_ORDER.index(forms[rid]))
        rid = sorted(g["report_id"], key=lambda r: (score(r), r))[0]
        tmpl = g.set_index("report_id").loc[rid, "template"]
        c = by_report[rid]
        vals: dict[str, tuple[float | None, str]] = {}
        for key in get_template("2021").keys:
            t, r, col = key.split("/")
            if tmpl == "2021":
                src = key
            elif t == "table_2":
                src = t2.get(key)
            else:
                src = None if r in rows21 else key
            if src is None or src not in keys19 and tmpl == "2019":
                vals[key] = (None, "not_in_format")
            else:
                v, s = c.get(src, (None, "missing"))
                vals[key] = (None if pd.isna(v) else float(v), s)
        for gkey, members in group.items():
            if tmpl == "2019":
                v, s = c.get(gkey, (None, "missing"))
                vals[gkey] = (None if pd.isna(v) else float(v), s)
            else:
                parts = [c.get(m, (None, "missing")) for m in members]
                if all(s in ("ok", "inferred") for _, s in parts):
                    vals[gkey] = (sum(float(v) for v, _ in parts), "ok" if all(s == "ok" for _, s in parts)
                                  else "inferred")
                else:
                    vals[gkey] = (None, next(s for _, s in parts if s not in ("ok", "inferred")))
        out[(organ, int(year))] = vals
    return out


@pytest.mark.parametrize("to", list(SUFFIXES))
def test_the_panel_has_one_row_per_organ_year_equal_to_an_independent_rebuild(corpus, exports, to: str) -> None:
    df = _read(exports[to] / f"panel{SUFFIXES[to]}", to)
    want = _independent_panel(corpus)
    assert len(df) == len(want) == corpus.reports.groupby(["organ_id", "year"]).ngroups
    for rec in df.to_dict("records"):
        vals = want[(str(rec["organ_id"]), int(float(rec["year"])))]
        for key in panel_keys():
            name = variable_name(key)
            v, s = vals[key]
            assert str(rec[status_name(name, key)]) == s, (to, key)
            got = rec[name]
            if to == "stata" and s in STATA_CODES:
                assert got == STATA_CODES[s], (key, got)           # extended missing value .a–.e
            elif v is None:
                assert got in ("", None) or pd.isna(got), (to, key, got)
            else:
                assert float(got) == pytest.approx(v), (to, key)
    twin = df[df["n_files"].astype(float) == 2]
    assert len(twin) == 2 and (twin["duplicates"].astype(str).str.len() == 64).all()


@pytest.mark.parametrize("to", list(SUFFIXES))
def test_every_status_survives_in_every_format(corpus, exports, tmp_path: Path, to: str) -> None:
    # status is an ordered categorical: value_counts lists every category, those with no cell as 0
    store_counts = {k: n for k, n in corpus.cells["status"].value_counts().items() if n}
    long_path = tmp_path / f"long{SUFFIXES[to]}"
    export_store(corpus, to, long_path, layout="long")
    long = _read(long_path, to)
    assert long["status"].value_counts().to_dict() == store_counts
    wide = _read(exports[to] / f"cells{SUFFIXES[to]}", to)
    template_keys = set(get_template("2019").keys) | set(get_template("2021").keys)
    inside = corpus.cells[(corpus.cells["table"] + "/" + corpus.cells["row"] + "/" + corpus.cells["column"])
                          .isin(template_keys)]
    st_cols = [c for c in wide.columns if c.endswith("_st")]
    counts = pd.Series(wide[st_cols].to_numpy().ravel()).value_counts().to_dict()
    counts.pop("not_in_format", None)
    assert counts == {k: n for k, n in inside["status"].value_counts().items() if n}
    if to == "stata":   # the value variables hold the same statuses as extended missing values
        vals = pd.Series(wide[[c[:-3] for c in st_cols]].to_numpy().ravel())
        for status, code in STATA_CODES.items():
            if status != "not_in_format":
                assert int((vals == code).sum()) == int(counts.get(status, 0)), status


def test_stata_extended_missing_values_have_value_labels(exports) -> None:
    import pyreadstat

    _, meta = pyreadstat.read_dta(exports["stata"] / "panel.dta", user_missing=True)
    name = variable_name("table_3/granted/total")
    present = {code for codes in meta.missing_user_values.values() for code in codes}
    assert {"a", "b", "e"} <= present <= set("abcde")      # blanks, placeholders, 2019 gaps in this corpus
    assert meta.variable_value_labels[name] == {"a": "空白", "b": "占位符", "c": "无法识读", "d": "缺失", "e": "本格式无此项",
                                                   "f": "人工更正为无数值"}
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert labels[name].startswith("表3") and labels["year"] == "报告年度"


@pytest.mark.parametrize("to", ["csv", "parquet"])
def test_frictionless_validates_the_data_package(corpus, tmp_path: Path, to: str) -> None:
    """A package of every table (wide cells for CSV) for the twin and conflict organ-years, one of
    each format (frictionless reads Parquet row by row, per column, over 400+ panel columns: a few
    rows keep the test short; the package is the same code path as any export)."""
    frictionless = pytest.importorskip("frictionless")
    from helpers.export import export_tables

    r = corpus.reports
    pick = r[r["agency"].isin(["测试市双份局", "测试县冲突办"])]        # 2021 twins, 2019 conflicting pair
    export_tables(pick, corpus.cells, to, tmp_path / "pkg", layout="wide" if to == "csv" else "long",
                  findings=corpus.findings)
    report = frictionless.validate(str(tmp_path / "pkg" / "datapackage.json"))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "type", "note"])[:5]
    pkg = json.loads((tmp_path / "pkg" / "datapackage.json").read_text(encoding="utf-8"))
    rows = {res["name"]: res for res in pkg["resources"]}
    assert set(rows) == {"reports", "cells", "findings", "metrics", "panel", "codebook"}
    if to == "csv":
        assert len(pd.read_csv(tmp_path / "pkg" / "panel.csv")) == 2


@pytest.mark.parametrize("to", list(SUFFIXES))
def test_the_data_package_describes_every_file(corpus, exports, to: str) -> None:
    pkg = json.loads((exports[to] / "datapackage.json").read_text(encoding="utf-8"))
    names = [r["name"] for r in pkg["resources"]]
    assert names == [*TABLES, "codebook"]
    for res in pkg["resources"]:
        assert (exports[to] / res["path"]).is_file()
        fields = res["schema"]["fields"]
        assert all(f["type"] in ("string", "integer", "number", "boolean", "date", "datetime") for f in fields)
        assert all("·" in f["description"] for f in fields)              # Chinese · English
    if to == "csv":
        assert {r["encoding"] for r in pkg["resources"]} == {"utf-8-sig"}
        assert (exports[to] / "cells.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    panel = next(r for r in pkg["resources"] if r["name"] == "panel")
    assert panel["schema"]["primaryKey"] == ["organ_id", "year"]
    assert {s["hash"] for s in pkg["sources"]} == {f"sha256:{r}" for r in corpus.reports["report_id"]}
    assert pkg["ogi_version"] and pkg["store_version"] and pkg["rules_version"]
    book = pd.read_csv(exports[to] / "codebook.csv", dtype=str, keep_default_na=False)
    assert list(book.columns) == ["table", "variable", "label_zh", "label_en", "unit", "definition", "type"]
    assert (book["type"] != "").all()


def test_files_of_one_organ_year_that_disagree_become_a_duplicate_finding(exports) -> None:
    f = pd.read_csv(exports["csv"] / "findings.csv", dtype=str, keep_default_na=False)
    dup = f[f["rule"] == "DUPLICATE"]
    assert len(dup) >= 1 and set(dup["severity"]) == {"warning"}
    assert "table_3/granted/total" in set(dup["table"] + "/" + dup["row"] + "/" + dup["column"])
    assert (dup["found"].astype(float) - dup["expected"].astype(float)).abs().eq(5).any()


def test_metrics_table_has_the_caveat_and_small_n_columns(exports) -> None:
    m = pd.read_parquet(exports["parquet"] / "metrics.parquet")
    assert {"value", "numerator", "denominator", "small_n", "caveat", "note"} <= set(m.columns)
    assert m["caveat"].str.contains(r"R\d=table_", regex=True).any()   # error_share planted relation errors


def test_ogi_export_folder_and_one_table(store: Path, tmp_path: Path) -> None:
    proc = subprocess.run([OGI, "export", str(store), "--to", "parquet", "--table", "panel", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["codebook.csv", "datapackage.json",
                                                                     "panel.parquet"]
