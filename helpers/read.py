"""Read stage: sniff a file's form, enforce the size limit, decode text, and hand it to a reader.

`read_document(path)` returns a `Document` (blocks of cells with provenance) whatever the form;
all errors are our own `ReportError` subclasses naming the file.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from .document import Document
from .errors import BrokenFile, EmptyFile, NoTextLayer, UndecodableText, UnsupportedForm
from .limits import LIMITS, read_bounded

__all__ = ["DEFAULT_MAX_BYTES", "FORMS", "decode_text", "decode_with_notes", "read_document", "sniff_form"]

DEFAULT_MAX_BYTES = LIMITS.max_bytes
FORMS = ("text", "html", "docx", "pdf", "pdf-scan", "image", "doc", "wps", "odt", "xls", "xlsx", "et", "ods",
         "ofd")

_HTML_HINT = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|table|p|div|meta|tr|td)\b", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b < 32)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_TEXT = frozenset(("Cc", "Cn", "Co", "Cs"))  # control, unassigned, private-use, surrogate code points


# Zip containers by the member that names their kind (an OFD package has OFD.xml at its root).
_ZIP_MEMBERS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("OFD.xml", "ofd"))
# ... or, for an OOXML package whose main part has another name, by the main part's content type
# in [Content_Types].xml (ECMA-376 part 2): Word documents and templates, Excel workbooks.
_OOXML_MAIN = ((re.compile(rb"(?:wordprocessingml\.(?:document|template)|ms-word\.(?:document|template)"
                           rb"\.macroEnabled(?:12)?)\.main\+xml"), "docx"),
               (re.compile(rb"(?:spreadsheetml\.(?:sheet|template)|ms-excel\.(?:sheet|template)"
                           rb"\.macroEnabled(?:12)?)\.main\+xml"), "xlsx"))
_CONTENT_TYPES_MAX = 1 << 20  # bytes: [Content_Types].xml is a few kB
_ODF_MIMETYPES = {b"application/vnd.oasis.opendocument.spreadsheet": "ods",
                  b"application/vnd.oasis.opendocument.text": "odt"}
# OLE compound files by their stream names (UTF-16 in the directory): Word 97 or Excel 97.
_OLE_STREAMS = (("EncryptedPackage", "encrypted"), ("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"))
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM")
# What a file's name says its kind is, where the content is shared (Kingsoft's .wps is Word 97, .et Excel 97).
_SUFFIX_FORM = {".wps": "wps", ".et": "et", ".ett": "et", ".wpt": "wps"}
# What a file's extension says it holds, to note a disagreement with its content (never to decide).
_EXTENSION_FORMS = {
    **dict.fromkeys((".txt", ".text", ".md", ".markdown"), "text"),
    **dict.fromkeys((".htm", ".html", ".xhtml", ".shtml"), "html"),
    **dict.fromkeys((".docx", ".docm", ".dotx"), "docx"), ".pdf": "pdf", ".doc": "doc", ".odt": "odt",
    **dict.fromkeys((".wps", ".wpt"), "wps"), ".xls": "xls", **dict.fromkeys((".xlsx", ".xlsm"), "xlsx"),
    **dict.fromkeys((".et", ".ett"), "et"), ".ods": "ods", ".ofd": "ofd",
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"), "image"),
}
_SAME_FORM = {"wps-docx": "wps"}  # a form sniffed under another name that its extension rightly claims
# A zip whose members name no form, by what its name claims it is.
_CLAIMED = {".docx": "docx", ".docm": "docx", ".dotx": "docx", "": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx",
            ".ofd": "ofd"}


def _zip_form(path: Path, data: bytes) -> str:
    """The form of a zip container, from its members or its main part's content type (not its file
    name)."""
    import io
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype").strip() if "mimetype" in names else b""
            types = z.getinfo("[Content_Types].xml") if "[Content_Types].xml" in names else None
            small = types is not None and types.file_size <= _CONTENT_TYPES_MAX  # a bomb is never unpacked
            content_types = z.read(types)[:_CONTENT_TYPES_MAX] if small else b""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError, zlib.error) as exc:
        raise BrokenFile(path, f"a damaged zip container ({exc})") from exc
    forms = [form for member, form in _ZIP_MEMBERS if member in names]
    forms += [form for pattern, form in _OOXML_MAIN if pattern.search(content_types)]
    if forms:
        form = forms[0]
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
    hint = sample
    if not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Control bytes other than whitespace mean binary, unless the bytes read as UTF-16 text
        # without a byte-order mark (NULs between ASCII characters, CJK bytes of any value).
        controls = len(body) - len(body.translate(None, _CONTROL_BYTES))
        if b"\x00" in body or controls > max(2, len(body) // 100):
            readings = _utf16_readings(body)
            if not readings:
                raise UnsupportedForm(path, "binary content, not text, HTML, DOCX or PDF")
            hint = readings[0][1].encode("utf-8")
    if path.suffix.lower() in (".htm", ".html", ".xhtml", ".shtml") or _HTML_HINT.search(hint):
        return "html"
    return "text"


def _report_words(text: str) -> int:
    """How many of the report's own words (政府信息公开, 年度报告 ...) the text holds."""
    from .template import common

    return sum(text.count(w) for w in common()["metadata"]["report_words"])


