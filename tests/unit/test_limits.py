"""Input limits (helpers/limits.py): resource bombs refused before they cost, FIFOs, devices and
sockets refused by type, bounded reads that do not trust st_size, a depth-cut page says so."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FileTooLarge, ingest, open_store, read_report
from helpers.cli import main
from helpers.errors import FileUnreadable, NotARegularFile
from helpers.limits import LIMITS, _LAST_OBJ, _operators, human_bytes, read_bounded

synth = pytest.importorskip("helpers.synth")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bombs import docx_unpacking_to, flate_of_spaces, html_spans, pdf_with_content, pdf_with_stream  # noqa: E402


def _report_html() -> str:
    rep = synth.random_report(7, year=2022)
    return synth.render(rep, "html", rng=1).data.decode("utf-8")


def _timed(fn, *args, **kw):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    try:
        return fn(*args, **kw), time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001
        return exc, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Bombs


def test_html_span_bomb_is_refused_before_the_grid_is_built(tmp_path: Path) -> None:
    (tmp_path / "spans.html").write_bytes(html_spans(20))
    exc, seconds = _timed(read_report, tmp_path / "spans.html")
    assert isinstance(exc, FileTooLarge) and "spans" in str(exc) and "spans.html" in str(exc)
    assert seconds < 10


def test_html_with_ordinary_spans_still_reads(tmp_path: Path) -> None:
    (tmp_path / "ok.html").write_text(_report_html(), encoding="utf-8")
    assert read_report(tmp_path / "ok.html").cells["status"].eq("ok").sum() > 100


def test_a_million_lines_are_refused_quickly(tmp_path: Path) -> None:
    (tmp_path / "lines.txt").write_text("一\n" * 1_000_000, encoding="utf-8")
    exc, seconds = _timed(read_report, tmp_path / "lines.txt")
    assert isinstance(exc, FileTooLarge) and "lines" in str(exc)
    assert seconds < 10


def test_text_of_endless_tabs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tabs.txt").write_text("总体情况\n" + "1\t" * (LIMITS.cells + 10) + "\n", encoding="utf-8")
    exc, _ = _timed(read_report, tmp_path / "tabs.txt")
    assert isinstance(exc, FileTooLarge) and "cells" in str(exc)


def test_docx_whose_xml_unpacks_past_the_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bomb.docx").write_bytes(docx_unpacking_to(LIMITS.docx_unpacked + (1 << 20)))
    assert (tmp_path / "bomb.docx").stat().st_size < 2_000_000
    exc, seconds = _timed(read_report, tmp_path / "bomb.docx")
    assert isinstance(exc, FileTooLarge) and "unpacks" in str(exc)
    assert seconds < 10


@pytest.mark.parametrize("op", [b"0 0 m\n", b"(a) Tj\n", b"q\n"])  # q: the densest, 2 bytes each
def test_pdf_operator_bombs_are_refused_before_pdfium(tmp_path: Path, op: bytes) -> None:
    (tmp_path / "ops.pdf").write_bytes(pdf_with_content(b"BT /F1 12 Tf\n" + op * (LIMITS.pdf_operators + 1000)
                                                        + b"ET\n"))
    exc, seconds = _timed(read_report, tmp_path / "ops.pdf")
    assert isinstance(exc, FileTooLarge) and "operators" in str(exc)
    assert seconds < 30


@given(st.lists(st.sampled_from([b"q", b"Q", b"BT", b"T*", b"'", b'"', b" ", b"\n", b"(", b")", b"[", b"]", b"0", b"/F1"]),
                max_size=200))
def test_operators_are_at_most_half_the_bytes(pieces: list[bytes]) -> None:
    """The bound that lets check_pdf_streams skip counting: n bytes hold at most (n + 1) // 2 operators."""
    chunk = b"".join(pieces)
    assert _operators(chunk) <= (len(chunk) + 1) // 2


@given(st.lists(st.sampled_from([b"1", b"12", b" ", b"\n", b"0", b"obj", b"objx", b"<<", b"/Image", b"endobj"]),
                max_size=60))
def test_a_streams_dictionary_starts_after_the_last_object_header(pieces: list[bytes]) -> None:
    head = b"".join(pieces)
    every = list(re.finditer(rb"\d+\s+\d+\s+obj\b", head))
    last = _LAST_OBJ.match(head)
    assert (last.end() if last else None) == (every[-1].end() if every else None)


def test_pdf_stream_inflating_past_the_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inflate.pdf").write_bytes(pdf_with_stream(flate_of_spaces(LIMITS.pdf_unpacked + (8 << 20)), 1))
    exc, seconds = _timed(read_report, tmp_path / "inflate.pdf")
    assert isinstance(exc, FileTooLarge) and "unpacked" in str(exc)
    assert seconds < 30


def test_double_flate_is_unpacked_twice(tmp_path: Path) -> None:
    (tmp_path / "twice.pdf").write_bytes(pdf_with_content(b"0 0 m\n" * (LIMITS.pdf_operators + 10), filters=2))
    exc, _ = _timed(read_report, tmp_path / "twice.pdf")
    assert isinstance(exc, FileTooLarge)


def test_the_seed_and_a_generated_pdf_pass_the_caps(tmp_path: Path) -> None:
    rep = synth.random_report(5, year=2022)
    (tmp_path / "r.pdf").write_bytes(synth.render(rep, "pdf", rng=1).data)
    assert len(read_report(tmp_path / "r.pdf").cells) >= 198


# ---------------------------------------------------------------------------------------------
# Only regular files, bounded reads


