"""The template files: cell counts, keys of the contract, relations and comparability map."""

from __future__ import annotations

import pytest

from helpers import get_template
from helpers.errors import TemplateError
from helpers.template import common, normalize


def test_cell_counts_match_the_format() -> None:
    t21, t19 = get_template("2021"), get_template("2019")
    assert len(t21.keys) == 200 and len(set(t21.keys)) == 200
    assert len(t19.keys) == 198 and len(set(t19.keys)) == 198
    assert sum(1 for k in t21.keys if k.startswith("table_2/")) == 10
    assert sum(1 for k in t19.keys if k.startswith("table_2/")) == 22
    assert sum(1 for k in t21.keys if k.startswith("table_4/")) == 15


def test_contract_keys_exist() -> None:
    t21, t19 = get_template("2021"), get_template("2019")
    for key in ("table_3/granted/total", "table_2/admin_fees/value", "table_4/lit_after_review/pending",
                "table_3/oth_fee_unpaid/other_org", "table_2/normative_docs/in_force"):
        assert key in t21.keys
    for key in ("table_3/other_handling/total", "table_2/gov_procurement/amount", "table_2/admin_fees/change"):
        assert key in t19.keys
    assert t21.column_info["table_2/admin_fees/value"].unit == "万元"
    assert t19.column_info["table_2/admin_licensing/change"].dtype == "signed"


def test_relations_expand_over_rows_and_columns() -> None:
    t = get_template("2021")
    rel = {r.id: r for r in t.relations}
    assert set(rel) == {"R1", "R3", "R4", "R5"}
    assert len(rel["R1"].instances(t)) == 7 and len(rel["R4"].instances(t)) == 25
    assert len(rel["R5"].instances(t)) == 3
    result, plus, minus = rel["R1"].instances(t)[0]
    assert result == "table_3/carried_forward/natural_person"
    assert plus == ["table_3/new_received/natural_person", "table_3/carried_over/natural_person"]
    assert minus == ["table_3/results_total/natural_person"]
    assert len(rel["R3"].plus) == 21 and len({r.id: r for r in get_template("2019").relations}["R3"].plus) == 19


def test_labels_match_their_variants() -> None:
    t = get_template("2021").tables["table_3"]
    rows = {r.key: r for r in t.rows}
    assert rows["denied_law_forbidden"].pattern.search(normalize("2．其他法律行政法规禁止公开"))
    assert rows["results_total"].pattern.search(normalize("（七）总  计"))
    m = rows["denied_law_forbidden"].pattern.search(normalize("00000002.其他法律行政法规禁止公开"))
    assert m and m.start() == 7  # the numbering belongs to the label, not to the digits before it


def test_normalize_keeps_length() -> None:
    s = "（一）予以公开\u3000１２３，\u00a0“三安全一稳定”"
    assert len(normalize(s)) == len(s)
    assert normalize("（一）１２") == "(一)12"


def test_common_vocabulary() -> None:
    c = common()
    assert [s["id"] for s in c["sections"]] == ["overview", "proactive", "requests", "review", "problems", "other"]
    assert c["deadlines"]["department"]["month"] == 1 and c["deadlines"]["government"]["month"] == 3
    assert "table_3_2021_to_2019" in c["comparable"]


def test_unknown_version_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        get_template("2030")


def test_normalize_maps_every_character_as_its_translation_table_says() -> None:
    """normalize translates through a list over the BMP (faster than the dict): for every code
    point, BMP and beyond, it gives what the dict gives, and the length never changes."""
    from helpers.template import _TRANSLATION

    text = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000)
    out = normalize(text)
    assert out == text.translate(_TRANSLATION) and len(out) == len(text)
