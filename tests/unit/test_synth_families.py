"""The robustness families of the generator print what they say, and their oracle follows from
what was printed (helpers/synth/families.py)."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest

from helpers import get_template
from helpers.synth import random_report
from helpers.synth.families import (
    FAMILIES,
    FAMILY_FORMS,
    judge,
    random_combination,
    render_families,
    render_family,
)

FAST = [(fam, form) for fam in FAMILIES for form in FAMILY_FORMS[fam] if form != "pdf"]


def _rep(seed: int, template: str = "2021", **kw: object) -> object:
    return random_report(seed, template=template, year=2023 if template == "2021" else 2020, **kw)


def _text(out: object) -> str:
    enc = "gbk" if out.meta["options"].get("encoding") == "gbk" else "utf-8"  # type: ignore[attr-defined]
    return out.data.decode(enc)  # type: ignore[attr-defined]


def _body(out: object) -> bytes:
    """The printed content (a DOCX's document part: its zip carries the time it was written)."""
    data = out.data  # type: ignore[attr-defined]
    if out.form == "docx":  # type: ignore[attr-defined]
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.read("word/document.xml")
    return data


def _table3(text: str) -> str:
    return text[text.index("三、收到和处理"):text.index("四、政府信息公开行政复议")]


@pytest.mark.parametrize(("family", "form"), FAST, ids=[f"{a}-{b}" for a, b in FAST])
def test_every_family_renders_deterministically_with_one_expected_row_per_cell(family: str, form: str) -> None:
    rep = _rep(3, unknown_rows=1)
    a, b = render_family(rep, family, form, 9), render_family(rep, family, form, 9)
    assert _body(a) == _body(b) and a.expected.equals(b.expected)
    keys = set(get_template("2021").keys) | ({f"table_3/other_handling/{c}" for c in
                                              get_template("2021").tables["table_3"].column_keys}
                                             if family == "hybrid" else set())
    got = a.expected[~a.expected["row"].str.startswith("unknown:")]
    assert set(got["table"] + "/" + got["row"] + "/" + got["column"]) == keys
    assert set(a.expected["status"]) <= {"ok", "inferred", "unreadable", "missing", "blank", "placeholder", "unknown"}
    assert a.meta["families"] == (family,)


def test_a_family_outside_its_forms_or_an_unknown_one_is_refused() -> None:
    rep = _rep(1)
    with pytest.raises(ValueError, match="not printed in form"):
        render_family(rep, "detached", "html")
    with pytest.raises(ValueError, match="unknown family"):
        render_family(rep, "nonsense", "text")
    with pytest.raises(ValueError, match="2021 report"):
        render_family(_rep(1, "2019"), "hybrid", "text")
    with pytest.raises(ValueError, match="not combined"):
        render_families(rep, ["duplicate", "hybrid"], "text")


def test_hybrid_prints_one_2019_row_whose_cells_are_the_sum_and_the_three_2021_rows_missing() -> None:
    rep = _rep(5)
    out = render_family(rep, "hybrid", "markdown", 1)
    t3 = _table3(_text(out))
    assert t3.count("（六）其他处理") == 1 and "逾期不补正" not in t3 and "缴纳费用" not in t3
    e = out.expected.set_index(out.expected["table"] + "/" + out.expected["row"] + "/" + out.expected["column"])
    for col in get_template("2021").tables["table_3"].column_keys:
        kids = [rep.cells[f"table_3/{k}/{col}"] for k in ("oth_no_correction", "oth_fee_unpaid", "oth_other")]
        assert e.loc[f"table_3/other_handling/{col}", "value"] == sum(kids)
        assert e.loc[f"table_3/other_handling/{col}", "status"] == "ok"
        assert (e.loc[[f"table_3/{k}/{col}" for k in ("oth_no_correction", "oth_fee_unpaid", "oth_other")],
                      "status"] == "missing").all()


def test_duplicate_makes_the_cells_that_differ_unreadable_and_keeps_those_that_agree() -> None:
    rep = _rep(8)
    out = render_family(rep, "duplicate", "text", 2)
    assert _table3(_text(out)).count("本年新收政府信息公开申请数量") == 2
    e = out.expected[out.expected["table"] == "table_3"]
    bad = e[e["status"] == "unreadable"]
    assert len(bad) == out.meta["duplicate_differs"] > 0
    assert (e[e["status"] != "unreadable"]["status"].isin(["ok", "blank", "placeholder", "unknown"])).all()


def test_detached_rows_print_as_label_lines_then_bare_value_rows_and_an_unlabelled_row_is_inferred() -> None:
    seen_inferred = 0
    for seed in range(12):
        rep = _rep(100 + seed, blank_share=0.2)
        out = render_family(rep, "detached", "markdown", seed)
        t3 = _table3(_text(out))
        bare = [line for line in t3.split("\n") if line.startswith("|") and not set(line) <= set("|-: ")
                and not re.search(r"[\u4e00-\u9fff]", line)]
        assert bare, "no label-less value row printed"
        assert all(len(line.strip()[1:-1].split("|")) == 7 for line in bare), "a value row lost a cell"
        inferred = out.meta["inferred_rows"]
        e = out.expected
        for row in inferred:
            seen_inferred += 1
            rows = get_template("2021").tables["table_3"].rows
            own = next(r for r in rows if r.key == row)
            words = [w for w in own.match if not any(w in r.label for r in rows if r.key != row)]
            assert not any(w in t3.replace("\n", "") for w in words), f"{row}: label printed although omitted"
            cells = e[(e["table"] == "table_3") & (e["row"] == row)]
            assert set(cells["status"]) <= {"inferred", "blank", "placeholder"}
        assert set(e[e["status"] == "inferred"]["row"]) == set(inferred)
    assert seen_inferred >= 2


def test_spaces_only_split_digit_runs_and_never_into_as_many_pieces_as_columns() -> None:
    rep = _rep(21)
    plain = render_families(rep, [], "flat", 4)
    spaced = render_family(rep, "spaces", "flat", 4)
    a, b = _text(plain), _text(spaced)
    assert a != b and a.replace(" ", "") == b.replace(" ", "")
    assert spaced.expected.equals(plain.expected)
    for run in set(plain.expected[plain.expected["table"] == "table_3"]["raw"]):
        for m in re.finditer(r"(?<![\d.])\d[\d ]*\d(?![\d.])", _table3(b)):
            if m.group(0).replace(" ", "") == run and " " in m.group(0):
                assert len(m.group(0).split()) != 7


@pytest.mark.parametrize("form", ["text", "markdown", "html"])
def test_invisible_characters_are_the_only_change_and_numbers_stay_ok(form: str) -> None:
    rep = _rep(31)
    plain = render_families(rep, [], form, 6)
    hidden = render_family(rep, "invisible", form, 6)
    strip = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff\ufe0f\u202a-\u202e\u2066-\u2069]"
                       "|&#(?:173|82(?:0[3-7])|8288|8289|829[0-2]|65279|65039|823[4-8]|829[4-7]);")
    assert _text(hidden) != _text(plain)
    assert strip.sub("", _text(hidden)) == _text(plain)
    assert hidden.expected["status"].equals(plain.expected["status"])


