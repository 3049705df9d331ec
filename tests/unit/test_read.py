"""Read stage (helpers/read.py): forms sniffed by content whatever the extension says, UTF-16 told
without its byte-order mark, a file cut inside its last character read up to the cut with a note,
and a scan with a little typed text handed to the OCR reader."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from helpers import UndecodableText, UnsupportedForm
from helpers.document import Block, Cell, Document
from helpers.read import _utf16_readings, decode_text, decode_with_notes, read_document, sniff_form
from helpers.synth import random_report
from helpers.synth.forms import render

SEED = next((ROOT / "data" / "seed").glob("*.txt"))


# ---------------------------------------------------------------------------------------------
# UTF-16 without a byte-order mark


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_text_without_bom_is_text_in_its_byte_order(tmp_path: Path, enc: str) -> None:
    text = SEED.read_text(encoding="utf-8")
    data = text.encode(enc)
    assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    assert sniff_form(tmp_path / "r.txt", data) == "text"
    decoded, got, notes = decode_with_notes(tmp_path / "r.txt", data)
    assert decoded == text and got == enc
    assert any("without a byte-order mark" in n for n in notes)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_html_without_bom_is_html(tmp_path: Path, enc: str) -> None:
    html = render(random_report(4), "html", rng=4, encoding="utf-8").data.decode("utf-8")
    data = html.encode(enc)
    assert sniff_form(tmp_path / "page", data) == "html"  # found by its markup, not by a name
    assert decode_text(tmp_path / "page", data)[0] == html


def test_utf16_whose_byte_order_cannot_be_told_is_a_clear_error(tmp_path: Path) -> None:
    """Characters whose two bytes both name CJK characters, and digits (U+3x00 read the other way
    round): both byte orders give text, neither a report's words. An error says so; no guess."""
    text = "2023" + "".join(chr(0x5050 + 0x0101 * k) for k in range(80))
    data = text.encode("utf-16-le")
    assert len(_utf16_readings(data)) == 2  # the premise: both readings look like text
    p = tmp_path / "short.txt"
    with pytest.raises(UndecodableText, match="UTF-16 text without a byte-order mark") as exc:
        decode_text(p, data)
    assert str(p) in str(exc.value) and "both byte orders" in str(exc.value)


def test_utf16_damaged_after_its_start_is_a_clear_error(tmp_path: Path) -> None:
    data = SEED.read_text(encoding="utf-8").encode("utf-16-le")
    damaged = data[:6000] + b"\x00\xdc" * 4 + data[6008:]  # lone low surrogates past the sniffed start
    p = tmp_path / "damaged.txt"
    assert sniff_form(p, damaged) == "text"
    with pytest.raises(UndecodableText, match="UTF-16 text without a byte-order mark") as exc:
        decode_text(p, damaged)
    assert str(p) in str(exc.value) and "damaged" in str(exc.value)


@pytest.mark.parametrize("blob", [bytes(range(256)) * 20, b"\x00" * 5000, b"\x00\x01\x02\x03" * 1000,
                                  b"\x89PNG" + b"\x00\xff" * 2000])
def test_binary_bytes_are_not_taken_for_utf16(tmp_path: Path, blob: bytes) -> None:
    assert _utf16_readings(blob[4:]) == []
    with pytest.raises(UnsupportedForm, match="binary"):
        sniff_form(tmp_path / "x.txt", b"ab" + blob[4:])


# ---------------------------------------------------------------------------------------------
# A file cut inside its last character


def _cut_inside_a_character(data: bytes, enc: str) -> bytes:
    """`data` cut in the middle, one byte into a multi-byte character."""
    text = data.decode(enc)
    half = len(text) // 2
    while text[half].isascii():
        half += 1
    head = text[:half].encode(enc)
    return head + text[half].encode(enc)[:1]


