"""Exports of a stored corpus for Stata, R, Excel and pandas users: every table with a bilingual
codebook and a Frictionless data package (issues 7, 12 and 13).

`export_store(store, to, out)` writes, when `out` has no suffix or is a folder, one file per table
(`reports`, `cells`, `findings`, `metrics`, `panel`; `table=` picks one) with `codebook.csv` and
`datapackage.json`; when `out` ends in the suffix of `to` (.csv, .parquet, .dta, .xlsx), the one
table (default `cells`) as that file, with `<stem>_codebook.csv` and `<stem>_datapackage.json`
beside it. Any other suffix is an error: a Stata file is never written under a `.csv` name.

The cells table comes in two layouts: `long` (one row per cell, with its `status`) and `wide` (one
row per report, one variable per template cell, and beside each a `<name>_st` status variable).
The panel (`helpers.metrics.panel_table`) is one row per organ-year with one variable per quantity
comparable across the 2019 and 2021 formats, each with its status variable. Wide variable names
come from the template: `t<table>_r<row>_<column>` (e.g. `t3_r14_public_welfare`), row numbers in
the 2021 format's printed order (the r01–r25 of template-spec §4.2); rows printed only in the 2019
format keep their 2019 number with the suffix `v19` (e.g. `t3_r21v19_total` for （六）其他处理).
Names have at most 32 characters of [A-Za-z0-9_]; a longer name is cut and given a 4-hex-digit hash
of its key. In Stata files a value without a number is an extended missing value (.a blank,
.b placeholder, .c unreadable, .d missing, .e not in this format; metrics.yaml `stata_missing`)
with value labels.

Text is written verbatim: CSV fields as they are (`excel_safe=True` prefixes `'` to text starting
with = + - @, for files opened in a spreadsheet), and xlsx cells always as typed strings, never as
formulas. Every write goes to a temporary file first and is renamed into place.
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
from .frames import category_dtypes, missing, plain, typed
from .metrics import PANEL_STATUSES, metrics_config, panel_table, report_metrics
from .record import CELL_COLUMNS
from .template import TEMPLATE_VERSIONS, Row, get_template

__all__ = [
    "CODEBOOK_COLUMNS",
    "FORMATS",
    "LAYOUTS",
    "SUFFIXES",
    "TABLES",
    "ExportResult",
    "codebook",
    "export_store",
    "export_tables",
    "long_frame",
    "panel_frame",
    "read_long_csv",
    "rules_version",
    "shorten_name",
    "stata_label",
    "status_name",
    "store_version_id",
    "variable_label",
    "variable_name",
    "wide_frame",
]

FORMATS = ("csv", "parquet", "stata", "xlsx")
LAYOUTS = ("long", "wide")
CODEBOOK_COLUMNS = ["variable", "label_zh", "label_en", "unit", "definition", "type"]
TABLES = ("reports", "cells", "findings", "metrics", "panel")
SUFFIXES = {"csv": ".csv", "parquet": ".parquet", "stata": ".dta", "xlsx": ".xlsx"}
MEDIATYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "stata": "application/x-stata-dta",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CSV_ENCODING = "utf-8-sig"         # a BOM, so that Excel opens the Chinese text right
EXCEL_RISKY = ("=", "+", "-", "@")  # text a spreadsheet would read as a formula
MAX_NAME = 32
STATA_LABEL = 80
XLSX_MAX_ROWS = 1_048_575          # one row of the sheet is the header
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
                  "holds no number (blank, placeholder, unreadable, missing or not in the format: see its status "
                  "variable, <name>_st, or the Stata extended missing value).")
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


def status_name(name: str, key: str) -> str:
    """The companion status variable of a wide or panel variable: `<name>_st` (cut like any name)."""
    return shorten_name(f"{name}_st", f"{key}#status")


def field_type(s: pd.Series) -> str:
    """The Frictionless (Table Schema) type of a column as it is written."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(s.dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    if _is_dates(s):
        return "date"
    return "string"


