"""The Report record: from_cells, JSON without NaN, statuses kept distinct from 0."""

from __future__ import annotations

import json
import math

from helpers import Report, get_template


def test_from_cells_mapping_fills_missing_and_keeps_blank_apart_from_zero() -> None:
    r = Report.from_cells({"table_3/granted/total": 5, "table_3/partial/total": "", "table_3/np_repeat/total": "/",
                           "table_3/new_received/total": 0}, template="2021", agency="某局", year=2023)
    assert len(r.cells) == 200
    assert r.cell("table_3/granted/total")["status"] == "ok"
    assert r.cell("table_3/partial/total")["status"] == "blank"
    assert r.cell("table_3/partial/total")["value"] is None
    assert r.cell("table_3/np_repeat/total")["status"] == "placeholder"
    assert r.cell("table_3/new_received/total")["value"] == 0
    assert r.cell("table_4/review/total")["status"] == "missing"


def test_to_dict_is_json_with_nulls_not_nan() -> None:
    r = Report.from_cells({"table_2/admin_fees/value": 12.5}, template="2021")
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    assert all(c["value"] is None or not (isinstance(c["value"], float) and math.isnan(c["value"]))
               for c in d["cells"])
    assert d["report"]["template"] == "2021"


def test_cells_outside_the_template_are_kept() -> None:
    cells = [{"table": "table_3", "row": "unknown:9.其他", "column": "total", "value": 3, "raw": "3",
              "status": "unknown", "source": "line 9", "note": ""}]
    r = Report.from_cells(cells, template="2019")
    assert len(r.cells) == 199 and "unknown:9.其他" in set(r.cells["row"])
    assert len(get_template("2019").keys) == 198


# ---------------------------------------------------------------------------------------------
# Display: a short repr for the console, an escaped HTML table for Jupyter

_REVIEW_R5 = {"table_4/review/upheld": 1, "table_4/review/corrected": 0, "table_4/review/other": 0,
              "table_4/review/pending": 0, "table_4/review/total": 2}   # 1 ≠ 2: one R5 error


def test_repr_is_one_short_line_with_agency_year_format_and_counts() -> None:
    from helpers import validate

    cells = [{"table": "table_3", "row": "granted", "column": "total", "value": None, "raw": "1 2",
              "status": "unreadable", "source": "", "note": ""}]
    review = [r for r in Report.from_cells(_REVIEW_R5).cell_records() if r["status"] == "ok"]
    r = Report.from_cells([*cells, *review], template="2021", agency="某某县人民政府", year=2023)
    errors = int((validate(r)["severity"] == "error").sum())
    assert errors >= 1
    text = repr(r)
    assert text == f"<Report 某某县人民政府 2023 (2021 format): {len(r.cells)} cells, 1 unreadable, " \
                   f"{errors} error{'' if errors == 1 else 's'}>"
    assert "\n" not in text and len(text) < 100


def test_repr_says_what_was_not_printed_and_escapes_control_characters() -> None:
    r = Report.from_cells({}, template="2019")
    assert repr(r).startswith("<Report (agency not printed) (year not printed) (2019 format): 198 cells, 0 unreadable")
    evil = Report.from_cells({}, agency="某局\x1b[2J\n", year=2022)
    assert "\x1b" not in repr(evil) and "\n" not in repr(evil) and "\\x1b[2J\\n" in repr(evil)


def test_html_repr_summarises_the_report() -> None:
    r = Report.from_cells(_REVIEW_R5, template="2021", agency="某某县人民政府", year=2023, form="html",
                          path="reports/a.html", sha256="ab" * 32)
    page = r._repr_html_()
    assert page.startswith("<table") and page.endswith("</table>")
    for text in ("某某县人民政府", "2023", "2021 · ", "reports/a.html", "abababababababab", "ok 5",
                 f"missing {len(r.cells) - 5}", "error "):
        assert text in page, text
    assert r.status_counts() == {"ok": 5, "missing": len(r.cells) - 5}          # STATUSES order


def test_html_repr_escapes_every_report_text() -> None:
    evil = '<script>alert("x")</script>'
    r = Report.from_cells({}, template="2021", agency=f"某县{evil}", year=2023, title=f"<b>{evil}</b>",
                          path=f"/in/{evil}&.html", form="html", encoding='"><img src=x onerror=alert(1)>')
    page = r._repr_html_()
    assert "<script" not in page and "<b>" not in page and "<img" not in page and "alert(1)>" not in page
    assert "&lt;script&gt;" in page and "&amp;.html" in page and "&quot;&gt;&lt;img" in page
