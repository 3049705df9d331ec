"""DOCX and copied-text deviations (template-spec §8.2) read exactly, or honestly not at all.

DOCX cases start from the real blank Word template filled with generated numbers (as in
test_readers_docx) or from a generated DOCX (helpers.synth), then change the Word XML the way real
files deviate: split runs, full-width digits, cell paragraphs, merges, layout tables, split tables,
numbered-list headings, text boxes, tracked changes, fields, .docm/.dotx. Text cases turn a generated
HTML page into what a browser copy gives (cells on lines, tabs, blank cells as empty lines, CRLF,
GB18030, UTF-16). Every cell must come back exact with its status, or unreadable/missing with a
note, never a wrong `ok`. All documents are invented; no real report text is used.
"""

from __future__ import annotations

import copy
import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import lxml.html
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import qn

from conftest import corpus_dir, corpus_truths, fill_cells, load_truth
from helpers import get_template, read_report
from helpers.readers.docx import read_docx
from helpers.record import Report
from helpers.synth import Rendered, random_report, render
from test_readers_docx import _flat, data_cells

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
Filled = dict[str, tuple[str, float | None, str]]
HTML_PLAIN = dict(mso=False, layout_tables=False, pad_kb=0, full_page=True, encoding="utf-8", meta_charset=True,
                  colspan_mismatch=False, pad_header=False, unit_suffix=False, plus_sign=False)
DOCX_PLAIN = dict(blank_text="\u3000", line_breaks=True, plus_sign=False)


# ---------------------------------------------------------------------------------------------
# Helpers


def _template_path() -> Path:
    corpus_dir()
    truths = [p for p in corpus_truths() if load_truth(p)["form"] == "docx"]
    return Path(load_truth(truths[0])["_report"])


def filled(seed: int = 1) -> tuple[Any, dict[str, Any], Filled]:
    """The real blank template with every data cell filled: (document, key → Word cell, key → printed)."""
    document = docx.Document(str(_template_path()))
    where = data_cells(document)
    values = fill_cells(random.Random(seed), get_template("2021").keys, blanks=("", "\u3000"))
    for key, cell in where.items():
        cell.text = values[key][0]
    return document, where, values


def save(document: Any, tmp_path: Path, name: str = "report.docx") -> Path:
    path = tmp_path / name
    document.save(str(path))
    return path


def records(report: Report) -> dict[str, dict[str, Any]]:
    return {f"{c['table']}/{c['row']}/{c['column']}": c for c in report.cell_records()}


def wrong(report: Report, values: Filled, skip: Callable[[str], bool] = lambda k: False) -> list[Any]:
    """Cells read differently from what was printed (value, status; raw of blanks and placeholders)."""
    got = records(report)
    out = []
    for key, (text, value, status) in values.items():
        if skip(key):
            continue
        c = got.get(key)
        if c is None or c["status"] != status or c["value"] != (None if value is None else pytest.approx(value)) \
                or (status == "placeholder" and c["raw"] != text) or (status == "blank" and c["raw"] != ""):
            out.append((key, text, c and (c["value"], c["status"], c["raw"])))
    return out


def wrong_ok(report: Report, values: Filled) -> list[Any]:
    """Cells read `ok` with a value other than the printed one: the outcome that must never happen."""
    return [(k, values[k][0], c["value"]) for k, c in records(report).items()
            if k in values and c["status"] == "ok" and (values[k][2] != "ok" or c["value"] != pytest.approx(values[k][1]))]


def oracle(out: Rendered) -> Filled:
    """A synth oracle (template cells only) as key → (printed, value, status)."""
    res: Filled = {}
    for w in out.expected.to_dict("records"):
        if w["row"].startswith("unknown:"):
            continue
        value = None if w["value"] is None or w["value"] != w["value"] else float(w["value"])
        res[f"{w['table']}/{w['row']}/{w['column']}"] = (str(w["raw"]), value, w["status"])
    return res


def set_runs(cell: Any, pieces: list[str], paragraphs: list[list[str]] | None = None) -> None:
    """Replace a Word cell's content by runs (one paragraph) or several paragraphs of runs."""
    tc = cell._tc
    for p in tc.findall(qn("w:p")):
        tc.remove(p)
    for runs in paragraphs or [pieces]:
        p = parse_xml(f'<w:p xmlns:w="{W}">' + "".join(
            f'<w:r><w:t xml:space="preserve">{t}</w:t></w:r>' for t in runs) + "</w:p>")
        tc.append(p)