@pytest.mark.parametrize("enc", ["utf-8", "gb18030"])
def test_text_cut_inside_a_character_is_read_up_to_the_cut(tmp_path: Path, enc: str) -> None:
    text = SEED.read_text(encoding="utf-8")
    data = _cut_inside_a_character(text.encode(enc), enc)
    with pytest.raises(UnicodeDecodeError):
        data.decode(enc)  # the premise: not valid as it stands
    decoded, got, notes = decode_with_notes(tmp_path / "cut.txt", data)
    assert got == enc and text.startswith(decoded) and len(decoded) > len(text) // 2 - 1
    assert any("cut short" in n and enc.upper() in n for n in notes)


def test_complete_text_gets_no_cut_note(tmp_path: Path) -> None:
    assert decode_with_notes(tmp_path / "r.txt", SEED.read_bytes())[2] == []


# ---------------------------------------------------------------------------------------------
# Forms by content: a DOCX (or PDF) under another name


def _docx_with_main_part(data: bytes, name: str) -> bytes:
    """The DOCX with its main part stored as word/<name>.xml (legal: the package relationships and
    [Content_Types].xml say where it is)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            blob = src.read(info)
            member = info.filename.replace("document.xml", f"{name}.xml")
            if info.filename in ("[Content_Types].xml", "_rels/.rels"):
                blob = blob.replace(b"word/document.xml", f"word/{name}.xml".encode())
            z.writestr(member, blob)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".txt", ".html", ""])
def test_docx_whose_main_part_has_another_name_is_sniffed_as_docx(tmp_path: Path, suffix: str) -> None:
    data = _docx_with_main_part(render(random_report(3), "docx", rng=3).data, "body")
    assert "word/document.xml" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    p = tmp_path / f"report{suffix}"
    assert sniff_form(p, data) == "docx"
    p.write_bytes(data)
    doc = read_document(p)
    assert doc.form == "docx" and any(c.text for b in doc.blocks for c in b.cells)


@pytest.mark.parametrize(("form", "suffix"), [("docx", ".txt"), ("pdf", ".txt"), ("pdf", ".html")])
def test_a_file_whose_extension_disagrees_is_read_by_content_with_a_note(tmp_path: Path, form: str,
                                                                          suffix: str) -> None:
    p = tmp_path / f"report{suffix}"
    p.write_bytes(render(random_report(3), form, rng=3).data)
    doc = read_document(p)
    assert doc.form == form
    assert any(f"extension {suffix} says" in n and f"read as {form}" in n for n in doc.notes)


def test_an_extension_that_agrees_gets_no_note(tmp_path: Path) -> None:
    for form, suffix in (("docx", ".docx"), ("pdf", ".pdf"), ("html", ".html"), ("text", ".txt")):
        p = tmp_path / f"report{suffix}"
        p.write_bytes(render(random_report(3), form, rng=3).data)
        assert not any("extension" in n for n in read_document(p).notes), form


# ---------------------------------------------------------------------------------------------
# A scan with a typed title or running header goes to the OCR reader


@pytest.mark.parametrize("typed", ["title", "header"])
def test_scan_with_typed_text_is_handed_to_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               typed: str) -> None:
    """Routing only (the OCR round trip is test_readers_scan's): the text-layer reader gives way."""
    from helpers.readers import scan
    from helpers.synth.scan import render_scan

    calls: list[Path] = []

    def fake_ocr(path: Path, data: bytes) -> Document:
        calls.append(path)
        return Document(path=str(path), form="pdf-scan", blocks=[Block([Cell("ocr", "page 1 line 1")])])

    monkeypatch.setattr(scan, "read_scanned_pdf", fake_ocr)
    p = tmp_path / "scan.pdf"
    p.write_bytes(render_scan(random_report(21), 21, form="pdf-scan", dpi=72, noise=0.0, jpeg=60,
                              typed=typed).data)
    doc = read_document(p)
    assert calls == [p] and doc.form == "pdf-scan"
