"""Read stage: sniff a file's form, enforce the size limit, decode text, and hand it to a reader.

`read_document(path)` returns a `Document` (blocks of cells with provenance) whatever the form;
all errors are our own `ReportError` subclasses naming the file.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from .document import Document
from .errors import EmptyFile, UndecodableText, UnsupportedForm
from .limits import LIMITS, read_bounded

__all__ = ["DEFAULT_MAX_BYTES", "FORMS", "decode_text", "read_document", "sniff_form"]

DEFAULT_MAX_BYTES = LIMITS.max_bytes
FORMS = ("text", "html", "docx", "pdf")

_HTML_HINT = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|table|p|div|meta|tr|td)\b", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b < 32)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def sniff_form(path: Path, head: bytes) -> str:
    """Decide the form from the first bytes (magic numbers first, the file name second)."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        suffix = path.suffix.lower()
        if suffix in (".docx", ".docm", ".dotx", ""):
            return "docx"
        raise UnsupportedForm(path, f"a zip container ({suffix or 'no suffix'}), not a DOCX report")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedForm(path, "an old binary Word/Excel file (.doc/.xls)", "save it as .docx or PDF first")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        raise UnsupportedForm(path, "a binary file (image or archive), not a report")
    sample = head[:4096]
    body = sample[3:] if sample.startswith(codecs.BOM_UTF8) else sample
    if not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Control bytes other than whitespace mean binary; text in UTF-16 needs a BOM.
        controls = len(body) - len(body.translate(None, _CONTROL_BYTES))
        if b"\x00" in body or controls > max(2, len(body) // 100):
            raise UnsupportedForm(path, "binary content, not text, HTML, DOCX or PDF")
    if path.suffix.lower() in (".htm", ".html", ".xhtml", ".shtml") or _HTML_HINT.search(sample):
        return "html"
    return "text"


def _score(text: str) -> int:
    """How much a decoding looks like a report: its vocabulary, then CJK characters at all."""
    from .template import common

    words = common()["metadata"]["report_words"]
    return sum(text.count(w) for w in words) * 10 + len(_CJK.findall(text[:20000]))


def decode_text(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to text: BOM, then strict UTF-8, then the declared charset, then GB18030.

    A wrong declaration never wins over a decoding that yields the report's own words; bytes that
    no candidate decodes strictly raise `UndecodableText` rather than produce mojibake.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc.replace("-sig", "")
            except UnicodeDecodeError as exc:
                raise UndecodableText(path, f"starts with a {enc} byte-order mark but is not {enc}: {exc}") from exc
    candidates = ["utf-8"]
    if declared:
        try:
            name = codecs.lookup(declared.decode("ascii", "replace") if isinstance(declared, bytes) else declared).name
        except LookupError:
            name = None
        if name and name not in candidates:
            # GBK and GB2312 are subsets of GB18030: decode with the superset.
            candidates.append("gb18030" if name in ("gbk", "gb2312", "euc_cn", "hz") else name)
    for extra in ("gb18030", "big5"):
        if extra not in candidates:
            candidates.append(extra)
    best: tuple[int, str, str] | None = None
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if enc == "utf-8":
            return text, enc  # strict UTF-8 with CJK is never an accident
        score = _score(text)
        if best is None or score > best[0]:
            best = (score, text, enc)
    if best is None:
        try:
            from charset_normalizer import from_bytes

            match = from_bytes(data).best()
        except Exception:  # noqa: BLE001 - the detector is a last resort
            match = None
        if match is not None and match.encoding:
            return str(match), match.encoding
        raise UndecodableText(path, "not valid UTF-8, GB18030 or Big5 text")
    return best[1], best[2]


def _declared_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096]) or _META_CHARSET.search(data[:65536])
    return m.group(1).decode("ascii", "replace") if m else None


def read_document(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read any supported file into a `Document`; refuse files over `max_bytes` (and anything but a
    regular file) before reading."""
    p = Path(path)
    data = read_bounded(p, max_bytes)  # regular files only, at most max_bytes read (helpers/limits.py)
    if not data.strip():
        raise EmptyFile(p, "the file is empty")
    form = sniff_form(p, data[:8192])
    reader = _READERS[form]()
    doc = reader(p, data)
    doc.sha256 = hashlib.sha256(data).hexdigest()
    return doc


def _text_reader() -> Callable[[Path, bytes], Document]:
    from .readers.text import read_text

    def run(p: Path, data: bytes) -> Document:
        text, enc = decode_text(p, data)
        return read_text(p, text, enc)

    return run


def _html_reader() -> Callable[[Path, bytes], Document]:
    from .readers.html import read_html

    def run(p: Path, data: bytes) -> Document:
        text, enc = decode_text(p, data, _declared_charset(data))
        return read_html(p, text, enc)

    return run


def _docx_reader() -> Callable[[Path, bytes], Document]:
    from .readers.docx import read_docx

    return read_docx


def _pdf_reader() -> Callable[[Path, bytes], Document]:
    from .readers.pdf import read_pdf

    return read_pdf


# The registry: form → reader factory (imported lazily so that text users never load pdfplumber).
_READERS: dict[str, Callable[[], Callable[[Path, bytes], Document]]] = {
    "text": _text_reader,
    "html": _html_reader,
    "docx": _docx_reader,
    "pdf": _pdf_reader,
}