def ok_cells(values: Filled, where: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, where[k]) for k, (_, _, s) in values.items() if s == "ok"]


# ---------------------------------------------------------------------------------------------
# DOCX: number cells


NUMBER_SHAPES: dict[str, Callable[[str], list[list[str]]]] = {
    "one run per digit": lambda t: [list(t)],
    "two runs": lambda t: [[t[:1], t[1:]]],
    "spaces around": lambda t: [[" ", t, "  "]],
    "U+3000 padding": lambda t: [["\u3000", t, "\u3000\u3000"]],
    "full-width digits": lambda t: [[t.translate(FULL_WIDTH)]],
    "empty paragraph before": lambda t: [[], [t]],
    "empty paragraphs around": lambda t: [[], ["\u3000"], [t], []],
}


@pytest.mark.parametrize("shape", list(NUMBER_SHAPES))
def test_number_cell_shapes_read_exactly(tmp_path: Path, shape: str) -> None:
    document, where, values = filled(2)
    for key, cell in ok_cells(values, where):
        paras = NUMBER_SHAPES[shape](values[key][0])
        set_runs(cell, [], paras)
    report = read_report(save(document, tmp_path))
    assert wrong(report, values) == []
    assert {s for _, _, s in values.values()} == {"ok", "blank", "placeholder"}


@pytest.mark.parametrize("printed", ["1 234", "12\u300034"])
def test_a_space_inside_a_number_is_not_joined(tmp_path: Path, printed: str) -> None:
    document, where, values = filled(3)
    key = "table_3/granted/natural_person"
    set_runs(where[key], [printed])
    report = read_report(save(document, tmp_path))
    # Which printed digits belong to which cell is not certain: the row is unreadable, with a note.
    row = [c for k, c in records(report).items() if k.startswith("table_3/granted/")]
    assert {c["status"] for c in row} == {"unreadable"} and all(c["note"] for c in row)
    assert wrong(report, values, skip=lambda k: k.startswith("table_3/granted/")) == []
    assert wrong_ok(report, values) == []


def test_two_numbers_in_two_paragraphs_of_one_cell_are_unreadable(tmp_path: Path) -> None:
    document, where, values = filled(3)
    key = "table_3/partial/commercial"
    set_runs(where[key], [], [["3"], ["5"]])
    report = read_report(save(document, tmp_path))
    row = [c for k, c in records(report).items() if k.startswith("table_3/partial/")]
    assert records(report)[key]["status"] == "unreadable" and {c["status"] for c in row} <= {"unreadable", "ok"}
    assert wrong(report, values, skip=lambda k: k.startswith("table_3/partial/")) == []
    assert wrong_ok(report, values) == []


@pytest.mark.parametrize("mark", ["—", "/", "／", "-", "无", "——"])
def test_placeholders_with_padding_keep_their_raw_text(tmp_path: Path, mark: str) -> None:
    document, where, values = filled(4)
    for key in ("table_3/granted/research", "table_2/admin_licensing/value", "table_4/review/upheld"):
        set_runs(where[key], ["\u3000", mark, "\u3000"])
        values[key] = (mark, None, "placeholder")
    assert wrong(read_report(save(document, tmp_path)), values) == []


# ---------------------------------------------------------------------------------------------
# DOCX: labels and merges


def _label_cell(document: Any, label: str) -> Any:
    for table in document.tables:
        for tc in table._tbl.iter(qn("w:tc")):
            if _flat("".join(t.text or "" for t in tc.iter(qn("w:t")))) == _flat(label):
                return tc
    raise AssertionError(label)


@pytest.mark.parametrize("label,cut", [("（一）予以公开", 4), ("1.本机关不掌握相关政府信息", 5),
                                       ("一、本年新收政府信息公开申请数量", 8), ("行政规范性文件", 2)])
def test_a_row_label_over_two_paragraphs_reads_exactly(tmp_path: Path, label: str, cut: int) -> None:
    document, _, values = filled(5)
    tc = _label_cell(document, label)
    for p in tc.findall(qn("w:p")):
        tc.remove(p)
    for part in (label[:cut], label[cut:]):
        tc.append(parse_xml(f'<w:p xmlns:w="{W}"><w:r><w:t>{part}</w:t></w:r></w:p>'))
    assert wrong(read_report(save(document, tmp_path)), values) == []