def _score(text: str) -> int:
    """How much a decoding looks like a report: its vocabulary, then CJK characters at all."""
    return _report_words(text) * 10 + len(_CJK.findall(text[:20000]))


def _decoded(data: bytes, enc: str) -> tuple[str, int] | None:
    """`data` decoded strictly as `enc`, except an incomplete character at the very end (a file cut
    short) which is held back: the text and how many bytes were left over; None if it is not `enc`."""
    try:
        decoder = codecs.getincrementaldecoder(enc)("strict")
        text = decoder.decode(data, final=False)
    except (UnicodeDecodeError, LookupError):
        return None
    return text, len(decoder.getstate()[0])


def _looks_like_text(text: str) -> bool:
    """Whether decoded characters are Chinese text rather than bytes read as characters: no more than
    1% control characters (whitespace aside), unassigned, private-use or surrogate code points, and
    at least 95% of the characters in GBK's repertoire (ASCII, Chinese characters, CJK and
    full-width punctuation), the national character set every report's text is written in."""
    sample = text[:20000]
    if not sample.strip():
        return False
    odd = sum(1 for ch in sample if (unicodedata.category(ch) in _NOT_TEXT) and ch not in "\t\n\r\f")
    foreign = len(sample) - len(sample.encode("gbk", "ignore").decode("gbk"))
    return odd <= len(sample) // 100 and foreign <= len(sample) // 20


def _utf16_readings(data: bytes) -> list[tuple[str, str, int]]:
    """The byte orders in which `data` (no byte-order mark) reads as UTF-16 text: (encoding, text,
    bytes left over at a cut end). Read the wrong way round, a Chinese text meets lone surrogates
    (characters whose low byte is D8-DF) or, for ASCII characters, unassigned code points (a
    newline becomes U+0A00): that reading is refused."""
    out = []
    for enc in ("utf-16-le", "utf-16-be"):
        got = _decoded(data, enc)
        if got is not None and _looks_like_text(got[0]):
            out.append((enc, *got))
    return out


def _cut_note(enc: str, left: int) -> list[str]:
    return [f"the file ends inside a {enc} character (cut short, e.g. a truncated download): the incomplete "
            f"character ({left} byte(s)) was dropped; what followed the cut is missing"] if left else []


def _utf16(path: Path, data: bytes, readings: list[tuple[str, str, int]]) -> tuple[str, str, list[str]]:
    """The one UTF-16 reading of a file without a byte-order mark; if both byte orders read as text,
    the one with the report's words, else an error saying the byte order cannot be told."""
    if len(readings) == 2:
        words = [_report_words(text) for _, text, _ in readings]
        if words[0] == words[1]:
            raise UndecodableText(path, "looks like UTF-16 text without a byte-order mark, but reads as text in "
                                        "both byte orders (little- and big-endian) and neither holds a report's words",
                                  "save it as UTF-8 (or as UTF-16 with a byte-order mark) and try again")
        readings = [readings[0] if words[0] > words[1] else readings[1]]
    enc, text, left = readings[0]
    order = "little" if enc.endswith("le") else "big"
    return text, enc, [f"UTF-16 ({order}-endian) without a byte-order mark: the byte order was told from "
                       f"the text"] + _cut_note("UTF-16", left)


