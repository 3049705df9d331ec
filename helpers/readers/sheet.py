"""Spreadsheet reader (.xls, .xlsx, .et, .ods, via python-calamine): every sheet's grid → table rows.

Each sheet's used range is read row by row; a merged range gives its text once, in its first row
and column, and the cells it covers are left out (as the DOCX and PDF readers do), so a label
merged over two columns stays one cell beside its row's values; a blank cell inside a row stays an
empty cell in its place. Numbers stored as numbers print as integers when they are whole (a count
of 12 is stored as 12.0). Rows with nothing in them are dropped; the others keep every cell up to
the sheet's width (a blank last value is a cell). Provenance is
`sheet 2 (表二) row 5 col 3`. A spreadsheet usually holds the tables only; when no cell holds
running text, the document says that the narrative is absent.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from ..document import Block, Cell, Document
from ..errors import BrokenFile, NoTablesFound

__all__ = ["MAX_CELLS", "read_sheet"]

MAX_CELLS = 2_000_000   # a report's tables have a few hundred cells: a larger sheet is refused
NARRATIVE_CHARS = 60    # a cell this long is running text (a narrative paragraph), not a label


def _text(value: object) -> str:
    """A spreadsheet value as printed: whole numbers without `.0`, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()  # the parser reads ISO dates as it reads printed ones
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).strip()


_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_REPEAT_CAP = 10_000  # repeated empty rows/columns at the end of an ODF sheet run to a million


def _odf_covered(path: Path, data: bytes) -> list[set[tuple[int, int]]]:
    """The cells covered by merged ranges, per sheet, of an ODF spreadsheet (python-calamine does not
    report its merges): `table:covered-table-cell` elements, counted with their repeats."""
    import zipfile

    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("content.xml")
            if info.file_size > 200 * 1024 * 1024:
                raise BrokenFile(path, "its content.xml unpacks to over 200 MB", "this is not a report's table")
            root = etree.fromstring(z.read(info), etree.XMLParser(resolve_entities=False, no_network=True,
                                                                 huge_tree=False))
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise BrokenFile(path, f"an ODF spreadsheet whose content cannot be read ({exc})") from exc
    t = f"{{{_ODF_TABLE}}}"
    out = []
    for table in root.iter(f"{t}table"):
        covered: set[tuple[int, int]] = set()
        r = 0
        for row in table.iter(f"{t}table-row"):
            rows = min(int(row.get(f"{t}number-rows-repeated", "1")), _REPEAT_CAP)
            c = 0
            for cell in row:
                n = min(int(cell.get(f"{t}number-columns-repeated", "1")), _REPEAT_CAP)
                if cell.tag == f"{t}covered-table-cell":
                    covered |= {(r + i, c + j) for i in range(rows) for j in range(n)}
                c += n
            r += rows
        out.append(covered)
    return out


def read_sheet(path: Path, data: bytes, form: str) -> Document:
    """Read every sheet of a workbook into table blocks; a damaged or locked file is `BrokenFile`."""
    import python_calamine as calamine

    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError as exc:
        raise BrokenFile(path, f"a password-protected {form} workbook",
                         "open it with the password and save an unprotected copy") from exc
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for damaged files
        raise BrokenFile(path, f"a {form} workbook that cannot be opened ({exc})") from exc
    blocks: list[Block] = []
    long_text = False
    odf = _odf_covered(path, data) if data.startswith(b"PK") and b"opendocument.spreadsheet" in data[:200] else None
    try:
        for number, name in enumerate(book.sheet_names, start=1):
            try:
                sheet = book.get_sheet_by_name(name)
                if sheet.total_height * max(sheet.total_width, 1) > MAX_CELLS:
                    raise BrokenFile(path, f"sheet {name!r} has {sheet.total_height} × {sheet.total_width} "
                                           f"cells, over the {MAX_CELLS:,} limit", "this is not a report's table")
                rows = sheet.to_python(skip_empty_area=False)
                merged = sheet.merged_cell_ranges or []
            except BrokenFile:
                raise
            except Exception as exc:  # noqa: BLE001
                raise BrokenFile(path, f"sheet {name!r} cannot be read ({exc})") from exc
            covered: set[tuple[int, int]] = set(odf[number - 1]) if odf and number <= len(odf) else set()
            for (r0, c0), (r1, c1) in merged:
                covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)} - {(r0, c0)}
            for r, row in enumerate(rows):
                cells = [Cell(_text(v), f"sheet {number} ({name}) row {r + 1} col {c + 1}")
                         for c, v in enumerate(row) if (r, c) not in covered]
                if not any(c.text for c in cells):
                    continue
                long_text = long_text or any(len(c.text) >= NARRATIVE_CHARS for c in cells)
                blocks.append(Block(cells, table=True))
    finally:
        book.close()
    if not blocks:
        raise NoTablesFound(path, f"a {form} workbook whose sheets are empty")
    notes = [] if long_text else [f"a {form} spreadsheet: it holds tables only, the narrative sections are absent"]
    return Document(path=str(path), form=form, blocks=blocks, notes=notes)
