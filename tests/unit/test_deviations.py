"""Real-world deviations from the template (template-spec §8.2) read exactly, or honestly not at all.

Each test starts from a generated report whose cells are known (helpers.synth), changes the printed
document the way real pages and Word exports deviate (合计 for 总计, variant labels and numbering,
full-width digits, thousands separators, extra columns, split Table 4, headings without numbering,
rows printed as one line ...) and checks the parse against the known cells: every cell exact with
its status, or, where the printed text cannot be mapped with certainty, unreadable/missing with a
note, never a wrong `ok` value. All documents are invented; no real report text is used.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import read_report
from helpers.record import Report
from helpers.synth import Rendered, SynthReport, random_report, render

HTML_PLAIN = dict(mso=False, layout_tables=False, pad_kb=0, full_page=True, encoding="utf-8", meta_charset=True,
                  colspan_mismatch=False, pad_header=False, unit_suffix=False, plus_sign=False)
TEXT_PLAIN = dict(title=True, bookmarks=0.0, split_total=False, plus_sign=False)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
T3 = "table_3"


def _report(seed: int = 5, template: str = "2021", **cells: float | str) -> SynthReport:
    """A generated report with some cells set (keys `table/row/column` with `/` written as `__`)."""
    r = random_report(seed, template=template, organ_kind="government")
    for key, value in cells.items():
        r.cells[key.replace("__", "/")] = value
    return r


BIG = {"table_3__new_received__natural_person": 1234.0, "table_3__new_received__total": 56789.0,
       "table_3__granted__natural_person": 2048.0}


@pytest.fixture(scope="module")
def html21() -> Rendered:
    return render(_report(**BIG), "html", rng=0, **HTML_PLAIN)


@pytest.fixture(scope="module")
def text21() -> Rendered:
    placeholders = {"table_3__denied_state_secret__natural_person": "无", "table_3__np_repeat__research": "—",
                    "table_3__oth_other__commercial": "/"}
    return render(_report(**BIG, **placeholders), "text", rng=0, **TEXT_PLAIN)


def parse(tmp_path: Path, data: str | bytes, suffix: str) -> Report:
    path = tmp_path / f"report{suffix}"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return read_report(path)


def cells(report: Report) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["table"], c["row"], c["column"]): c for c in report.cell_records()}


def wrong(report: Report, expected: pd.DataFrame, tables: tuple[str, ...] | None = None) -> list[Any]:
    """Cells read differently from the generator's oracle (value, status, raw of blanks/placeholders)."""
    got = cells(report)
    out = []
    for want in expected.to_dict("records"):
        key = (want["table"], want["row"], want["column"])
        if key[1].startswith("unknown:") or (tables is not None and key[0] not in tables):
            continue
        c = got.get(key)
        value = None if pd.isna(want["value"]) else float(want["value"])
        if c is None or c["status"] != want["status"] or c["value"] != value or (
                want["status"] in ("blank", "placeholder") and c["raw"].strip() != str(want["raw"]).strip()):
            out.append((key, value, want["status"], c and (c["value"], c["status"], c["raw"], c["note"])))
    return out


def never_wrong_ok(report: Report, expected: pd.DataFrame) -> list[Any]:
    """Cells read `ok` with a value other than the true one (the outcome that must never happen)."""
    truth = {(w["table"], w["row"], w["column"]): w for w in expected.to_dict("records")}
    bad = []
    for key, c in cells(report).items():
        w = truth.get(key)
        if w is not None and c["status"] == "ok" and (pd.isna(w["value"]) or float(w["value"]) != c["value"]):
            bad.append((key, w["value"], c["value"], c["raw"]))
    return bad


def table_region(html: str, heading: str) -> tuple[int, int]:
    """Start and end of the first <table> after a section heading."""
    a = html.index("<table", html.index(heading))
    return a, html.index("</table>", a) + len("</table>")


# ---------------------------------------------------------------------------------------------
# HTML pages: labels, numbering, numbers and markup


def test_the_plain_page_reads_exactly(tmp_path: Path, html21: Rendered) -> None:
    assert wrong(parse(tmp_path, html21.data, ".html"), html21.expected) == []