def test_template_merges_are_the_real_ones(tmp_path: Path) -> None:
    """The real template already has gridSpan value cells in Table 2 and vMerge group labels in Table 3."""
    document, where, values = filled(6)
    spans = where["table_2/admin_licensing/value"]._tc.tcPr.find(qn("w:gridSpan"))
    assert spans is not None and spans.get(qn("w:val")) == "3"
    assert document.tables[1]._tbl.find(".//" + qn("w:vMerge")) is not None
    assert wrong(read_report(save(document, tmp_path)), values) == []


def test_a_three_column_row_with_two_merged_values_is_unreadable_not_shifted(tmp_path: Path) -> None:
    """规章's first two value cells merged (gridSpan 2) holding one number: 3 columns, 2 values."""
    document, where, values = filled(7)
    a, b = where["table_2/regulations/issued"]._tc, where["table_2/regulations/repealed"]._tc
    a.get_or_add_tcPr().append(parse_xml(f'<w:gridSpan xmlns:w="{W}" w:val="2"/>'))
    b.getparent().remove(b)
    report = read_report(save(document, tmp_path))
    row = {k: c for k, c in records(report).items() if k.startswith("table_2/regulations/")}
    assert {c["status"] for c in row.values()} <= {"unreadable", "missing"}
    assert wrong(report, values, skip=lambda k: k.startswith("table_2/regulations/")) == []


def test_an_extra_empty_column_in_every_table_reads_exactly(tmp_path: Path) -> None:
    document, _, values = filled(8)
    for table in document.tables:
        grid = table._tbl.find(qn("w:tblGrid"))
        grid.append(parse_xml(f'<w:gridCol xmlns:w="{W}" w:w="300"/>'))
        for tr in table._tbl.findall(qn("w:tr")):
            tr.append(parse_xml(f'<w:tc xmlns:w="{W}"><w:p/></w:tc>'))
    assert wrong(read_report(save(document, tmp_path)), values) == []


def test_tables_inside_a_layout_table_read_exactly(tmp_path: Path) -> None:
    """The whole body (headings and the three tables) inside one cell of a 1×1 layout table."""
    document, _, values = filled(9)
    body = document.element.body
    content = [el for el in body if el.tag in (qn("w:p"), qn("w:tbl"))]
    outer = parse_xml(f'<w:tbl xmlns:w="{W}"><w:tblGrid><w:gridCol w:w="9000"/></w:tblGrid>'
                      f'<w:tr><w:tc></w:tc></w:tr></w:tbl>')
    tc = outer.find(".//" + qn("w:tc"))
    body.insert(0, outer)
    for el in content:
        tc.append(el)
    tc.append(parse_xml(f'<w:p xmlns:w="{W}"/>'))
    assert wrong(read_report(save(document, tmp_path)), values) == []


def _split_table(tbl: Any, before: list[int], repeat_header: int = 0) -> None:
    """Split a w:tbl before the given row indices into separate tables (an empty paragraph between);
    each new table repeats the first `repeat_header` rows."""
    rows = tbl.findall(qn("w:tr"))
    head = rows[:repeat_header]
    at = tbl
    for start, end in zip(before, before[1:] + [len(rows)]):
        new = copy.deepcopy(tbl)
        for tr in new.findall(qn("w:tr")):
            new.remove(tr)
        for tr in [copy.deepcopy(h) for h in head] + rows[start:end]:
            new.append(tr)
        gap = parse_xml(f'<w:p xmlns:w="{W}"/>')
        at.addnext(gap)
        gap.addnext(new)
        at = new


def test_table_2_as_four_tables_one_per_band(tmp_path: Path) -> None:
    document, _, values = filled(10)
    tbl = document.tables[0]._tbl
    starts = [i for i, tr in enumerate(tbl.findall(qn("w:tr"))) if "第二十条" in "".join(tr.itertext())]
    assert len(starts) == 4
    _split_table(tbl, starts[1:])
    assert len(document.tables) == 6
    assert wrong(read_report(save(document, tmp_path)), values) == []


