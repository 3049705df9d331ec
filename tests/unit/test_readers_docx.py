"""The DOCX reader: the real blank Word template scores exactly and, filled with generated numbers,
blanks and placeholders, parses back cell by cell; merged cells come once; damaged files raise."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from conftest import corpus_dir, corpus_truths, fill_cells, load_truth, truth_misses
from helpers import BrokenFile, get_template, read_report
from helpers.readers.docx import read_docx
from helpers.template import normalize

DOCX_TRUTHS = [p for p in corpus_truths() if load_truth(p)["form"] == "docx"]


@pytest.mark.parametrize("truth_path", DOCX_TRUTHS, ids=lambda p: p.parent.name)
def test_corpus_docx_scores_exactly(truth_path: Path) -> None:
    corpus_dir()
    truth = load_truth(truth_path)
    report = read_report(truth["_report"])
    assert truth_misses(truth, report.cell_records()) == []
    assert len(report.cells) == 200
    # The template prints no agency and no year: they stay unknown rather than guessed.
    assert (report.agency, report.year, report.template) == (truth["agency"], truth["year"], truth["template"])


# ---------------------------------------------------------------------------------------------
# The real template, filled in


def _unique_cells(row: Any) -> list[Any]:
    """A python-docx row's cells once each, without vertically merged continuations."""
    out, seen = [], set()
    for cell in row.cells:
        tc = cell._tc
        merge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
        continued = merge is not None and merge.get(qn("w:val"), "continue") != "restart"
        if id(tc) not in seen and not continued:
            out.append(cell)
        seen.add(id(tc))
    return out


def _flat(text: str) -> str:
    return "".join(normalize(text).split())


def data_cells(document: Any) -> dict[str, Any]:
    """Template cell key → the Word cell where it is printed, found by the template's own labels.

    Rows are matched in template order by their printed label; a row's values are the cells after
    its label. Table 4's fifteen values are the last row of the third table.
    """
    template = get_template("2021")
    out: dict[str, Any] = {}
    rows = [(table_no, _unique_cells(r)) for table_no, t in enumerate(document.tables[:2]) for r in t.rows]
    pos = 0
    for table in (template.tables["table_2"], template.tables["table_3"]):
        for row in table.data_rows:
            while True:
                _, cells = rows[pos]
                pos += 1
                hits = [k for k, c in enumerate(cells) if _flat(row.label) in _flat(c.text)
                        and len(_flat(c.text)) <= len(_flat(row.label)) + 5]
                if hits:
                    break
            values = cells[hits[-1] + 1:]
            cols = table.row_columns(row)
            assert len(values) == len(cols), row.key
            out.update({f"{table.key}/{row.key}/{c.key}": cell for c, cell in zip(cols, values)})
    last = _unique_cells(document.tables[2].rows[-1])
    t4 = template.tables["table_4"]
    keys = [f"table_4/{r.key}/{c.key}" for r in t4.data_rows for c in t4.row_columns(r)]
    out.update(dict(zip(keys, last, strict=True)))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_real_template_filled_parses_back(tmp_path: Path, seed: int) -> None:
    corpus_dir()
    truth = load_truth(DOCX_TRUTHS[0])
    document = docx.Document(str(truth["_report"]))
    cells = data_cells(document)
    assert len(cells) == 200
    values = fill_cells(random.Random(seed), get_template("2021").keys, blanks=("", "\u3000", "\u3000\u3000"))
    for key, cell in cells.items():
        cell.text = values[key][0]
    path = tmp_path / "filled.docx"
    document.save(str(path))
    report = read_report(path)
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in report.cell_records()}
    wrong = []
    for key, (text, value, status) in values.items():
        c = got[key]
        if c["status"] != status or c["value"] != (None if value is None else pytest.approx(value)) \
                or (status == "placeholder" and c["raw"] != text) or (status == "blank" and c["raw"] != ""):
            wrong.append((key, text, c["value"], c["status"], c["raw"]))
    assert wrong == []
    assert len(got) == 200


# ---------------------------------------------------------------------------------------------
# Structure


def _tiny(tmp_path: Path) -> Path:
    """A paragraph, a 3×4 table with a horizontal and a vertical merge, another paragraph."""
    d = docx.Document()
    d.add_paragraph("before")
    t = d.add_table(rows=3, cols=4)
    a = t.cell(0, 0).merge(t.cell(0, 2))
    a.text = "wide"
    t.cell(0, 3).text = "1"
    b = t.cell(1, 0).merge(t.cell(2, 0))
    b.text = "tall\nlabel"
    for r in (1, 2):
        for c in (1, 2, 3):
            t.cell(r, c).text = f"{r}{c}" if (r, c) != (2, 2) else "\u3000"
    d.add_paragraph("after")
    path = tmp_path / "tiny.docx"
    d.save(str(path))
    return path


def test_merged_cells_come_once_in_document_order(tmp_path: Path) -> None:
    path = _tiny(tmp_path)
    doc = read_docx(path, path.read_bytes())
    rows = [[(c.text, c.source) for c in b.cells] for b in doc.blocks]
    assert rows == [
        [("before", "paragraph 1")],
        [("wide", "table 1 row 1 col 1"), ("1", "table 1 row 1 col 4")],
        [("tall\nlabel", "table 1 row 2 col 1"), ("11", "table 1 row 2 col 2"), ("12", "table 1 row 2 col 3"),
         ("13", "table 1 row 2 col 4")],
        [("21", "table 1 row 3 col 2"), ("", "table 1 row 3 col 3"), ("23", "table 1 row 3 col 4")],
        [("after", "paragraph 2")],
    ]
    assert [b.table for b in doc.blocks] == [False, True, True, True, False]


