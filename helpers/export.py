"""Exports of a stored corpus for Stata, R and Excel users, with a bilingual codebook (issue 7).

Two layouts: `long` is the tidy cells table with report metadata columns (one row per cell);
`wide` is one row per report with one variable per template cell. Wide variable names come from
the template: `t<table>_r<row>_<column>` (e.g. `t3_r14_public_welfare`), row numbers in the 2021
format's printed order (the r01–r25 of template-spec §4.2); rows printed only in the 2019 format
keep their 2019 number with the suffix `v19` (e.g. `t3_r21v19_total` for （六）其他处理). Names have
at most 32 characters of [A-Za-z0-9_]; a longer name is cut and given a 4-hex-digit hash of its key.
The codebook (variable, label_zh, label_en, unit, definition) is written beside the data as
`<stem>_codebook.csv`. Every write goes to a temporary file first and is renamed into place.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import StoreError
from .metrics import metrics_config
from .record import CELL_COLUMNS
from .template import TEMPLATE_VERSIONS, Row, get_template

__all__ = [
    "CODEBOOK_COLUMNS",
    "FORMATS",
    "LAYOUTS",
    "ExportResult",
    "codebook",
    "export_store",
    "export_tables",
    "long_frame",
    "read_long_csv",
    "shorten_name",
    "stata_label",
    "variable_label",
    "variable_name",
    "wide_frame",
]

FORMATS = ("csv", "parquet", "stata", "xlsx")
LAYOUTS = ("long", "wide")
CODEBOOK_COLUMNS = ["variable", "label_zh", "label_en", "unit", "definition"]
MAX_NAME = 32
STATA_LABEL = 80
XLSX_MAX_ROWS = 1_048_575          # one row of the sheet is the header
STATA_STR_MAX = 2045               # longer text goes into strL
LONG_META = ["report_id", "agency", "organ_id", "organ_name", "organ_kind", "level", "region_code", "region",
             "year", "template"]
_NAME_OK = re.compile(r"[^A-Za-z0-9_]")


# --------------------------------------------------------------------------------------------
# Variable names and labels


def _row_number(table: str, row: str) -> str:
    """`r14` from the 2021 printed order, or `r21v19` for a row printed only in the 2019 format."""
    for version, suffix in (("2021", ""), ("2019", "v19")):
        tbl = get_template(version).tables.get(table)
        if tbl is None:
            continue
        keys = [r.key for r in tbl.data_rows]
        if row in keys:
            return f"r{keys.index(row) + 1:02d}{suffix}"
    raise StoreError(f"{table}/{row} is in neither template; only template cells get wide variables")


@functools.lru_cache(maxsize=None)
def variable_name(key: str) -> str:
    """The wide variable of a template key `table/row/column`, e.g. `t3_r14_public_welfare`."""
    table, row, column = key.split("/", 2)
    number = table.rsplit("_", 1)[-1]
    name = _NAME_OK.sub("_", f"t{number}_{_row_number(table, row)}_{column}")
    return shorten_name(name, key)


def shorten_name(name: str, key: str) -> str:
    """Cut a name to 32 characters, deterministically: the first 27 characters, "_" and 4 hex
    digits of the key's sha1, so that two long names with the same start stay distinct."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:4]
    return f"{name[: MAX_NAME - 5]}_{digest}"


def _key_rows(key: str) -> tuple[str, Row, Row | None, Any, list[str]]:
    """(version, row, the group row it belongs to, column, versions holding the key)."""
    table, row, column = key.split("/", 2)
    versions = [v for v in TEMPLATE_VERSIONS if key in get_template(v).column_info]
    if not versions:
        raise StoreError(f"{key} is in neither template")
    version = "2021" if "2021" in versions else versions[0]
    tmpl = get_template(version)
    group: Row | None = None
    found: Row | None = None
    for r in tmpl.tables[table].rows:
        if r.group:
            group = r
            continue
        if r.key == row:
            found = r
            break
        if not (r.number or "").isdigit():
            group = None
    assert found is not None
    parent = group if (found.number or "").isdigit() else None
    return version, found, parent, tmpl.column_info[key], versions


@functools.lru_cache(maxsize=None)
def variable_label(key: str) -> dict[str, str]:
    """Chinese and English labels, unit and definition of a template cell (from the template)."""
    table, _, _ = key.split("/", 2)
    version, row, parent, column, versions = _key_rows(key)
    tbl = get_template(version).tables[table]
    n = table.rsplit("_", 1)[-1]
    row_zh = row.printed_label
    if parent is not None:
        row_zh = f"{parent.printed_label} {row_zh}"
    elif row.parent:
        row_zh = f"{row.parent} {row_zh}"
    row_en = f"{parent.en}: {row.en}" if parent is not None else row.en
    zh = f"表{n} {row_zh} | {column.label}"
    en = f"T{n} {row_en} | {column.en}"
    formats = " and ".join(versions)
    definition = (f"{tbl.title}: row {row.label}, column {column.label} ({column.en}). Template key {key}; "
                  f"printed in the {formats} format{'s' if len(versions) > 1 else ''}. Empty when the cell "
                  "holds no number (blank, placeholder, unreadable or missing: see the long layout's status).")
    return {"label_zh": zh, "label_en": en, "unit": column.unit or "", "definition": definition}