def codebook(frame: pd.DataFrame | Iterable[str], keys: dict[str, str] | None = None,
             status_of: dict[str, str] | None = None) -> pd.DataFrame:
    """One codebook row per variable (variable, label_zh, label_en, unit, definition, type): metadata
    columns labelled from metrics.yaml, cell variables (`keys`: variable → template key) from the
    template, status variables (`status_of`: status variable → its value variable) from both."""
    keys = keys or {}
    status_of = status_of or {}
    columns = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    rows = []
    for col in columns:
        if col in status_of:
            base = variable_label(keys[status_of[col]])
            info = {"label_zh": f"{base['label_zh']} 状态", "label_en": f"{base['label_en']} (status)",
                    "unit": "", "definition": f"Status of {status_of[col]}: {', '.join(PANEL_STATUSES)} "
                                              "(docs/store.md, docs/metrics.md)."}
        elif col in keys:
            info = variable_label(keys[col])
        else:
            info = _meta_label(col)
        kind = field_type(frame[col]) if isinstance(frame, pd.DataFrame) else ""
        rows.append({"variable": col, **info, "type": kind})
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


def _value_and_status(names: list[tuple[str, str]], values: pd.DataFrame,
                      statuses: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Value and status variables interleaved (name, name_st, ...), from frames indexed like the
    rows and with one column per key; ({variable: key}, {status variable: value variable})."""
    cols: dict[str, Any] = {}
    keys: dict[str, str] = {}
    status_of: dict[str, str] = {}
    for key, name in names:
        st = status_name(name, key)
        cols[name] = values[key].astype("Float64")
        cols[st] = statuses[key].astype("string")
        keys[name], keys[st], status_of[st] = key, key, name
    if len(set(cols)) != 2 * len(names):  # pragma: no cover - guarded by the naming test
        raise StoreError("wide variable names collide; this is a bug in helpers/export.py")
    return pd.DataFrame(cols, index=values.index), keys, status_of


def wide_frame(reports: pd.DataFrame, cells: pd.DataFrame
               ) -> tuple[pd.DataFrame, dict[str, str], int, dict[str, str]]:
    """(one row per report: metadata, then per template cell its value and its `_st` status,
    {variable: key}, number of cells left out because they are not template cells (unknown rows),
    {status variable: value variable}). A cell the report's format does not have is `not_in_format`;
    a template cell absent from the cells table is `missing`."""
    versions = (sorted(set(reports["template"].dropna().astype(str))) if "template" in reports else [])
    keys = _ordered_keys(versions or TEMPLATE_VERSIONS)   # an empty store: every key, no rows
    key = _cell_keys(cells)
    inside = key.isin(set(keys))
    sub = cells.loc[inside, ["report_id", "value", "status"]].assign(key=key[inside].to_numpy())
    sub = sub.drop_duplicates(["report_id", "key"])
    meta = reports.drop_duplicates("report_id").reset_index(drop=True)
    rids = meta["report_id"].astype(str)
    values = pd.DataFrame(index=pd.Index(rids, name="report_id"), columns=keys, dtype="Float64")
    statuses = pd.DataFrame(index=values.index, columns=keys, dtype=object)
    if len(sub):
        v = sub.pivot(index="report_id", columns="key", values="value").astype("Float64")
        s = sub.pivot(index="report_id", columns="key", values="status")
        values = v.reindex(index=values.index, columns=keys).astype("Float64")
        statuses = s.reindex(index=values.index, columns=keys).astype(object)
    templates = meta["template"].astype(object).where(meta["template"].notna(), "").astype(str).to_numpy()
    for k in keys:
        has = [v for v in TEMPLATE_VERSIONS if k in get_template(v).column_info]
        fill = pd.Series(["missing" if t in has else "not_in_format" for t in templates], index=values.index)
        statuses[k] = statuses[k].where(statuses[k].notna(), fill)
    names = [(k, variable_name(k)) for k in keys]
    clash = [c for c in meta.columns if c in {n for _, n in names}]
    if clash:
        raise StoreError(f"report columns {clash} clash with wide variable names")
    cells_wide, var_keys, status_of = _value_and_status(names, values, statuses)
    wide = pd.concat([meta, cells_wide.reset_index(drop=True)], axis=1)
    return wide, var_keys, int((~inside).sum()), status_of


def long_frame(reports: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The cells table with report metadata columns in front (one row per cell)."""
    meta_cols = [c for c in LONG_META if c in reports.columns]
    cell_cols = ["report_id"] + [c for c in CELL_COLUMNS if c in cells.columns]
    meta = reports[meta_cols].drop_duplicates("report_id")
    out = cells[cell_cols].merge(meta, on="report_id", how="left", sort=False)
    return out[meta_cols + [c for c in cell_cols if c != "report_id"]]


def panel_frame(reports: pd.DataFrame, cells: pd.DataFrame
                ) -> tuple[pd.DataFrame, dict[str, str], dict[str, str], pd.DataFrame]:
    """The panel of `helpers.metrics.panel_table` with wide variable names: (one row per
    organ-year, {variable: key}, {status variable: value variable}, the conflicts between files of
    one organ-year)."""
    res = panel_table(cells, reports)
    t = res.table
    meta = t[[c for c in t.columns if c not in res.keys and not c.endswith(":status")]]
    values = t[list(res.keys)]
    statuses = t[[f"{k}:status" for k in res.keys]].astype(object)
    statuses.columns = list(res.keys)
    names = [(k, variable_name(k)) for k in res.keys]
    body, keys, status_of = _value_and_status(names, values, statuses)
    return pd.concat([meta, body], axis=1), keys, status_of, res.conflicts


def _conflict_findings(conflicts: pd.DataFrame) -> pd.DataFrame:
    """Panel conflicts as findings of the DUPLICATE rule (rules.yaml), one per key and file."""
    from .validate import FINDING_COLUMNS, get_rules

    rule = next((r for r in get_rules() if r.id == "DUPLICATE"), None)
    severity = rule.severity if rule else "warning"
    rows = []
    for rec in conflicts.to_dict("records"):
        table, row, column = rec["key"].split("/", 2)
        rows.append({"report_id": rec["report_id"], "rule": "DUPLICATE", "severity": severity, "table": table,
                     "row": row, "column": column, "expected": rec["primary_value"], "found": rec["value"],
                     "delta": rec["value"] - rec["primary_value"],
                     "message": (f"{rec['key']}: {rec['value']:g} here, {rec['primary_value']:g} in "
                                 f"{rec['duplicate_of'][:16]}, the file of the same organ and year that the panel "
                                 "keeps"), "source": ""})
    return pd.DataFrame(rows, columns=["report_id", *FINDING_COLUMNS])


def read_long_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a long-layout CSV export back with the cells table's dtypes (value a nullable float,
    status and level ordered categoricals, text columns as text with "" kept as "", not NaN)."""
    head = pd.read_csv(path, nrows=0).columns
    numeric = {"value", "year"} | {c for c in head if c.startswith("n_")}
    dtypes = {c: "str" for c in head if c not in numeric}
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in numeric})
    if "value" in df:
        df["value"] = df["value"].astype("Float64")
    if "year" in df:
        df["year"] = df["year"].astype("Int64")
    for col in set(category_dtypes()) & set(df.columns):   # an empty category cell is a missing one
        df[col] = df[col].where(df[col] != "")
    return typed(df)


# --------------------------------------------------------------------------------------------
# The tables of an export


@dataclass
class _Frame:
    """One table to write: the data, its codebook, which variables hold cell values (for Stata's
    extended missing values), its primary key and description."""

    name: str
    data: pd.DataFrame
    book: pd.DataFrame
    status_of: dict[str, str]
    primary_key: list[str]
    dropped: int = 0


def _describe(name: str) -> str:
    spec = metrics_config().get("export_tables", {}).get(name, {})
    return f"{spec.get('zh', '')} · {spec.get('en', name)}".strip(" ·")


def _frames(reports: pd.DataFrame, cells: pd.DataFrame, findings: pd.DataFrame, tables: Iterable[str],
            layout: str) -> list[_Frame]:
    out: list[_Frame] = []
    cells = cells[cells["report_id"].isin(set(reports["report_id"]))]
    findings = findings[findings["report_id"].isin(set(reports["report_id"]))]
    wanted = list(tables)
    conflicts = None
    panel: tuple[Any, ...] | None = None
    if "panel" in wanted or "findings" in wanted:
        panel = panel_frame(reports, cells)
        conflicts = panel[3]
    for name in wanted:
        if name == "reports":
            df = reports.drop_duplicates("report_id").reset_index(drop=True)
            out.append(_Frame(name, df, codebook(df), {}, ["report_id"]))
        elif name == "cells" and layout == "long":
            df = long_frame(reports, cells).reset_index(drop=True)
            out.append(_Frame(name, df, codebook(df), {}, ["report_id", "table", "row", "column"]))
        elif name == "cells":
            df, keys, dropped, status_of = wide_frame(reports, cells)
            out.append(_Frame(name, df, codebook(df, keys, status_of), status_of, ["report_id"], dropped))
        elif name == "findings":
            extra = _conflict_findings(conflicts) if conflicts is not None else findings.iloc[0:0]
            df = pd.concat([findings, extra.astype(findings.dtypes.to_dict())], ignore_index=True) if len(extra) \
                else findings.reset_index(drop=True)
            out.append(_Frame(name, df, codebook(df), {}, []))
        elif name == "metrics":
            df = report_metrics(cells, reports, findings)
            out.append(_Frame(name, df, codebook(df), {}, ["report_id", "metric"]))
        elif name == "panel":
            assert panel is not None
            df, keys, status_of, _ = panel
            out.append(_Frame(name, df, codebook(df, keys, status_of), status_of, ["organ_id", "year"]))
        else:
            raise StoreError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}")
    return out


def store_version_id(reports: pd.DataFrame, cells: pd.DataFrame, findings: pd.DataFrame,
                     store: Any = None) -> str:
    """The store's version id: the store's own (`store.version_id`) when it has one, else
    `sha256:` of its reports, cells and findings tables (row hashes, order-independent)."""
    own = getattr(store, "version_id", None)
    if own:
        return str(own)
    reports, cells, findings = plain(reports), plain(cells), plain(findings)  # the same id whatever the dtypes
    h = hashlib.sha256()
    for frame in (reports.drop(columns=[c for c in ("ingested_at",) if c in reports.columns]), cells, findings):
        rows = pd.util.hash_pandas_object(frame.astype("string"), index=False) if len(frame) else pd.Series([], dtype="uint64")
        h.update(f"{len(frame)}:{int(rows.sum()) & 0xFFFFFFFFFFFFFFFF:016x}:{','.join(map(str, frame.columns))}"
                 .encode())
    return f"sha256:{h.hexdigest()[:16]}"


# --------------------------------------------------------------------------------------------
# Writers


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the data file (or the folder), the codebook, the data package, every
    file written, and rows and columns (of the cells table, or of the only table)."""

    path: Path
    codebook: Path
    rows: int
    columns: int
    dropped_cells: int
    datapackage: Path | None = None
    files: tuple[Path, ...] = ()
    tables: tuple[tuple[str, int], ...] = ()


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _is_dates(s: pd.Series) -> bool:
    """An object column of datetime.date values (the store's report_date, published)."""
    if s.dtype != object:
        return False
    values = s.dropna()
    return len(values) > 0 and values.map(lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime)).all()