def test_permute_moves_header_labels_with_their_values() -> None:
    rep = _rep(41)
    out = render_family(rep, "permute", "markdown", 3)
    t = get_template("2021").tables["table_3"]
    by_label = {c.label: c.key for c in t.columns.values()}
    lines = [line.strip().strip("|").split("|") for line in _table3(_text(out)).split("\n") if line.startswith("|")]
    header = next(cells for cells in lines if sum(c.strip() in by_label for c in cells) == 7)
    order = [by_label[c.strip()] for c in header if c.strip() in by_label]
    assert order != list(t.columns)
    row = next(cells for cells in lines if any("本年新收" in c for c in cells))
    values = [c.strip() for c in row][-7:]
    assert values == [str(rep.cells[f"table_3/new_received/{k}"]) for k in order]


def test_labels_print_variants_that_stay_closest_to_their_own_label() -> None:
    rep = _rep(51)
    plain, varied = render_families(rep, [], "text", 5), render_family(rep, "labels", "text", 5)
    assert _text(plain) != _text(varied)
    assert varied.expected.equals(plain.expected)


def test_cuts_and_furniture_print_what_they_name() -> None:
    rep = _rep(61)
    for seed in range(30):
        out = render_family(rep, "cuts", "markdown", seed)
        if "table4_split" in out.meta["cuts"]:
            assert _text(out).count("| 结果维持 | 结果纠正 | 其他结果 | 尚未审结 | 总计 |") == 3
            break
    else:
        pytest.fail("table4_split never drawn")
    out = render_family(rep, "furniture", "markdown", 1)
    t3 = _table3(_text(out))
    marks = [line for line in t3.split("\n") if line and not line.startswith(("|", "三、", "## "))]
    assert marks, "no page furniture printed in Table 3"


