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
from .template import common, get_template, read_data

__all__ = [
    "METRIC_COLUMNS",
    "Metric",
    "aggregate_metrics",
    "comparable_keys",
    "definitions_frame",
    "flag_outliers",
    "metric_definitions",
    "metrics_config",
    "metrics_markdown",
    "panel",
    "rank",
    "report_metrics",
]

METRIC_COLUMNS = ["report_id", "metric", "value", "numerator", "denominator", "small_n", "note"]
DEFAULT_BY = ("year", "organ_kind", "level", "region")


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
    if template != "2019":
        return None
    fwd = _map_2021_to_2019()
    if any(k not in fwd for k in keys):
        return None
    targets = tuple(dict.fromkeys(fwd[k] for k in keys))
    wanted = set(keys)
    for t in targets:
        if not {k for k, v in fwd.items() if v == t} <= wanted:
            return None
    return targets


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
    """The cells a set of metrics needs, per report: values (NaN when none) and statuses ("absent"
    when the cell is not in the table at all), as numpy columns by key."""

    values: dict[str, np.ndarray]
    status: dict[str, np.ndarray]


def _grid(cells: pd.DataFrame, ids: pd.Index, keys: Sequence[str]) -> _Grid:
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
    return _Grid(values, status)


def _part(grid: _Grid, keys: Sequence[str], usable: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of the keys per report, whether every cell was usable, and a note naming the others."""
    n = len(next(iter(grid.values.values()))) if grid.values else 0
    total = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    note = np.full(n, "", dtype=object)
    for k in keys:
        v, s = grid.values[k], grid.status[k]
        good_status = np.isin(s, usable)
        good = good_status & ~np.isnan(v)
        bad = ~good
        if bad.any():
            label = np.where(good_status, "no value", s).astype(object)
            note[bad] = note[bad] + f"{k} " + label[bad] + "; "
        ok &= good
        total += np.where(good, v, 0.0)
    return total, ok, note


def report_metrics(cells: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Every metric for every report of `reports` (tidy: report_id, metric, value, numerator,
    denominator, small_n, note).

    `cells` is the store's cells table (cells of reports not in `reports` are ignored); `reports`
    needs report_id and template. A metric whose cells are not all `ok`/`inferred` is null with a
    note; a rate with denominator below the small-n threshold is flagged, and 0 gives null.
    """
    _require(reports, ["report_id", "template"], "reports")
    _require(cells, ["report_id", "table", "row", "column", "value", "status"], "cells")
    cfg = metrics_config()
    usable = list(cfg["usable_statuses"])
    small = float(cfg["small_n"])
    defs = metric_definitions()
    reps = reports[["report_id", "template"]].drop_duplicates("report_id")
    rids = reps["report_id"].astype(str).to_numpy(dtype=object)
    templates = reps["template"].astype(object).where(reps["template"].notna(), "").astype(str).to_numpy()
    n_m = len(defs)
    n = len(rids)
    # output arrays in (report, metric) order: row = report position × n_m + metric position
    value = np.full(n * n_m, np.nan)
    numerator = np.full(n * n_m, np.nan)
    denominator = np.full(n * n_m, np.nan)
    small_n = np.full(n * n_m, None, dtype=object)
    note = np.full(n * n_m, "", dtype=object)
    for version in sorted(set(templates)):
        where = np.flatnonzero(templates == version)
        ids = pd.Index(rids[where])
        resolved: dict[str, tuple[tuple[str, ...], ...] | None] = {}
        for m in defs:
            parts = [comparable_keys(p, version) if p else () for p in (m.numerator, m.denominator,
                                                                          m.denominator_minus)]
            resolved[m.id] = None if any(p is None for p in parts) else tuple(parts)  # type: ignore[arg-type]
        keys = list(dict.fromkeys(k for r in resolved.values() if r for p in r for k in p))
        grid = _grid(cells, ids, keys)
        for j, m in enumerate(defs):
            out = where * n_m + j
            v, num, den, sn, nt = _evaluate(m, resolved[m.id], len(ids), grid, usable, small, version)
            value[out], numerator[out], denominator[out], small_n[out], note[out] = v, num, den, sn, nt
    return pd.DataFrame({
        "report_id": pd.array(np.repeat(rids, n_m), dtype="str"),
        "metric": pd.array(np.tile(np.array([m.id for m in defs], dtype=object), n), dtype="str"),
        "value": _nullable(value),
        "numerator": _nullable(numerator),
        "denominator": _nullable(denominator),
        "small_n": pd.array(small_n, dtype="boolean"),
        "note": pd.array(note, dtype="str"),
    })


def panel(cells: pd.DataFrame, reports: pd.DataFrame, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Cell values comparable across the 2019 and 2021 formats, in 2021 keys (tidy: report_id, key,
    value, note).

    By default every 2021 key plus each 2019 key that several 2021 keys together correspond to
    (table_3/other_handling/*: for 2021 reports the sum of the three （六） rows). A key with no
    counterpart in a report's format is null with a note; unusable cells are null, never 0.
    """
    _require(reports, ["report_id", "template"], "reports")
    fwd = _map_2021_to_2019()
    groups: dict[str, list[str]] = {}
    for k21, k19 in fwd.items():
        groups.setdefault(k19, []).append(k21)
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if keys is None:
        keys = [*get_template("2021").keys, *groups]
    known = set(get_template("2021").keys)
    bad = [k for k in keys if k not in known and k not in groups]
    if bad:
        raise StoreError(f"panel keys {bad[:5]} are not 2021 keys or comparable groups")
    cfg = metrics_config()
    reps = reports[["report_id", "template"]].drop_duplicates("report_id")
    rids = reps["report_id"].astype(str).to_numpy(dtype=object)
    templates = reps["template"].astype(object).where(reps["template"].notna(), "").astype(str).to_numpy()
    n_k, n = len(keys), len(rids)
    value = np.full(n * n_k, np.nan)
    note = np.full(n * n_k, "", dtype=object)
    for version in sorted(set(templates)):
        where = np.flatnonzero(templates == version)
        resolved = {k: comparable_keys(groups.get(k, [k]), version) for k in keys}
        need = list(dict.fromkeys(x for r in resolved.values() if r for x in r))
        grid = _grid(cells, pd.Index(rids[where]), need)
        for j, k in enumerate(keys):
            m = Metric(id=k, zh="", en="", group="", unit="", numerator=tuple(groups.get(k, [k])), definition="")
            parts = None if resolved[k] is None else (resolved[k], (), ())
            v, _, _, _, nt = _evaluate(m, parts, len(where), grid, list(cfg["usable_statuses"]), 0.0, version)
            value[where * n_k + j], note[where * n_k + j] = v, nt
    return pd.DataFrame({"report_id": pd.array(np.repeat(rids, n_k), dtype="str"),
                         "key": pd.array(np.tile(np.array(list(keys), dtype=object), n), dtype="str"),
                         "value": _nullable(value), "note": pd.array(note, dtype="str")})


def _evaluate(m: Metric, parts: tuple[tuple[str, ...], ...] | None, n: int, grid: _Grid, usable: list[str],
              small: float, version: str) -> tuple[np.ndarray, ...]:
    """One metric for the reports of one template version: value, numerator, denominator, small_n, note."""
    if parts is None:
        why = ("no counterpart in the 2019 format" if version == "2019"
               else f"unknown template {version!r}")
        return (np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan),
                np.full(n, None if m.is_rate else False, dtype=object), np.full(n, why, dtype=object))
    num_keys, den_keys, minus_keys = parts
    num, num_ok, note = _part(grid, num_keys, usable)
    numerator = np.where(num_ok, num, np.nan)
    if not m.is_rate:
        return numerator, numerator, np.full(n, np.nan), np.zeros(n, dtype=bool).astype(object), _strip(note)
    den, den_ok, den_note = _part(grid, den_keys, usable)
    if minus_keys:
        minus, minus_ok, minus_note = _part(grid, minus_keys, usable)
        den = den - minus
        den_ok &= minus_ok
        den_note = den_note + minus_note
    note = note + den_note
    denominator = np.where(den_ok, den, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(num_ok & den_ok & (den > 0), m.scale * num / np.where(den > 0, den, 1), np.nan)
    note = np.where(den_ok & (den == 0), note + "denominator is 0; ", note)
    note = np.where(den_ok & (den < 0), note + "denominator is negative (inconsistent cells); ", note)
    small_n = np.where(den_ok, den < small, None).astype(object)
    return value, numerator, denominator, small_n, _strip(note)


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
    df = metrics.merge(reports[["report_id", *by]].drop_duplicates("report_id"), on="report_id", how="left")
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
    df = metrics.merge(reports[["report_id", *within]].drop_duplicates("report_id"), on="report_id", how="left")
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
    """Rank reports on one metric within groups (1 = highest unless ascending), leaving out
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
        df = df.merge(reports[["report_id", *by]].drop_duplicates("report_id"), on="report_id", how="left")
        g = df.groupby(by, dropna=False)["value"]
        df = df.assign(rank=g.rank(method="min", ascending=ascending).astype("int64"),
                       n_ranked=g.transform("size").astype("int64"))
    else:
        df = df.assign(rank=df["value"].rank(method="min", ascending=ascending).astype("int64"),
                       n_ranked=len(df))
    cols = ["report_id", *by, "metric", "value", "numerator", "denominator", "rank", "n_ranked"]
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