def _in_thread(fn, *args, **kw):  # noqa: ANN001, ANN202
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(_timed(fn, *args, **kw)[0]), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "hung"
    return box[0]


def test_a_fifo_is_refused_by_type_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    exc = _in_thread(read_report, fifo)
    assert isinstance(exc, NotARegularFile) and "FIFO" in str(exc)


def test_parse_validate_ingest_refuse_a_fifo_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "r.txt").write_bytes(synth.render(synth.random_report(2, year=2022), "text", rng=0).data)
    assert _in_thread(main, ["parse", str(folder / "pipe.txt")]) == 2
    assert _in_thread(main, ["validate", str(folder / "pipe.txt")]) == 2
    assert "FIFO" in capsys.readouterr().err
    assert _in_thread(main, ["ingest", str(folder), "--store", str(tmp_path / "s"), "--scheduler", "serial",
                             "--no-progress"]) == 2
    corpus = open_store(tmp_path / "s")
    assert len(corpus.reports) == 1 and corpus.failures["error_class"].tolist() == ["NotARegularFile"]
    assert _in_thread(main, ["ingest", str(folder / "pipe.txt"), "--store", str(tmp_path / "s2"), "--scheduler",
                             "serial", "--no-progress"]) == 2
    assert "FIFO" in open_store(tmp_path / "s2").failures["message"].iloc[0]


def test_a_device_and_a_symlink_to_it_are_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    for p in (Path("/dev/zero"), tmp_path / "zero.txt"):
        exc = _in_thread(read_report, p)
        assert isinstance(exc, NotARegularFile) and "character device" in str(exc)
    assert "/dev/zero" in str(_in_thread(read_report, tmp_path / "zero.txt"))


def test_ingest_of_a_folder_with_a_dev_zero_link_ends(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere")
    summary = _in_thread(ingest, [folder], tmp_path / "s", scheduler="serial", progress=False)
    assert summary.failed == 2


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        exc = _in_thread(read_report, path)
        assert isinstance(exc, NotARegularFile) and "socket" in str(exc)
    finally:
        sock.close()


def test_reads_are_bounded_whatever_st_size_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5000)
    real_stat = os.stat

    class Lying:  # a /proc-like file: st_size says 0
        def __init__(self, st: os.stat_result) -> None:
            self._st = st

        def __getattr__(self, name: str) -> object:
            return 0 if name == "st_size" else getattr(self._st, name)

    monkeypatch.setattr(os, "stat", lambda p, *a, **k: Lying(real_stat(p, *a, **k)))
    with pytest.raises(FileTooLarge, match="more than 1.0 kB"):
        read_bounded(big, 1000)


def test_max_bytes_message_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.txt").write_bytes(b"x" * 500)
    assert main(["parse", str(tmp_path / "r.txt"), "--max-bytes", "100"]) == 2
    err = capsys.readouterr().err
    assert "500 bytes is over the limit of 100 bytes" in err and "0.0 MB" not in err
    assert human_bytes(52_400_000) == "52.4 MB"


def test_an_unreadable_file_is_a_clear_error_not_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    real_open = os.open

    def deny(p, flags, *a, **k):  # noqa: ANN001, ANN202 - mode 000 as root still reads: inject it
        if str(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, *a, **k)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(FileUnreadable, match="Permission denied"):
        read_report(path)
    assert main(["parse", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and "unexpected" not in err and "please report" not in err


# ---------------------------------------------------------------------------------------------
# A depth-cut page says so


def test_html_nested_past_the_parser_depth_says_what_was_lost(tmp_path: Path) -> None:
    page = _report_html()
    cut = page.rindex("<table")   # just before Table 4: its rows and sections 4-6 lie past the cut
    deep = page[:cut] + "<div>" * 300 + page[cut:]
    (tmp_path / "deep.html").write_text(deep, encoding="utf-8")
    report = read_report(tmp_path / "deep.html")
    assert any("deeper than" in n and "missing" in n for n in report.notes)
    (tmp_path / "flat.html").write_text(page, encoding="utf-8")
    assert not any("deeper" in n for n in read_report(tmp_path / "flat.html").notes)


def test_pixel_and_page_caps_for_the_rasterised_forms() -> None:
    from helpers.limits import check_image, check_pages

    check_image("scan.png", 4960, 7016)                # A4 at 600 dpi reads
    with pytest.raises(FileTooLarge, match="pixels"):
        check_image("bomb.png", 100_000, 100_000)
    check_pages("r.pdf", 40)
    with pytest.raises(FileTooLarge, match="pages"):
        check_pages("r.pdf", 100_000)


def test_a_pdf_of_too_many_pages_is_refused_before_reading_them(tmp_path: Path) -> None:
    n = LIMITS.pages + 1
    objs = [b"<</Type/Catalog/Pages 2 0 R>>",
            ("<</Type/Pages/Count %d/Kids[%s]>>" % (n, " ".join(f"{i + 3} 0 R" for i in range(n)))).encode()]
    objs += [b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"] * n
    body = b"%PDF-1.4\n" + b"".join(f"{i} 0 obj\n".encode() + o + b"\nendobj\n" for i, o in enumerate(objs, 1))
    (tmp_path / "pages.pdf").write_bytes(body + b"trailer\n<</Root 1 0 R>>\n%%EOF\n")
    exc, seconds = _timed(read_report, tmp_path / "pages.pdf")
    assert isinstance(exc, FileTooLarge) and "pages" in str(exc), exc
    assert seconds < 10