def test_random_combination_draws_compatible_families_in_a_form_they_share() -> None:
    for seed in range(20):
        out = random_combination(_rep(70 + seed, unknown_rows=seed % 2), seed)
        fams = out.meta["families"]
        assert len(fams) >= 2 and all(out.form in FAMILY_FORMS[f] for f in fams)


def test_judge_names_silently_wrong_overconfident_exact_and_flagged() -> None:
    exp = pd.DataFrame([
        {"table": "t", "row": "a", "column": "x", "value": 1.0, "status": "ok", "raw": "1"},
        {"table": "t", "row": "b", "column": "x", "value": 2.0, "status": "ok", "raw": "2"},
        {"table": "t", "row": "c", "column": "x", "value": None, "status": "unreadable", "raw": ""},
        {"table": "t", "row": "d", "column": "x", "value": 4.0, "status": "inferred", "raw": "4"},
        {"table": "t", "row": "e", "column": "x", "value": None, "status": "missing", "raw": ""},
        {"table": "t", "row": "f", "column": "x", "value": 5.0, "status": "ok", "raw": "5"},
    ])
    got = pd.DataFrame([
        {"table": "t", "row": "a", "column": "x", "value": 1.0, "status": "ok"},
        {"table": "t", "row": "b", "column": "x", "value": 3.0, "status": "ok"},
        {"table": "t", "row": "c", "column": "x", "value": 0.0, "status": "ok"},
        {"table": "t", "row": "d", "column": "x", "value": 4.0, "status": "ok"},
        {"table": "t", "row": "f", "column": "x", "value": None, "status": "unreadable"},
    ])
    v = judge(exp, got).set_index("key")["verdict"].to_dict()
    assert v == {"t/a/x": "exact", "t/b/x": "silently_wrong", "t/c/x": "silently_wrong", "t/d/x": "overconfident",
                 "t/e/x": "exact", "t/f/x": "flagged"}


@pytest.mark.parametrize("form", ["text", "markdown", "html"])
def test_metadata_dresses_the_title_and_cites_a_document_named_like_a_report(form: str) -> None:
    rep = _rep(81)
    plain, dressed = render_families(rep, [], form, 2), render_family(rep, "metadata", form, 2)
    text = _text(dressed)
    assert "《" in text.split("一、总体情况")[0] and _text(plain) != text
    assert dressed.expected.equals(plain.expected)
    assert dressed.meta["agency"] == rep.agency and dressed.meta["year"] == rep.year


@pytest.mark.parametrize("form", ["markdown", "html"])
def test_omitted_rows_are_not_printed_and_expected_missing(form: str) -> None:
    rep = _rep(91)
    t3rows = get_template("2021").tables["table_3"].rows
    for seed in range(6):
        out = render_family(rep, "omitted", form, seed)
        e = out.expected[out.expected["table"] == "table_3"]
        gone = set(e[e["status"] == "missing"]["row"])
        assert gone and "results_total" not in gone
        t3 = _table3(_text(out))
        for row in t3rows:
            if row.key in gone:
                words = [w for w in row.match if not any(w in r.label for r in t3rows if r.key != row.key)]
                assert not any(w in t3 for w in words), f"{row.key} printed although omitted"
