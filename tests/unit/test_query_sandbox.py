"""`ogi query` is read-only and sandboxed: no file outside the store, no writes, no extensions,
no configuration change; every DuckDB value type prints in every format; a refusal is one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from helpers import ingest, open_store
from helpers.cli import main
from helpers.errors import QueryError

synth = pytest.importorskip("helpers.synth")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sandbox")
    synth.write_corpus(base / "corpus", reports=4, years=[2021, 2022], forms=["text"], seed=5)
    ingest([base / "corpus"], base / "store", scheduler="serial", progress=False)
    return base / "store"


def _query(store: Path, sql: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["query", str(store), sql, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _store_files(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file() and p.name != ".lock")


REFUSED = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "COPY (SELECT 1) TO 'x.csv'",
    "COPY (SELECT * FROM reports) TO '{store}/reports/part-phantom.parquet'",
    "COPY (SELECT * FROM reports) TO '{part}' (USE_TMP_FILE false)",
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH '{tmp}/x.db'",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET allowed_paths = ['/etc']",
    "SELECT * FROM 'http://127.0.0.1:9/x.csv'",
    "SELECT 1; SELECT 2",
    "CREATE TABLE t AS SELECT 1",
    "EXPORT DATABASE '{tmp}/dump'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/y.csv'",
    "PRAGMA enable_profiling",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_without_unsafe_in_one_line_exit_2(store: Path, tmp_path: Path, sql: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    part = sorted((store / "reports").glob("part-*.parquet"))[0]
    before = _store_files(store)
    sizes = {p: p.stat().st_size for p in store.rglob("part-*")}
    code, out, err = _query(store, sql.format(store=store, part=part, tmp=tmp_path), capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("ogi query: ") and err.count("\n") == 1, err
    assert "root:" not in err and "Traceback" not in err
    assert _store_files(store) == before
    assert {p: p.stat().st_size for p in store.rglob("part-*")} == sizes
    assert not list(tmp_path.iterdir())


def test_the_store_is_still_read_after_the_attempts(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _query(store, "SELECT count(*) AS n FROM reports", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out) == [{"n": 4}]


def test_unsafe_gives_duckdb_its_full_power(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.csv"
    code, _, err = _query(store, f"COPY (SELECT 42 AS x) TO '{target}'", "--unsafe", capsys=capsys)
    assert code == 0, err
    assert target.read_text().split() == ["x", "42"]
    (tmp_path / "data.csv").write_text("a\n7\n")
    code, out, _ = _query(store, f"SELECT a FROM read_csv('{tmp_path / 'data.csv'}')", "--unsafe", "--format",
                          "csv", capsys=capsys)
    assert code == 0 and out == "a\n7\n"


def test_the_python_api_sandbox_refuses_too(store: Path) -> None:
    corpus = open_store(store, sandbox=True)
    with pytest.raises(QueryError, match="COPY"):
        corpus.query("COPY reports TO 'r.csv'")
    with pytest.raises(QueryError):
        corpus.sql("SELECT * FROM read_csv('/etc/passwd')")
    assert corpus.query("SELECT count(*) FROM cells").rows[0][0] > 0


TYPES = ("SELECT [1, 2] AS l, {'a': 1, 'b': 'x'} AS s, MAP {'k': 1} AS m, MAP {1: 'a'} AS m2, DATE '2021-01-02' AS d, "
         "TIMESTAMP '2021-01-02 03:04:05' AS ts, TIMESTAMPTZ '2021-01-02 03:04:05+00' AS tz, TIME '01:02:03' AS t, "
         "1.25::DECIMAL(10, 2) AS dec, sum(n_ok) AS total, sum(n_ok::DECIMAL(10, 2)) AS dsum, '\\xAA\\x00'::BLOB AS b, "
         "INTERVAL 3 DAY AS iv, '6c2ef07c-addb-44bb-a499-aaf9ee8d7386'::UUID AS u, "
         "170141183460469231731687303715884105727::HUGEINT AS h, 'nan'::DOUBLE AS nan, 'inf'::FLOAT AS inf, "
         "[1, 2]::INTEGER[2] AS arr, '101'::BIT AS bit, union_value(num := 2) AS un, 'a'::ENUM('a', 'b') AS en, "
         "NULL AS n, true AS bo, [{'x': [1]}] AS nest, 'line1' || chr(10) || chr(27) || '[31m' AS esc FROM reports")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_every_value_type_prints_in_every_format(store: Path, fmt: str, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _query(store, TYPES, "--format", fmt, capsys=capsys)
    assert code == 0, err
    assert "\x1b" not in out or fmt == "csv"   # CSV is verbatim data; table and JSON escape it
    if fmt == "json":
        row = json.loads(out)[0]
        assert row["l"] == [1, 2] and row["s"] == {"a": 1, "b": "x"} and row["m2"] == {"1": "a"}
        assert isinstance(row["total"], int) and row["dsum"] == row["total"]  # sums are numbers, not strings
        assert row["dec"] == 1.25 and row["d"] == "2021-01-02" and row["nan"] == "NaN"
        assert row["h"] == 2 ** 127 - 1 and row["arr"] == [1, 2] and row["n"] is None
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert "\r" not in out.replace("\x1b", "") and len(rows[0]) == len(rows[1])
        rec = dict(zip(rows[0], rows[1]))
        assert rec["l"] == "[1, 2]" and rec["d"] == "2021-01-02" and rec["b"] == "\\xAA\\x00" and rec["n"] == ""
    else:
        assert "\\x1b[31m" in out and "[1, 2]" in out and "(1 row)" in out


def test_a_list_result_is_no_traceback(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _query(store, "SELECT [1,2] AS l", capsys=capsys)
    assert code == 0 and "[1, 2]" in out and err == ""


def test_json_sums_are_numbers(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _query(store, "SELECT year, sum(n_ok) AS ok, avg(n_ok) AS mean FROM reports GROUP BY year "
                          "ORDER BY year", "--format", "json", capsys=capsys)
    rows = json.loads(out)
    assert code == 0 and all(isinstance(r["ok"], int) and isinstance(r["mean"], float) for r in rows)


def test_a_failed_statement_is_one_line(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _query(store, "SELECT nope FROM reports", capsys=capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "nope" in err
