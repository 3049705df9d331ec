"""Our exceptions: one base class, a branch per stage; every message names the file and what to do.

    OgiError
    ├── ReportError                 a file could not be read as a report (carries .path)
    │   ├── FileTooLarge            over a size limit (bytes, cells, lines, spans, unpacked XML, PDF operators)
    │   ├── NotARegularFile         a FIFO, device, socket or folder: refused by type, never opened for reading
    │   ├── FileUnreadable          the operating system refused to read it (permissions, I/O error)
    │   ├── EmptyFile               nothing in it
    │   ├── UnsupportedForm         binary or a format we do not read
    │   ├── UndecodableText         no encoding gives readable text
    │   ├── BrokenFile              a DOCX/PDF container that its library cannot open
    │   ├── NoTextLayer             a scan or image with OCR turned off (--no-ocr)
    │   ├── ConversionFailed        LibreOffice could not convert an old Word/WPS file in time
    │   ├── NotAReport              readable, but not an annual report
    │   └── NoTablesFound           a report whose statistical tables are not there
    ├── TemplateError               a template YAML file is missing or malformed
    ├── StoreError                  a corpus store cannot be opened or written
    │   ├── StoreDamaged            a part file is damaged (names it; repair: ogi ingest --repair)
    │   ├── StoreBusy               another ingest holds the store's lock
    │   └── CorrectionRefused       a correction names no stored report or cell, or no number
    ├── QueryError                  a SQL statement failed or was refused by the sandbox
    └── BriefError                  a notebook brief failed (carries notebook path and cell)

Bad data inside a readable report never raises: it becomes a cell status or a finding.
"""

from __future__ import annotations

__all__ = [
    "BriefError",
    "BrokenFile",
    "ConversionFailed",
    "EmptyFile",
    "FileTooLarge",
    "FileUnreadable",
    "NoTablesFound",
    "NoTextLayer",
    "NotAReport",
    "NotARegularFile",
    "QueryError",
    "OgiError",
    "ReportError",
    "CorrectionRefused",
    "StoreBusy",
    "StoreDamaged",
    "StoreError",
    "TemplateError",
    "UndecodableText",
    "UnsupportedForm",
]


class OgiError(Exception):
    """Base class of every error ogi-reports raises on purpose."""


class ReportError(OgiError):
    """A file could not be read as a report. The message starts with the path."""

    hint = "check the file"

    def __init__(self, path: object, problem: str, hint: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        if hint is not None:
            self.hint = hint
        super().__init__(path, problem, hint)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem} ({self.hint})"

    def to_dict(self) -> dict[str, str]:
        """The error as a plain record (for JSON output and the store's failures table)."""
        return {"class": type(self).__name__, "message": str(self)}


class FileTooLarge(ReportError):
    hint = "raise the limit with --max-bytes if this really is one report"


class FileUnreadable(ReportError):
    hint = "check the file's permissions"


class EmptyFile(ReportError):
    hint = "the file is empty; download it again"


class UnsupportedForm(ReportError):
    hint = "ogi reads text, HTML, Word (DOCX, DOC, WPS), PDF, scans and images, spreadsheets and OFD reports"


class NotARegularFile(UnsupportedForm):
    hint = "pass a regular file (FIFOs, devices and sockets are never read)"


class UndecodableText(ReportError):
    hint = "save the file as UTF-8 or GB18030 and try again"


class BrokenFile(ReportError):
    hint = "the file is damaged or truncated; download it again"


class NoTextLayer(ReportError):
    hint = "the file is a scan or image without a text layer; run without --no-ocr to read it by OCR"


class ConversionFailed(ReportError):
    hint = "open the file in Word or WPS and save it as .docx"


class NotAReport(ReportError):
    hint = "this does not look like a 政府信息公开工作年度报告"


class NoTablesFound(ReportError):
    hint = "none of the three statistical tables was found; the report may be incomplete"


class TemplateError(OgiError):
    """A template file is missing or malformed (a packaging or editing mistake)."""


class StoreError(OgiError):
    """A corpus store cannot be opened or written."""


class StoreDamaged(StoreError):
    """A part file of a store cannot be read (truncated, garbled, empty, not Parquet)."""


class StoreBusy(StoreError):
    """Another ingest holds the store's lock (and we were told not to wait)."""


class CorrectionRefused(StoreError):
    """A correction by hand was refused: its report or cell key is not in the store, its value is
    not a number, its reason is empty, or the cell already reads that (the message says which)."""


class QueryError(OgiError):
    """A SQL statement failed, or the sandbox refused it; the message is one line."""


class BriefError(OgiError):
    """A notebook brief failed; carries the notebook path and the failing cell index."""

    def __init__(self, notebook: str, message: str, cell_index: int | None = None) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.message = message
        super().__init__(notebook, message, cell_index)

    def __str__(self) -> str:
        where = f" (cell {self.cell_index})" if self.cell_index is not None else ""
        return f"{self.notebook}{where}: {self.message}"
