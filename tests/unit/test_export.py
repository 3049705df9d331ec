"""`ogi export`: Stata-safe wide names from the template, files that open in pandas and pyreadstat
with the codebook's labels, a long-CSV round trip that reproduces the cells table, atomic writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.errors import StoreError
from helpers.export import (CODEBOOK_COLUMNS, export_store, read_long_csv, shorten_name, stata_label,
                            variable_label, variable_name)
from helpers.template import get_template

OGI = str(Path(sys.executable).parent / "ogi")
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "stata": ".dta", "xlsx": ".xlsx"}
CELL_COLS = ["report_id", "table", "row", "column", "value", "raw", "status", "source", "note"]


# ---------------------------------------------------------------------------------------------
# Names


def test_wide_names_follow_the_rule_over_all_keys_of_both_templates() -> None:
    keys = sorted(set(get_template("2019").keys) | set(get_template("2021").keys))
    names = {k: variable_name(k) for k in keys}
    for key, name in names.items():
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", name), (key, name)
        table, row, column = key.split("/")
        assert name.startswith(f"t{table[-1]}_r") and name.endswith(f"_{column}"), (key, name)
    assert len(set(names.values())) == len(keys)                       # unique over the union
    assert names["table_3/unable_needs_creation/public_welfare"] == "t3_r14_public_welfare"
    assert names["table_3/results_total/total"] == "t3_r24_total"      # 2021 numbering, both formats
    assert names["table_3/other_handling/total"] == "t3_r21v19_total"  # a 2019-only row
    assert names["table_2/regulations/made"] == "t2_r01_made"
    assert names["table_4/lit_after_review/pending"] == "t4_r03_pending"


def test_long_names_are_cut_deterministically_and_stay_distinct() -> None:
    a = shorten_name("t3_r14_" + "x" * 40, "table_3/a/" + "x" * 40)
    b = shorten_name("t3_r14_" + "x" * 40, "table_3/b/" + "x" * 40)
    assert len(a) == len(b) == 32 and a != b and a[:27] == b[:27]
    assert a == shorten_name("t3_r14_" + "x" * 40, "table_3/a/" + "x" * 40)
    assert re.fullmatch(r"[A-Za-z0-9_]+", a)
    assert shorten_name("t3_r01_total", "table_3/new_received/total") == "t3_r01_total"


def test_labels_come_from_the_template_and_fit_stata() -> None:
    lab = variable_label("table_3/unable_not_held/natural_person")
    assert lab["label_zh"] == "表3 （四）无法提供 1.本机关不掌握相关政府信息 | 自然人"
    assert lab["label_en"] == "T3 cannot be provided: not held | natural persons" and lab["unit"] == "件"
    assert variable_label("table_2/admin_fees/value")["unit"] == "万元"
    keys = set(get_template("2019").keys) | set(get_template("2021").keys)
    assert all(len(variable_label(k)["label_zh"]) <= 80 for k in keys)    # English ones may be cut
    long = "标签" * 50
    assert len(stata_label(long)) == 80 and stata_label(long).endswith("…") and stata_label("短") == "短"


# ---------------------------------------------------------------------------------------------
# A real store from generated files


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synth = pytest.importorskip("helpers.synth")
    from helpers.store import ingest

    root = tmp_path_factory.mktemp("export")
    synth.write_corpus(root / "files", reports=12, years=[2020, 2021, 2022], forms=["text", "html"], seed=4)
    ingest([root / "files"], root / "store", scheduler="serial", progress=False)
    return root / "store"


@pytest.fixture(scope="module")
def corpus(store: Path):
    from helpers.store import open_store

    c = open_store(store)
    assert set(c.reports["template"]) == {"2019", "2021"} and len(c.reports) == 12
    return c


def _read(path: Path, to: str) -> tuple[pd.DataFrame, dict[str, str] | None]:
    """The file as pandas reads it, and its variable labels (Stata only)."""
    if to == "csv":
        return pd.read_csv(path), None
    if to == "parquet":
        return pd.read_parquet(path), None
    if to == "xlsx":
        return pd.read_excel(path, sheet_name="data"), None
    import pyreadstat

    df, meta = pyreadstat.read_dta(path)
    with pd.io.stata.StataReader(path) as reader:          # pandas reads the same labels
        assert reader.variable_labels() == dict(zip(meta.column_names, meta.column_labels))
    return df, dict(zip(meta.column_names, meta.column_labels))


@pytest.mark.parametrize("layout", ["long", "wide"])
@pytest.mark.parametrize("to", ["csv", "parquet", "stata", "xlsx"])
def test_exports_open_with_the_codebook_variables_and_labels(corpus, tmp_path: Path, to: str, layout: str) -> None:
    out = tmp_path / f"corpus{SUFFIX[to]}"
    res = export_store(corpus, to, out, layout=layout)
    book = pd.read_csv(tmp_path / "corpus_codebook.csv", dtype=str, keep_default_na=False)
    assert res.codebook == tmp_path / "corpus_codebook.csv" and list(book.columns) == CODEBOOK_COLUMNS
    df, labels = _read(out, to)
    assert list(df.columns) == list(book["variable"])
    n_rows = len(corpus.cells) if layout == "long" else len(corpus.reports)
    assert len(df) == n_rows == res.rows
    assert (book["label_zh"] != "").all() and (book["label_en"] != "").all()
    if labels is not None:
        assert labels == {v: stata_label(z) for v, z in zip(book["variable"], book["label_zh"])}
    if to == "xlsx":
        sheet = pd.read_excel(out, sheet_name="codebook", dtype=str, keep_default_na=False)
        assert sheet.equals(book)
    if layout == "wide":
        _assert_wide_values(corpus, df)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, "corpus_codebook.csv",
                                                                 "corpus_datapackage.json"])  # no temp files


def _assert_wide_values(corpus, df: pd.DataFrame) -> None:
    """Every template cell's value is in its wide variable (empty where the cell has no number)."""
    cells = corpus.cells
    ids = list(df["report_id"])
    for key in ("table_3/new_received/total", "table_3/granted/natural_person", "table_4/review/total",
                "table_2/admin_fees/value", "table_3/other_handling/total"):
        t, r, c = key.split("/")
        sub = cells[(cells["table"] == t) & (cells["row"] == r) & (cells["column"] == c)]
        want = sub.set_index("report_id")["value"].reindex(ids).astype("float64").to_numpy()
        got = pd.to_numeric(df[variable_name(key)], errors="coerce").astype("float64").to_numpy()
        np.testing.assert_array_equal(got, want, err_msg=key)


