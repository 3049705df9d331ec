"""Rates and counts per report, pooled by peer group, with peer outliers and ranks (issue 7).

The metric definitions are data (templates/metrics.yaml): numerator and denominator cell keys in
the 2021 format, unit and written definition. A 2019-format report is evaluated through the map of
comparable keys in common.yaml; where a metric's keys have no 2019 counterpart it stays missing.
Every rate carries its numerator and denominator; a cell that is not `ok`/`inferred` makes the
metric null with a note, never 0. docs/metrics.md is generated from the YAML by `metrics_markdown()`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import StoreError, TemplateError
from .frames import ordered
from .template import common, get_template, read_data

__all__ = [
    "HYBRID",
    "METRIC_COLUMNS",
    "PANEL_STATUSES",
    "Metric",
    "PanelTable",
    "aggregate_metrics",
    "comparable_keys",
    "definitions_frame",
    "flag_outliers",
    "layouts",
    "metric_definitions",
    "metrics_config",
    "metrics_markdown",
    "panel",
    "panel_keys",
    "panel_table",
    "rank",
    "report_metrics",
]

METRIC_COLUMNS = ["report_id", "metric", "value", "numerator", "denominator", "small_n", "note"]
DEFAULT_BY = ("year", "organ_kind", "level", "region")
# The layout of a 2021-format report that prints the 2019 single （六）其他处理 row (see `layouts`).
HYBRID = "2021-hybrid"
# Panel statuses: the cell statuses, plus `not_in_format` for a quantity the printed layout lacks.
PANEL_STATUSES = ("ok", "inferred", "corrected", "blank", "placeholder", "unreadable", "missing", "not_in_format")
# When the cells summed into one value have several unusable statuses, the first of these wins.
_WORST = ("unreadable", "missing", "placeholder", "blank")
# A metric using a cell of these statuses carries a caveat (a rate over an inferred or unread cell).
CAVEAT_STATUSES = ("inferred", "unreadable")


@dataclass(frozen=True)
class Metric:
    """One metric: value = scale × Σ numerator / (Σ denominator − Σ denominator_minus), or a count."""

    id: str
    zh: str
    en: str
    group: str
    unit: str
    numerator: tuple[str, ...]
    definition: str
    denominator: tuple[str, ...] = ()
    denominator_minus: tuple[str, ...] = ()
    scale: float = 1.0

    @property
    def is_rate(self) -> bool:
        """True for a ratio (it has a denominator), False for a count or amount."""
        return bool(self.denominator)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.numerator + self.denominator + self.denominator_minus


# --------------------------------------------------------------------------------------------
# Definitions


@functools.lru_cache(maxsize=None)
def metrics_config() -> dict[str, Any]:
    """The parsed templates/metrics.yaml (thresholds, rules text, metric list, export labels)."""
    data = read_data("metrics.yaml")
    if not isinstance(data.get("metrics"), list):
        raise TemplateError("templates/metrics.yaml must be a mapping with a `metrics` list")
    return data


@functools.lru_cache(maxsize=None)
def metric_definitions() -> tuple[Metric, ...]:
    """Every metric of metrics.yaml, in file order; keys are checked against the 2021 template."""
    cfg = metrics_config()
    known = set(get_template("2021").keys)
    out: list[Metric] = []
    seen: set[str] = set()
    for spec in cfg["metrics"]:
        m = Metric(id=spec["id"], zh=spec["zh"], en=spec["en"], group=spec["group"], unit=str(spec["unit"]),
                   numerator=tuple(spec["numerator"]), definition=" ".join(str(spec["definition"]).split()),
                   denominator=tuple(spec.get("denominator", ())),
                   denominator_minus=tuple(spec.get("denominator_minus", ())),
                   scale=float(spec.get("scale", 1)))
        bad = [k for k in m.keys if k not in known]
        if bad:
            raise TemplateError(f"metrics.yaml: metric {m.id} uses keys not in the 2021 template: {bad}")
        if m.id in seen:
            raise TemplateError(f"metrics.yaml: metric id {m.id} is defined twice")
        if m.denominator_minus and not m.denominator:
            raise TemplateError(f"metrics.yaml: metric {m.id} has denominator_minus without a denominator")
        seen.add(m.id)
        out.append(m)
    return tuple(out)


def definitions_frame() -> pd.DataFrame:
    """The metric definitions as a table (id, zh, en, group, unit, keys, 2019 counterpart, definition)."""
    rows = []
    for m in metric_definitions():
        rows.append({"metric": m.id, "zh": m.zh, "en": m.en, "group": m.group, "unit": m.unit,
                     "numerator": " + ".join(m.numerator), "denominator": _den_text(m.denominator, m.denominator_minus),
                     "scale": m.scale, "counterpart_2019": _counterpart_text(m), "definition": m.definition})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# 2019 ↔ 2021


@functools.lru_cache(maxsize=None)
def _map_2021_to_2019() -> dict[str, str]:
    """2021 key → the 2019 key it corresponds to (alone or together with other 2021 keys)."""
    comp = common()["comparable"]
    keys19 = set(get_template("2019").keys)
    out: dict[str, str] = {}
    row_map = comp.get("table_3_2021_to_2019", {})
    for key in get_template("2021").keys:
        table, row, column = key.split("/")
        if table in comp.get("same_tables", ()):
            target = f"{table}/{row_map.get(row, row)}/{column}" if table == "table_3" else key
            if target in keys19:
                out[key] = target
    for k21, k19 in comp.get("table_2_2021_to_2019", {}).items():
        if k19 not in keys19:
            raise TemplateError(f"common.yaml comparable: {k19} is not a 2019 key")
        out[k21] = k19
    return out


def comparable_keys(keys: Iterable[str], template: str) -> tuple[str, ...] | None:
    """The keys of `template` whose sum corresponds to the sum of the 2021 `keys`, or None.

    For 2019 every key must map to a 2019 key, and every 2019 key reached must be covered by the whole
    group of 2021 keys that map onto it: {（六）1, 2, 3} → （六）其他处理, but （六）2 alone → None.
    """
    keys = tuple(dict.fromkeys(keys))
    if template == "2021":
        return keys
    fwd = _map_2021_to_2019()
    if template == HYBRID:
        groups = _groups()
        out: list[str] = []
        for k in keys:
            target = fwd.get(k)
            if target in groups:
                if not set(groups[target]) <= set(keys):
                    return None
                out.append(target)
            else:
                out.append(k)
        return tuple(dict.fromkeys(out))
    if template != "2019":
        return None
    if any(k not in fwd for k in keys):
        return None
    targets = tuple(dict.fromkeys(fwd[k] for k in keys))
    wanted = set(keys)
    for t in targets:
        if not {k for k, v in fwd.items() if v == t} <= wanted:
            return None
    return targets


@functools.lru_cache(maxsize=None)
def _groups() -> dict[str, list[str]]:
    """2019 key → the 2021 keys that together correspond to it, for keys reached by several
    (table_3/other_handling/* ← the three （六） rows)."""
    groups: dict[str, list[str]] = {}
    for k21, k19 in _map_2021_to_2019().items():
        groups.setdefault(k19, []).append(k21)
    return {k: v for k, v in groups.items() if len(v) > 1}


def layouts(cells: pd.DataFrame, reports: pd.DataFrame) -> pd.Series:
    """The layout each report printed, by report_id: its template, or `HYBRID` for a 2021-format
    report whose Table 3 prints the single 2019 （六）其他处理 row (a cell of a `_groups()` key
    that is not `missing`) instead of the three 2021 （六） rows. Metrics, panels and exports read
    such a report through the comparable-key map."""
    reps = reports[["report_id", "template"]].drop_duplicates("report_id")
    out = pd.Series(reps["template"].astype(object).where(reps["template"].notna(), "").astype(str).to_numpy(),
                    index=reps["report_id"].astype(str).to_numpy(), dtype=object)
    group_keys = set(_groups())
    if not group_keys or cells.empty:
        return out
    rows = {k.split("/")[1] for k in group_keys}
    sub = cells[cells["row"].isin(rows) & (cells["status"].astype(str) != "missing")]
    key = sub["table"].astype(str) + "/" + sub["row"].astype(str) + "/" + sub["column"].astype(str)
    printed = set(sub.loc[key.isin(group_keys).to_numpy(), "report_id"].astype(str))
    hybrid = out.index.isin(list(printed)) & (out == "2021").to_numpy()
    out[hybrid] = HYBRID
    return out


def _den_text(den: Sequence[str], minus: Sequence[str]) -> str:
    text = " + ".join(den)
    if minus:
        text = f"({text}) − ({' + '.join(minus)})"
    return text


def _counterpart_text(m: Metric) -> str:
    parts = [comparable_keys(p, "2019") if p else () for p in (m.numerator, m.denominator, m.denominator_minus)]
    if any(p is None for p in parts):
        return "none (missing for 2019 reports)"
    num, den, minus = parts
    same = (num, den, minus) == (m.numerator, m.denominator, m.denominator_minus)
    if same:
        return "same keys"
    text = " + ".join(num)
    if den:
        text += f" over {_den_text(den, minus)}"
    return text


# --------------------------------------------------------------------------------------------
# Per report


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise StoreError(f"the {what} table has no column(s) {missing}; pass the store's {what} table "
                         f"(helpers.store.open_store(DIR).{what})")


@dataclass
class _Grid:
    """The cells a set of metrics needs, per report: values (NaN when none), statuses ("absent"
    when the cell is not in the table at all) and the rules of error findings located at the cell
    ("" when none), as numpy columns by key."""

    values: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]


def _error_flags(findings: pd.DataFrame | None, ids: pd.Index, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """key → per report, the rule ids of error findings naming that cell (a finding with no column
    names every cell of its row)."""
    out = {k: np.full(len(ids), "", dtype=object) for k in keys}
    if findings is None or findings.empty or not len(ids):
        return out
    need = {"report_id", "rule", "severity", "table", "row", "column"}
    if not need <= set(findings.columns):
        return out
    f = findings[(findings["severity"].astype(str) == "error") & findings["report_id"].astype(str).isin(ids)]
    f = f[f["table"].notna() & f["row"].notna() & (f["row"].astype(str) != "")]
    if f.empty:
        return out
    by_row: dict[tuple[str, str], list[str]] = {}
    for k in keys:
        t, r, _ = k.split("/", 2)
        by_row.setdefault((t, r), []).append(k)
    pos = ids.get_indexer(f["report_id"].astype(str))
    for p, rule, t, r, c in zip(pos, f["rule"].astype(str), f["table"].astype(str), f["row"].astype(str),
                                f["column"].astype(object)):
        if p < 0:
            continue
        col = "" if c is None or c is pd.NA or (isinstance(c, float) and np.isnan(c)) else str(c)
        hit = [f"{t}/{r}/{col}"] if col else by_row.get((t, r), [])
        for k in hit:
            if k in out and rule not in out[k][p].split(","):
                out[k][p] = f"{out[k][p]},{rule}" if out[k][p] else rule
    return out


def _grid(cells: pd.DataFrame, ids: pd.Index, keys: Sequence[str], findings: pd.DataFrame | None = None) -> _Grid:
    rows = {k.split("/")[1] for k in keys}
    sub = cells.loc[cells["report_id"].isin(ids) & cells["row"].isin(rows),
                    ["report_id", "table", "row", "column", "value", "status"]]
    key = sub["table"].astype(str) + "/" + sub["row"].astype(str) + "/" + sub["column"].astype(str)
    sub = sub.assign(key=key.to_numpy())
    sub = sub[sub["key"].isin(set(keys))].drop_duplicates(["report_id", "key"])
    pos = ids.get_indexer(sub["report_id"])
    vals = sub["value"].astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    stats = sub["status"].astype(object).to_numpy()
    values, status = {}, {}
    for k, idx in sub.groupby("key", sort=False).indices.items():
        v = np.full(len(ids), np.nan)
        st = np.full(len(ids), "absent", dtype=object)
        v[pos[idx]] = vals[idx]
        st[pos[idx]] = stats[idx]
        values[k], status[k] = v, st
    for k in keys:
        if k not in values:
            values[k], status[k] = np.full(len(ids), np.nan), np.full(len(ids), "absent", dtype=object)
    return _Grid(values, status, _error_flags(findings, ids, keys))


def _part(grid: _Grid, keys: Sequence[str], usable: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                          np.ndarray]:
    """Sum of the keys per report, whether every cell was usable, a note naming the others, and the
    caveat tokens (`inferred=KEY; unreadable=KEY; R4=KEY` for cells an error finding names)."""
    n = len(next(iter(grid.values.values()))) if grid.values else 0
    total = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    note = np.full(n, "", dtype=object)
    caveat = np.full(n, "", dtype=object)
    for k in keys:
        v, s = grid.values[k], grid.status[k]
        good_status = np.isin(s, usable)
        good = good_status & ~np.isnan(v)
        bad = ~good
        if bad.any():
            label = np.where(good_status, "no value", s).astype(object)
            note[bad] = note[bad] + f"{k} " + label[bad] + "; "
        doubt = np.isin(s, CAVEAT_STATUSES)
        if doubt.any():
            caveat[doubt] = caveat[doubt] + s[doubt].astype(object) + f"={k}; "
        flag = grid.flags.get(k)
        if flag is not None:
            named = flag != ""
            if named.any():
                caveat[named] = caveat[named] + np.array(["".join(f"{r}={k}; " for r in rules.split(","))
                                                          for rules in flag[named]], dtype=object)
        ok &= good
        total += np.where(good, v, 0.0)
    return total, ok, note, caveat


def report_metrics(cells: pd.DataFrame, reports: pd.DataFrame, findings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every metric for every report of `reports` (tidy: report_id, metric, value, numerator,
    denominator, small_n, note, caveat, then agency and year when `reports` has them).

    `cells` is the store's cells table (cells of reports not in `reports` are ignored); `reports`
    needs report_id and template. A metric whose cells are not all `ok`/`inferred` is null with a
    note; a rate with denominator below the small-n threshold is flagged, and 0 gives null. With
    `findings` (the store's findings table), a metric using a cell that an error finding names, or
    an inferred or unreadable cell, carries a `caveat` (`STATUS=KEY` / `RULE=KEY`, `; `-separated).
    """
    _require(reports, ["report_id", "template"], "reports")
    _require(cells, ["report_id", "table", "row", "column", "value", "status"], "cells")
    cfg = metrics_config()
    usable = list(cfg["usable_statuses"])
    small = float(cfg["small_n"])
    defs = metric_definitions()
    reps = reports.drop_duplicates("report_id")
    rids = reps["report_id"].astype(str).to_numpy(dtype=object)
    templates = layouts(cells, reps).reindex(rids).fillna("").astype(str).to_numpy()
    n_m = len(defs)
    n = len(rids)
    # output arrays in (report, metric) order: row = report position × n_m + metric position
    value = np.full(n * n_m, np.nan)
    numerator = np.full(n * n_m, np.nan)
    denominator = np.full(n * n_m, np.nan)
    small_n = np.full(n * n_m, None, dtype=object)
    note = np.full(n * n_m, "", dtype=object)
    caveat = np.full(n * n_m, "", dtype=object)
    for version in sorted(set(templates)):
        where = np.flatnonzero(templates == version)
        ids = pd.Index(rids[where])
        resolved: dict[str, tuple[tuple[str, ...], ...] | None] = {}
        for m in defs:
            parts = [comparable_keys(p, version) if p else () for p in (m.numerator, m.denominator,
                                                                          m.denominator_minus)]
            resolved[m.id] = None if any(p is None for p in parts) else tuple(parts)  # type: ignore[arg-type]
        keys = list(dict.fromkeys(k for r in resolved.values() if r for p in r for k in p))
        grid = _grid(cells, ids, keys, findings)
        for j, m in enumerate(defs):
            out = where * n_m + j
            v, num, den, sn, nt, cv = _evaluate(m, resolved[m.id], len(ids), grid, usable, small, version)
            value[out], numerator[out], denominator[out], small_n[out], note[out], caveat[out] = v, num, den, sn, nt, cv
    frame = pd.DataFrame({
        "report_id": pd.array(np.repeat(rids, n_m), dtype="str"),
        "metric": pd.array(np.tile(np.array([m.id for m in defs], dtype=object), n), dtype="str"),
        "value": _nullable(value),
        "numerator": _nullable(numerator),
        "denominator": _nullable(denominator),
        "small_n": pd.array(small_n, dtype="boolean"),
        "note": pd.array(note, dtype="str"),
        "caveat": pd.array(caveat, dtype="str"),
    })
    for col in ("agency", "year"):
        if col in reps.columns:
            frame[col] = reps[col].repeat(n_m).reset_index(drop=True)
    return frame


def panel(cells: pd.DataFrame, reports: pd.DataFrame, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Cell values comparable across the 2019 and 2021 formats, in 2021 keys (tidy: report_id, key,
    value, status, note).

    By default every 2021 key plus each 2019 key that several 2021 keys together correspond to
    (table_3/other_handling/*: for 2021 reports the sum of the three （六） rows; for a `HYBRID`
    report the printed 2019 row). A key with no counterpart in a report's layout is null with status
    `not_in_format` and the reason in `note`; unusable cells are null with their status, never 0. A
    sum of cells is `ok` when every cell is, `inferred` when one is inferred, else the first of
    unreadable, missing, placeholder, blank among its cells.
    """
    _require(reports, ["report_id", "template"], "reports")
    groups = _groups()
    keys = panel_keys() if keys is None else list(keys)
    known = set(get_template("2021").keys)
    bad = [k for k in keys if k not in known and k not in groups]
    if bad:
        raise StoreError(f"panel keys {bad[:5]} are not 2021 keys or comparable groups")
    usable = list(metrics_config()["usable_statuses"])
    reps = reports[["report_id", "template"]].drop_duplicates("report_id")
    rids = reps["report_id"].astype(str).to_numpy(dtype=object)
    templates = layouts(cells, reps).reindex(rids).fillna("").astype(str).to_numpy()
    n_k, n = len(keys), len(rids)
    value = np.full(n * n_k, np.nan)
    status = np.full(n * n_k, "", dtype=object)
    note = np.full(n * n_k, "", dtype=object)
    for version in sorted(set(templates)):
        where = np.flatnonzero(templates == version)
        resolved = {k: comparable_keys(groups.get(k, [k]), version) for k in keys}
        need = list(dict.fromkeys(x for r in resolved.values() if r for x in r))
        grid = _grid(cells, pd.Index(rids[where]), need)
        for j, k in enumerate(keys):
            out = where * n_k + j
            if resolved[k] is None:
                value[out], status[out], note[out] = np.nan, "not_in_format", _no_counterpart(version)
                continue
            total, ok, nt, _ = _part(grid, resolved[k], usable)
            st = np.full(len(where), "ok", dtype=object)
            for key in resolved[k]:
                st = np.where((st == "ok") & (grid.status[key] == "inferred"), "inferred", st)
            for key in resolved[k]:   # corrected by hand (with a number, or to a blank or placeholder)
                st = np.where((st == "ok") & (grid.status[key] == "corrected"), "corrected", st)
            for worst in reversed(_WORST):
                for key in resolved[k]:
                    s = grid.status[key]
                    hit = (s == "absent") if worst == "missing" else (s == worst)
                    hit |= (worst == "missing") & np.isin(s, usable) & np.isnan(grid.values[key]) & (s != "corrected")
                    st = np.where(hit & ~ok, worst, st)
            # a status outside usable and _WORST (e.g. unknown) is still not a number
            st = np.where(~ok & np.isin(st, ["ok", "inferred"]), "missing", st)
            value[out], status[out], note[out] = np.where(ok, total, np.nan), st, _strip(nt)
    return pd.DataFrame({"report_id": pd.array(np.repeat(rids, n_k), dtype="str"),
                         "key": pd.array(np.tile(np.array(list(keys), dtype=object), n), dtype="str"),
                         "value": _nullable(value), "status": ordered(status, PANEL_STATUSES),
                         "note": pd.array(note, dtype="str")})


def panel_keys() -> list[str]:
    """The panel's quantities in order: every 2021 key, then each 2019 key that several 2021 keys
    together correspond to (`table_3/other_handling/*`)."""
    return [*get_template("2021").keys, *_groups()]


def _no_counterpart(version: str) -> str:
    if version == "2019":
        return "no counterpart in the 2019 format"
    if version == HYBRID:
        return "the report prints the single 2019 （六）其他处理 row instead of the 2021 （六） rows"
    return f"unknown template {version!r}"


@dataclass(frozen=True)
class PanelTable:
    """`panel_table`'s result: one row per organ-year (`table`), and the cells where files of the
    same organ-year disagree (`conflicts`, one row per key and duplicate file)."""

    table: pd.DataFrame
    conflicts: pd.DataFrame
    keys: tuple[str, ...]


PANEL_META = ["report_id", "format", "agency", "organ_name", "organ_kind", "level", "region_code", "region",
              "n_files", "duplicates"]
CONFLICT_COLUMNS = ["organ_id", "year", "report_id", "duplicate_of", "key", "value", "primary_value"]
_FORM_ORDER = ("html", "docx", "pdf", "text")


def primary_order(readable: Any, unreadable: Any, form: Any) -> dict[str, Any]:
    """Sort keys (ascending) that rank the files of one organ-year: most readable cells, then fewest
    unreadable, then the form order html, docx, pdf, text; the caller breaks ties by report_id. One
    rule for the panel's primary and the store's previous-year links, so that they agree."""
    forms = pd.Series(form, dtype=object).astype(str).to_numpy()
    return {"_readable": -np.asarray(readable, dtype=float), "_unreadable": np.asarray(unreadable, dtype=float),
            "_form": np.array([_FORM_ORDER.index(f) if f in _FORM_ORDER else len(_FORM_ORDER) for f in forms])}


def panel_table(cells: pd.DataFrame, reports: pd.DataFrame, keys: Sequence[str] | None = None) -> PanelTable:
    """The harmonised panel: one row per (organ_id, year), one value column per comparable quantity
    (named by its 2021 key; `panel_keys()`) and a `<key>:status` column beside each (PANEL_STATUSES).

    An organ-year published in several files is one row: the most completely read file (most
    ok/inferred/corrected panel values, then fewest unreadable, then the form order html, docx, pdf, text, then
    report_id); the others are listed in `duplicates`, and every quantity where a duplicate holds a
    different number is a row of `conflicts`. `format` says which layout was printed (2019, 2021 or
    2021-hybrid). A report with no organ_id or year is its own row (organ_id `report:<id>`).
    """
    _require(reports, ["report_id", "template"], "reports")
    keys = panel_keys() if keys is None else list(keys)
    reps = reports.drop_duplicates("report_id").reset_index(drop=True)
    reps = reps.assign(report_id=reps["report_id"].astype(str))
    tidy = panel(cells, reps, keys)
    n_k = len(keys)
    st = tidy["status"].to_numpy(dtype=object).reshape(len(reps), n_k) if n_k else np.empty((len(reps), 0))
    val = tidy["value"].to_numpy(dtype="float64", na_value=np.nan).reshape(len(reps), n_k) if n_k else \
        np.empty((len(reps), 0))
    organ = (reps["organ_id"].astype(object) if "organ_id" in reps else pd.Series([None] * len(reps), dtype=object))
    year = (pd.to_numeric(reps["year"], errors="coerce") if "year" in reps else pd.Series([np.nan] * len(reps)))
    alone = organ.isna().to_numpy() | (organ.astype(str) == "").to_numpy() | year.isna().to_numpy()
    organ = organ.astype(object).where(~alone, "report:" + reps["report_id"]).astype(str)
    form = reps["form"].astype(str) if "form" in reps else pd.Series([""] * len(reps))
    rank = primary_order(np.isin(st, ["ok", "inferred", "corrected"]).sum(axis=1), (st == "unreadable").sum(axis=1),
                         form)
    order = pd.DataFrame({"organ_id": organ, "year": year, **{k: np.asarray(v) for k, v in rank.items()},
                          "rid": reps["report_id"], "pos": np.arange(len(reps))})
    order = order.sort_values(["organ_id", "year", "_readable", "_unreadable", "_form", "rid"], kind="stable")
    group = order.groupby(["organ_id", "year"], dropna=False, sort=False)
    first = order[~order.duplicated(["organ_id", "year"], keep="first")]
    primary_of = pd.Series(group["pos"].transform("first").to_numpy(), index=order["pos"].to_numpy()).sort_index()
    dups = group["rid"].agg(lambda s: ";".join(s.iloc[1:])).reindex(
        pd.MultiIndex.from_frame(first[["organ_id", "year"]])).to_numpy()
    sizes = group.size().reindex(pd.MultiIndex.from_frame(first[["organ_id", "year"]])).to_numpy()
    pos = first["pos"].to_numpy()
    lay = layouts(cells, reps).reindex(reps["report_id"]).fillna("").astype(str).to_numpy()
    meta: dict[str, Any] = {"organ_id": pd.array(first["organ_id"].to_numpy(), dtype="str"),
                            "year": pd.array(first["year"].to_numpy(), dtype="Float64").astype("Int64"),
                            "report_id": pd.array(reps["report_id"].to_numpy()[pos], dtype="str"),
                            "format": pd.array(lay[pos], dtype="str")}
    for col in PANEL_META[2:8]:
        if col in reps:
            meta[col] = reps[col].iloc[pos].reset_index(drop=True)
    meta["n_files"] = pd.array(sizes, dtype="int64")
    meta["duplicates"] = pd.array(dups, dtype="str")
    out = pd.DataFrame(meta)
    cols: dict[str, Any] = {}
    for j, k in enumerate(keys):
        cols[k] = _nullable(val[pos, j])
        cols[f"{k}:status"] = ordered(st[pos, j], PANEL_STATUSES)
    table = pd.concat([out, pd.DataFrame(cols)], axis=1)
    # conflicts: a duplicate whose number differs from the primary's
    rows = []
    prim = primary_of.to_numpy()
    for p in np.flatnonzero(prim != np.arange(len(reps))):
        q = prim[p]
        differ = ~np.isnan(val[p]) & ~np.isnan(val[q]) & (val[p] != val[q])
        for j in np.flatnonzero(differ):
            rows.append({"organ_id": organ.iloc[p], "year": year.iloc[p], "report_id": reps["report_id"].iloc[p],
                         "duplicate_of": reps["report_id"].iloc[q], "key": keys[j], "value": val[p, j],
                         "primary_value": val[q, j]})
    conflicts = pd.DataFrame(rows, columns=CONFLICT_COLUMNS)
    return PanelTable(table=table.reset_index(drop=True), conflicts=conflicts, keys=tuple(keys))


def _evaluate(m: Metric, parts: tuple[tuple[str, ...], ...] | None, n: int, grid: _Grid, usable: list[str],
              small: float, version: str) -> tuple[np.ndarray, ...]:
    """One metric for the reports of one layout: value, numerator, denominator, small_n, note, caveat."""
    if parts is None:
        why = _no_counterpart(version)
        return (np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan),
                np.full(n, None if m.is_rate else False, dtype=object), np.full(n, why, dtype=object),
                np.full(n, "", dtype=object))
    num_keys, den_keys, minus_keys = parts
    num, num_ok, note, caveat = _part(grid, num_keys, usable)
    numerator = np.where(num_ok, num, np.nan)
    if not m.is_rate:
        return (numerator, numerator, np.full(n, np.nan), np.zeros(n, dtype=bool).astype(object), _strip(note),
                _strip(caveat))
    den, den_ok, den_note, den_cav = _part(grid, den_keys, usable)
    if minus_keys:
        minus, minus_ok, minus_note, minus_cav = _part(grid, minus_keys, usable)
        den = den - minus
        den_ok &= minus_ok
        den_note = den_note + minus_note
        den_cav = den_cav + minus_cav
    note = note + den_note
    caveat = caveat + den_cav
    denominator = np.where(den_ok, den, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(num_ok & den_ok & (den > 0), m.scale * num / np.where(den > 0, den, 1), np.nan)
    note = np.where(den_ok & (den == 0), note + "denominator is 0; ", note)
    note = np.where(den_ok & (den < 0), note + "denominator is negative (inconsistent cells); ", note)
    small_n = np.where(den_ok, den < small, None).astype(object)
    return value, numerator, denominator, small_n, _strip(note), _strip(caveat)


def _without(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`frame` without the grouping columns a merge with the reports table brings (report_metrics
    carries agency and year itself)."""
    return frame.drop(columns=[c for c in columns if c in frame.columns and c != "report_id"])


def _strip(note: np.ndarray) -> np.ndarray:
    return np.array([s.rstrip("; ") for s in note], dtype=object)


def _nullable(a: np.ndarray) -> pd.arrays.FloatingArray:
    """float64 with NaN → pandas Float64 with <NA>."""
    a = np.asarray(a, dtype="float64")
    return pd.arrays.FloatingArray(np.nan_to_num(a), np.isnan(a))


# --------------------------------------------------------------------------------------------
# Pooled, outliers, ranks


def aggregate_metrics(metrics: pd.DataFrame, reports: pd.DataFrame,
                      by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Pool report metrics by group: Σ numerator / Σ denominator (rates; Σ for counts), with the
    denominator, the number of reports (with and without a value) and the median of solid values.

    Only reports where a metric is defined enter its sums, so a pooled rate never mixes a numerator
    with a denominator from a different set of reports. `small_n` flags a pooled denominator < 10.
    """
    by = list(by)
    _require(reports, ["report_id", *by], "reports")
    _require(metrics, METRIC_COLUMNS, "metrics")
    defs = {m.id: m for m in metric_definitions()}
    small = float(metrics_config()["small_n"])
    df = _without(metrics, by).merge(reports[["report_id", *by]].drop_duplicates("report_id"), on="report_id",
                                     how="left")
    value = df["value"].astype("float64")
    defined = value.notna()
    solid = defined & ~df["small_n"].fillna(False).astype(bool)
    df = df.assign(
        _defined=defined.astype(int),
        _num=df["numerator"].astype("float64").where(defined, 0.0),
        _den=df["denominator"].astype("float64").where(defined, 0.0),
        _solid_value=value.where(solid),
        _solid=solid.astype(int),
    )
    keys = [*by, "metric"]
    g = df.groupby(keys, dropna=False, sort=True)
    out = g.agg(n_reports=("report_id", "size"), n_defined=("_defined", "sum"), n_solid=("_solid", "sum"),
                numerator=("_num", "sum"), denominator=("_den", "sum"),
                median=("_solid_value", "median")).reset_index()
    rate = out["metric"].map(lambda k: defs[k].is_rate if k in defs else False).astype(bool)
    scale = out["metric"].map(lambda k: defs[k].scale if k in defs else 1.0).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(rate, scale * out["numerator"] / out["denominator"].where(out["denominator"] > 0),
                          out["numerator"])
    none = out["n_defined"] == 0
    out["value"] = pd.array(np.where(none, np.nan, pooled), dtype="Float64")
    out["numerator"] = out["numerator"].astype("Float64").mask(none)
    out["denominator"] = out["denominator"].astype("Float64").mask(none | ~rate)
    out["small_n"] = pd.array(np.where(rate & ~none, out["denominator"].fillna(0) < small, False), dtype="boolean")
    out["median"] = out["median"].astype("Float64")
    out["unit"] = out["metric"].map(lambda k: defs[k].unit if k in defs else "")
    out[["n_reports", "n_defined", "n_solid"]] = out[["n_reports", "n_defined", "n_solid"]].astype("int64")
    morder = {m: i for i, m in enumerate(defs)}
    out = out.sort_values([*by, "metric"], key=lambda s: s.map(morder) if s.name == "metric" else s,
                          na_position="last", kind="stable")
    return out[[*by, "metric", "value", "numerator", "denominator", "small_n", "n_reports", "n_defined",
                "n_solid", "median", "unit"]].reset_index(drop=True)


def flag_outliers(metrics: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Robust z-score of each solid report value among its peers (same level and year, per metric).

    z = 0.6745·(x − median)/MAD (MAD 0: mean absolute deviation × 1.253314 instead); |z| > 3.5 is an
    outlier. Small-denominator and null values get no z-score and are never flagged.
    """
    cfg = metrics_config()["outliers"]
    within = list(cfg["within"])
    _require(reports, ["report_id", *within], "reports")
    _require(metrics, METRIC_COLUMNS, "metrics")
    df = _without(metrics, within).merge(reports[["report_id", *within]].drop_duplicates("report_id"),
                                         on="report_id", how="left")
    x = df["value"].astype("float64")
    solid = x.notna() & ~df["small_n"].fillna(False).astype(bool)
    xs = x.where(solid)
    keys = ["metric", *within]
    grp = df.assign(_x=xs).groupby(keys, dropna=False, sort=False)["_x"]
    med = grp.transform("median")
    absdev = (xs - med).abs()
    mad = absdev.groupby([df[k] for k in keys], dropna=False, sort=False).transform("median")
    meanad = absdev.groupby([df[k] for k in keys], dropna=False, sort=False).transform("mean")
    peers = grp.transform("count").astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(mad > 0, float(cfg["constant"]) * (xs - med) / mad,
                     np.where(meanad > 0, (xs - med) / (1.253314 * meanad), 0.0))
    enough = peers >= int(cfg["min_peers"])
    z = np.where(solid & enough, z, np.nan)
    note = np.where(~x.notna(), "no value", np.where(
        ~solid, "small denominator: not ranked", np.where(~enough, f"fewer than {cfg['min_peers']} solid peers", "")))
    out = df[["report_id", "metric", *within, "value", "small_n"]].copy()
    out["peers"] = peers.to_numpy()
    out["median"] = pd.array(med.to_numpy(), dtype="Float64")
    out["z"] = pd.array(z, dtype="Float64")
    out["outlier"] = pd.array(np.nan_to_num(np.abs(z), nan=0.0) > float(cfg["z"]), dtype="bool")
    out["note"] = pd.array(note, dtype="str")
    return out.reset_index(drop=True)


def rank(metrics: pd.DataFrame, metric: str, reports: pd.DataFrame | None = None,
         by: Sequence[str] = ("level", "year"), ascending: bool = False) -> pd.DataFrame:
    """Rank reports on one metric within groups (default: level and year; 1 = highest unless
    ascending, said in the `direction` column), ties sharing a rank (1, 1, 3), leaving out
    small-denominator and null values: they are not solid enough to rank."""
    if metric not in {m.id for m in metric_definitions()}:
        raise StoreError(f"unknown metric {metric!r}; see docs/metrics.md for the metric ids")
    _require(metrics, METRIC_COLUMNS, "metrics")
    df = metrics[(metrics["metric"] == metric)]
    df = df[df["value"].notna() & ~df["small_n"].fillna(False).astype(bool)]
    by = list(by)
    if by:
        if reports is None:
            raise StoreError("rank(..., by=...) needs the reports table for the grouping columns")
        _require(reports, ["report_id", *by], "reports")
        df = _without(df, by).merge(reports[["report_id", *by]].drop_duplicates("report_id"), on="report_id",
                                    how="left")
        g = df.groupby(by, dropna=False)["value"]
        df = df.assign(rank=g.rank(method="min", ascending=ascending).astype("int64"),
                       n_ranked=g.transform("size").astype("int64"))
    else:
        df = df.assign(rank=df["value"].rank(method="min", ascending=ascending).astype("int64"),
                       n_ranked=len(df))
    df = df.assign(direction="ascending" if ascending else "descending")
    cols = ["report_id", *by, "metric", "value", "numerator", "denominator", "rank", "n_ranked", "direction"]
    return df.sort_values([*by, "rank"], kind="stable")[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The written definitions


def metrics_markdown() -> str:
    """docs/metrics.md: the rules and every metric's definition, generated from metrics.yaml."""
    cfg = metrics_config()
    lines = ["# Metrics: definitions", "", " ".join(cfg["intro"].split()), "", "## Rules", ""]
    for rule in cfg["rules"]:
        lines.append(f"- {' '.join(str(rule).split())}")
    lines += ["", f"Usable cell statuses: {', '.join(f'`{s}`' for s in cfg['usable_statuses'])}. "
              f"Small-n threshold: denominator < {cfg['small_n']}. Outliers: |z| > {cfg['outliers']['z']} "
              f"within {', '.join(cfg['outliers']['within'])}, at least {cfg['outliers']['min_peers']} solid peers.",
              ""]
    defs = metric_definitions()
    for group, title in cfg["groups"].items():
        members = [m for m in defs if m.group == group]
        if not members:
            continue
        lines += [f"## {title}", ""]
        for m in members:
            lines += [f"### `{m.id}`: {m.en} ({m.zh})", "", m.definition, ""]
            lines.append(f"- unit: {m.unit}" + (f" (value = {m.scale:g} × numerator / denominator)"
                                                if m.is_rate and m.scale != 1 else ""))
            lines.append(f"- numerator: {' + '.join(f'`{k}`' for k in m.numerator)}")
            if m.is_rate:
                den = " + ".join(f"`{k}`" for k in m.denominator)
                if m.denominator_minus:
                    den = f"({den}) − ({' + '.join(f'`{k}`' for k in m.denominator_minus)})"
                lines.append(f"- denominator: {den}")
            lines.append(f"- 2019 format: {_counterpart_md(m)}")
            lines.append("")
    stray = sorted({m.group for m in defs} - set(cfg["groups"]))
    if stray:
        raise TemplateError(f"metrics.yaml: groups {stray} are used by metrics but not listed under `groups`")
    return "\n".join(lines).rstrip() + "\n"


def _counterpart_md(m: Metric) -> str:
    text = _counterpart_text(m)
    if text in ("same keys",) or text.startswith("none"):
        return text
    return " ".join(f"`{w}`" if "/" in w else w for w in text.split(" "))
