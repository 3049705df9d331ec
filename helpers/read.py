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
from .errors import BrokenFile, EmptyFile, NoTextLayer, UndecodableText, UnsupportedForm
from .limits import LIMITS, read_bounded

__all__ = ["DEFAULT_MAX_BYTES", "FORMS", "decode_text", "read_document", "sniff_form"]

DEFAULT_MAX_BYTES = LIMITS.max_bytes
FORMS = ("text", "html", "docx", "pdf", "pdf-scan", "image", "doc", "wps", "odt", "xls", "xlsx", "et", "ods",
         "ofd")

_HTML_HINT = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|table|p|div|meta|tr|td)\b", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b < 32)
_CJK = re.compile(r"[\u4e00-\u9fff]")


# Zip containers by the member that names their kind (an OFD package has OFD.xml at its root).
_ZIP_MEMBERS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("OFD.xml", "ofd"))
_ODF_MIMETYPES = {b"application/vnd.oasis.opendocument.spreadsheet": "ods",
                  b"application/vnd.oasis.opendocument.text": "odt"}
# OLE compound files by their stream names (UTF-16 in the directory): Word 97 or Excel 97.
_OLE_STREAMS = (("EncryptedPackage", "encrypted"), ("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"))
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM")
# What a file's name says its kind is, where the content is shared (Kingsoft's .wps is Word 97, .et Excel 97).
_SUFFIX_FORM = {".wps": "wps", ".et": "et", ".ett": "et", ".wpt": "wps"}
# A zip whose members name no form, by what its name claims it is.
_CLAIMED = {".docx": "docx", ".docm": "docx", ".dotx": "docx", "": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx",
            ".ofd": "ofd"}


def _zip_form(path: Path, data: bytes) -> str:
    """The form of a zip container, from its members (not its file name)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype").strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError) as exc:
        raise BrokenFile(path, f"a damaged zip container ({exc})") from exc
    for member, form in _ZIP_MEMBERS:
        if member in names:
            if form == "xlsx" and _SUFFIX_FORM.get(path.suffix.lower()) == "et":
                return "et"
            if form == "docx" and _SUFFIX_FORM.get(path.suffix.lower()) == "wps":
                return "wps-docx"
            return form
    if mimetype in _ODF_MIMETYPES:
        return _ODF_MIMETYPES[mimetype]
    claimed = _CLAIMED.get(path.suffix.lower())
    if claimed:
        return claimed  # its reader says what is missing (a broken DOCX, workbook or OFD package)
    raise UnsupportedForm(path, f"a zip container ({path.suffix or 'no suffix'}) that is not a DOCX, "
                                f"spreadsheet or OFD report")


def _ole_form(path: Path, data: bytes) -> str:
    """The form of an OLE compound file (Word 97 .doc/.wps, Excel 97 .xls/.et)."""
    for stream, form in _OLE_STREAMS:  # the directory may lie anywhere in the file
        if stream.encode("utf-16-le") + b"\x00\x00" in data:
            if form == "encrypted":
                raise BrokenFile(path, "a password-protected Office file",
                                 "open it with the password and save an unprotected copy")
            wanted = _SUFFIX_FORM.get(path.suffix.lower())
            if form == "doc" and wanted == "wps":
                return "wps"
            if form == "xls" and wanted == "et":
                return "et"
            return form
    raise UnsupportedForm(path, "an OLE container that is neither a Word 97 nor an Excel 97 file")


def sniff_form(path: Path, head: bytes) -> str:
    """Decide the form from the content (magic numbers, container members), the file name only
    where two forms share a content (.wps and .doc, .et and .xls). `head` is the file's bytes (its
    start suffices for every form but containers, whose directory is read)."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_form(path, head)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_form(path, head)
    if head.startswith(_IMAGE_MAGIC):
        return "image"
    if head.startswith((b"GIF8", b"\x7fELF", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        raise UnsupportedForm(path, "a binary file (GIF image or archive), not a report")
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


def read_document(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, ocr: bool = True) -> Document:
    """Read any supported file into a `Document`; refuse files over `max_bytes` (and anything but a
    regular file) before reading.

    With `ocr` (the default) a scanned PDF and an image file are read by OCR; without it they raise
    `NoTextLayer`, as before OCR existed."""
    p = Path(path)
    data = read_bounded(p, max_bytes)  # regular files only, at most max_bytes read (helpers/limits.py)
    if not data.strip():
        raise EmptyFile(p, "the file is empty")
    form = sniff_form(p, data)
    if form == "image":
        if not ocr:
            raise NoTextLayer(p, "an image file: its text can only be read by OCR, which is off",
                              "run without --no-ocr to read it by OCR")
        from .readers.scan import read_image

        doc = read_image(p, data)
    else:
        try:
            doc = _READERS[form]()(p, data)
        except NoTextLayer:
            if form != "pdf" or not ocr:
                raise
            from .readers.scan import read_scanned_pdf

            doc = read_scanned_pdf(p, data)
        if form == "wps-docx":
            doc.form = "wps"
        if form == "html" and ocr and re.search(rb"<img\b", data, re.I):
            from .readers.scan import read_html_images, tables_missing

            if tables_missing(doc):  # its tables may be pictures: local and data: images are OCR'd
                text, enc = decode_text(p, data, _declared_charset(data))
                doc = read_html_images(p, text, enc)
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


def _sheet_reader(form: str) -> Callable[[], Callable[[Path, bytes], Document]]:
    def factory() -> Callable[[Path, bytes], Document]:
        from .readers.sheet import read_sheet

        return lambda p, data: read_sheet(p, data, form)

    return factory


def _office_reader(form: str) -> Callable[[], Callable[[Path, bytes], Document]]:
    def factory() -> Callable[[Path, bytes], Document]:
        from .readers.doc import read_doc

        return lambda p, data: read_doc(p, data, form)

    return factory


def _ofd_reader() -> Callable[[Path, bytes], Document]:
    from .readers.ofd import read_ofd

    return read_ofd


# The registry: form → reader factory (imported lazily so that text users never load pdfplumber).
_READERS: dict[str, Callable[[], Callable[[Path, bytes], Document]]] = {
    "text": _text_reader,
    "html": _html_reader,
    "docx": _docx_reader,
    "pdf": _pdf_reader,
    "wps-docx": _docx_reader,  # a .wps file that Kingsoft saved as DOCX: the DOCX reader's form
    **{form: _office_reader(form) for form in ("doc", "wps", "odt")},
    **{form: _sheet_reader(form) for form in ("xls", "xlsx", "et", "ods")},
    "ofd": _ofd_reader,
}
