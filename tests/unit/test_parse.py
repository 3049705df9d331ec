"""Parser pieces: digit-run splitting, flattened text, unknown rows, metadata, version detection."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from helpers import read_report
from helpers.parse.values import _run_splits

SEED = next((ROOT / "data" / "seed").glob("*.txt"))


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=7))
def test_the_true_split_is_always_a_candidate(values: list[int]) -> None:
    run = "".join(str(v) for v in values)
    count, possible, _ = _run_splits(run, ["count"] * len(values), [])
    assert count >= 1 and all(float(v) in p for v, p in zip(values, possible))


@given(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=15))
def test_one_digit_per_cell_is_determined(values: list[int]) -> None:
    run = "".join(str(v) for v in values)
    count, possible, _ = _run_splits(run, ["count"] * len(values), [])
    assert count == 1 and possible == [{float(v)} for v in values]


def test_amount_columns_may_hold_decimals_and_counts_may_not() -> None:
    assert _run_splits("9116.36", ["amount"], [])[:2] == (1, [{9116.36}])
    assert _run_splits("9116.36", ["count"], [])[0] == 0
    assert _run_splits("007", ["count"] * 2, [])[0] == 0  # no leading zeros


def _flat_report(tmp_path: Path, table3_row: str, table4: str = "000000000000000") -> Path:
    text = ("2023年某某县人民政府政府信息公开工作年度报告\n"
            "一、总体情况 2023年，我县推进政务公开。 二、主动公开政府信息情况第二十条第（一）项信息内容本年制发件数"
            "本年废止件数现行有效件数规章000行政规范性文件1234第二十条第（五）项信息内容本年处理决定数量行政许可5"
            "第二十条第（六）项信息内容本年处理决定数量行政处罚7行政强制0第二十条第（八）项信息内容本年收费金额（单位：万元）"
            "行政事业性收费1.5 三、收到和处理政府信息公开申请情况 申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织"
            f"法律服务机构其他一、本年新收政府信息公开申请数量{table3_row}二、上年结转政府信息公开申请数量0000000"
            f" 四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计{table4}"
            " 五、存在的主要问题及改进情况 无。 六、其他需要报告的事项 无。\n")
    p = tmp_path / "flat.txt"
    p.write_text(text, encoding="utf-8")
    return p


def test_flattened_row_settled_by_r4_is_inferred_and_says_so(tmp_path: Path) -> None:
    r = read_report(_flat_report(tmp_path, "1210000022"))  # 12|10|0|0|0|0|22 ; 1|2|10|...: R4 decides
    c = r.cell("table_3/new_received/natural_person")
    assert (c["value"], c["status"]) == (12, "inferred") and "R4" in c["note"]
    assert r.cell("table_3/new_received/total")["value"] == 22
    assert r.cell("table_2/regulations/issued")["status"] == "ok"
    assert r.cell("table_2/normative_docs/issued")["status"] == "unreadable"  # 1|2|34, 1|23|4, 12|3|4: no relation decides
    assert r.cell("table_2/normative_docs/issued")["value"] is None
    assert r.cell("table_2/admin_fees/value")["value"] == 1.5
    assert r.cell("table_3/granted/total")["status"] == "missing"


def test_flattened_row_left_ambiguous_is_unreadable_not_guessed(tmp_path: Path) -> None:
    r = read_report(_flat_report(tmp_path, "11000000"))  # 11|0..|0 vs 1|1|...: total 0 breaks R4 for both
    cells = r.cells[r.cells["row"] == "new_received"]
    assert set(cells["status"]) <= {"unreadable", "ok"}
    assert cells[cells["status"] == "unreadable"]["value"].isna().all()
    assert (cells["status"] == "unreadable").any()


def test_space_separated_table_4(tmp_path: Path) -> None:
    r = read_report(_flat_report(tmp_path, "0000000", " 1 0 0 0 1 2 0 0 0 2 0 0 0 1 1 "))
    assert r.values()["table_4/lit_direct/total"] == 2
    assert r.values()["table_4/lit_after_review/pending"] == 1
    assert r.year == 2023 and r.agency == "某某县人民政府" and r.organ_kind == "government"


def test_unknown_row_is_kept_with_its_label(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    i = text.index("\t（四）无法提供")
    j = text.rindex("\n\n", 0, i)
    p = tmp_path / "unknown.txt"
    p.write_text(text[:j] + "\n\n\t\n\t\n\t9.其他原因\n" + "\t1\n" * 7 + text[j:], encoding="utf-8")
    r = read_report(p)
    unknown = r.cells[r.cells["row"] == "unknown:9.其他原因"]
    assert len(unknown) == 7 and set(unknown["status"]) == {"unknown"} and (unknown["value"] == 1).all()
    assert (r.cells[~r.cells["row"].str.startswith("unknown")]["status"] == "ok").all()


def test_seed_metadata_and_sections() -> None:
    r = read_report(SEED)
    assert (r.agency, r.year, r.organ_kind, r.template) == ("西大沟镇人民政府", 2023, "township", "2021")
    assert str(r.report_date) == "2024-01-17"
    assert list(r.sections) == ["overview", "proactive", "requests", "review", "problems", "other"]
    assert r.sections["other"].startswith("虽然在2023年")
    assert "主要问题" in r.sections["problems"] or "思想认识" in r.sections["problems"]
    assert r.form == "text" and r.encoding == "utf-8" and len(r.sha256) == 64


def test_a_number_in_prose_below_an_empty_row_is_not_its_value(tmp_path: Path) -> None:
    """A row printing no value must not take one from the paragraph below it."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    i = next(k for k, line in enumerate(lines) if line.strip() == "行政事业性收费")
    assert lines[i + 1].strip() == "0"
    lines[i + 1: i + 2] = ["", "注：本年度收取信息处理费12万元，已全部上缴。"]
    p = tmp_path / "prose.txt"
    p.write_text("\n".join(lines), encoding="utf-8")
    c = read_report(p).cell("table_2/admin_fees/value")
    assert c["value"] is None and c["status"] in ("missing", "unreadable")


def _find_reference(view, pattern, start, end):  # type: ignore[no-untyped-def]
    """The plain per-cell loop `_find` must agree with: each cell searched within its bounds."""
    for ci in range(start[0], min(end[0], len(view.norm) - 1) + 1):
        text = view.norm[ci]
        lo = start[1] if ci == start[0] else 0
        hi = end[1] if ci == end[0] else len(text)
        if lo >= hi and text:
            continue
        m = pattern.search(text, lo, hi)
        if m:
            return ci, m.span()
    return None


@given(st.lists(st.text(alphabet="ab1 ", max_size=6), min_size=1, max_size=6),
       st.sampled_from([r"a", r"b+", r"^a", r"1$", r"a(?=\s|$)", r"(?<=b)1", r"", r"\s*1\s*"]),
       st.integers(0, 6), st.integers(0, 7), st.integers(0, 6), st.integers(0, 7))
def test_find_agrees_with_the_plain_per_cell_search(cells: list[str], regex: str, c0: int, o0: int,
                                                     c1: int, o1: int) -> None:
    import re

    from helpers.parse.locate import _find, _View

    view = _View(cells, cells, [""] * len(cells), list(range(len(cells))))
    pattern = re.compile(regex)
    got = _find(view, pattern, (c0, o0), (c1, o1))
    assert (None if got is None else (got[0], got[1].span())) == _find_reference(view, pattern, (c0, o0), (c1, o1))
