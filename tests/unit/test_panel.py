"""The harmonised panel and metrics through the comparable-key map: the hybrid 2021 layout that
prints the single 2019 （六）其他处理 row, and caveats on rates that use doubtful cells."""

from __future__ import annotations

import pandas as pd

from helpers.metrics import HYBRID, layouts, panel, panel_table, report_metrics
from helpers.record import Report

OTHER = ["oth_no_correction", "oth_fee_unpaid", "oth_other"]


def _frames(reports: list[tuple[str, Report]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = pd.concat([r.cells.assign(report_id=rid) for rid, r in reports], ignore_index=True)
    meta = pd.DataFrame([{"report_id": rid, "template": r.template, "organ_id": f"o-{rid}", "year": 2022,
                          "agency": r.agency} for rid, r in reports])
    return cells, meta


def test_a_2021_record_printing_the_2019_other_row_is_read_through_the_map() -> None:
    hybrid = Report.from_cells({"table_3/results_total/total": 20, "table_3/granted/total": 10,
                                "table_3/other_handling/total": 6, "table_3/other_handling/natural_person": 6},
                               template="2021", agency="测试市混合局", year=2022)
    assert all(hybrid.cell(f"table_3/{r}/total")["status"] == "missing" for r in OTHER)
    plain = Report.from_cells({"table_3/results_total/total": 20, "table_3/oth_no_correction/total": 1,
                               "table_3/oth_fee_unpaid/total": 2, "table_3/oth_other/total": 3},
                              template="2021", agency="测试市常规局", year=2022)
    cells, reports = _frames([("h", hybrid), ("p", plain)])
    assert layouts(cells, reports).to_dict() == {"h": HYBRID, "p": "2021"}
    p = panel(cells, reports).set_index(["report_id", "key"])
    assert p.loc[("h", "table_3/other_handling/total"), "value"] == 6
    assert p.loc[("h", "table_3/other_handling/total"), "status"] == "ok"
    assert p.loc[("p", "table_3/other_handling/total"), "value"] == 6                # 1 + 2 + 3
    for row in OTHER:
        rec = p.loc[("h", f"table_3/{row}/total")]
        assert pd.isna(rec["value"]) and rec["status"] == "not_in_format" and "2019" in rec["note"]
    assert p.loc[("p", "table_3/oth_fee_unpaid/total"), "value"] == 2
    table = panel_table(cells, reports).table.set_index("report_id")
    assert table.loc["h", "format"] == HYBRID and table.loc["p", "format"] == "2021"
    assert table.loc["h", "table_3/oth_other/total:status"] == "not_in_format"
    m = report_metrics(cells, reports).set_index(["report_id", "metric"])
    assert m.loc[("h", "other_handling_rate"), "value"] == 6 / 20                      # through the map
    assert m.loc[("p", "other_handling_rate"), "value"] == 6 / 20
    assert m.loc[("h", "grant_rate"), "value"] == 0.5


def test_a_planted_error_cell_feeding_a_rate_gives_the_rate_a_caveat() -> None:
    from helpers.validate import validate

    cells = {"table_3/new_received/total": 30, "table_3/carried_over/total": 0, "table_3/carried_forward/total": 0,
             "table_3/granted/total": 12, "table_3/results_total/total": 30}
    for col in ("natural_person", "commercial", "research", "public_welfare", "legal_service", "other_org"):
        cells[f"table_3/granted/{col}"] = 0
    cells["table_3/granted/natural_person"] = 5                     # R4 on the granted row: 5 ≠ 12
    report = Report.from_cells(cells, template="2021", agency="测试市错误局", year=2022)
    findings = validate(report).assign(report_id="e")
    assert ((findings["rule"] == "R4") & (findings["row"] == "granted")).any()
    frame, reports = _frames([("e", report)])
    m = report_metrics(frame, reports, findings).set_index("metric")
    assert "R4=table_3/granted/total" in m.loc["grant_rate", "caveat"]
    assert m.loc["grant_rate", "value"] == 12 / 30                   # the value is kept, with its caveat
    assert m.loc["requests_new", "caveat"] == ""
    assert report_metrics(frame, reports).loc[lambda d: d["metric"] == "grant_rate", "caveat"].iloc[0] == ""


def test_an_inferred_cell_gives_a_caveat_and_an_unreadable_one_a_null_with_caveat() -> None:
    rep = Report.from_cells({"table_3/results_total/total": 40, "table_3/granted/total": 8}, template="2021")
    cells = rep.cells.assign(report_id="i")
    at = (cells["row"] == "granted") & (cells["column"] == "total")
    cells.loc[at, "status"] = "inferred"
    rt = (cells["row"] == "results_total") & (cells["column"] == "total")
    cells2 = rep.cells.assign(report_id="u")
    cells2.loc[rt, ["status", "value"]] = ["unreadable", None]
    reports = pd.DataFrame([{"report_id": "i", "template": "2021"}, {"report_id": "u", "template": "2021"}])
    m = report_metrics(pd.concat([cells, cells2]), reports).set_index(["report_id", "metric"])
    assert m.loc[("i", "grant_rate"), "caveat"] == "inferred=table_3/granted/total"
    assert m.loc[("i", "grant_rate"), "value"] == 0.2
    assert pd.isna(m.loc[("u", "grant_rate"), "value"])
    assert "unreadable=table_3/results_total/total" in m.loc[("u", "grant_rate"), "caveat"]


def test_rankings_are_within_level_and_year_with_ties_sharing_a_rank_and_a_direction() -> None:
    from helpers.metrics import rank

    rows = [("a", "county", 2022, 50), ("b", "county", 2022, 50), ("c", "county", 2022, 20),
            ("d", "township", 2022, 90), ("e", "county", 2023, 10), ("f", "county", 2022, 4)]
    reports = pd.DataFrame([{"report_id": r, "template": "2021", "level": lv, "year": y} for r, lv, y, _ in rows])
    maps = [({"table_3/granted/total": g * (100 if r != "f" else 1) // 100,
              "table_3/results_total/total": 100 if r != "f" else 5}, r) for r, _, _, g in rows]
    cells = pd.concat([Report.from_cells(m).cells.assign(report_id=r) for m, r in maps], ignore_index=True)
    out = rank(report_metrics(cells, reports), "grant_rate", reports)
    got = {r: (lv, y, k, n) for r, lv, y, k, n in zip(out["report_id"], out["level"], out["year"], out["rank"],
                                                       out["n_ranked"])}
    assert got == {"a": ("county", 2022, 1, 3), "b": ("county", 2022, 1, 3), "c": ("county", 2022, 3, 3),
                   "d": ("township", 2022, 1, 1), "e": ("county", 2023, 1, 1)}   # f: small denominator
    assert set(out["direction"]) == {"descending"}
    low = rank(report_metrics(cells, reports), "grant_rate", reports, ascending=True)
    assert low.set_index("report_id").loc["c", "rank"] == 1 and set(low["direction"]) == {"ascending"}


def test_the_caveat_of_a_rate_over_an_error_cell_is_shown_in_the_brief(tmp_path) -> None:
    from helpers.briefs import key_metrics, load_report
    from helpers.synth import perturb, random_report, render

    rep = random_report(21, template="2021", year=2022, agency="测试市注意局")
    rep = perturb(rep, "table_3/granted/natural_person", 3)           # R4 on the granted row
    path = tmp_path / "r.txt"
    path.write_bytes(render(rep, "text").data)
    data = load_report(report_path=str(path))
    assert ((data.findings["rule"] == "R4") & (data.findings["row"] == "granted")).any()
    grant = data.metrics.set_index("metric").loc["grant_rate"]
    assert "R4=table_3/granted/total" in grant["caveat"]
    page = str(key_metrics(data, ["grant_rate", "requests_new"]))
    assert "注意：所用单元格存疑" in page and "被R4标记为错误" in page and "表3 （一）予以公开 | 总计" in page
    assert "table_3/" not in page


def test_the_brief_of_a_hybrid_record_shows_its_2019_other_row() -> None:
    from helpers.briefs import ReportData, statistical_tables

    hybrid = Report.from_cells({"table_3/other_handling/total": 6, "table_3/other_handling/natural_person": 6},
                               template="2021")
    data = ReportData(report_id="h", meta={"template": "2021"}, cells=hybrid.cells, findings=pd.DataFrame(
        columns=["rule", "severity", "table", "row", "column", "message"]), sections={}, metrics=pd.DataFrame())
    row = "<tr><th>（六）其他处理</th>"                   # a data row, not the 2021 group heading
    page = str(statistical_tables(data))
    assert row in page and page.split(row)[1].split("</tr>")[0].count(">6<") == 2   # 自然人 and 总计
    plain = Report.from_cells({"table_3/oth_other/total": 1}, template="2021")
    data.cells = plain.cells
    assert row not in str(statistical_tables(data))