def decode_text(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to text: BOM, then UTF-16 without a BOM (NULs between characters), strict UTF-8,
    the declared charset, GB18030, Big5.

    A wrong declaration never wins over a decoding that yields the report's own words; bytes that
    no candidate decodes strictly raise `UndecodableText` rather than produce mojibake. A file cut
    inside its last character is read without it (`decode_with_notes` says so)."""
    text, enc, _ = decode_with_notes(path, data, declared)
    return text, enc


def decode_with_notes(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str, list[str]]:
    """`decode_text` with the notes a reader keeps: a file cut inside a character, UTF-16 without
    a byte-order mark."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            got = _decoded(data, enc)
            if got is None:
                try:
                    data.decode(enc)
                except UnicodeDecodeError as exc:
                    raise UndecodableText(path, f"starts with a {enc} byte-order mark but is not {enc}: {exc}") from exc
                raise UndecodableText(path, f"starts with a {enc} byte-order mark but is not {enc}")
            name = enc.replace("-sig", "")
            return got[0], name, _cut_note(name.upper(), got[1])
    head = data[:4096]
    if b"\x00" in head:  # no UTF-8, GB18030 or Big5 text holds a NUL; UTF-16 holds one per ASCII character
        readings = _utf16_readings(data)
        if readings:
            return _utf16(path, data, readings)
        if _utf16_readings(head):
            raise UndecodableText(path, "looks like UTF-16 text without a byte-order mark (NUL bytes between "
                                        "characters) but is not valid UTF-16 in either byte order beyond its start",
                                  "the file is damaged or truncated; download it again, or save it as UTF-8")
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
    best: tuple[int, str, str, int] | None = None
    for enc in candidates:
        if enc.startswith("utf-16") or enc.startswith("utf_16"):
            continue  # a declared UTF-16 without its BOM was tried above, by its NULs
        got = _decoded(data, enc)
        if got is None:
            continue
        text, left = got
        if enc == "utf-8" and not text.isascii():
            # strict UTF-8 with CJK is never an accident, even when the file is cut inside its last character
            return text, enc, _cut_note("UTF-8", left)
        score = _score(text) - (1 if left else 0)  # a reading of every byte wins a tie
        if best is None or score > best[0]:
            best = (score, text, enc, left)
    if best is None:
        readings = _utf16_readings(data)  # UTF-16 Chinese without ASCII characters has no NULs
        if readings:
            return _utf16(path, data, readings)
        try:
            from charset_normalizer import from_bytes

            match = from_bytes(data).best()
        except Exception:  # noqa: BLE001 - the detector is a last resort
            match = None
        if match is not None and match.encoding:
            return str(match), match.encoding, []
        raise UndecodableText(path, "not valid UTF-8, GB18030 or Big5 text")
    return best[1], best[2], _cut_note(best[2].upper(), best[3])


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
    doc = _read_form(p, data, form, ocr)
    claimed, read_as = _EXTENSION_FORMS.get(p.suffix.lower()), _SAME_FORM.get(form, form)
    if claimed and claimed != read_as and not {claimed, read_as} <= {"text", "html"}:  # markup in a .txt is still text
        doc.notes.insert(0, f"the file's extension {p.suffix} says {claimed} but its content is {read_as}: "
                            f"read as {read_as}")
    doc.sha256 = hashlib.sha256(data).hexdigest()
    return doc


def _read_form(p: Path, data: bytes, form: str, ocr: bool) -> Document:
    """Hand the bytes to the reader of their sniffed form (a scanned PDF to OCR when it is on)."""
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
                text, enc, notes = decode_with_notes(p, data, _declared_charset(data))
                doc = read_html_images(p, text, enc)
                doc.notes[:0] = notes
    return doc


def _text_reader() -> Callable[[Path, bytes], Document]:
    from .readers.text import read_text

    def run(p: Path, data: bytes) -> Document:
        text, enc, notes = decode_with_notes(p, data)
        doc = read_text(p, text, enc)
        doc.notes[:0] = notes
        return doc

    return run


def _html_reader() -> Callable[[Path, bytes], Document]:
    from .readers.html import read_html

    def run(p: Path, data: bytes) -> Document:
        text, enc, notes = decode_with_notes(p, data, _declared_charset(data))
        doc = read_html(p, text, enc)
        doc.notes[:0] = notes
        return doc

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
