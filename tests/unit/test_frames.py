"""The dtypes of public DataFrames: dates as datetime64, status/severity/level as ordered categoricals
in the project's order, no value lost by typing, and the store's files keeping their own schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers.record
from helpers import Report, get_template, validate
from helpers.frames import DATE_DTYPE, level_dtype, ordered, plain, severity_dtype, status_dtype, typed
from helpers.metrics import PANEL_STATUSES, comparable_keys, panel, panel_table
from helpers.organs import LEVELS
from helpers.record import STATUSES
from helpers.validate import SEVERITIES


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synth = pytest.importorskip("helpers.synth")
    from helpers.store import ingest

    root = tmp_path_factory.mktemp("frames")
    synth.write_corpus(root / "files", reports=8, years=[2020, 2021, 2022], forms=["text", "html"],
                       error_share=0.5, seed=7)
    ingest([root / "files"], root / "store", scheduler="serial", progress=False)
    return root / "store"


@pytest.fixture(scope="module")
def corpus(store: Path):
    from helpers.store import open_store

    return open_store(store)


def _is_ordered_categorical(s: pd.Series, categories: list[str]) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) and bool(s.cat.ordered) and list(s.cat.categories) == categories


# ---------------------------------------------------------------------------------------------
# The orders come from their definitions


def test_category_orders_are_read_from_the_definitions() -> None:
    assert list(status_dtype().categories) == list(STATUSES) and status_dtype().ordered
    assert list(severity_dtype().categories) == ["info", "warning", "error"] == list(reversed(SEVERITIES))
    assert list(level_dtype().categories) == list(LEVELS) == ["province", "city", "county", "township",
                                                              "department", "unknown"]


def test_a_status_added_to_STATUSES_flows_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(helpers.record.STATUSES, "corrected", "a value corrected by hand")
    frame = typed(pd.DataFrame({"status": ["ok", "corrected", "blank"]}))
    assert list(frame["status"].cat.categories) == [*STATUSES]            # the patched dict, in its order
    assert frame["status"].cat.categories[-1] == "corrected"
    assert frame["status"].tolist() == ["ok", "corrected", "blank"]


# ---------------------------------------------------------------------------------------------
# typed / plain on any input


_TEXT = st.one_of(st.none(), st.sampled_from([*STATUSES, *SEVERITIES, *LEVELS, "", "corrected"]), st.text(max_size=4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT, _TEXT, st.one_of(st.none(), st.dates())), max_size=12))
def test_typing_never_loses_a_value_and_plain_undoes_it(rows: list[tuple]) -> None:
    frame = pd.DataFrame(rows, columns=["status", "severity", "level", "published"]).astype(
        {"status": object, "severity": object, "level": object, "published": object})
    before = frame.dtypes.to_dict()
    t = typed(frame)
    assert frame.dtypes.to_dict() == before                               # the caller's frame is untouched
    for col in ("status", "severity", "level"):
        assert isinstance(t[col].dtype, pd.CategoricalDtype) and t[col].cat.ordered
        known = list({"status": status_dtype, "severity": severity_dtype, "level": level_dtype}[col]().categories)
        assert list(t[col].cat.categories)[:len(known)] == known        # the known order first, always
        # every value survives: the same values, None where it was None
        assert [None if pd.isna(v) else v for v in t[col]] == [None if pd.isna(v) else v for v in frame[col]]
    assert t["published"].dtype == DATE_DTYPE
    back = plain(t)
    assert [None if pd.isna(v) else v for v in back["status"]] == [None if pd.isna(v) else v for v in frame["status"]]
    assert back["published"].tolist() == frame["published"].tolist()


def test_unknown_values_are_extra_categories_after_the_known_ones() -> None:
    t = typed(pd.DataFrame({"severity": ["error", "fatal", None, "info"]}))
    assert list(t["severity"].cat.categories) == ["info", "warning", "error", "fatal"]
    assert t["severity"].isna().tolist() == [False, False, True, False]


def test_ordered_categoricals_compare_and_sort_in_the_projects_order() -> None:
    t = typed(pd.DataFrame({"severity": ["info", "error", "warning"], "level": ["county", "province", "unknown"]}))
    assert t.loc[t["severity"] >= "warning", "severity"].tolist() == ["error", "warning"]
    assert t.sort_values("level")["level"].tolist() == ["province", "county", "unknown"]
    assert (t["severity"] == "error").tolist() == [False, True, False]
    assert t["severity"].isin(["info"]).tolist() == [True, False, False]


def test_columns_already_typed_and_other_columns_are_left_alone() -> None:
    frame = pd.DataFrame({"status": ordered(["ok", "not_in_format"], PANEL_STATUSES), "value": [1.0, None],
                          "when": pd.to_datetime(["2024-01-01", None])})
    t = typed(frame)
    assert list(t["status"].cat.categories) == list(PANEL_STATUSES)
    assert t["value"].dtype == frame["value"].dtype and t["when"].dtype == frame["when"].dtype


# ---------------------------------------------------------------------------------------------
# Records


def test_report_cells_and_findings_are_typed() -> None:
    r = Report.from_cells({"table_4/review/upheld": 1, "table_4/review/corrected": 0, "table_4/review/other": 0,
                           "table_4/review/pending": 0, "table_4/review/total": 2, "table_3/granted/total": ""})
    assert _is_ordered_categorical(r.cells["status"], list(STATUSES))
    f = validate(r)
    assert _is_ordered_categorical(f["severity"], ["info", "warning", "error"])
    assert (f["severity"] == "error").any()
    both = pd.concat([r.cells, Report.from_cells({}).cells], ignore_index=True)
    assert _is_ordered_categorical(both["status"], list(STATUSES))     # same categories: stays categorical
    assert r.cell("table_3/granted/total")["status"] == "blank"


# ---------------------------------------------------------------------------------------------
# The store


def test_store_tables_have_the_public_dtypes(corpus) -> None:
    reports, cells, findings = corpus.reports, corpus.cells, corpus.findings
    assert reports["report_date"].dtype == DATE_DTYPE and reports["published"].dtype == DATE_DTYPE
    assert _is_ordered_categorical(reports["level"], list(LEVELS))
    assert _is_ordered_categorical(cells["status"], list(STATUSES))
    assert _is_ordered_categorical(findings["severity"], ["info", "warning", "error"])
    assert reports["year"].dtype == "Int64" and cells["value"].dtype == "Float64"
    assert (findings["severity"] == "error").any() and (cells["status"] != "ok").any()


def test_typed_store_tables_hold_the_stored_values(corpus, store: Path) -> None:
    raw = pq.read_table(sorted((store / "reports").glob("part-*.parquet"))).to_pandas(date_as_object=True)
    raw = raw.set_index("report_id").loc[corpus.reports["report_id"]]
    for col in ("report_date", "published"):
        got = [None if pd.isna(v) else v.date() for v in corpus.reports[col]]
        assert got == [None if v is None or pd.isna(v) else v for v in raw[col]]
        assert all(v is None or isinstance(v, dt.date) for v in got)
    assert corpus.reports["level"].astype(object).tolist() == raw["level"].tolist()
    # per-status counts of the categorical column equal the reports' own n_<status> columns
    counts = corpus.cells.groupby("status", observed=False).size()
    for s in ("ok", "blank", "placeholder", "unreadable", "missing"):
        assert counts[s] == corpus.reports[f"n_{s}"].sum()


def test_store_files_keep_their_text_and_date_schema(store: Path) -> None:
    import pyarrow as pa

    part = sorted((store / "reports").glob("part-*.parquet"))[0]
    schema = pq.read_schema(part)
    assert schema.field("report_date").type == pa.date32() and schema.field("level").type == pa.string()
    assert pq.read_schema(sorted((store / "cells").glob("part-*.parquet"))[0]).field("status").type == pa.string()
    assert pq.read_schema(sorted((store / "findings").glob("part-*.parquet"))[0]).field("severity").type \
        == pa.string()


def test_sql_results_are_typed_like_the_tables(corpus) -> None:
    got = corpus.sql("SELECT report_id, level, report_date FROM reports")
    assert _is_ordered_categorical(got["level"], list(LEVELS)) and got["report_date"].dtype == DATE_DTYPE
    by = corpus.sql("SELECT status, count(*) AS n FROM cells GROUP BY status ORDER BY n DESC")
    assert _is_ordered_categorical(by["status"], list(STATUSES))
    assert dict(zip(by["status"].astype(str), by["n"])) == \
        corpus.cells["status"].astype(str).value_counts().to_dict()
    # a column named like a typed one but holding other values keeps every value
    odd = corpus.sql("SELECT 'not a level' AS level")
    assert odd["level"].tolist() == ["not a level"]


def test_exports_of_typed_tables_write_text_and_dates(corpus, tmp_path: Path) -> None:
    import pyarrow as pa

    from helpers.export import export_store, read_long_csv

    export_store(corpus, "parquet", tmp_path / "all")
    def text(t: pa.DataType) -> bool:
        return pa.types.is_string(t) or pa.types.is_large_string(t)

    reports = pq.read_schema(tmp_path / "all" / "reports.parquet")
    assert reports.field("report_date").type == pa.date32() and text(reports.field("level").type)
    assert text(pq.read_schema(tmp_path / "all" / "cells.parquet").field("status").type)
    export_store(corpus, "csv", tmp_path / "long.csv")
    text = (tmp_path / "long.csv").read_text(encoding="utf-8")
    assert "00:00:00" not in text
    back = read_long_csv(tmp_path / "long.csv")
    assert back["status"].dtype == corpus.cells["status"].dtype
    assert _is_ordered_categorical(back["level"], list(LEVELS))
    assert back["level"].isna().sum() == corpus.reports.set_index("report_id")["level"].reindex(
        back["report_id"]).isna().sum()


def test_panel_statuses_are_ordered_categoricals(corpus) -> None:
    only_2021 = next(k for k in get_template("2021").keys if comparable_keys([k], "2019") is None)
    tidy = panel(corpus.cells, corpus.reports, ["table_3/new_received/total", only_2021])
    assert _is_ordered_categorical(tidy["status"], list(PANEL_STATUSES))
    assert set(corpus.reports["template"]) == {"2019", "2021"}
    assert {"ok", "not_in_format"} <= set(tidy["status"].astype(str))
    table = panel_table(corpus.cells, corpus.reports, ["table_3/new_received/total"]).table
    assert _is_ordered_categorical(table["table_3/new_received/total:status"], list(PANEL_STATUSES))
    assert _is_ordered_categorical(table["level"], list(LEVELS))


@pytest.mark.parametrize("value, absent", [(None, True), (pd.NA, True), (pd.NaT, True), (float("nan"), True),
                                           (0, False), (0.0, False), ("", False), ("nan", False),
                                           (pd.Timestamp("2024-01-31"), False)])
def test_missing_is_the_absent_value_test(value: object, absent: bool) -> None:
    from helpers.frames import missing

    assert missing(value) is absent
