"""The dtypes of the DataFrames the public API hands out, in one place.

A pandas user expects dates as `datetime64` (NaT where absent) and closed sets of labels as ordered
categoricals, so that `sort_values("severity")`, `cells.status.cat.categories` and
`reports.groupby("level")` follow the project's own order instead of the alphabet:

* `status`: the cell statuses in the order of `helpers.record.STATUSES` (ok < blank < ... < unknown);
* `severity`: the rule catalogue's severities from the mildest (`helpers.validate.SEVERITIES`
  reversed: info < warning < error), so `findings[findings.severity >= "warning"]` works;
* `level`: the organ levels of `helpers.organs.LEVELS` (province < city < county < township <
  department < unknown).

The orders are read from those definitions each time, so a status or level added there flows
through. A value outside the known categories (a store written by a newer version) is kept, as an
extra category after the known ones: typing never turns a value into a missing one.

`typed` is applied where frames leave the library (`Corpus` tables and `Corpus.sql`, `Report.cells`,
`validate`, `read_long_csv`); `plain` undoes it for code that writes files with their own types
(Parquet parts of the store, exports). The store's Parquet files keep their string and date32 schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

__all__ = ["DATE_COLUMNS", "DATE_DTYPE", "category_dtypes", "level_dtype", "missing", "ordered", "plain",
           "severity_dtype", "status_dtype", "typed"]


def missing(value: Any) -> bool:
    """Whether one value of a frame is absent: None, `pd.NA`, `NaT` or a float NaN. The one test
    used wherever a value leaves a frame for a page, a file or a dict (never "nan" on a page)."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)

# Calendar dates of the store (signature and publication date): datetime64 at midnight, NaT if absent.
DATE_COLUMNS = ("report_date", "published")
DATE_DTYPE = "datetime64[us]"


def status_dtype() -> pd.CategoricalDtype:
    """Cell statuses, in the order `helpers.record.STATUSES` defines them."""
    from .record import STATUSES

    return pd.CategoricalDtype(list(STATUSES), ordered=True)


def severity_dtype() -> pd.CategoricalDtype:
    """Finding severities from the mildest to the gravest (info < warning < error)."""
    from .validate import SEVERITIES

    return pd.CategoricalDtype(list(reversed(SEVERITIES)), ordered=True)


def level_dtype() -> pd.CategoricalDtype:
    """Organ levels in the order of `helpers.organs.LEVELS` (province first, unknown last)."""
    from .organs import LEVELS

    return pd.CategoricalDtype(list(LEVELS), ordered=True)


def category_dtypes() -> dict[str, pd.CategoricalDtype]:
    """Column name → the ordered categorical dtype that column gets in a public frame."""
    return {"status": status_dtype(), "severity": severity_dtype(), "level": level_dtype()}


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _is_dates(s: pd.Series) -> bool:
    """An object column of datetime.date values (what Arrow's date32 becomes with date_as_object)."""
    if s.dtype != object:
        return False
    values = s.dropna()
    return len(values) > 0 and bool(values.map(lambda v: isinstance(v, dt.date)
                                               and not isinstance(v, dt.datetime)).all())


def _categorical(s: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """`s` as `dtype`; values outside its categories become extra categories after the known ones."""
    other = s.notna() & ~s.isin(dtype.categories)
    if other.any():
        extra = sorted({str(v) for v in s[other]} - set(dtype.categories))
        dtype = pd.CategoricalDtype([*dtype.categories, *extra], ordered=True)
        s = s.where(~other, s.astype(object).map(str))
    return pd.Series(pd.Categorical(s, dtype=dtype), index=s.index, name=s.name)


def ordered(values: Any, categories: Any) -> pd.Categorical:
    """`values` as an ordered categorical of `categories`, any other value an extra category after
    them (never a missing value)."""
    s = pd.Series(values, dtype=object)
    cat = _categorical(s.where(s.notna(), None), pd.CategoricalDtype(list(categories), ordered=True))
    return pd.Categorical(cat)


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.astype(object).where(s.notna(), None)).astype(DATE_DTYPE)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the public dtypes: `status`, `severity` and `level` text columns as ordered
    categoricals (see the module doc), the date columns (`DATE_COLUMNS`, and any column of
    datetime.date values) as `DATE_DTYPE`. Other columns, and columns already typed, are unchanged."""
    cats = {"status": status_dtype, "severity": severity_dtype, "level": level_dtype}
    out = frame
    for i, col in enumerate(frame.columns):
        s = frame.iloc[:, i]
        new: pd.Series | None = None
        if col in cats and _is_text(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            new = _categorical(s, cats[col]())
        elif (col in DATE_COLUMNS and (s.dtype == object or s.isna().all())
              and not pd.api.types.is_datetime64_any_dtype(s.dtype)) or _is_dates(s):
            new = _dates(s)
        if new is not None:
            if out is frame:
                out = frame.copy(deep=False)   # copy-on-write: the caller's frame is untouched
            out.isetitem(i, new)
    return out


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo `typed`: categorical columns as text (str), the date columns as datetime.date objects
    (None where absent): the types the store's Parquet parts and the export writers expect."""
    out = frame
    for i, col in enumerate(frame.columns):
        s = frame.iloc[:, i]
        new: Any = None
        if isinstance(s.dtype, pd.CategoricalDtype):
            new = s.astype(object).where(s.notna(), None).astype("str")
        elif col in DATE_COLUMNS and pd.api.types.is_datetime64_any_dtype(s.dtype) and s.dt.tz is None:
            new = pd.Series([None if pd.isna(v) else v.date() for v in s], index=s.index, name=s.name, dtype=object)
        if new is not None:
            if out is frame:
                out = frame.copy(deep=False)   # copy-on-write: the caller's frame is untouched
            out.isetitem(i, new)
    return out
