"""Old Word and WPS reader: generated .doc and .wps files read back exactly (100%), one warm
converter process for many files, a dead or hung converter is an error row and is replaced, and a
password-protected .doc gets one clear error naming the file."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from conftest import IN_CI
from helpers import BrokenFile, read_report
from helpers.errors import ConversionFailed
from helpers.readers import doc as docmod
from helpers.synth import random_report, render
from helpers.synth.doc import render_doc
from test_roundtrip import mismatches


@pytest.fixture(autouse=True)
def needs_office() -> None:
    if shutil.which("soffice") is None:
        if IN_CI:
            pytest.fail("CI is set but LibreOffice is missing (scripts/system-deps.sh installs it)")
        pytest.skip("LibreOffice (soffice) is not installed; run scripts/system-deps.sh")


@pytest.mark.parametrize("form, seed", [("doc", 0), ("doc", 1), ("doc", 2), ("wps", 3), ("wps", 4)])
def test_doc_and_wps_round_trip(form: str, seed: int) -> None:
    report = random_report(seed, template=["2019", "2021"][seed % 2], unknown_rows=seed % 3,
                           blank_share=0.1, placeholder_share=0.1)
    out = render_doc(report, seed, form=form)
    assert out.data.startswith(b"\xd0\xcf\x11\xe0")
    assert mismatches(out, report) == []


def test_form_and_note(tmp_path: Path) -> None:
    out = render_doc(random_report(5), 5, form="wps")
    path = tmp_path / "r.wps"
    path.write_bytes(out.data)
    parsed = read_report(path)
    assert parsed.form == "wps"
    assert any("LibreOffice" in n for n in parsed.notes)


def test_one_converter_for_many_files_and_a_new_one_when_it_dies(tmp_path: Path) -> None:
    conv = docmod.converter()
    docx = render(random_report(6), "docx", rng=6).data
    docmod.convert(docx, "docx", "doc")
    started = conv.started
    for _ in range(3):
        docmod.convert(docx, "docx", "doc")
    assert conv.started == started  # kept warm: no new LibreOffice per file
    assert conv.proc is not None
    os.killpg(conv.proc.pid, signal.SIGKILL)
    conv.proc.wait()
    assert docmod.convert(docx, "docx", "doc").startswith(b"\xd0\xcf")
    assert conv.started == started + 1


def test_a_hung_conversion_is_an_error_and_the_next_file_works(tmp_path: Path) -> None:
    docx = render(random_report(7), "docx", rng=7).data
    hung = docmod.Converter(timeout=0.01)
    try:
        with pytest.raises(ConversionFailed, match="did not finish"):
            src = tmp_path / "in.docx"
            src.write_bytes(docx)
            hung.run(src, tmp_path / "out.doc", docmod.FILTERS["doc"], "slow.doc")
        assert hung.proc is None  # killed, not left running
        hung.timeout = 60
        hung.run(src, tmp_path / "out.doc", docmod.FILTERS["doc"], "next.doc")
        assert (tmp_path / "out.doc").stat().st_size > 0
    finally:
        hung.close()


def test_password_protected_doc(tmp_path: Path) -> None:
    docx = render(random_report(8), "docx", rng=8).data
    path = tmp_path / "locked.doc"
    path.write_bytes(docmod.convert(docx, "docx", "doc", password="secret"))
    with pytest.raises(BrokenFile, match="locked.doc.*password"):
        read_report(path)


def test_linked_images_are_never_fetched(tmp_path: Path) -> None:
    """A document whose picture is linked from a URL: LibreOffice converts it without asking for it."""
    import http.server
    import io
    import threading
    import zipfile

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/seal.png"
    docx = render(random_report(9), "docx", rng=9).data
    src, out = zipfile.ZipFile(io.BytesIO(docx)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", (
                    '<Relationship Id="rIdLink" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/image" Target="{url}" TargetMode="External"/></Relationships>').encode())
            if item.filename == "word/document.xml":
                pic = ('<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/'
                       'wordprocessingDrawing"><wp:extent cx="952500" cy="952500"/><wp:docPr id="9" name="seal"/>'
                       '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData '
                       'uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://'
                       'schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="9" name="s"/>'
                       '<pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip xmlns:r="http://schemas.openxmlformats.org'
                       '/officeDocument/2006/relationships" r:link="rIdLink"/></pic:blipFill><pic:spPr><a:xfrm><a:off '
                       'x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"/></pic:spPr>'
                       '</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>')
                data = data.replace(b"<w:body>", b"<w:body>" + pic.encode(), 1)
            z.writestr(item, data)
    try:
        docmod.converter().close()  # a fresh LibreOffice, with the project's profile settings
        doc = docmod.convert(out.getvalue(), "docx", "doc")
        parsed_path = tmp_path / "linked.doc"
        parsed_path.write_bytes(doc)
        assert read_report(parsed_path).agency
    finally:
        server.shutdown()
    assert hits == []
