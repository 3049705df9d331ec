"""Metrics: definitions as data, values equal to a computation written here from the cells, small
denominators flagged and never ranked, nulls (never 0) for unusable cells, 2019 ↔ 2021 panels."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from helpers.metrics import (aggregate_metrics, comparable_keys, flag_outliers, metric_definitions,
                             metrics_markdown, rank, report_metrics)
from helpers.record import Report
from helpers.template import get_template

USABLE = {"ok", "inferred"}


# ---------------------------------------------------------------------------------------------
# Fixtures: a generated corpus as the store's cells and reports tables


def _corpus(reports: list[tuple[str, Report, dict]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = pd.concat([r.cells.assign(report_id=rid) for rid, r, _ in reports], ignore_index=True)
    meta = pd.DataFrame([{"report_id": rid, "template": r.template, **m} for rid, r, m in reports])
    return cells, meta


def _generated(n: int = 60, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A mixed 2019/2021 corpus from the generator, some cells blank or placeholders."""
    synth = pytest.importorskip("helpers.synth")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        template = "2019" if i % 4 == 0 else "2021"
        sr = synth.random_report(rng, template=template, year=2019 if template == "2019" else 2022,
                                 blank_share=0.03 if i % 3 == 0 else 0.0,
                                 placeholder_share=0.03 if i % 5 == 0 else 0.0)
        out.append((f"r{i:03d}", synth.to_report(sr), {"year": sr.year, "organ_kind": sr.organ_kind,
                                                       "level": ["city", "county"][i % 2], "region": None}))
    return _corpus(out)


def _lookup(cells: pd.DataFrame) -> dict[tuple[str, str], tuple[float | None, str]]:
    out = {}
    for rec in cells.to_dict("records"):
        v = rec["value"]
        out[(rec["report_id"], f"{rec['table']}/{rec['row']}/{rec['column']}")] = (
            None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else float(v), rec["status"])
    return out


def _got(m: pd.DataFrame, rid: str, metric: str) -> pd.Series:
    row = m[(m["report_id"] == rid) & (m["metric"] == metric)]
    assert len(row) == 1, (rid, metric)
    return row.iloc[0]


# ---------------------------------------------------------------------------------------------
# Definitions and the doc


def test_docs_metrics_md_is_generated_from_the_yaml() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert doc == metrics_markdown(), "docs/metrics.md is stale: write metrics_markdown() to it"


def test_every_metric_has_a_definition_and_rates_a_denominator() -> None:
    defs = metric_definitions()
    ids = [m.id for m in defs]
    assert len(ids) == len(set(ids))
    for m in defs:
        assert m.definition and m.zh and m.en and m.unit
        if m.unit in ("share", "per 100"):
            assert m.denominator, m.id
    assert {"grant_rate", "partial_rate", "denial_rate", "not_held_rate", "not_processed_rate",
            "other_handling_rate", "carry_over_ratio", "share_natural_person", "reconsideration_rate",
            "litigation_rate", "review_correction_rate", "litigation_correction_rate",
            "regulations_issued", "requests_new"} <= set(ids)


def test_comparable_keys_map_the_other_handling_group_only_as_a_whole() -> None:
    group = [f"table_3/{r}/total" for r in ("oth_no_correction", "oth_fee_unpaid", "oth_other")]
    assert comparable_keys(group, "2019") == ("table_3/other_handling/total",)
    assert comparable_keys(group[1:], "2019") is None
    assert comparable_keys(["table_3/granted/total"], "2019") == ("table_3/granted/total",)
    assert comparable_keys(["table_2/regulations/issued"], "2019") == ("table_2/regulations/made",)
    assert comparable_keys(["table_2/regulations/in_force"], "2019") is None   # 对外公开总数量 ≠ 现行有效
    assert comparable_keys(["table_2/admin_fees/value"], "2019") is None       # item counts ≠ amounts
    assert comparable_keys(group, "2021") == tuple(group)


# ---------------------------------------------------------------------------------------------
# Values against an independent computation


