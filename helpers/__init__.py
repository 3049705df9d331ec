"""ogi-reports: parse, validate, store and brief China's government information disclosure annual
reports (政府信息公开工作年度报告).

The public API is the names below; everything else is internal and may change.
"""

import sys as _sys
import types as _types
import typing as _typing

# Names are imported on first use (PEP 562), so that `import helpers` (and `ogi --help`) does not
# load pandas, DuckDB and the parser before they are needed.
_LAZY = {
    "find_copies": "copies", "export_store": "export", "aggregate_metrics": "metrics",
    "report_metrics": "metrics", "flag_outliers": "metrics", "metric_definitions": "metrics", "panel": "metrics",
    "panel_table": "metrics", "rank": "metrics", "read_report": "parse", "Report": "record", "Corpus": "store",
    "ingest": "store", "open_store": "store", "get_template": "template", "get_rules": "validate",
    "validate": "validate", "Correction": "corrections", "apply_corrections": "corrections",
    "correct": "corrections", "read_corrections_file": "corrections", "reparse_store": "reparse",
    "diff_versions": "versions", "list_versions": "versions", "prune_versions": "versions",
}
_ERRORS = ("BriefError", "BrokenFile", "ConversionFailed", "CorrectionRefused", "EmptyFile", "FileTooLarge", "NoTablesFound", "NoTextLayer", "NotAReport",
           "OgiError", "ReportError", "StoreError", "TemplateError", "UndecodableText", "UnsupportedForm")
_LAZY.update({name: "errors" for name in _ERRORS})

if _typing.TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .copies import find_copies
    from .corrections import Correction, apply_corrections, correct, read_corrections_file
    from .errors import (BriefError, BrokenFile, ConversionFailed, CorrectionRefused, EmptyFile, FileTooLarge, NoTablesFound, NoTextLayer, NotAReport,
                         OgiError, ReportError, StoreError, TemplateError, UndecodableText, UnsupportedForm)
    from .export import export_store
    from .metrics import (aggregate_metrics, flag_outliers, metric_definitions, panel, panel_table, rank,
                          report_metrics)
    from .parse import read_report
    from .record import Report
    from .reparse import reparse_store
    from .store import Corpus, ingest, open_store
    from .template import get_template
    from .validate import get_rules, validate
    from .versions import diff_versions, list_versions, prune_versions


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(_types.ModuleType):
    """The package module: a submodule named like a public function (`validate`) never replaces the
    function when the submodule is imported (as the eager `from .validate import validate` did)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


__version__ = "0.1.0"

__all__ = [
    "BriefError",
    "BrokenFile",
    "ConversionFailed",
    "Corpus",
    "Correction",
    "CorrectionRefused",
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
    "apply_corrections",
    "correct",
    "diff_versions",
    "export_store",
    "find_copies",
    "flag_outliers",
    "get_rules",
    "get_template",
    "ingest",
    "list_versions",
    "metric_definitions",
    "open_store",
    "panel",
    "panel_table",
    "prune_versions",
    "rank",
    "read_corrections_file",
    "read_report",
    "reparse_store",
    "report_metrics",
    "validate",
]