def stata_label(label: str) -> str:
    """A label within Stata's 80-character limit (cut with an ellipsis)."""
    return label if len(label) <= STATA_LABEL else label[: STATA_LABEL - 1] + "…"


def _meta_label(column: str) -> dict[str, str]:
    spec = metrics_config().get("export_variables", {}).get(column)
    if spec is None:
        return {"label_zh": "", "label_en": column, "unit": "", "definition": ""}
    return {"label_zh": str(spec["zh"]), "label_en": str(spec["en"]), "unit": "",
            "definition": str(spec.get("definition", ""))}


def codebook(columns: Iterable[str], keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One codebook row per variable: metadata columns labelled from metrics.yaml, cell variables
    (`keys`: variable → template key) from the template."""
    keys = keys or {}
    rows = []
    for col in columns:
        info = variable_label(keys[col]) if col in keys else _meta_label(col)
        rows.append({"variable": col, **info})
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


# --------------------------------------------------------------------------------------------
# Layouts


def _ordered_keys(versions: Iterable[str]) -> list[str]:
    """Template keys of the given versions: 2021 keys in printed order, then 2019-only keys."""
    out: list[str] = []
    for v in ("2021", "2019"):
        if v in versions:
            out.extend(k for k in get_template(v).keys if k not in out)
    return out


def _cell_keys(cells: pd.DataFrame) -> pd.Series:
    return cells["table"].astype(str) + "/" + cells["row"].astype(str) + "/" + cells["column"].astype(str)


def wide_frame(reports: pd.DataFrame, cells: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], int]:
    """(one row per report: metadata then one variable per template cell, {variable: key},
    number of cells left out because they are not template cells, e.g. unknown rows)."""
    versions = (sorted(set(reports["template"].dropna().astype(str))) if "template" in reports
                else list(TEMPLATE_VERSIONS))
    keys = _ordered_keys(versions)
    names = {variable_name(k): k for k in keys}
    if len(names) != len(keys):  # pragma: no cover - guarded by the naming test
        raise StoreError("wide variable names collide; this is a bug in helpers/export.py")
    key = _cell_keys(cells)
    inside = key.isin(set(keys))
    sub = cells.loc[inside, ["report_id", "value"]].assign(key=key[inside].to_numpy())
    sub = sub.drop_duplicates(["report_id", "key"])
    values = sub.pivot(index="report_id", columns="key", values="value").astype("Float64")
    values = values.reindex(columns=keys)
    values.columns = [variable_name(k) for k in keys]
    meta = reports.drop_duplicates("report_id").reset_index(drop=True)
    clash = [c for c in meta.columns if c in names]
    if clash:
        raise StoreError(f"report columns {clash} clash with wide variable names")
    wide = meta.merge(values, left_on="report_id", right_index=True, how="left")
    return wide, {variable_name(k): k for k in keys}, int((~inside).sum())


def long_frame(reports: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The cells table with report metadata columns in front (one row per cell)."""
    meta_cols = [c for c in LONG_META if c in reports.columns]
    cell_cols = ["report_id"] + [c for c in CELL_COLUMNS if c in cells.columns]
    meta = reports[meta_cols].drop_duplicates("report_id")
    out = cells[cell_cols].merge(meta, on="report_id", how="left", sort=False)
    return out[meta_cols + [c for c in cell_cols if c != "report_id"]]


def read_long_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a long-layout CSV export back with the cells table's dtypes (value a nullable float,
    text columns as text with "" kept as "", not NaN)."""
    head = pd.read_csv(path, nrows=0).columns
    numeric = {"value", "year"} | {c for c in head if c.startswith("n_")}
    dtypes = {c: "str" for c in head if c not in numeric}
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in numeric})
    if "value" in df:
        df["value"] = df["value"].astype("Float64")
    if "year" in df:
        df["year"] = df["year"].astype("Int64")
    return df


# --------------------------------------------------------------------------------------------
# Writers


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    codebook: Path
    rows: int
    columns: int
    dropped_cells: int


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _stata_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Columns Stata can store: numbers as float64/int, text as str ("" for none), dates as %td."""
    cols: dict[str, Any] = {}
    dates: dict[str, str] = {}
    strl: list[str] = []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            cols[col] = s.astype("float64") if s.isna().any() else s.astype("int8")
        elif pd.api.types.is_integer_dtype(s.dtype):
            cols[col] = s.astype("float64") if s.isna().any() else s.astype("int64")
        elif pd.api.types.is_float_dtype(s.dtype):
            cols[col] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.dt.tz_convert(None) if getattr(s.dt, "tz", None) is not None else s
            cols[col] = s.astype("datetime64[ns]")
            dates[col] = "tc" if col == "ingested_at" else "td"
        elif _is_dates(s):
            cols[col] = pd.to_datetime(s).astype("datetime64[ns]")
            dates[col] = "td"
        else:
            text = s.astype(object).where(s.notna(), "").map(str).astype(object)
            cols[col] = text
            if len(text) and text.map(lambda v: len(v.encode("utf-8"))).max() > STATA_STR_MAX:
                strl.append(col)
    return pd.DataFrame(cols, index=df.index), dates, strl


