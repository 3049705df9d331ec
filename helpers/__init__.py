"""ogi-reports: parse, validate, store and brief China's government information disclosure annual
reports (政府信息公开工作年度报告).

The public API is the names below; everything else is internal and may change.
"""

from .errors import (
    BriefError,
    BrokenFile,
    EmptyFile,
    FileTooLarge,
    NoTablesFound,
    NoTextLayer,
    NotAReport,
    OgiError,
    ReportError,
    StoreError,
    TemplateError,
    UndecodableText,
    UnsupportedForm,
)
from .parse import read_report
from .record import Report
from .template import get_template

__version__ = "0.1.0"

__all__ = [
    "BriefError",
    "BrokenFile",
    "EmptyFile",
    "FileTooLarge",
    "NoTablesFound",
    "NoTextLayer",
    "NotAReport",
    "OgiError",
    "Report",
    "ReportError",
    "StoreError",
    "TemplateError",
    "UndecodableText",
    "UnsupportedForm",
    "__version__",
    "get_template",
    "read_report",
]
