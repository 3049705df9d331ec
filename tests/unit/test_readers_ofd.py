"""OFD reader: generated OFD packages read back exactly (the PDF layout's oracle), DeltaX repeats
and paths decoded, and broken packages get one clear error naming the file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from helpers import BrokenFile, NotAReport, read_report
from helpers.read import read_document
from helpers.readers.ofd import _deltas
from helpers.synth import random_report
from helpers.synth.ofd import render_ofd
from test_roundtrip import mismatches


@pytest.mark.parametrize("seed", range(4))
def test_ofd_round_trip(seed: int) -> None:
    report = random_report(seed, template=["2019", "2021"][seed % 2], unknown_rows=seed % 3,
                           blank_share=0.1, placeholder_share=0.1)
    out = render_ofd(report, seed, rules=["grid", "horizontal", "frame", "grid"][seed])
    assert mismatches(out, report) == []


def test_deltax_repeats() -> None:
    assert _deltas("g 3 2.5 1 g 2 0.5") == [2.5, 2.5, 2.5, 1.0, 0.5, 0.5]


def _package(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
ROOT = f'<ofd:OFD {NS}><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>'


def test_one_text_object_gives_positioned_glyphs(tmp_path: Path) -> None:
    page = (f'<ofd:Page {NS}><ofd:Content><ofd:Layer><ofd:TextObject Boundary="20 30 40 5" Size="4">'
            '<ofd:TextCode X="0" Y="3.4" DeltaX="g 2 4 2">年度报告12</ofd:TextCode></ofd:TextObject>'
            '</ofd:Layer></ofd:Content></ofd:Page>')
    doc_xml = (f'<ofd:Document {NS}><ofd:CommonData><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>'
               '</ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page BaseLoc="Pages/P0/Content.xml"/></ofd:Pages>'
               '</ofd:Document>')
    path = tmp_path / "one.ofd"
    path.write_bytes(_package({"OFD.xml": ROOT, "Doc_0/Document.xml": doc_xml, "Doc_0/Pages/P0/Content.xml": page}))
    doc = read_document(path)
    assert doc.form == "ofd"
    assert [c.text for b in doc.blocks for c in b.cells] == ["年度报告12"]


@pytest.mark.parametrize("files, match", [
    ({"OFD.xml": "<not xml"}, "not readable XML"),
    ({"OFD.xml": ROOT}, "has no Doc_0/Document.xml"),
    ({"OFD.xml": f"<ofd:OFD {NS}/>"}, "names no document root"),
    ({"OFD.xml": ROOT, "Doc_0/Document.xml": f"<ofd:Document {NS}><ofd:Pages/></ofd:Document>"}, "lists no pages"),
])
def test_broken_packages(tmp_path: Path, files: dict[str, str], match: str) -> None:
    path = tmp_path / "broken.ofd"
    path.write_bytes(_package(files))
    with pytest.raises(BrokenFile, match=match) as err:
        read_report(path)
    assert "broken.ofd" in str(err.value)


def test_truncated_and_empty_packages(tmp_path: Path) -> None:
    data = render_ofd(random_report(2), 2).data
    cut = tmp_path / "cut.ofd"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokenFile, match="cut.ofd"):
        read_report(cut)
    page = f'<ofd:Page {NS}><ofd:Content><ofd:Layer/></ofd:Content></ofd:Page>'
    doc_xml = f'<ofd:Document {NS}><ofd:Pages><ofd:Page BaseLoc="P.xml"/></ofd:Pages></ofd:Document>'
    blank = tmp_path / "blank.ofd"
    blank.write_bytes(_package({"OFD.xml": ROOT, "Doc_0/Document.xml": doc_xml, "Doc_0/P.xml": page}))
    with pytest.raises(NotAReport, match="blank.ofd"):
        read_report(blank)
