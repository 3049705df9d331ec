"""Bad input gets a clear error naming the file (or, when readable, an honest partial record)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT, corpus_dir
from helpers import (EmptyFile, FileTooLarge, NoTablesFound, NotAReport, ReportError, UndecodableText,
                     UnsupportedForm, read_report)

SEED = next((ROOT / "data" / "seed").glob("*.txt"))


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    with pytest.raises(EmptyFile) as exc:
        read_report(p)
    assert str(p) in str(exc.value)


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "blank.html"
    p.write_bytes(b"  \n\t \n")
    with pytest.raises(EmptyFile):
        read_report(p)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such file"):
        read_report(tmp_path / "nope.txt")


def test_binary_file_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "report.txt"
    p.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(UnsupportedForm) as exc:
        read_report(p)
    assert str(p) in str(exc.value) and "binary" in str(exc.value)


def test_broken_image_is_an_error(tmp_path: Path) -> None:
    from helpers import BrokenFile, NoTextLayer
    from helpers.read import read_document

    p = tmp_path / "scan.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(BrokenFile, match="scan.png"):  # images are read by OCR, this one is not an image
        read_report(p)
    with pytest.raises(NoTextLayer, match="scan.png"):  # --no-ocr
        read_document(p, ocr=False)


def test_unrelated_html_page_is_not_a_report(tmp_path: Path) -> None:
    p = tmp_path / "news.html"
    p.write_text("<html><head><meta charset='utf-8'><title>天气预报</title></head><body>"
                 "<p>今天晴，最高气温25度。</p><table><tr><td>周一</td><td>晴</td></tr></table></body></html>",
                 encoding="utf-8")
    with pytest.raises(NotAReport) as exc:
        read_report(p)
    assert str(p) in str(exc.value)


def test_report_headings_without_tables_is_no_tables_found(tmp_path: Path) -> None:
    p = tmp_path / "narrative.txt"
    p.write_text("一、总体情况\n本年度工作稳步推进。\n五、存在的主要问题及改进情况\n无。\n六、其他需要报告的事项\n无。\n",
                 encoding="utf-8")
    with pytest.raises(NoTablesFound):
        read_report(p)


def test_report_cut_in_half_keeps_cells_before_the_cut(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    p = tmp_path / "half.txt"
    p.write_text(text[: len(text) // 2], encoding="utf-8")
    report = read_report(p)
    cells = report.cells
    before = cells[cells["status"] == "ok"]
    assert len(before) > 50 and (before["value"] == 0).all()  # the seed prints 0 everywhere
    after = cells[~cells["status"].isin(["ok"])]
    assert set(after["status"]) <= {"missing", "unreadable"}
    assert (cells[cells["table"] == "table_4"]["status"] == "missing").all()
    assert after["value"].isna().all()


def test_wrongly_declared_charset_is_read_by_detection(tmp_path: Path) -> None:
    corpus = corpus_dir()
    html = (corpus / "fixture-kirogovcompare-2021" / "report.html").read_text(encoding="utf-8")
    gbk = html.encode("gb18030")  # the page still declares utf-8
    p = tmp_path / "gbk-declared-utf8.html"
    p.write_bytes(gbk)
    report = read_report(p)
    assert report.agency == "测试市"
    assert (report.cells["status"] == "ok").all()
    assert report.encoding == "gb18030"


def test_utf8_page_declared_gbk_is_not_mojibake(tmp_path: Path) -> None:
    corpus = corpus_dir()
    html = (corpus / "fixture-kirogovcompare-2021" / "report.html").read_text(encoding="utf-8")
    p = tmp_path / "utf8-declared-gbk.html"
    p.write_bytes(html.replace('charset="utf-8"', 'charset="gbk"').encode("utf-8"))
    report = read_report(p)
    assert report.agency == "测试市" and report.encoding == "utf-8"


def test_undeclared_gbk_fragment_is_detected(tmp_path: Path) -> None:
    corpus = corpus_dir()
    html = (corpus / "shanghai-gov-office-2019" / "report.html").read_text(encoding="utf-8")
    p = tmp_path / "fragment-gbk.html"
    p.write_bytes(html.encode("gbk"))
    report = read_report(p)
    assert report.agency == "上海市人民政府办公厅"
    assert report.cell("table_3/new_received/total")["value"] == 859


def test_undecodable_bytes_are_an_error_not_mojibake(tmp_path: Path) -> None:
    p = tmp_path / "broken.txt"
    # valid text start, then byte pairs that are neither UTF-8, GB18030 nor Big5
    p.write_bytes("一、总体情况\n".encode("utf-8") + b"\x80\xff" * 50)
    with pytest.raises(UndecodableText):
        read_report(p)


def test_huge_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "huge.txt"
    with open(p, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk used

    def no_reading(self: Path) -> bytes:
        raise AssertionError("a file over the limit must not be read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(FileTooLarge) as exc:
        read_report(p)
    assert str(p) in str(exc.value) and "209.7 MB" in str(exc.value)


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    p = tmp_path / "seed.txt"
    p.write_bytes(SEED.read_bytes())
    with pytest.raises(FileTooLarge):
        read_report(p, max_bytes=1000)
    assert read_report(p, max_bytes=os.path.getsize(p)).year == 2023


def test_a_text_about_the_format_is_not_read_as_a_report(tmp_path: Path) -> None:
    """Labels quoted in prose, with stray digits but no printed table, give no cells: an error."""
    p = tmp_path / "notes.md"
    p.write_text("# 说明\n三、收到和处理政府信息公开申请情况\n表中 r01 为一、本年新收政府信息公开申请数量 ，r03 为（一）予以公开 2 项说明。\n"
                 "四、政府信息公开行政复议、行政诉讼情况：结果维持、结果纠正、其他结果、尚未审结、总计 12a 列。\n", encoding="utf-8")
    with pytest.raises((NoTablesFound, NotAReport)):
        read_report(p)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_not_called_binary(tmp_path: Path, enc: str) -> None:
    p = tmp_path / "report.txt"
    p.write_bytes(SEED.read_text(encoding="utf-8").encode(enc))  # no byte-order mark
    report = read_report(p)
    want = read_report(SEED)
    assert report.encoding == enc and report.agency == want.agency and report.year == want.year
    assert report.cells[["table", "row", "column", "status", "raw"]].equals(
        want.cells[["table", "row", "column", "status", "raw"]])


def test_file_cut_inside_a_utf8_character_is_read_up_to_the_cut(tmp_path: Path) -> None:
    """A truncated download: read as UTF-8 with a note; the cells after the cut are missing, never 0."""
    data = SEED.read_bytes()
    cut = len(data) // 2
    while data[cut] & 0xC0 != 0x80:  # inside a multi-byte character
        cut += 1
    p = tmp_path / "cut.txt"
    p.write_bytes(data[:cut])
    report = read_report(p)
    assert report.encoding == "utf-8"
    assert any("cut short" in n for n in report.notes)
    cells = report.cells
    assert (cells["status"] == "ok").sum() > 50
    after = cells[cells["status"] != "ok"]
    assert len(after) > 0 and set(after["status"]) <= {"missing", "unreadable"} and after["value"].isna().all()


def test_docx_named_txt_is_read_as_docx_with_a_note(tmp_path: Path) -> None:
    from helpers.synth import random_report
    from helpers.synth.forms import render

    out = render(random_report(3), "docx", rng=3)
    p = tmp_path / "report.txt"
    p.write_bytes(out.data)
    report = read_report(p)
    assert report.form == "docx" and report.agency == out.meta["agency"]
    assert any("extension .txt" in n and "docx" in n for n in report.notes)