def _independent(look: dict, rid: str, template: str, num: list[str], den: list[str] | None = None,
                 minus: list[str] | None = None, scale: float = 1.0) -> float | None:
    """The metric from the cells, written out here: None when any cell is unusable or den ≤ 0."""
    def total(keys: list[str]) -> float | None:
        s = 0.0
        for k in keys:
            v, status = look.get((rid, k), (None, "absent"))
            if status not in USABLE or v is None:
                return None
            s += v
        return s

    n = total(num)
    if den is None:
        return n
    d = total(den)
    if d is not None and minus:
        m = total(minus)
        d = None if m is None else d - m
    if n is None or d is None or d <= 0:
        return None
    return scale * n / d


def _t3(row: str, col: str = "total") -> str:
    return f"table_3/{row}/{col}"


def test_metrics_on_a_generated_corpus_equal_an_independent_computation() -> None:
    cells, reports = _generated()
    m = report_metrics(cells, reports)
    assert len(m) == len(reports) * len(metric_definitions())
    look = _lookup(cells)
    checked = 0
    for rid, template in zip(reports["report_id"], reports["template"]):
        other = ([_t3("other_handling")] if template == "2019"
                 else [_t3(r) for r in ("oth_no_correction", "oth_fee_unpaid", "oth_other")])
        made = "made" if template == "2019" else "issued"
        decisions = "decisions" if template == "2019" else "value"
        expect = {
            "requests_total": _independent(look, rid, template, [_t3("new_received"), _t3("carried_over")]),
            "grant_rate": _independent(look, rid, template, [_t3("granted")], [_t3("results_total")]),
            "denial_rate": _independent(look, rid, template, [_t3(r) for r in (
                "denied_state_secret", "denied_law_forbidden", "denied_security", "denied_third_party",
                "denied_internal", "denied_process", "denied_case_file", "denied_admin_query")],
                [_t3("results_total")]),
            "not_held_rate": _independent(look, rid, template, [_t3("unable_not_held")], [_t3("results_total")]),
            "other_handling_rate": _independent(look, rid, template, other, [_t3("results_total")]),
            "carry_over_ratio": _independent(look, rid, template, [_t3("carried_forward")],
                                             [_t3("new_received"), _t3("carried_over")]),
            "share_natural_person": _independent(look, rid, template, [_t3("new_received", "natural_person")],
                                                 [_t3("new_received")]),
            "reconsideration_rate": _independent(look, rid, template, ["table_4/review/total"],
                                                 [_t3("results_total")], scale=100),
            "litigation_correction_rate": _independent(
                look, rid, template, ["table_4/lit_direct/corrected", "table_4/lit_after_review/corrected"],
                ["table_4/lit_direct/total", "table_4/lit_after_review/total"],
                ["table_4/lit_direct/pending", "table_4/lit_after_review/pending"]),
            "regulations_issued": _independent(look, rid, template, [f"table_2/regulations/{made}"]),
            "penalty_decisions": _independent(look, rid, template, [f"table_2/admin_penalty/{decisions}"]),
            "admin_fees": (None if template == "2019"
                           else _independent(look, rid, template, ["table_2/admin_fees/value"])),
        }
        for metric, want in expect.items():
            got = _got(m, rid, metric)
            if want is None:
                assert pd.isna(got["value"]), (rid, metric, got.to_dict())
                assert got["note"], (rid, metric)
            else:
                assert got["value"] == pytest.approx(want, rel=1e-12), (rid, metric)
                checked += 1
    assert checked > 200                                     # the corpus is mostly usable
    assert m["value"].isna().any()                           # ... and blanks made some metrics null


def test_2019_reports_have_no_fee_amount_and_in_force_counts() -> None:
    cells, reports = _generated(n=12)
    m = report_metrics(cells, reports).merge(reports[["report_id", "template"]], on="report_id")
    old = m[m["template"] == "2019"]
    assert len(old)
    for metric in ("admin_fees", "regulations_in_force", "normative_docs_in_force"):
        part = old[old["metric"] == metric]
        assert part["value"].isna().all() and part["note"].str.contains("no counterpart").all()