def test_long_csv_round_trip_reproduces_the_cells_table(corpus, tmp_path: Path) -> None:
    out = tmp_path / "long.csv"
    export_store(corpus, "csv", out, layout="long")
    back = read_long_csv(out)
    assert len(back) == len(corpus.cells)
    pd.testing.assert_frame_equal(back[CELL_COLS], corpus.cells[CELL_COLS], check_dtype=False)
    assert back["value"].dtype == "Float64"
    assert (back["raw"] == "").any() and (back["status"] != "ok").any()   # blanks stay blanks, not NaN/0


def test_stata_labels_can_be_english(corpus, tmp_path: Path) -> None:
    import pyreadstat

    out = tmp_path / "wide.dta"
    export_store(corpus, "stata", out, layout="wide", labels="en")
    _, meta = pyreadstat.read_dta(out)
    labels = dict(zip(meta.column_names, meta.column_labels))
    want = "T3 cannot be provided: would need creating | public-interest organisations"
    assert labels["t3_r14_public_welfare"] == want
    assert labels["year"] == "report year"


def test_a_failed_export_leaves_nothing_behind(corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.export as ex

    def boom(*args, **kwargs):
        raise StoreError("disk went away")
    monkeypatch.setattr(ex, "_append_rows", boom)
    with pytest.raises(StoreError, match="went away"):
        export_store(corpus, "xlsx", tmp_path / "long.xlsx", layout="long")
    assert list(tmp_path.iterdir()) == []


def test_xlsx_over_the_row_limit_splits_into_numbered_sheets(corpus, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    import helpers.export as ex

    monkeypatch.setattr(ex, "XLSX_MAX_ROWS", 5)
    export_store(corpus, "xlsx", tmp_path / "reports.xlsx", table="reports")
    wb = openpyxl.load_workbook(tmp_path / "reports.xlsx", read_only=True)
    n = -(-len(corpus.reports) // 5)
    assert n > 1 and wb.sheetnames == [f"data_{i}" for i in range(1, n + 1)] + ["codebook"]
    parts = [pd.read_excel(tmp_path / "reports.xlsx", sheet_name=f"data_{i}") for i in range(1, n + 1)]
    assert pd.concat(parts)["report_id"].tolist() == corpus.reports["report_id"].tolist()
    assert all(len(p) <= 5 for p in parts)


# ---------------------------------------------------------------------------------------------
# Hostile text (issue 12): never a live formula, CSV verbatim unless asked


FORMULAS = ["=HYPERLINK(\"http://127.0.0.1/x\",\"点击\")", "+1+2", "-3+4", "@SUM(A1)"]


def _hostile(corpus) -> pd.DataFrame:
    reports = corpus.reports.copy()
    reports["agency"] = [FORMULAS[i % len(FORMULAS)] for i in range(len(reports))]
    return reports


def test_xlsx_stores_text_as_strings_never_formulas(corpus, tmp_path: Path) -> None:
    import openpyxl

    from helpers.export import export_tables

    export_tables(_hostile(corpus), corpus.cells, "xlsx", tmp_path / "x", table="reports")
    ws = openpyxl.load_workbook(tmp_path / "x" / "reports.xlsx")["data"]
    col = [c.value for c in ws[1]].index("agency") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]
    assert {c.value for c in cells} == set(FORMULAS)
    assert {c.data_type for c in cells} == {"s"}                 # typed strings, not "f"


def test_csv_is_verbatim_by_default_and_excel_safe_on_request(corpus, tmp_path: Path) -> None:
    from helpers.export import export_tables

    export_tables(_hostile(corpus), corpus.cells, "csv", tmp_path / "plain.csv")
    export_tables(_hostile(corpus), corpus.cells, "csv", tmp_path / "safe.csv", excel_safe=True)
    plain = pd.read_csv(tmp_path / "plain.csv", dtype=str, keep_default_na=False)
    safe = pd.read_csv(tmp_path / "safe.csv", dtype=str, keep_default_na=False)
    assert set(plain["agency"]) == set(FORMULAS)
    assert set(safe["agency"]) == {"'" + f for f in FORMULAS}
    assert plain["value"].equals(safe["value"])                          # numbers untouched
    dash = plain["raw"] == "-"
    if dash.any():
        assert (safe.loc[dash, "raw"] == "'-").all()
    assert (plain["raw"].str.startswith("'") == False).all()  # noqa: E712


# ---------------------------------------------------------------------------------------------
# Output paths and empty stores (issue 12)


def test_an_out_whose_extension_does_not_match_to_is_an_error(corpus, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not match --to stata"):
        export_store(corpus, "stata", tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers.store import ingest

    root = tmp_path_factory.mktemp("empty")
    (root / "files").mkdir()
    ingest([root / "files"], root / "store", scheduler="serial", progress=False)
    return root / "store"


@pytest.mark.parametrize("to", ["csv", "parquet", "stata", "xlsx"])
def test_a_wide_export_of_an_empty_store_works(empty_store: Path, tmp_path: Path, to: str) -> None:
    res = export_store(empty_store, to, tmp_path / "all", layout="wide")     # wide cells and the panel
    assert dict(res.tables) == dict.fromkeys(["reports", "cells", "findings", "metrics", "panel"], 0)
    df, _ = _read(tmp_path / "all" / f"cells{SUFFIX[to]}", to)
    assert len(df) == 0 and {"t3_r24_total", "t3_r24_total_st"} <= set(df.columns)


def test_bad_arguments_raise_our_error(corpus, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="format"):
        export_store(corpus, "sas", tmp_path / "x.sas7bdat")
    with pytest.raises(StoreError, match="layout"):
        export_store(corpus, "csv", tmp_path / "x.csv", layout="diagonal")


# ---------------------------------------------------------------------------------------------
# The command


def test_ogi_export_writes_the_file_and_the_codebook(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "panel.dta"
    proc = subprocess.run([OGI, "export", str(store), "--to", "stata", "--layout", "wide", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and (tmp_path / "sub" / "panel_codebook.csv").exists()
    assert str(out) in proc.stderr


def test_ogi_export_with_a_mismatched_extension_exits_2(store: Path, tmp_path: Path) -> None:
    proc = subprocess.run([OGI, "export", str(store), "--to", "stata", "--out", str(tmp_path / "x.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "does not match --to stata" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_ogi_export_on_a_folder_that_is_not_a_store_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([OGI, "export", str(tmp_path), "--to", "csv", "--out", str(tmp_path / "x.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not an ogi store" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_date_column_with_no_date_reads_back_from_stata(tmp_path: Path) -> None:
    """Reports that print no publication date: the wide Stata file still reads back (the empty
    column is a %td number, all missing; written as text it would break pyreadstat and Stata)."""
    import pyreadstat

    synth = pytest.importorskip("helpers.synth")
    from helpers.store import ingest, open_store

    synth.write_corpus(tmp_path / "files", reports=3, years=[2022], forms=["text"], seed=2)
    ingest([tmp_path / "files"], tmp_path / "store", scheduler="serial", progress=False)
    c = open_store(tmp_path / "store")
    assert c.reports["published"].isna().all()                         # what this test is about
    export_store(c, "stata", tmp_path / "wide.dta", layout="wide")
    df, meta = pyreadstat.read_dta(tmp_path / "wide.dta")
    assert len(df) == 3 and df["published"].isna().all()
    assert meta.original_variable_types["published"] == "%td"