@pytest.mark.parametrize("at_label", ["5.属于三类内部事务信息", "1.本机关不掌握相关政府信息", "（七）总计"])
@pytest.mark.parametrize("repeat", [0, 3])
@pytest.mark.parametrize("restart", ["empty", "relabelled", "continued"])
def test_table_3_continued_on_the_next_page(tmp_path: Path, at_label: str, repeat: int, restart: str) -> None:
    """Table 3 split in two tables (inside a vertically merged group), the header rows repeated or not."""
    document, _, values = filled(11)
    tbl = document.tables[1]._tbl
    rows = tbl.findall(qn("w:tr"))
    k = next(i for i, tr in enumerate(rows) if at_label in "".join(tr.itertext()))
    # Splitting a table inside a vertical merge leaves empty restarted cells at the top of the second
    # table (`restart`), or, written by other tools, continuation cells with nothing to continue.
    _split_table(tbl, [k], repeat_header=repeat)
    second = document.tables[2]._tbl
    first_row = second.findall(qn("w:tr"))[repeat]
    starts = {}  # grid column → the text of the merge's restart cell above the split
    for tr in rows[:k]:
        col = 0
        for tc in tr.findall(qn("w:tc")):
            vm = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
            if vm is not None and vm.get(qn("w:val")) == "restart":
                starts[col] = "".join(t.text or "" for t in tc.iter(qn("w:t")))
            span = tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}")
            col += int(span.get(qn("w:val"))) if span is not None else 1
    col = 0
    for tc in first_row.findall(qn("w:tc")):
        vm = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
        if vm is not None and vm.get(qn("w:val")) != "restart" and restart != "continued":
            vm.set(qn("w:val"), "restart")
            if restart == "relabelled":
                set_runs(docx.table._Cell(tc, None), [starts[col]])
        span = tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}")
        col += int(span.get(qn("w:val"))) if span is not None else 1
    report = read_report(save(document, tmp_path))
    assert wrong(report, values) == []
    if repeat:
        assert any("repeats the previous table's 3 header row(s)" in n for n in report.notes)


def test_table_3_over_three_pages_with_the_header_repeated_twice(tmp_path: Path) -> None:
    document, _, values = filled(16)
    tbl = document.tables[1]._tbl
    rows = tbl.findall(qn("w:tr"))
    cuts = [next(i for i, tr in enumerate(rows) if label in "".join(tr.itertext()))
            for label in ("（四）无法提供", "（七）总计")]
    _split_table(tbl, cuts, repeat_header=3)
    assert len(document.tables) == 5
    report = read_report(save(document, tmp_path))
    assert wrong(report, values) == []
    assert sum("repeats the previous table's 3 header row(s)" in n for n in report.notes) == 2


def _table(rows: list[list[str]]) -> Any:
    d = docx.Document()
    t = d.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            t.cell(r, c).text = text
    return d


def test_an_empty_column_is_dropped_only_under_a_header_of_labels(tmp_path: Path) -> None:
    """A column blank in every row is layout only when a row of labels covers all other columns; in
    a headerless continuation it may be a column of zeros left blank, and is kept."""
    with_head = save(_table([["项目", "", "甲", "乙"], ["行", "", "1", "2"], ["列", "", "3", ""]]), tmp_path, "a.docx")
    rows = [[c.text for c in b.cells] for b in read_docx(with_head, with_head.read_bytes()).blocks]
    assert rows == [["项目", "甲", "乙"], ["行", "1", "2"], ["列", "3", ""]]
    headless = save(_table([["行", "", "1", "2"], ["列", "", "3", "4"]]), tmp_path, "b.docx")
    rows = [[c.text for c in b.cells] for b in read_docx(headless, headless.read_bytes()).blocks]
    assert rows == [["行", "", "1", "2"], ["列", "", "3", "4"]]


# ---------------------------------------------------------------------------------------------
# DOCX: headings, title, tracked changes, fields, package variants


def _synth_docx(seed: int = 3) -> Rendered:
    return render(random_report(seed, template="2021", organ_kind="government"), "docx", rng=0, **DOCX_PLAIN)


def _open(out: Rendered) -> Any:
    return docx.Document(io.BytesIO(out.data))