# ---------------------------------------------------------------------------------------------
# Nulls, zero denominators, small denominators


def _one(values: dict, template: str = "2021", rid: str = "a", **meta) -> tuple[pd.DataFrame, pd.DataFrame]:
    tmpl = get_template(template)
    full = {k: 0.0 for k in tmpl.keys}
    full.update(values)
    return _corpus([(rid, Report.from_cells(full, template=template), {"year": 2022, "level": "city", **meta})])


def test_a_blank_or_placeholder_cell_makes_the_metric_null_with_a_note_never_zero() -> None:
    cells, reports = _one({"table_3/granted/total": "", "table_3/results_total/total": 40,
                           "table_3/partial/total": "/"})
    m = report_metrics(cells, reports)
    grant = _got(m, "a", "grant_rate")
    assert pd.isna(grant["value"]) and pd.isna(grant["numerator"]) and grant["denominator"] == 40
    assert "table_3/granted/total blank" in grant["note"]
    partial = _got(m, "a", "partial_rate")
    assert pd.isna(partial["value"]) and "table_3/partial/total placeholder" in partial["note"]
    assert _got(m, "a", "denial_rate")["value"] == 0                     # real zeros stay zeros


def test_a_missing_cell_and_an_absent_cell_are_named_in_the_note() -> None:
    cells, reports = _one({"table_4/review/total": None})
    cells = cells[~((cells["table"] == "table_3") & (cells["row"] == "results_total"))]
    m = report_metrics(cells, reports)
    rec = _got(m, "a", "reconsideration_rate")
    assert pd.isna(rec["value"])
    assert "table_4/review/total missing" in rec["note"] and "table_3/results_total/total absent" in rec["note"]


def test_zero_denominator_gives_null_and_small_n() -> None:
    cells, reports = _one({"table_3/results_total/total": 0})
    rec = _got(report_metrics(cells, reports), "a", "grant_rate")
    assert pd.isna(rec["value"]) and rec["denominator"] == 0 and bool(rec["small_n"])
    assert "denominator is 0" in rec["note"]


def test_rates_over_fewer_than_10_are_flagged_small_n() -> None:
    small, reports_s = _one({"table_3/granted/total": 3, "table_3/results_total/total": 9}, rid="s")
    solid, reports_b = _one({"table_3/granted/total": 3, "table_3/results_total/total": 10}, rid="b")
    m = report_metrics(pd.concat([small, solid]), pd.concat([reports_s, reports_b]))
    assert bool(_got(m, "s", "grant_rate")["small_n"]) is True
    assert _got(m, "s", "grant_rate")["value"] == pytest.approx(3 / 9)
    assert bool(_got(m, "b", "grant_rate")["small_n"]) is False
    assert bool(_got(m, "s", "requests_new")["small_n"]) is False      # counts have no denominator


