"""ogi-reports: parse, validate, store and brief China's government information disclosure annual
reports (政府信息公开工作年度报告).

The public API is the names below; everything else is internal and may change.
"""

from .copies import find_copies
from .errors import (
    BriefError,
    BrokenFile,
    ConversionFailed,
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
from .export import export_store
from .metrics import aggregate_metrics, report_metrics
from .parse import read_report
from .record import Report
from .store import Corpus, ingest, open_store
from .template import get_template
from .validate import get_rules, validate

__version__ = "0.1.0"

__all__ = [
    "BriefError",
    "BrokenFile",
    "ConversionFailed",
    "Corpus",
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
    "aggregate_metrics",
    "export_store",
    "find_copies",
    "get_rules",
    "get_template",
    "ingest",
    "open_store",
    "read_report",
    "report_metrics",
    "validate",
]