LABEL_VARIANTS: dict[str, Callable[[str], str]] = {
    "合计 for 总计 everywhere": lambda s: s.replace("总计", "合计"),
    "企业 / 公益组织 column headers": lambda s: s.replace("商业企业", "企业").replace("社会公益组织", "公益组织"),
    "社会组织 column header": lambda s: s.replace("社会公益组织", "社会组织"),
    "部分公开（区分处理）": lambda s: s.replace("（区分处理的，只计这一情形，不计其他情形）", "（区分处理）"),
    "予以公开情况": lambda s: s.replace("（一）予以公开", "（一）予以公开情况"),
    "法律行政法规禁止公开": lambda s: s.replace("其他法律行政法规禁止公开", "法律行政法规禁止公开"),
    "危及“国家安全”": lambda s: s.replace("三安全一稳定", "国家安全"),
    "办理结果合计": lambda s: s.replace("（七）总计", "（七）办理结果合计"),
    "规范性文件 (2019 word) in a 2021 table": lambda s: s.replace("行政规范性文件", "规范性文件"),
    "labels with spaces inside": lambda s: s.replace("予以公开", "予 以 公 开").replace("国家秘密", "国家　秘密"),
    "labels with line breaks inside": lambda s: s.replace("予以公开", "予以<br>公开").replace("不掌握", "不<br/>掌握"),
    "full-width dot in numbering": lambda s: re.sub(r">(\d)\.(?=\D)", r">\1．", s),
    "numbering 1、": lambda s: re.sub(r">(\d)\.(?=\D)", r">\1、", s),
    "numbering （1）": lambda s: re.sub(r">(\d)\.(?=\D)", r">（\1）", s),
    "numbering (1)": lambda s: re.sub(r">(\d)\.(?=\D)", r">(\1)", s),
    "numbering ①": lambda s: re.sub(r">(\d)\.(?=\D)", lambda m: ">" + chr(0x245F + int(m.group(1))), s),
    "numbering 1）": lambda s: re.sub(r">(\d)\.(?=\D)", r">\1）", s),
    "numbering (一) half-width": lambda s: re.sub(r">（([一二三四五六七])）", r">(\1)", s),
    "numbering 一.": lambda s: re.sub(r">([一二三四])、", r">\1.", s),
    "no numbering at all": lambda s: re.sub(r">(\d\.|（[一二三四五六七]）|[一二三四]、)(?=[^<\d]{2})", ">", s),
}


@pytest.mark.parametrize("variant", list(LABEL_VARIANTS))
def test_variant_labels_and_numbering_read_exactly(tmp_path: Path, html21: Rendered, variant: str) -> None:
    page = LABEL_VARIANTS[variant](html21.data.decode("utf-8"))
    assert page != html21.data.decode("utf-8")
    assert wrong(parse(tmp_path, page, ".html"), html21.expected) == []


def _numbers(fmt: Callable[[str], str]) -> Callable[[str], str]:
    """Rewrite every plain number cell <td>123</td> with `fmt`."""
    return lambda s: re.sub(r"<td>(\d+)</td>", lambda m: f"<td>{fmt(m.group(1))}</td>", s)


NUMBER_VARIANTS: dict[str, Callable[[str], str]] = {
    "full-width digits": _numbers(lambda d: d.translate(FULL_WIDTH)),
    "thousands separator ,": _numbers(lambda d: f"{int(d):,}"),
    "thousands separator ，": _numbers(lambda d: f"{int(d):,}".replace(",", "，")),
    "full-width digits and separators": _numbers(lambda d: f"{int(d):,}".replace(",", "，").translate(FULL_WIDTH)),
    "unit suffix 件": _numbers(lambda d: d + "件"),
    "&nbsp; padding": _numbers(lambda d: f"&nbsp;&nbsp;{d}&#160;"),
    "nested span/font/p": _numbers(lambda d: f'<p><span style="font-size:12pt"><font face="宋体">{d}</font></span></p>'),
    "number split across spans": _numbers(lambda d: f"<span>{d[0]}</span><span>{d[1:]}</span>"),
    "colspan on value cells": lambda s: re.sub(r"<td>(\d+)</td>", r'<td colspan="1">\1</td>', s),
    "<th> cells": lambda s: s.replace("<td", "<th").replace("</td>", "</th>"),
    "<thead> around the header rows": lambda s: s.replace("<tbody>", "<thead>", 1),
}


@pytest.mark.parametrize("variant", list(NUMBER_VARIANTS))
def test_number_and_markup_variants_read_exactly(tmp_path: Path, html21: Rendered, variant: str) -> None:
    page = NUMBER_VARIANTS[variant](html21.data.decode("utf-8"))
    assert page != html21.data.decode("utf-8")
    report = parse(tmp_path, page, ".html")
    assert wrong(report, html21.expected) == []
    if "separator" in variant:
        assert cells(report)[(T3, "new_received", "total")]["value"] == 56789


