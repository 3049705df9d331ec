"""Spreadsheet reader: generated workbooks (.xlsx, .xls, .et, .ods) read back exactly, merged cells
once, forms recognised by content, and bad workbooks get one clear error naming the file."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from conftest import IN_CI
from helpers import BrokenFile, NoTablesFound, NotAReport, read_report
from helpers.read import read_document
from helpers.synth import random_report
from helpers.synth.sheet import render_sheet
from test_roundtrip import mismatches


def needs_office() -> None:
    if shutil.which("soffice") is None:
        if IN_CI:
            pytest.fail("CI is set but LibreOffice is missing (scripts/system-deps.sh installs it)")
        pytest.skip("LibreOffice (soffice) is not installed; run scripts/system-deps.sh")


@pytest.mark.parametrize("seed", range(6))
def test_xlsx_round_trip(seed: int) -> None:
    report = random_report(seed, template=["2019", "2021"][seed % 2], unknown_rows=seed % 3,
                           blank_share=0.1, placeholder_share=0.1)
    out = render_sheet(report, seed, form="xlsx", one_sheet=seed % 3 == 0)
    assert mismatches(out, report) == []


@pytest.mark.parametrize("form", ["xls", "et", "ods"])
def test_converted_workbooks_round_trip(form: str) -> None:
    needs_office()
    for seed in range(2):
        report = random_report(seed + 10, template=["2019", "2021"][seed % 2], blank_share=0.1)
        out = render_sheet(report, seed, form=form, one_sheet=bool(seed))
        assert mismatches(out, report) == [], (form, seed)


def test_form_comes_from_content_not_name(tmp_path: Path) -> None:
    report = random_report(3)
    xlsx = render_sheet(report, 3, form="xlsx").data
    (tmp_path / "a.et").write_bytes(xlsx)        # WPS saves .et as an OOXML workbook too
    (tmp_path / "b.xls").write_bytes(xlsx)       # a misnamed .xlsx
    (tmp_path / "c").write_bytes(xlsx)           # no suffix at all
    assert read_document(tmp_path / "a.et").form == "et"
    assert read_document(tmp_path / "b.xls").form == "xlsx"
    parsed = read_report(tmp_path / "c")
    assert parsed.form == "xlsx" and (parsed.cells["status"] == "ok").sum() > 100


def test_merged_label_is_one_cell_and_narrative_absent(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "收到申请"
    sheet.merge_cells("A1:B2")
    sheet["C1"] = 12
    sheet["D1"] = None
    sheet["E1"] = 3.5
    buf = io.BytesIO()
    book.save(buf)
    (tmp_path / "t.xlsx").write_bytes(buf.getvalue())
    doc = read_document(tmp_path / "t.xlsx")
    assert [c.text for c in doc.blocks[0].cells] == ["收到申请", "12", "", "3.5"]
    assert doc.blocks[0].cells[1].source == "sheet 1 (Sheet) row 1 col 3"
    assert len(doc.blocks) == 1  # row 2 is covered by the merge and empty
    assert any("narrative sections are absent" in n for n in doc.notes)


def test_a_workbook_without_the_tables_is_refused(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active["A1"] = "月份"
    book.active["B1"] = "销售额"
    book.active["A2"] = "一月"
    book.active["B2"] = 100
    path = tmp_path / "sales.xlsx"
    book.save(path)
    with pytest.raises((NotAReport, NoTablesFound), match="sales.xlsx"):
        read_report(path)


def test_damaged_workbooks_are_broken_files(tmp_path: Path) -> None:
    xlsx = render_sheet(random_report(1), 1, form="xlsx").data
    path = tmp_path / "cut.xlsx"
    path.write_bytes(xlsx[: len(xlsx) // 2])
    with pytest.raises(BrokenFile, match="cut.xlsx"):
        read_report(path)
    empty = tmp_path / "empty.xlsx"
    openpyxl = pytest.importorskip("openpyxl")
    openpyxl.Workbook().save(empty)
    with pytest.raises(NoTablesFound, match="empty.xlsx"):
        read_report(empty)
