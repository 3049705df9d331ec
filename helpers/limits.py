"""Input limits: every input is bounded before it can cost much time or memory.

A report is a few hundred kilobytes, a few thousand lines and a few hundred table cells; a file
far past that is a mistake or an attack (a resource bomb), and is refused with a `FileTooLarge`
naming the file, the measure and the limit. The checks:

- only regular files are read: a FIFO, device or socket is refused by its type before it is
  opened for reading (opening a FIFO would block), a symlink is followed and its target checked;
- reads are bounded: at most `max_bytes` + 1 bytes are read whatever `st_size` says (a device or
  a /proc file can report 0 and never end);
- HTML: the cells a table's row and column spans cover; cells of a document; nesting depth (a
  page cut by the HTML parser's depth limit gets a note saying what was lost);
- text: lines and cells;
- DOCX: the unpacked size of the zip members (checked from the zip directory, then while reading);
- PDF: the unpacked size of the content streams and the number of content-stream operators,
  counted by inflating them incrementally before pdfium parses any page;
- for the forms that are rasterised or converted (scans, spreadsheets, OFD, old Word files):
  `check_image` (pixels of a page image, before decoding), `check_pages`, and `convert_seconds`
  as the time-out of an external conversion.

The figures are `Limits` fields, with defaults far above any real report.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from collections.abc import Iterator
from typing import NamedTuple
from pathlib import Path

from .errors import EmptyFile, FileTooLarge, FileUnreadable, NotARegularFile

__all__ = ["DEFAULT_MAX_BYTES", "LIMITS", "Budget", "Limits", "bounded_chunks", "check_image", "check_pages", "check_pdf_streams", "human_bytes", "read_bounded", "regular_file"]


class Limits(NamedTuple):
    """The caps (each far above a real report; see the module doc)."""

    max_bytes: int = 50 * 1024 * 1024        # a file's bytes (ogi parse/validate/ingest --max-bytes)
    span_cells: int = 100_000                # grid cells covered by the row/column spans of one HTML document
    cells: int = 300_000                     # cells of one document (all forms)
    lines: int = 200_000                     # lines of a text report
    html_depth: int = 255                    # libxml2 cuts deeper nesting (without XML_PARSE_HUGE)
    docx_unpacked: int = 32 * 1024 * 1024    # the unpacked XML parts of a DOCX (media excluded)
    pdf_unpacked: int = 128 * 1024 * 1024    # the unpacked non-image streams of a PDF
    pdf_operators: int = 2_000_000           # content-stream operators of a PDF
    # For the forms that convert or rasterise (scans, spreadsheets, OFD, old Word files):
    pages: int = 500                         # pages of one document
    image_pixels: int = 80_000_000           # pixels of one page image (an A4 page at 600 dpi is 35 M)
    convert_seconds: float = 120.0           # wall time of one external conversion (LibreOffice, OCR ...)


LIMITS = Limits()
BOMB_HINT = "far more than any report holds: a resource bomb, or not a single report"
DEFAULT_MAX_BYTES = LIMITS.max_bytes


def human_bytes(n: float) -> str:
    """A size for a message: '100 bytes', '2.5 kB', '52.4 MB' (never '0.0 MB')."""
    if n < 1000:
        return f"{int(n)} byte{'s' if n != 1 else ''}"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"  # pragma: no cover


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def regular_file(path: str | os.PathLike[str]) -> os.stat_result:
    """The stat of a regular file (symlinks followed); `NotARegularFile` for anything else, without opening it."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):
            raise NotARegularFile(p, f"a symlink to {os.readlink(p)}, which does not exist", "check the link") \
                from None
        raise EmptyFile(p, "no such file", "check the path") from None
    except PermissionError as exc:
        raise FileUnreadable(p, f"cannot be read: {exc.strerror}") from None
    except OSError as exc:
        raise FileUnreadable(p, f"cannot be read: {exc.strerror or exc}", "check the path") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        target = f" (a symlink to {os.path.realpath(p)})" if os.path.islink(p) else ""
        hint = "pass the files inside it" if stat.S_ISDIR(st.st_mode) else None
        raise NotARegularFile(p, f"{kind}{target}, not a regular file", hint)
    return st


def read_bounded(path: str | os.PathLike[str], max_bytes: int = LIMITS.max_bytes) -> bytes:
    """A regular file's bytes, refusing more than `max_bytes` (checked on the size and while reading)."""
    return b"".join(bounded_chunks(path, max_bytes))


def bounded_chunks(path: str | os.PathLike[str], max_bytes: int = LIMITS.max_bytes) -> Iterator[bytes]:
    """A regular file's bytes in chunks of 1 MiB, `FileTooLarge` past `max_bytes` (see `read_bounded`)."""
    p = Path(path)
    st = regular_file(p)
    if st.st_size > max_bytes:
        raise FileTooLarge(p, f"{human_bytes(st.st_size)} is over the limit of {human_bytes(max_bytes)}")
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since the stat, opening never blocks.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except PermissionError as exc:
        raise FileUnreadable(p, f"cannot be read: {exc.strerror}") from None
    except OSError as exc:
        raise FileUnreadable(p, f"cannot be opened: {exc.strerror or exc}", "check the path") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotARegularFile(p, f"{kind}, not a regular file")
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            except OSError as exc:
                raise FileUnreadable(p, f"cannot be read: {exc.strerror or exc}") from None
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise FileTooLarge(p, f"more than {human_bytes(max_bytes)} (the limit) could be read from it")
            yield chunk
    finally:
        os.close(fd)


