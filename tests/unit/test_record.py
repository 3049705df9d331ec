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