def test_headings_as_word_numbered_list_items(tmp_path: Path) -> None:
    """一、 … 六、 given by Word list numbering (numPr), not in the text: tables found by their cues."""
    out = _synth_docx()
    document = _open(out)
    n = 0
    for p in document.paragraphs:
        m = re.match(r"^[一二三四五六]、", p.text)
        if m and len(p.text) < 30:
            text = p.text[m.end():]
            for r in p.runs[1:]:
                r._r.getparent().remove(r._r)
            p.runs[0].text = text
            p._p.get_or_add_pPr().append(parse_xml(
                f'<w:numPr xmlns:w="{W}"><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'))
            n += 1
    assert n == 6
    report = read_report(save(document, tmp_path))
    assert wrong(report, oracle(out)) == []
    assert {"proactive", "requests", "review"} <= set(report.sections)


def _title_paragraph(document: Any) -> Any:
    p = document.paragraphs[0]
    assert "年度报告" in p.text
    return p


@pytest.mark.parametrize("where", ["page header", "text box"])
def test_title_in_a_page_header_or_text_box(tmp_path: Path, where: str) -> None:
    out = _synth_docx(4)
    document = _open(out)
    p = _title_paragraph(document)
    title = p.text
    p._p.getparent().remove(p._p)
    if where == "page header":
        document.sections[0].header.paragraphs[0].text = title
    else:
        box = parse_xml(
            f'<w:p xmlns:w="{W}" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
            f'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            f'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
            f'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
            f'xmlns:v="urn:schemas-microsoft-com:vml">'
            f'<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic>'
            f'<a:graphicData><wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>{title}</w:t></w:r></w:p>'
            f'</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>'
            f'</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>{title}</w:t>'
            f'</w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent>'
            f'</w:r></w:p>')
        document.element.body.insert(0, box)
    path = save(document, tmp_path)
    report = read_report(path)
    assert wrong(report, oracle(out)) == []
    assert (report.agency, report.year) == (out.meta["agency"], out.meta["year"])
    # A text box is read once (its VML fallback copy is not); page headers are not body text.
    texts = [c.text for b in read_docx(path, path.read_bytes()).blocks for c in b.cells]
    assert texts.count(title) == (1 if where == "text box" else 0)


def test_tracked_changes_deleted_numbers_are_not_read_inserted_ones_are(tmp_path: Path) -> None:
    document, where, values = filled(12)
    changed = {}
    for i, (key, cell) in enumerate(ok_cells(values, where)[:40]):
        text = values[key][0]
        tc = cell._tc
        for p in tc.findall(qn("w:p")):
            tc.remove(p)
        old = "9" + text if i % 2 else "8"
        tc.append(parse_xml(
            f'<w:p xmlns:w="{W}"><w:del w:id="{2 * i}" w:author="a"><w:r><w:delText>{old}</w:delText></w:r></w:del>'
            f'<w:ins w:id="{2 * i + 1}" w:author="a"><w:r><w:t>{text}</w:t></w:r></w:ins></w:p>'))
        changed[key] = text
    # A cell whose number was deleted and nothing inserted is blank.
    key, cell = ok_cells(values, where)[41]
    tc = cell._tc
    for p in tc.findall(qn("w:p")):
        tc.remove(p)
    tc.append(parse_xml(f'<w:p xmlns:w="{W}"><w:del w:id="900" w:author="a"><w:r><w:delText>{values[key][0]}'
                        f'</w:delText></w:r></w:del></w:p>'))
    values[key] = ("", None, "blank")
    assert wrong(read_report(save(document, tmp_path)), values) == []


def test_a_moved_number_is_read_once_where_it_now_stands(tmp_path: Path) -> None:
    document, where, values = filled(13)
    key, cell = ok_cells(values, where)[0]
    tc = cell._tc
    for p in tc.findall(qn("w:p")):
        tc.remove(p)
    text = values[key][0]
    tc.append(parse_xml(f'<w:p xmlns:w="{W}"><w:moveFrom w:id="1" w:author="a"><w:r><w:t>7</w:t></w:r></w:moveFrom>'
                        f'<w:moveTo w:id="2" w:author="a"><w:r><w:t>{text}</w:t></w:r></w:moveTo></w:p>'))
    assert wrong(read_report(save(document, tmp_path)), values) == []