class Budget:
    """A count that may not pass a limit: `take(n)` raises `FileTooLarge` naming what was counted."""

    def __init__(self, path: str | os.PathLike[str], what: str, limit: int, in_bytes: bool = False) -> None:
        self.path, self.what, self.limit, self.used, self.in_bytes = Path(path), what, limit, 0, in_bytes

    def take(self, n: int = 1) -> None:
        self.used += n
        if self.used > self.limit:
            amount = human_bytes(self.limit) if self.in_bytes else f"{self.limit:,}"
            raise FileTooLarge(self.path, f"more than {amount} {self.what} (the limit)", BOMB_HINT)


def check_image(path: str | os.PathLike[str], width: int, height: int, limits: Limits = LIMITS) -> None:
    """Refuse a page image of more than `image_pixels` pixels before it is decoded (a pixel bomb)."""
    if width * height > limits.image_pixels:
        raise FileTooLarge(path, f"an image of {width:,} x {height:,} pixels, over the limit of "
                                 f"{limits.image_pixels:,}", BOMB_HINT)


def check_pages(path: str | os.PathLike[str], pages: int, limits: Limits = LIMITS) -> None:
    """Refuse a document of more than `pages` pages before any page is read."""
    if pages > limits.pages:
        raise FileTooLarge(path, f"{pages:,} pages, over the limit of {limits.pages:,}", BOMB_HINT)


# ---------------------------------------------------------------------------------------------
# PDF streams

_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_LAST_OBJ = re.compile(rb".*\d+\s+\d+\s+obj\b", re.S)  # greedy: ends after the last one
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
# Content-stream operators (PDF 32000 Annex A), counted as the letter tokens they are (a name or
# string that spells one is counted too: an over-count only, harmless far below the cap).
_TOKEN = re.compile(rb"[A-Za-z'\"][A-Za-z*'\"]*")
_OPERATORS = frozenset(b"b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h i ID j J "
                       b"K k l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz "
                       b"v w W W* y ' \"".split())


def _operators(chunk: bytes) -> int:
    return sum(1 for t in _TOKEN.findall(chunk) if t in _OPERATORS)


def check_pdf_streams(path: str | os.PathLike[str], data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse a PDF whose non-image Flate streams unpack past `pdf_unpacked` bytes, or whose streams
    hold more than `pdf_operators` operators, before pdfium parses a page (it would hold them all).

    Operators are counted only when the unpacked bytes could hold more than the cap: two operators
    are at least one delimiter apart, so n bytes hold at most (n + 1) / 2 of them (a second pass)."""
    unpacked = Budget(path, "of unpacked PDF streams", limits.pdf_unpacked, in_bytes=True)
    streams = list(_text_streams(data))
    bound = 0
    for body, layers in streams:
        for chunk in _inflate(body, layers, limits.pdf_unpacked - unpacked.used + 1):
            unpacked.take(len(chunk))
            bound += (len(chunk) + 1) // 2
    if bound <= limits.pdf_operators:
        return
    ops = Budget(path, "PDF content-stream operators", limits.pdf_operators)
    for body, layers in streams:
        for chunk in _inflate(body, layers, limits.pdf_unpacked + 1):
            ops.take(_operators(chunk))


def _text_streams(data: bytes) -> Iterator[tuple[bytes, int]]:
    """(raw body, Flate layers) of each stream of a PDF that is not an image."""
    for m in _STREAM.finditer(data):
        head = data[max(0, m.start() - 4096):m.start()]
        last = _LAST_OBJ.match(head)  # the stream's own dictionary starts after the last "n g obj"
        head = head[last.end():] if last else head
        if _IMAGE.search(head):
            continue   # images are not decoded to read the text
        end = data.find(b"endstream", m.end())
        yield data[m.end():end if end >= 0 else len(data)], len(_FLATE.findall(head))


def _inflate(body: bytes, layers: int, cap: int) -> list[bytes]:
    """The stream body through `layers` Flate decoders, in chunks, at most `cap` bytes in all."""
    from isal import isal_zlib  # ISA-L inflate: the same streams as zlib, 2-3x faster

    chunks = [body]
    for _ in range(layers):
        out: list[bytes] = []
        d = isal_zlib.decompressobj()
        total = 0
        try:
            for c in chunks:
                data = c
                while data and total < cap and not d.eof:
                    piece = d.decompress(data, min(1 << 20, cap - total))
                    out.append(piece)
                    total += len(piece)
                    if not piece and d.unconsumed_tail == data:
                        break  # no progress: the bytes after the end of the stream
                    data = d.unconsumed_tail
                if total >= cap or d.eof:
                    break
        except (zlib.error, isal_zlib.error):
            pass  # a damaged stream: pdfium decides; what was inflated is counted
        chunks = out
    return chunks