def _peers(values: list[tuple[int, int]], level: str = "city") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reports with (granted, results_total) pairs, all in one (level, year) peer group."""
    parts = [_one({"table_3/granted/total": g, "table_3/results_total/total": t}, rid=f"p{i:02d}", level=level)
             for i, (g, t) in enumerate(values)]
    return pd.concat([p[0] for p in parts]), pd.concat([p[1] for p in parts], ignore_index=True)


def test_small_n_rates_are_never_ranked_or_flagged() -> None:
    # ten solid peers around 50 %, one extreme solid report, one extreme small-n report
    pairs = [(50 + d, 100) for d in (-3, -2, -1, 0, 0, 1, 2, 3, 1, -1)] + [(99, 100), (8, 8)]
    cells, reports = _peers(pairs)
    m = report_metrics(cells, reports)
    ranked = rank(m, "grant_rate", reports)
    assert "p11" not in set(ranked["report_id"]) and len(ranked) == 11
    assert ranked.iloc[0]["report_id"] == "p10" and ranked.iloc[0]["rank"] == 1
    out = flag_outliers(m, reports)
    g = out[out["metric"] == "grant_rate"].set_index("report_id")
    assert bool(g.loc["p10", "outlier"]) and g.loc["p10", "z"] > 3.5
    assert not bool(g.loc["p11", "outlier"]) and pd.isna(g.loc["p11", "z"])
    assert "small denominator" in g.loc["p11", "note"]
    # the z-score formula, recomputed here from the solid values
    xs = np.array([p[0] / p[1] for p in pairs[:11]])
    med = np.median(xs)
    mad = np.median(np.abs(xs - med))
    assert g.loc["p10", "z"] == pytest.approx(0.6745 * (xs[10] - med) / mad)
    assert int(g["outlier"].sum()) == 1


def test_outliers_are_computed_within_level_and_year() -> None:
    city = _peers([(50, 100)] * 6 + [(90, 100)], level="city")
    county = _peers([(90, 100)] * 6, level="county")
    county_cells = county[0].assign(report_id=county[0]["report_id"].str.replace("p", "q"))
    county_reports = county[1].assign(report_id=county[1]["report_id"].str.replace("p", "q"))
    cells, reports = pd.concat([city[0], county_cells]), pd.concat([city[1], county_reports], ignore_index=True)
    out = flag_outliers(report_metrics(cells, reports), reports)
    g = out[out["metric"] == "grant_rate"].set_index("report_id")
    assert bool(g.loc["p06", "outlier"])                  # 90 % among city peers at 50 %
    assert not g.loc[[f"q{i:02d}" for i in range(6)], "outlier"].any()


# ---------------------------------------------------------------------------------------------
# Pooling


def test_aggregate_pools_numerators_and_denominators_of_defined_reports() -> None:
    cells, reports = _generated(n=40, seed=3)
    m = report_metrics(cells, reports)
    agg = aggregate_metrics(m, reports, by=("year", "level"))
    for (year, level), grp in reports.groupby(["year", "level"]):
        ids = set(grp["report_id"])
        mine = m[m["report_id"].isin(ids) & (m["metric"] == "grant_rate")]
        defined = mine[mine["value"].notna()]
        row = agg[(agg["year"] == year) & (agg["level"] == level) & (agg["metric"] == "grant_rate")].iloc[0]
        assert row["n_reports"] == len(ids) and row["n_defined"] == len(defined)
        num, den = defined["numerator"].astype(float).sum(), defined["denominator"].astype(float).sum()
        assert row["numerator"] == num and row["denominator"] == den
        assert row["value"] == pytest.approx(num / den)
        solid = defined[~defined["small_n"].astype(bool)]["value"].astype(float)
        if len(solid):
            assert row["median"] == pytest.approx(float(np.median(solid)))
        counts = m[m["report_id"].isin(ids) & (m["metric"] == "requests_new")]
        crow = agg[(agg["year"] == year) & (agg["level"] == level) & (agg["metric"] == "requests_new")].iloc[0]
        assert crow["value"] == counts["value"].astype(float).sum(skipna=True)


def test_aggregate_defaults_group_by_year_kind_level_region_with_null_regions() -> None:
    cells, reports = _one({"table_3/granted/total": 4, "table_3/results_total/total": 8}, organ_kind="government",
                          region=None)
    agg = aggregate_metrics(report_metrics(cells, reports), reports)
    row = agg[agg["metric"] == "grant_rate"].iloc[0]
    assert list(agg.columns[:4]) == ["year", "organ_kind", "level", "region"]
    assert row["value"] == 0.5 and row["denominator"] == 8 and bool(row["small_n"])


# ---------------------------------------------------------------------------------------------
# Property: a metric is null exactly when one of its cells is unusable


@given(st.lists(st.sampled_from(["ok", "ok", "ok", "blank", "placeholder", "unreadable", "inferred"]),
                min_size=3, max_size=3),
       st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_null_exactly_when_a_used_cell_is_unusable(statuses: list[str], a: int, b: int, c: int) -> None:
    keys = ["table_3/carried_forward/total", "table_3/new_received/total", "table_3/carried_over/total"]
    recs = []
    for key, status, v in zip(keys, statuses, (a, b, c)):
        t, r, col = key.split("/")
        usable = status in USABLE
        recs.append({"table": t, "row": r, "column": col, "value": float(v) if usable else None,
                     "raw": str(v) if usable else "", "status": status, "source": "", "note": ""})
    rep = Report.from_cells(recs)
    cells, reports = _corpus([("x", rep, {"year": 2022, "level": "city"})])
    got = _got(report_metrics(cells, reports), "x", "carry_over_ratio")
    if all(s in USABLE for s in statuses) and b + c > 0:
        assert got["value"] == pytest.approx(a / (b + c)) and got["note"] == ""
        assert bool(got["small_n"]) == (b + c < 10)
    else:
        assert pd.isna(got["value"]) and got["note"]


def test_metrics_on_an_ingested_store_equal_the_computation_from_its_cells(tmp_path) -> None:
    synth = pytest.importorskip("helpers.synth")
    from helpers.store import ingest, open_store

    synth.write_corpus(tmp_path / "files", reports=8, years=[2020, 2021], forms=["text", "html"], seed=2)
    ingest([tmp_path / "files"], tmp_path / "store", scheduler="serial", progress=False)
    corpus = open_store(tmp_path / "store")
    m = report_metrics(corpus.cells, corpus.reports)
    look = _lookup(corpus.cells)
    assert set(m["report_id"]) == set(corpus.reports["report_id"])
    assert set(corpus.reports["template"]) == {"2019", "2021"}
    for rid, template in zip(corpus.reports["report_id"], corpus.reports["template"]):
        other = ([_t3("other_handling")] if template == "2019"
                 else [_t3(r) for r in ("oth_no_correction", "oth_fee_unpaid", "oth_other")])
        answered = [_t3("results_total")]
        for metric, want in (("grant_rate", _independent(look, rid, template, [_t3("granted")], answered)),
                             ("other_handling_rate", _independent(look, rid, template, other, answered))):
            got = _got(m, rid, metric)["value"]
            assert (pd.isna(got) and want is None) or got == pytest.approx(want), (rid, metric)
    agg = aggregate_metrics(m, corpus.reports)
    assert set(agg["year"]) == {2020, 2021} and (agg["n_reports"] > 0).all()


def test_panel_maps_2019_cells_to_2021_keys_and_leaves_the_rest_missing() -> None:
    from helpers.metrics import panel

    old_c, old_r = _one({"table_3/other_handling/total": 7, "table_2/regulations/made": 3,
                         "table_3/granted/natural_person": ""}, template="2019", rid="old")
    new_c, new_r = _one({"table_3/oth_no_correction/total": 1, "table_3/oth_fee_unpaid/total": 2,
                         "table_3/oth_other/total": 4, "table_2/regulations/issued": 5}, rid="new")
    p = panel(pd.concat([old_c, new_c]), pd.concat([old_r, new_r], ignore_index=True))
    v = {(r, k): (val, n) for r, k, val, n in zip(p["report_id"], p["key"], p["value"], p["note"])}
    assert v[("old", "table_3/other_handling/total")][0] == 7
    assert v[("new", "table_3/other_handling/total")][0] == 7                 # 1 + 2 + 4
    assert v[("old", "table_2/regulations/issued")][0] == 3                   # 本年新制作数量
    assert pd.isna(v[("old", "table_3/oth_fee_unpaid/total")][0])             # no single 2019 row
    assert "no counterpart" in v[("old", "table_3/oth_fee_unpaid/total")][1]
    assert pd.isna(v[("old", "table_2/regulations/in_force")][0])
    assert pd.isna(v[("old", "table_3/granted/natural_person")][0])
    assert "blank" in v[("old", "table_3/granted/natural_person")][1]
    assert v[("new", "table_3/granted/total")][0] == 0
    assert len(p) == 2 * (200 + 7)