def _is_dates(s: pd.Series) -> bool:
    """An object column of datetime.date values (the store's report_date, published)."""
    values = s.dropna()
    return len(values) > 0 and values.map(lambda v: isinstance(v, dt.date)).all()


def _write(df: pd.DataFrame, book: pd.DataFrame, to: str, path: Path, labels: str) -> None:
    if to == "csv":
        _atomic(path, lambda p: df.to_csv(p, index=False, encoding="utf-8-sig"))
    elif to == "parquet":
        _atomic(path, lambda p: df.to_parquet(p, index=False))
    elif to == "stata":
        data, dates, strl = _stata_frame(df)
        text = dict(zip(book["variable"], book[f"label_{labels}"]))
        var_labels = {c: stata_label(text.get(c) or "") for c in data.columns if text.get(c)}
        _atomic(path, lambda p: data.to_stata(p, write_index=False, version=118, convert_dates=dates,
                                              variable_labels=var_labels, convert_strl=strl,
                                              data_label=stata_label("ogi-reports export")))
    elif to == "xlsx":
        if len(df) > XLSX_MAX_ROWS:
            raise StoreError(f"{path}: {len(df)} rows do not fit in one Excel sheet (max {XLSX_MAX_ROWS}); "
                             "use --layout wide, or --to csv/parquet")
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise StoreError("writing .xlsx needs openpyxl: pip install 'ogi-reports[export]'") from exc

        def write_xlsx(p: Path) -> None:
            with pd.ExcelWriter(p, engine="openpyxl") as xw:
                _excel_ready(df).to_excel(xw, sheet_name="data", index=False)
                book.to_excel(xw, sheet_name="codebook", index=False)
        _atomic(path, write_xlsx)
    else:
        raise StoreError(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")


def _excel_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: drop them (times stay in UTC)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col].dtype) and getattr(out[col].dt, "tz", None) is not None:
            out[col] = out[col].dt.tz_convert(None)
    return out


def export_tables(reports: pd.DataFrame, cells: pd.DataFrame, to: str, out: str | os.PathLike[str],
                  layout: str = "long", labels: str = "zh") -> ExportResult:
    """Write the cells of `reports` as `to` (csv, parquet, stata, xlsx) in `layout` (long, wide) to
    `out`, and the codebook to `<stem>_codebook.csv` beside it. `labels` picks the Stata variable
    label language (zh or en); the codebook always has both."""
    if to not in FORMATS:
        raise StoreError(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise StoreError(f"unknown layout {layout!r}; choose long or wide")
    if labels not in ("zh", "en"):
        raise StoreError(f"labels must be zh or en, not {labels!r}")
    for col in ("report_id", "template"):
        if col not in reports.columns:
            raise StoreError(f"the reports table has no column {col!r}; pass the store's reports table")
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = cells[cells["report_id"].isin(set(reports["report_id"]))]
    if layout == "long":
        df = long_frame(reports, cells)
        book = codebook(df.columns)
        dropped = 0
    else:
        df, keys, dropped = wide_frame(reports, cells)
        book = codebook(df.columns, keys)
    book_path = path.with_name(f"{path.stem}_codebook.csv")
    _write(df, book, to, path, labels)
    _atomic(book_path, lambda p: book.to_csv(p, index=False, encoding="utf-8-sig"))
    return ExportResult(path=path, codebook=book_path, rows=len(df), columns=df.shape[1], dropped_cells=dropped)


def export_store(store: Any, to: str, out: str | os.PathLike[str], layout: str = "long",
                 labels: str = "zh") -> ExportResult:
    """Export a corpus store (a folder written by `helpers.store`, or an opened Corpus) with its
    codebook; see `export_tables`."""
    if isinstance(store, (str, os.PathLike)):
        from .store import open_store

        store = open_store(store)
    return export_tables(store.reports, store.cells, to, out, layout=layout, labels=labels)