def _date_columns(frame: pd.DataFrame) -> set[str]:
    """Columns holding dates: those with date values, and the known date columns even when empty."""
    known = set(metrics_config().get("export_dates", ()))
    return {c for c in frame.columns if _is_dates(frame[c]) or (c in known and frame[c].isna().all())}


def _text_columns(frame: pd.DataFrame, dates: set[str]) -> list[str]:
    return [c for c in frame.columns if c not in dates and field_type(frame[c]) == "string"]


def _csv_ready(frame: pd.DataFrame, excel_safe: bool) -> pd.DataFrame:
    """Datetimes as ISO 8601; with `excel_safe`, `'` before text starting with = + - @."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif excel_safe and field_type(s) == "string" and not _is_dates(s):
            text = s.astype("string")
            risky = text.str.startswith(EXCEL_RISKY).fillna(False)
            out[col] = text.where(~risky, "'" + text)
    return out


def _parquet_ready(frame: pd.DataFrame, dates: set[str]) -> pd.DataFrame:
    """Types pyarrow writes the same way whether a column is full or empty: text as string, dates
    as date32, categories as text."""
    import pyarrow as pa

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if col in dates:
            out[col] = pd.array([None if pd.isna(v) else v for v in s], dtype=pd.ArrowDtype(pa.date32()))
        elif isinstance(s.dtype, pd.CategoricalDtype) or (s.dtype == object and field_type(s) == "string"):
            out[col] = s.astype("string")
    return out


def _stata_missing() -> dict[str, dict[str, str]]:
    return {k: {"code": str(v["code"]), "zh": str(v["zh"]), "en": str(v["en"])}
            for k, v in metrics_config()["stata_missing"].items()}


def _write_stata(frame: _Frame, path: Path, labels: str, dates: set[str]) -> None:
    """A Stata 118 file (pyreadstat): numbers as doubles, text as str/strL, dates as %td, times as
    %tc; cell values without a number as extended missing values with value labels."""
    import pyreadstat

    codes = _stata_missing()
    data: dict[str, Any] = {}
    value_of = {v: k for k, v in frame.status_of.items()}   # value variable → status variable
    user_missing: dict[str, list[str]] = {}
    value_labels: dict[str, dict[Any, str]] = {}
    for col in frame.data.columns:
        s = frame.data[col]
        if col in value_of:
            st = frame.data[value_of[col]].astype(object)
            code = st.map(lambda x: codes.get(str(x), {}).get("code"))
            vals = s.astype("float64").astype(object).where(s.notna(), None)
            data[col] = vals.where(code.isna() | s.notna(), code).astype(object)
            user_missing[col] = [c["code"] for c in codes.values()]
            value_labels[col] = {c["code"]: c[labels] for c in codes.values()}
        elif col in dates:
            # an empty date column as numbers (Stata dates are day counts): all None would be written
            # as a string variable in %td format, which Stata readers refuse
            data[col] = s.astype("float64") if s.isna().all() else s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype) or \
                pd.api.types.is_float_dtype(s.dtype):
            data[col] = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.dt.tz_convert(None) if getattr(s.dt, "tz", None) is not None else s
            data[col] = s.astype("datetime64[us]")
        else:
            data[col] = s.astype(object).where(s.notna(), "").map(str).astype(object)
    df = pd.DataFrame(data, index=frame.data.index)
    text = dict(zip(frame.book["variable"], frame.book[f"label_{labels}"]))
    col_labels = {c: stata_label(text.get(c) or "") for c in df.columns if text.get(c)}
    fmt = {c: "%td" for c in dates if c in df.columns}
    _atomic(path, lambda p: pyreadstat.write_dta(df, str(p), file_label=stata_label("ogi-reports export"),
                                                 column_labels=col_labels, version=15,
                                                 variable_value_labels=value_labels or None,
                                                 missing_user_values=user_missing or None,
                                                 variable_format=fmt or None))


def _xlsx_value(v: Any) -> Any:
    if missing(v):
        return None
    if isinstance(v, pd.Timestamp):
        return (v.tz_convert(None) if v.tzinfo else v).to_pydatetime()
    return v


def _write_xlsx(frame: _Frame, path: Path) -> None:
    """An Excel workbook: the data on sheet `data` (split over `data_1`, `data_2`, … beyond Excel's
    row limit) and the codebook on `codebook`. Text is stored as typed strings, never formulas;
    characters Excel cannot hold (control characters) become U+FFFD."""
    try:
        import openpyxl
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    except ImportError as exc:
        raise StoreError("writing .xlsx needs openpyxl: pip install 'ogi-reports[export]'") from exc

    def write(p: Path) -> None:
        wb = openpyxl.Workbook(write_only=True)
        for sheet_name, data in _sheets(frame.data):
            ws = wb.create_sheet(sheet_name)
            _append_rows(ws, data, WriteOnlyCell, ILLEGAL_CHARACTERS_RE)
        ws = wb.create_sheet("codebook")
        _append_rows(ws, frame.book, WriteOnlyCell, ILLEGAL_CHARACTERS_RE)
        wb.save(p)
    _atomic(path, write)


def _sheets(data: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if len(data) <= XLSX_MAX_ROWS:
        return [("data", data)]
    return [(f"data_{i // XLSX_MAX_ROWS + 1}", data.iloc[i:i + XLSX_MAX_ROWS])
            for i in range(0, len(data), XLSX_MAX_ROWS)]


def _append_rows(ws: Any, data: pd.DataFrame, cell_type: Any, illegal: Any) -> None:
    def typed(v: Any) -> Any:
        v = _xlsx_value(v)
        if isinstance(v, str):
            v = illegal.sub("\ufffd", v)
            if v.startswith("="):       # openpyxl would store it as a formula: force a string cell
                c = cell_type(ws, value=v)
                c.data_type = "s"
                return c
        return v
    ws.append([typed(c) for c in data.columns])
    for row in data.itertuples(index=False, name=None):
        ws.append([typed(v) for v in row])


def _write(frame: _Frame, to: str, path: Path, labels: str, excel_safe: bool) -> None:
    dates = _date_columns(frame.data)
    if to == "csv":
        ready = _csv_ready(frame.data, excel_safe)
        _atomic(path, lambda p: ready.to_csv(p, index=False, encoding=CSV_ENCODING, lineterminator="\n"))
    elif to == "parquet":
        ready = _parquet_ready(frame.data, dates)
        _atomic(path, lambda p: ready.to_parquet(p, index=False))
    elif to == "stata":
        _write_stata(frame, path, labels, dates)
    elif to == "xlsx":
        _write_xlsx(frame, path)
    else:
        raise StoreError(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")


# --------------------------------------------------------------------------------------------
# The Frictionless data package


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _schema(frame: _Frame, to: str, dates: set[str]) -> dict[str, Any]:
    fields = []
    stata_values = set(frame.status_of.values()) if to == "stata" else set()
    for rec in frame.book.to_dict("records"):
        kind = "date" if rec["variable"] in dates else (rec["type"] or "string")
        desc = f"{rec['label_zh']} · {rec['label_en']}".strip(" ·")
        if rec["definition"]:
            desc += f". {rec['definition']}"
        if rec["unit"]:
            desc += f" Unit: {rec['unit']}."
        if rec["variable"] in stata_values:
            desc += " Stata: " + ", ".join(f".{c['code']} {c['en']}" for c in _stata_missing().values()) + "."
        fields.append({"name": rec["variable"], "type": kind, "title": rec["label_zh"] or rec["label_en"],
                       "description": desc})
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    key = frame.primary_key
    if key and all(k in frame.data.columns for k in key) and not frame.data.duplicated(key).any() \
            and not frame.data[key].isna().any().any():
        schema["primaryKey"] = key
    return schema


def _resource(frame: _Frame, to: str, path: Path, base: Path) -> dict[str, Any]:
    dates = _date_columns(frame.data)
    res: dict[str, Any] = {"name": frame.name, "path": path.relative_to(base).as_posix(),
                           "title": _describe(frame.name), "format": "dta" if to == "stata" else to,
                           "mediatype": MEDIATYPES[to], "schema": _schema(frame, to, dates)}
    if to == "csv":   # frictionless checks bytes and hash only of files it reads as bytes
        res.update(bytes=path.stat().st_size, hash=f"sha256:{_sha256(path)}")
    else:
        res.update(ogi_bytes=path.stat().st_size, ogi_sha256=_sha256(path))
    if to == "csv":
        res["encoding"] = CSV_ENCODING
        res["dialect"] = {"delimiter": ",", "lineTerminator": "\n", "header": True}
    if to == "xlsx":
        res["dialect"] = {"excel": {"sheet": "data"}}
    if to in ("csv", "parquet"):
        res["profile"] = "tabular-data-resource"
    return res


def _codebook_resource(book: pd.DataFrame, path: Path, base: Path) -> dict[str, Any]:
    frame = _Frame("codebook", book, codebook(book), {}, [])
    res = _resource(frame, "csv", path, base)
    res["title"] = _describe("codebook")
    return res


def _package(resources: list[dict[str, Any]], reports: pd.DataFrame, version_id: str,
             to: str) -> dict[str, Any]:
    from . import __version__

    sources = []
    if "path" in reports.columns:
        for rid, p in zip(reports["report_id"].astype(str), reports["path"]):
            name = Path(str(p)).name if isinstance(p, str) and p else rid
            sources.append({"title": name, "path": name, "hash": f"sha256:{rid}"})
    spec = metrics_config().get("export_tables", {}).get("package", {})
    return {
        "profile": "tabular-data-package" if to in ("csv", "parquet") else "data-package",
        "name": "ogi-reports-export",
        "title": f"{spec.get('zh', '')} · {spec.get('en', '')}".strip(" ·"),
        "description": " ".join(str(spec.get("description", "")).split()),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "ogi_version": __version__,
        "rules_version": rules_version(),
        "store_version": version_id,
        "sources": sources,
        "resources": resources,
    }


@functools.lru_cache(maxsize=1)
def rules_version() -> str:
    """The rule catalogue's version (rules.yaml `version`), shown in packages and brief footers."""
    from .template import read_data

    return str(read_data("rules.yaml").get("version", ""))