def test_nested_table_is_read_as_its_leaf_rows(tmp_path: Path) -> None:
    d = docx.Document()
    outer = d.add_table(rows=1, cols=1)
    outer.cell(0, 0).paragraphs[0].text = "caption"
    inner = outer.cell(0, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "label"
    inner.cell(0, 1).text = "7"
    path = tmp_path / "nested.docx"
    d.save(str(path))
    doc = read_docx(path, path.read_bytes())
    assert [[c.text for c in b.cells] for b in doc.blocks] == [["caption"], ["label", "7"]]
    assert doc.blocks[1].cells[1].source == "table 1 row 1 col 2"


def test_deleted_text_and_field_codes_are_not_read(tmp_path: Path) -> None:
    d = docx.Document()
    p = d.add_paragraph("kept")
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    p._p.append(docx.oxml.parse_xml(f'<w:del xmlns:w="{w}" w:id="1" w:author="a"><w:r><w:delText>gone</w:delText>'
                                    f'</w:r></w:del>'))
    p._p.append(docx.oxml.parse_xml(f'<w:r xmlns:w="{w}"><w:instrText>PAGE</w:instrText></w:r>'))
    path = tmp_path / "tracked.docx"
    d.save(str(path))
    assert [c.text for b in read_docx(path, path.read_bytes()).blocks for c in b.cells] == ["kept"]


def test_title_property_is_used_only_when_it_names_a_report(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("x")
    d.core_properties.title = "Report"
    path = tmp_path / "t.docx"
    d.save(str(path))
    assert read_docx(path, path.read_bytes()).title is None


# ---------------------------------------------------------------------------------------------
# Damaged files


def test_truncated_docx_raises_broken_file(tmp_path: Path) -> None:
    data = _tiny(tmp_path).read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokenFile, match="cut.docx"):
        read_report(path)


def test_zip_without_word_parts_raises_broken_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    path = tmp_path / "odd.docx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(BrokenFile, match="odd.docx"):
        read_report(path)


def test_imported_html_chunk_is_read_in_place(tmp_path: Path) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    d = docx.Document()
    d.add_paragraph("before")
    html = b"<html><body><table><tr><td>label</td><td>3</td></tr></table></body></html>"
    rid = d.part.relate_to(Part(PackURI("/word/afchunk1.htm"), "text/html", html, d.part.package), RT.A_F_CHUNK)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    d.element.body.insert(1, docx.oxml.parse_xml(f'<w:altChunk xmlns:w="{w}" xmlns:r="{r}" r:id="{rid}"/>'))
    d.add_paragraph("after")
    path = tmp_path / "chunk.docx"
    d.save(str(path))
    doc = read_docx(path, path.read_bytes())
    assert [[c.text for c in b.cells] for b in doc.blocks] == [["before"], ["label", "3"], ["after"]]
    assert doc.blocks[1].table and doc.blocks[1].cells[1].source.startswith("imported chunk 1 ")


# ---------------------------------------------------------------------------------------------
# The package read straight from the zip (not through python-docx's Package.open)


def _rewritten(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """The same zip with members replaced (bytes), removed (None) or added."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename not in change:
                out.writestr(info.filename, src.read(info.filename))
        for name, blob in change.items():
            if blob is not None:
                out.writestr(name, blob)
    return buf.getvalue()


def _saved(tmp_path: Path, title: str | None = None) -> bytes:
    d = docx.Document()
    d.add_paragraph("before")
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "label", "3"
    if title is not None:
        d.core_properties.title = title
    path = tmp_path / "saved.docx"
    d.save(str(path))
    return path.read_bytes()


def _texts(doc: Any) -> list[list[str]]:
    return [[c.text for c in b.cells] for b in doc.blocks]


def test_main_part_is_found_by_its_relationship_not_its_name(tmp_path: Path) -> None:
    data = _saved(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        body, rels = z.read("word/document.xml"), z.read("_rels/.rels")
        types, doc_rels = z.read("[Content_Types].xml"), z.read("word/_rels/document.xml.rels")
    moved = _rewritten(data, {"word/document.xml": None, "word/_rels/document.xml.rels": None,
                              "word/body.xml": body, "word/_rels/body.xml.rels": doc_rels,
                              "_rels/.rels": rels.replace(b"word/document.xml", b"word/body.xml"),
                              "[Content_Types].xml": types.replace(b"/word/document.xml", b"/word/body.xml")})
    assert _texts(read_docx(Path("m.docx"), moved)) == _texts(read_docx(Path("s.docx"), data)) == \
        [["before"], ["label", "3"]]


def test_core_title_is_read_when_it_names_a_report(tmp_path: Path) -> None:
    from helpers.template import common

    title = "Agency 2023 " + common()["metadata"]["title_suffix"]  # the report's own words after a name
    assert read_docx(Path("t.docx"), _saved(tmp_path, title)).title == title


def test_main_part_of_another_kind_is_refused_and_missing_package_rels_is_broken(tmp_path: Path) -> None:
    from helpers import UnsupportedForm

    data = _saved(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml")
    sheet = types.replace(b"wordprocessingml.document.main+xml", b"spreadsheetml.sheet.main+xml")
    with pytest.raises(UnsupportedForm, match="x.docx"):
        read_docx(Path("x.docx"), _rewritten(data, {"[Content_Types].xml": sheet}))
    with pytest.raises(BrokenFile, match="y.docx"):
        read_docx(Path("y.docx"), _rewritten(data, {"_rels/.rels": None}))
    with pytest.raises(BrokenFile, match="z.docx"):
        read_docx(Path("z.docx"), _rewritten(data, {"word/document.xml": b"<w:document><w:body>"}))