def test_placeholders_in_html_keep_their_raw_text(tmp_path: Path) -> None:
    marks = {"table_3__granted__research": "—", "table_3__partial__commercial": "/", "table_3__np_repeat__total": "无",
             "table_4__review__upheld": "--", "table_2__admin_penalty__value": "不适用"}
    out = render(_report(**marks), "html", rng=0, **HTML_PLAIN)
    report = parse(tmp_path, out.data, ".html")
    assert wrong(report, out.expected) == []
    assert cells(report)[(T3, "granted", "research")]["status"] == "placeholder"
    assert cells(report)[(T3, "np_repeat", "total")]["raw"] == "无"


def test_full_width_placeholders_are_placeholders(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    a, b = table_region(page, "三、收到和处理")
    table = re.sub(r"<td>0</td>", "<td>／</td>", page[a:b], count=3)
    report = parse(tmp_path, page[:a] + table + page[b:], ".html")
    assert "placeholder" in {c["status"] for c in report.cell_records()}
    assert [c["raw"] for c in report.cell_records() if c["status"] == "placeholder"][:1] == ["／"]
    assert never_wrong_ok(report, html21.expected) == []


def test_negative_and_decimal_counts_are_read_as_printed(tmp_path: Path) -> None:
    out = render(_report(table_3__granted__natural_person=-3.0, table_3__partial__commercial=2.5,
                         table_4__review__upheld=1.5), "html", rng=0, **HTML_PLAIN)
    report = parse(tmp_path, out.data, ".html")
    assert wrong(report, out.expected) == []
    got = cells(report)
    assert (got[(T3, "granted", "natural_person")]["value"], got[(T3, "partial", "commercial")]["value"]) == (-3, 2.5)


@pytest.mark.parametrize("printed", ["5、8", "5，8", "3/4", "(5)8", "（12）3", "3 4"])
def test_a_cell_with_more_than_one_number_is_unreadable(tmp_path: Path, html21: Rendered, printed: str) -> None:
    page = html21.data.decode("utf-8")
    a, b = table_region(page, "三、收到和处理")
    want = html21.expected.set_index(["table", "row", "column"]).loc[(T3, "granted", "commercial")]
    row = re.search(r"（一）予以公开</td>((?:<td>[^<]*</td>){7})", page[a:b])
    assert row is not None
    tds = re.findall(r"<td>[^<]*</td>", row.group(1))
    assert tds[1] == f"<td>{int(want['value'])}</td>"
    tds[1] = f"<td>{printed}</td>"
    page = page[:a] + page[a:b].replace(row.group(1), "".join(tds)) + page[b:]
    report = parse(tmp_path, page, ".html")
    cell = cells(report)[(T3, "granted", "commercial")]
    assert cell["status"] == "unreadable" and cell["value"] is None and cell["note"]
    assert never_wrong_ok(report, html21.expected) == []


def test_a_remark_in_words_after_a_number_keeps_the_number(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    a, b = table_region(page, "三、收到和处理")
    row = re.search(r"（一）予以公开</td>((?:<td>[^<]*</td>){7})", page[a:b])
    assert row is not None
    tds = re.findall(r"<td>[^<]*</td>", row.group(1))
    tds[1] = tds[1].replace("</td>", "（含3件补正）</td>")
    page = page[:a] + page[a:b].replace(row.group(1), "".join(tds)) + page[b:]
    assert wrong(parse(tmp_path, page, ".html"), html21.expected) == []


# ---------------------------------------------------------------------------------------------
# Extra column, split Table 4, foreign Table 2


def _with_subtotal(page: str, drop_in_row: str | None = None) -> str:
    """Add a 法人或其他组织小计 column between 其他 and 总计 (header and every data row)."""
    page = page.replace('<td colspan="5">法人或其他组织</td><td rowspan="2">总计</td>',
                        '<td colspan="5">法人或其他组织</td><td rowspan="2">法人或其他组织小计</td><td rowspan="2">总计</td>')
    page = page.replace('<td colspan="7">申请人情况</td>', '<td colspan="8">申请人情况</td>')
    a, b = table_region(page, "三、收到和处理")

    def row(m: re.Match[str]) -> str:
        vals = re.findall(r"<td>([^<]*)</td>", m.group(2))
        sub = sum(int(x) for x in vals[1:6])
        if drop_in_row and drop_in_row in m.group(1):
            return m.group(1) + "".join(f"<td>{v}</td>" for v in vals) + "</tr>"
        return m.group(1) + "".join(f"<td>{v}</td>" for v in vals[:6] + [str(sub)] + vals[6:]) + "</tr>"

    table = re.sub(r"(<td[^>]*>[^<]*[\u4e00-\u9fff][^<]*</td>)((?:<td>[^<]*</td>){7})</tr>", row, page[a:b])
    return page[:a] + table + page[b:]


def test_extra_subtotal_column_is_detected_left_out_and_noted(tmp_path: Path, html21: Rendered) -> None:
    report = parse(tmp_path, _with_subtotal(html21.data.decode("utf-8")), ".html")
    assert wrong(report, html21.expected) == []
    assert not any("小计" in c["column"] for c in report.cell_records())
    assert any("法人或其他组织小计" in n and "left out" in n for n in report.notes)


def test_a_row_without_its_subtotal_cell_is_unreadable_not_shifted(tmp_path: Path, html21: Rendered) -> None:
    report = parse(tmp_path, _with_subtotal(html21.data.decode("utf-8"), drop_in_row="（一）予以公开"), ".html")
    row = [c for c in report.cell_records() if c["table"] == T3 and c["row"] == "granted"]
    assert {c["status"] for c in row} == {"unreadable"}
    assert wrong(report, html21.expected.query("row != 'granted'")) == []


def _table4_values(page: str) -> tuple[int, int, list[str]]:
    a, b = table_region(page, "四、政府信息公开行政复议")
    m = re.search(r"<tr>((?:<td>[^<]*</td>){15})</tr>", page[a:b])
    assert m is not None
    return a + m.start(), a + m.end(), re.findall(r"<td>[^<]*</td>", m.group(1))


def test_table_4_over_three_rows_of_five(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    a, b, tds = _table4_values(page)
    rows = "".join("<tr>" + "".join(tds[i:i + 5]) + "</tr>" for i in (0, 5, 10))
    assert wrong(parse(tmp_path, page[:a] + rows + page[b:], ".html"), html21.expected) == []


def test_table_4_with_one_row_per_block(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    _, _, tds = _table4_values(page)
    head = "".join(f"<td>{h}</td>" for h in ["", "结果维持", "结果纠正", "其他结果", "尚未审结", "合计"])
    body = "".join(f"<tr><td>{label}</td>" + "".join(tds[i:i + 5]) + "</tr>"
                   for label, i in (("行政复议", 0), ("行政诉讼（未经复议直接诉讼）", 5), ("行政诉讼（复议后起诉）", 10)))
    a, b = table_region(page, "四、政府信息公开行政复议")
    page = page[:a] + f"<table><tr>{head}</tr>{body}</table>" + page[b:]
    assert wrong(parse(tmp_path, page, ".html"), html21.expected) == []


def test_table_4_with_a_value_lost_is_unreadable(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    a, b, tds = _table4_values(page)
    rows = "".join("<tr>" + "".join(tds[i:i + 5]) + "</tr>" for i in (0, 5)) + "<tr>" + "".join(tds[10:14]) + "</tr>"
    report = parse(tmp_path, page[:a] + rows + page[b:], ".html")
    assert {c["status"] for c in report.cell_records() if c["table"] == "table_4"} == {"unreadable"}


def test_2021_report_with_2019_table_2_reads_tables_3_4_and_refuses_table_2(tmp_path: Path) -> None:
    new = render(_report(7), "html", rng=0, **HTML_PLAIN)
    old = render(_report(8, template="2019"), "html", rng=0, **HTML_PLAIN)
    page, old_page = new.data.decode("utf-8"), old.data.decode("utf-8")
    a, b = table_region(page, "二、主动公开政府信息情况")
    c, d = table_region(old_page, "二、主动公开政府信息情况")
    report = parse(tmp_path, page[:a] + old_page[c:d] + page[b:], ".html")
    assert report.template == "2021"
    assert wrong(report, new.expected, tables=(T3, "table_4")) == []
    table2 = [c for c in report.cell_records() if c["table"] == "table_2"]
    assert table2 and {c["status"] for c in table2} == {"unreadable"}
    assert "2019 format's columns" in table2[0]["note"]


# ---------------------------------------------------------------------------------------------
# Section headings


HEADING_VARIANTS: dict[str, Callable[[str], str]] = {
    "五、政府信息公开工作存在的主要问题及改进情况":
        lambda s: s.replace("五、存在的主要问题及改进情况", "五、政府信息公开工作存在的主要问题及改进情况"),
    "四、因政府信息公开工作被申请行政复议、提起行政诉讼情况":
        lambda s: s.replace("四、政府信息公开行政复议、行政诉讼情况", "四、因政府信息公开工作被申请行政复议、提起行政诉讼情况"),
    "（一）… numbering": lambda s: re.sub(r"<p>([一二三四五六])、", r"<p>（\1）", s),
    "一. numbering": lambda s: re.sub(r"<p>([一二三四五六])、", r"<p>\1.", s),
    "no numbering": lambda s: re.sub(r"<p>([一二三四五六])、", "<p>", s),
    "bold headings alone": lambda s: re.sub(r"<p>[一二三四五六]、([^<]*)</p>", r"<p><strong>\1</strong></p>", s),
    "heading with a colon": lambda s: re.sub(r"<p>([一二三四五六])、([^<]*)</p>", r"<p>\2：</p>", s),
}


@pytest.mark.parametrize("variant", list(HEADING_VARIANTS))
def test_section_heading_variants(tmp_path: Path, html21: Rendered, variant: str) -> None:
    page = HEADING_VARIANTS[variant](html21.data.decode("utf-8"))
    assert page != html21.data.decode("utf-8")
    report = parse(tmp_path, page, ".html")
    assert wrong(report, html21.expected) == []
    assert {"proactive", "requests", "review"} <= set(report.sections)


def test_a_narrative_mention_is_not_a_heading(tmp_path: Path, html21: Rendered) -> None:
    """Without any heading, 行政复议 in the narrative of section 1 must not start Table 4."""
    page = re.sub(r"<p>[一二三四五六]、[^<]*</p>", "", html21.data.decode("utf-8"))
    report = parse(tmp_path, page, ".html")
    assert never_wrong_ok(report, html21.expected) == []
    assert wrong(report, html21.expected, tables=("table_4",)) == []


# ---------------------------------------------------------------------------------------------
# Word-export and archived text


def _rows_on_one_line(sep: str) -> Callable[[str], str]:
    """Word-export text (one cell per line, a blank line after each row) → one line per table row."""
    def join(text: str) -> str:
        out = []
        for block in text.split("\n\n"):
            lines = block.split("\n")
            row = [ln[1:] for ln in lines if ln.startswith("\t") and ln[1:].strip()]
            rest = [ln for ln in lines if not ln.startswith("\t")]
            out.append("\n".join(rest + ([sep.join(row)] if row else [])))
        return "\n\n".join(out)
    return join


TEXT_VARIANTS: dict[str, Callable[[str], str]] = {
    "rows on one line, two spaces": _rows_on_one_line("  "),
    "rows on one line, one space": _rows_on_one_line(" "),
    "rows on one line, ideographic space": _rows_on_one_line("\u3000"),
    "rows on one line, tabs": _rows_on_one_line("\t"),
    "rows on one line, no blank lines": lambda s: re.sub(r"\n\n+", "\n", _rows_on_one_line("  ")(s)),
    "thousands separators": lambda s: re.sub(r"(?<=\t)(\d{1,2})(\d{3})(?=\n)", r"\1,\2", s),
    "rows on one line with ，thousands": lambda s: _rows_on_one_line("  ")(
        re.sub(r"(?<=\t)(\d{1,2})(\d{3})(?=\n)", r"\1，\2", s)),
    "full-width digits": lambda s: re.sub(r"(?<=\t)(\d+)(?=\n)", lambda m: m.group(1).translate(FULL_WIDTH), s),
    "unit suffix 件": lambda s: re.sub(r"(?<=\t)(\d+)(?=\n)", r"\1件", s),
    "合计 on one line": lambda s: _rows_on_one_line("  ")(s.replace("总计", "合计")),
    "numbering （1） on one line": lambda s: _rows_on_one_line("  ")(re.sub(r"\t(\d)\.(?=\D)", r"\t（\1）", s)),
    "numbering ① on one line": lambda s: _rows_on_one_line("  ")(
        re.sub(r"\t(\d)\.(?=\D)", lambda m: "\t" + chr(0x245F + int(m.group(1))), s)),
    "numbering 1、 on one line": lambda s: _rows_on_one_line("  ")(re.sub(r"\t(\d)\.(?=\D)", r"\t\1、", s)),
    "headings without numbering": lambda s: re.sub(r"(?m)^[一二三四五六]、", "", s),
}


@pytest.mark.parametrize("variant", list(TEXT_VARIANTS))
def test_text_variants_read_exactly(tmp_path: Path, text21: Rendered, variant: str) -> None:
    text = TEXT_VARIANTS[variant](text21.data.decode("utf-8"))
    assert text != text21.data.decode("utf-8")
    assert wrong(parse(tmp_path, text, ".txt"), text21.expected) == []


def _text_table4_split(text: str) -> str:
    """The 15 Table-4 values of Word-export text as three rows of five."""
    a, b = text.index("四、政府信息公开行政复议"), text.index("五、")
    parts = text[a:b].rstrip("\n").split("\n\n")
    values = parts[-1].split("\n")
    assert len(values) == 15
    parts[-1] = "\n\n".join("\n".join(values[i:i + 5]) for i in (0, 5, 10))
    return text[:a] + "\n\n".join(parts) + "\n\n\n" + text[b:]


@pytest.mark.parametrize("one_line", [False, True])
def test_text_table_4_over_three_rows(tmp_path: Path, text21: Rendered, one_line: bool) -> None:
    text = _text_table4_split(text21.data.decode("utf-8"))
    if one_line:
        text = _rows_on_one_line("  ")(text)
    assert wrong(parse(tmp_path, text, ".txt"), text21.expected) == []


def test_running_text_row_with_joined_numbers_is_unreadable(tmp_path: Path, text21: Rendered) -> None:
    """'5、8' inside a row printed as one line: not 5, not 8, but unreadable."""
    text = _rows_on_one_line("  ")(text21.data.decode("utf-8"))
    line = next(ln for ln in text.split("\n") if "（一）予以公开" in ln)
    cells_ = line.split("  ")
    at = cells_.index("（一）予以公开") + 2  # the second value: commercial
    cells_[at] = "5、8"
    text = text.replace(line, "  ".join(cells_))
    report = parse(tmp_path, text, ".txt")
    assert {c["status"] for c in report.cell_records() if c["row"] == "granted"} == {"unreadable"}
    assert never_wrong_ok(report, text21.expected) == []


def test_markdown_and_flat_forms_with_heji(tmp_path: Path) -> None:
    report = _report(**BIG)
    for form in ("markdown", "flat"):
        out = render(report, form, rng=1)
        data = out.data.decode("utf-8").replace("总计", "合计")
        assert wrong(parse(tmp_path, data, out.suffix), out.expected) == [], form


def test_pipe_rows_without_edge_pipes(tmp_path: Path, text21: Rendered) -> None:
    text = _rows_on_one_line(" | ")(text21.data.decode("utf-8"))
    assert wrong(parse(tmp_path, text, ".txt"), text21.expected) == []


def test_a_keyword_broken_over_two_lines_is_read_by_label_similarity(tmp_path: Path, text21: Rendered) -> None:
    """重复申请 printed as 重复 / 申请 on two lines: the label's first line resembles no other row's
    label, so the row is read (alignment by similarity, parse/align.py), and nothing is shifted."""
    text = text21.data.decode("utf-8").replace("2.重复申请", "2.重复\n\t申请")
    report = parse(tmp_path, text, ".txt")
    assert wrong(report, text21.expected) == []
    assert never_wrong_ok(report, text21.expected) == []


def test_text_table_4_with_one_line_per_block(tmp_path: Path, text21: Rendered) -> None:
    text = text21.data.decode("utf-8")
    a, b = text.index("四、政府信息公开行政复议"), text.index("五、")
    values = text[a:b].rstrip("\n").split("\n\n")[-1].split("\n")
    lines = ["四、政府信息公开行政复议、行政诉讼情况", "  ".join(["项目", "结果维持", "结果纠正", "其他结果", "尚未审结", "合计"])]
    for label, i in (("行政复议", 0), ("未经复议直接起诉", 5), ("复议后起诉", 10)):
        lines.append("  ".join([label, *(v.strip() for v in values[i:i + 5])]))
    text = text[:a] + "\n".join(lines) + "\n\n" + text[b:]
    assert wrong(parse(tmp_path, text, ".txt"), text21.expected) == []


def test_transposed_table_4_is_unreadable_not_guessed(tmp_path: Path, html21: Rendered) -> None:
    """Five rows (one per outcome) of three values: no reading order is certain, so none is taken."""
    page = html21.data.decode("utf-8")
    _, _, tds = _table4_values(page)
    rows = "".join(f"<tr><td>{h}</td>{tds[k]}{tds[5 + k]}{tds[10 + k]}</tr>"
                   for k, h in enumerate(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]))
    a, b = table_region(page, "四、政府信息公开行政复议")
    page = page[:a] + f"<table><tr><td></td><td>行政复议</td><td>未经复议直接起诉</td><td>复议后起诉</td></tr>{rows}</table>" \
        + page[b:]
    report = parse(tmp_path, page, ".html")
    assert {c["status"] for c in report.cell_records() if c["table"] == "table_4"} <= {"unreadable", "missing"}
    assert never_wrong_ok(report, html21.expected) == []


def test_table_4_block_rows_do_not_take_a_later_blocks_values(tmp_path: Path, html21: Rendered) -> None:
    """No 行政复议 row, and 行政复议 inside the direct-litigation label: the review cells are not
    filled from that row."""
    page = html21.data.decode("utf-8")
    _, _, tds = _table4_values(page)
    body = "".join(f"<tr><td>{label}</td>" + "".join(tds[i:i + 5]) + "</tr>"
                   for label, i in (("行政诉讼（未经行政复议直接起诉）", 5), ("行政诉讼（复议后起诉）", 10)))
    a, b = table_region(page, "四、政府信息公开行政复议")
    head = "".join(f"<td>{h}</td>" for h in ["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"])
    report = parse(tmp_path, page[:a] + f"<table><tr>{head}</tr>{body}</table>" + page[b:], ".html")
    assert never_wrong_ok(report, html21.expected) == []
    assert {c["status"] for c in report.cell_records() if c["row"] == "review"} <= {"unreadable", "missing"}


def test_table_4_as_five_unlabelled_rows_of_three_is_not_read_in_order(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    a, b, tds = _table4_values(page)
    rows = "".join(f"<tr>{tds[k]}{tds[5 + k]}{tds[10 + k]}</tr>" for k in range(5))
    report = parse(tmp_path, page[:a] + rows + page[b:], ".html")
    assert {c["status"] for c in report.cell_records() if c["table"] == "table_4"} == {"unreadable"}


def test_extra_column_in_an_uncertain_place_stops_the_table_not_shifts_it(tmp_path: Path, html21: Rendered) -> None:
    """The 小计 header printed before 法人或其他组织 (not between 其他 and 总计): no row is read."""
    page = _with_subtotal(html21.data.decode("utf-8")).replace(
        '<td colspan="5">法人或其他组织</td><td rowspan="2">法人或其他组织小计</td>',
        '<td rowspan="2">法人或其他组织小计</td><td colspan="5">法人或其他组织</td>')
    report = parse(tmp_path, page, ".html")
    assert {c["status"] for c in report.cell_records() if c["table"] == T3} == {"unreadable"}
    assert any("not certain" in n for n in report.notes)
    assert wrong(report, html21.expected, tables=("table_2", "table_4")) == []


def test_extra_column_in_rows_printed_as_lines(tmp_path: Path, text21: Rendered) -> None:
    """Word-export text with the 小计 column between 其他 and 总计, each row on one line."""
    text = _rows_on_one_line("  ")(text21.data.decode("utf-8"))
    a, b = text.index("三、收到和处理"), text.index("四、政府信息公开行政复议")
    lines = []
    for line in text[a:b].split("\n"):
        parts = line.split("  ")
        if parts == ["自然人", "法人或其他组织", "总计"]:
            parts.insert(2, "法人或其他组织小计")
        elif len(parts) >= 8 and all(re.fullmatch(r"\d+|无|—|/", p) for p in parts[-7:]):
            orgs = [int(p) if p.isdigit() else 0 for p in parts[-6:-1]]
            parts.insert(len(parts) - 1, str(sum(orgs)))
        lines.append("  ".join(parts))
    report = parse(tmp_path, text[:a] + "\n".join(lines) + text[b:], ".txt")
    assert wrong(report, text21.expected) == []
    assert any("法人或其他组织小计" in n for n in report.notes)


def test_extra_column_last_in_the_organisation_header_row(tmp_path: Path, html21: Rendered) -> None:
    """小计 printed as a sixth cell after 其他 in the third header row (总计 above it, in row 2)."""
    page = _with_subtotal(html21.data.decode("utf-8"))
    page = page.replace('<td colspan="5">法人或其他组织</td><td rowspan="2">法人或其他组织小计</td>',
                        '<td colspan="6">法人或其他组织</td>').replace("<td>其他</td></tr>", "<td>其他</td><td>小计</td></tr>", 1)
    report = parse(tmp_path, page, ".html")
    assert wrong(report, html21.expected) == []
    assert any("小计" in n and "left out" in n for n in report.notes)


@pytest.mark.parametrize("form", ["html", "text"])
def test_a_note_under_table_4_naming_its_words_does_not_hide_it(tmp_path: Path, html21: Rendered, text21: Rendered,
                                                               form: str) -> None:
    note = "注：本年度共发生行政复议3件，行政诉讼2件。"
    if form == "html":
        out, data = html21, html21.data.decode("utf-8").replace("<p>五、", f"<p>{note}</p><p>五、")
    else:
        out, data = text21, text21.data.decode("utf-8").replace("\n五、", f"\n{note}\n五、")
    assert wrong(parse(tmp_path, data, out.suffix), out.expected) == []


@pytest.mark.parametrize("printed", ["3<br>5", "3<br/>5", "12<sup>1</sup>", "12<sup>*</sup>", "1<sub>2</sub>"])
def test_line_breaks_and_footnote_marks_inside_a_number_cell_are_not_joined(tmp_path: Path, html21: Rendered,
                                                                            printed: str) -> None:
    page = html21.data.decode("utf-8")
    a, b = table_region(page, "三、收到和处理")
    row = re.search(r"（一）予以公开</td>((?:<td>[^<]*</td>){7})", page[a:b])
    assert row is not None
    tds = re.findall(r"<td>[^<]*</td>", row.group(1))
    tds[1] = f"<td>{printed}</td>"
    page = page[:a] + page[a:b].replace(row.group(1), "".join(tds)) + page[b:]
    report = parse(tmp_path, page, ".html")
    assert cells(report)[(T3, "granted", "commercial")]["status"] == "unreadable"
    assert never_wrong_ok(report, html21.expected) == []


def test_an_unnumbered_heading_after_later_sections_is_not_taken(tmp_path: Path, html21: Rendered) -> None:
    """No 一、总体情况 heading, and a "总体情况" line late in section 6: the numbered sections stand."""
    page = html21.data.decode("utf-8").replace("<p>一、总体情况</p>", "")
    page = page.replace("<p>六、其他需要报告的事项</p>", "<p>六、其他需要报告的事项</p><p>总体情况</p>")
    report = parse(tmp_path, page, ".html")
    assert wrong(report, html21.expected) == []
    assert "overview" not in report.sections and {"proactive", "requests", "review", "other"} <= set(report.sections)


HTML_VARIANTS = {**LABEL_VARIANTS, **NUMBER_VARIANTS, **HEADING_VARIANTS}


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32), template=st.sampled_from(["2019", "2021"]),
       blank_share=st.sampled_from([0.0, 0.05]), placeholder_share=st.sampled_from([0.0, 0.1]),
       variants=st.lists(st.sampled_from(sorted(HTML_VARIANTS)), min_size=1, max_size=3, unique=True))
def test_deviations_combined_read_exactly(seed: int, template: str, blank_share: float, placeholder_share: float,
                                          variants: list[str]) -> None:
    """Any few deviations together, on any generated report of either format, read exactly."""
    report = random_report(seed, template=template, blank_share=blank_share, placeholder_share=placeholder_share)
    out = render(report, "html", rng=seed, **HTML_PLAIN)
    page = out.data.decode("utf-8")
    for name in variants:
        page = HTML_VARIANTS[name](page)
    with tempfile.TemporaryDirectory() as tmp:
        parsed = parse(Path(tmp), page, ".html")
    assert wrong(parsed, out.expected) == [], variants


@pytest.mark.parametrize("fill", ["<td>/</td><td>/</td>", "<td></td><td>—</td>"])
def test_a_one_column_row_split_over_three_cells_reads_its_only_number(tmp_path: Path, html21: Rendered,
                                                                       fill: str) -> None:
    page = html21.data.decode("utf-8")
    value = re.search(r'<td>行政许可</td><td colspan="3">(\d+)</td>', page)
    assert value is not None
    page = page.replace(value.group(0), f"<td>行政许可</td><td>{value.group(1)}</td>{fill}")
    report = parse(tmp_path, page, ".html")
    assert wrong(report, html21.expected) == []
    assert "one column printed over 3 cells" in cells(report)[("table_2", "admin_licensing", "value")]["note"]


def test_a_one_column_row_with_two_numbers_is_unreadable(tmp_path: Path, html21: Rendered) -> None:
    page = html21.data.decode("utf-8")
    value = re.search(r'<td>行政许可</td><td colspan="3">(\d+)</td>', page)
    assert value is not None
    page = page.replace(value.group(0), f"<td>行政许可</td><td>{value.group(1)}</td><td>7</td><td>/</td>")
    report = parse(tmp_path, page, ".html")
    assert cells(report)[("table_2", "admin_licensing", "value")]["status"] == "unreadable"