def _write_json(path: Path, obj: Any) -> None:
    import json

    text = json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n"
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Public entry points


def _target(out: Path, to: str) -> str:
    """"folder" or "file" for `out`; a suffix that is not `to`'s is an error."""
    want = SUFFIXES[to]
    if out.is_dir() or out.suffix == "":
        if out.exists() and not out.is_dir():
            raise StoreError(f"{out}: exists and is not a folder; give a folder, or a file name ending in {want}")
        return "folder"
    if out.suffix.lower() == want:
        return "file"
    raise StoreError(f"{out}: the extension {out.suffix!r} does not match --to {to} ({want}); "
                     f"name the file *{want}, or give a folder for one file per table")


def export_tables(reports: pd.DataFrame, cells: pd.DataFrame, to: str, out: str | os.PathLike[str],
                  layout: str = "long", labels: str = "zh", *, findings: pd.DataFrame | None = None,
                  table: str | None = None, excel_safe: bool = False, store: Any = None) -> ExportResult:
    """Write the tables of `reports` as `to` (csv, parquet, stata, xlsx) to `out` (see the module
    doc: a folder gets every table or `table`; a file named *<suffix of to> gets `table`, default
    cells), with the codebook and datapackage.json. `layout` (long, wide) is the cells table's;
    `labels` picks the Stata label language (zh or en; the codebook has both); `excel_safe`
    prefixes `'` to CSV text starting with = + - @."""
    if to not in FORMATS:
        raise StoreError(f"unknown export format {to!r}; choose one of {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise StoreError(f"unknown layout {layout!r}; choose long or wide")
    if labels not in ("zh", "en"):
        raise StoreError(f"labels must be zh or en, not {labels!r}")
    if table is not None and table not in TABLES:
        raise StoreError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    for col in ("report_id", "template"):
        if col not in reports.columns:
            raise StoreError(f"the reports table has no column {col!r}; pass the store's reports table")
    if findings is None:
        from .validate import FINDING_COLUMNS

        findings = pd.DataFrame({c: pd.Series(dtype="string") for c in ["report_id", *FINDING_COLUMNS]})
    # the writers take the store's own types (dates as datetime.date, text as text), not the public ones
    reports, cells, findings = plain(reports), plain(cells), plain(findings)
    path = Path(out)
    mode = _target(path, to)
    names = [table or "cells"] if mode == "file" else ([table] if table else list(TABLES))
    frames = _frames(reports, cells, findings, names, layout)
    version_id = store_version_id(reports, cells, findings, store)
    if mode == "file":
        path.parent.mkdir(parents=True, exist_ok=True)
        base = path.parent
        targets = [(frames[0], path)]
        book_path = path.with_name(f"{path.stem}_codebook.csv")
        package_path = path.with_name(f"{path.stem}_datapackage.json")
        book = frames[0].book
    else:
        path.mkdir(parents=True, exist_ok=True)
        base = path
        targets = [(f, path / f"{f.name}{SUFFIXES[to]}") for f in frames]
        book_path = path / "codebook.csv"
        package_path = path / "datapackage.json"
        book = pd.concat([f.book.assign(table=f.name) for f in frames], ignore_index=True)
        book = book[["table", *CODEBOOK_COLUMNS]]
    resources = []
    for frame, target in targets:
        _write(frame, to, target, labels, excel_safe)
        resources.append(_resource(frame, to, target, base))
    _atomic(book_path, lambda p: book.to_csv(p, index=False, encoding=CSV_ENCODING, lineterminator="\n"))
    resources.append(_codebook_resource(book, book_path, base))
    _write_json(package_path, _package(resources, reports.drop_duplicates("report_id"), version_id, to))
    main = next((f for f in frames if f.name == "cells"), frames[0])
    written = tuple(t for _, t in targets) + (book_path, package_path)
    return ExportResult(path=path, codebook=book_path, rows=len(main.data), columns=main.data.shape[1],
                        dropped_cells=main.dropped, datapackage=package_path, files=written,
                        tables=tuple((f.name, len(f.data)) for f in frames))


def export_store(store: Any, to: str, out: str | os.PathLike[str], layout: str = "long",
                 labels: str = "zh", *, table: str | None = None, excel_safe: bool = False) -> ExportResult:
    """Export a corpus store (a folder written by `helpers.store`, or an opened Corpus) with its
    codebook and data package; see `export_tables`."""
    if isinstance(store, (str, os.PathLike)):
        from .store import open_store

        store = open_store(store)
    return export_tables(store.reports, store.cells, to, out, layout=layout, labels=labels,
                         findings=store.findings, table=table, excel_safe=excel_safe, store=store)