FIELD_WRAPS: dict[str, Callable[[str], str]] = {
    "hyperlink": lambda t: f'<w:hyperlink w:anchor="x"><w:r><w:t>{t}</w:t></w:r></w:hyperlink>',
    "simple field": lambda t: f'<w:fldSimple w:instr=" = 1+2 "><w:r><w:t>{t}</w:t></w:r></w:fldSimple>',
    "complex field": lambda t: ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> =SUM(LEFT) 123'
                                '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                                f'<w:r><w:t>{t}</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'),
    "bookmark and proofing marks": lambda t: ('<w:bookmarkStart w:id="5" w:name="b"/><w:proofErr w:type="spellStart"/>'
                                              f'<w:r><w:t>{t}</w:t></w:r><w:proofErr w:type="spellEnd"/>'
                                              '<w:bookmarkEnd w:id="5"/>'),
    "smart tag": lambda t: f'<w:smartTag w:uri="u" w:element="e"><w:r><w:t>{t}</w:t></w:r></w:smartTag>',
}


@pytest.mark.parametrize("wrap", list(FIELD_WRAPS))
def test_numbers_inside_fields_and_hyperlinks(tmp_path: Path, wrap: str) -> None:
    document, where, values = filled(14)
    for key, cell in ok_cells(values, where):
        tc = cell._tc
        for p in tc.findall(qn("w:p")):
            tc.remove(p)
        tc.append(parse_xml(f'<w:p xmlns:w="{W}">{FIELD_WRAPS[wrap](values[key][0])}</w:p>'))
    assert wrong(read_report(save(document, tmp_path)), values) == []


MAIN_TYPES = {
    ".docm": "application/vnd.ms-word.document.macroEnabled.main+xml",
    ".dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    ".dotm": "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
}


@pytest.mark.parametrize("suffix", [".docm", ".dotx"])
def test_docm_and_dotx_packages_read_exactly(tmp_path: Path, suffix: str) -> None:
    document, _, values = filled(15)
    plain = save(document, tmp_path, "plain.docx").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = re.sub(rb'(PartName="/word/document.xml" ContentType=")[^"]+"',
                              b'\\1' + MAIN_TYPES[suffix].encode() + b'"', data)
                assert MAIN_TYPES[suffix].encode() in data
            dst.writestr(info, data)
    path = tmp_path / f"report{suffix}"
    path.write_bytes(buf.getvalue())
    assert wrong(read_report(path), values) == []


# ---------------------------------------------------------------------------------------------
# Text copied from a browser or Word


BLANKS = {"table_3__granted__research": "", "table_3__np_repeat__commercial": "",
          "table_2__admin_penalty__value": "", "table_4__review__corrected": "",
          "table_3__denied_state_secret__total": "—", "table_3__oth_other__commercial": "/"}


@pytest.fixture(scope="module")
def page() -> Rendered:
    r = random_report(6, template="2021", organ_kind="government")
    for key, value in BLANKS.items():
        r.cells[key.replace("__", "/")] = value
    return render(r, "html", rng=0, **HTML_PLAIN)


def browser_copy(out: Rendered, mode: str, repeat_before: str | None = None) -> str:
    """What selecting a page and copying it gives: paragraphs as lines; table rows as tab-joined
    lines (`tabs`) or one cell per line with no blank line between rows (`lines`), merged cells once."""
    root = lxml.html.fromstring(out.data.decode("utf-8"))
    lines: list[str] = []
    for el in root.body:
        if el.tag != "table":
            lines.append(el.text_content())
            continue
        rows = [[td.text_content().strip() for td in tr.findall("td")] for tr in el.iter("tr")]
        if repeat_before and any("申请人情况" in c for c in rows[0]):
            cut = next(i for i, r in enumerate(rows) if any(repeat_before in c for c in r))
            rows = rows[:cut] + rows[:3] + rows[cut:]
        for row in rows:
            if mode == "tabs":
                lines.append("\t".join(row))
            else:
                lines += row
    return "\n".join(lines) + "\n"


def parse_text(tmp_path: Path, data: str | bytes) -> Report:
    path = tmp_path / "report.txt"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return read_report(path)


@pytest.mark.parametrize("mode", ["tabs", "lines"])
@pytest.mark.parametrize("repeat_before", [None, "（四）无法提供", "3.其他"])
def test_browser_copy_reads_exactly(tmp_path: Path, page: Rendered, mode: str, repeat_before: str | None) -> None:
    """Rows as tab-joined lines, or one cell per line with no blank line between rows and blank
    cells as empty lines; the Table 3 header block printed again inside the table."""
    text = browser_copy(page, mode, repeat_before)
    assert ("\n\n" in text) == (mode == "lines")
    report = parse_text(tmp_path, text)
    truth = oracle(page)
    if mode == "tabs":
        assert wrong(report, truth) == []
        return
    # One cell per line, blank cells as empty lines: an empty line cannot be told from a row break,
    # so a row holding a blank cell is unreadable (or its blank missing), never shifted.
    assert wrong_ok(report, truth) == []
    bad = wrong(report, truth)
    blank_rows = {k.rsplit("__", 1)[0].replace("__", "/") for k, v in BLANKS.items() if v == ""}
    blank_rows |= {"table_4/" + r for r in ("review", "lit_direct", "lit_after_review")}  # one printed row
    assert bad and all(k.rsplit("/", 1)[0] in blank_rows and c and c[1] in ("unreadable", "missing")
                       for k, _, c in bad), bad


def test_browser_copy_one_cell_per_line_without_blank_cells_reads_exactly(tmp_path: Path) -> None:
    out = render(random_report(9, template="2021", organ_kind="government"), "html", rng=0, **HTML_PLAIN)
    truth = oracle(out)
    assert "blank" not in {s for _, _, s in truth.values()}
    text = browser_copy(out, "lines", "（四）无法提供")
    assert wrong(parse_text(tmp_path, text.replace("\n", "\r\n").encode("gb18030")), truth) == []


@pytest.mark.parametrize("mode", ["tabs", "lines"])
def test_header_repeated_just_before_the_total_row_is_never_a_wrong_value(tmp_path: Path, page: Rendered,
                                                                          mode: str) -> None:
    """The repeated header's 总计 stands between 3.其他 and （七）总计: read once (the text reader
    drops a repeated header block), never taken as the total row's label."""
    report = parse_text(tmp_path, browser_copy(page, mode, "（七）总计"))
    truth = oracle(page)
    assert wrong_ok(report, truth) == []
    if mode == "tabs":
        assert wrong(report, truth) == []
        assert any("header block" in n for n in report.notes)


ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "CRLF": lambda s: s.replace("\n", "\r\n").encode("utf-8"),
    "GB18030 without BOM": lambda s: s.encode("gb18030"),
    "GB18030 with CRLF": lambda s: s.replace("\n", "\r\n").encode("gb18030"),
    "UTF-16 LE with BOM": lambda s: s.encode("utf-16"),
    "UTF-16 BE with BOM": lambda s: b"\xfe\xff" + s.encode("utf-16-be"),
    "UTF-16 with BOM and CRLF": lambda s: s.replace("\n", "\r\n").encode("utf-16"),
    "UTF-8 with BOM": lambda s: s.encode("utf-8-sig"),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_copied_text_in_any_encoding_and_line_ending(tmp_path: Path, page: Rendered, encoding: str) -> None:
    data = ENCODINGS[encoding](browser_copy(page, "tabs"))
    report = parse_text(tmp_path, data)
    assert wrong(report, oracle(page)) == []
    assert report.year == page.meta["year"]


def test_word_export_text_with_crlf_and_gb18030(tmp_path: Path) -> None:
    r = random_report(7, template="2021", organ_kind="government")
    out = render(r, "text", rng=0, title=True, bookmarks=0.0, split_total=False, plus_sign=False)
    data = out.data.decode("utf-8").replace("\n", "\r\n").encode("gb18030")
    assert wrong(parse_text(tmp_path, data), oracle(out)) == []


@pytest.mark.parametrize("template", ["2019", "2021"])
@pytest.mark.parametrize("form", ["text", "markdown"])
@pytest.mark.parametrize("seed", [0, 1])
def test_no_false_repeated_header_in_generated_text(tmp_path: Path, template: str, form: str, seed: int) -> None:
    """Band headers printed once per band (2019 Table 2) and rows of placeholders ("/" on many
    lines) are not a repeated header block: nothing is dropped, and the text reads exactly."""
    r = random_report(seed, template=template, placeholder_share=0.3, blank_share=0.1)
    for row in ("np_publication", "np_mass_repeat", "partial"):
        for col in get_template(template).tables["table_3"].columns:
            r.cells[f"table_3/{row}/{col}"] = "/"
    out = render(r, form, rng=seed)
    report = parse_text(tmp_path, out.data)
    assert not any("header block" in n for n in report.notes)
    assert wrong(report, oracle(out)) == []
