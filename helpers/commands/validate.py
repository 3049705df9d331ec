"""Check reports against every rule of the catalogue (relations, completeness, format, sections,
timeliness and, with --previous, continuity with the year before; docs/rules.md).

Exit codes: 0 no error finding; 1 at least one error finding; 2 a file could not be read (2 wins).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from ..cli import EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE, dump_json, failure_record, positive_int, say, table_text
from ..limits import DEFAULT_MAX_BYTES

ORDER = 20

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def iso_date(text: str) -> dt.date:
    """argparse type: a date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def register(sub: Any) -> None:
    """Add the `validate` subcommand."""
    p = sub.add_parser("validate", help="check reports: relations, completeness, format, sections, "
                       "timeliness, continuity (rules: docs/rules.md)", description=__doc__)
    p.add_argument("files", nargs="+", metavar="FILE", help="report files to check")
    p.add_argument("--previous", metavar="FILE",
                   help="the same organ's report for the year before (enables X1, X2 and COPY)")
    p.add_argument("--published", type=iso_date, metavar="DATE",
                   help="publication date YYYY-MM-DD (overrides the report's own date for TIMELINESS)")
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="table: findings aligned for the terminal; json: the report and its findings (default table)")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES,
                   help=f"refuse files larger than this many bytes (default {DEFAULT_MAX_BYTES})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate each file; a file that cannot be read is reported and the others go on."""
    from ..parse import read_report
    from ..validate import finding_records, validate

    previous = None
    if args.previous:
        try:
            previous = read_report(args.previous, max_bytes=args.max_bytes)
        except Exception as exc:  # noqa: BLE001 - reported as one line, never a traceback
            say(f"ogi validate: --previous {failure_record(args.previous, exc)['error']['message']}")
            return EXIT_UNREADABLE
    results: list[dict[str, Any]] = []
    unreadable = errors = False
    for path in args.files:
        try:
            report = read_report(path, max_bytes=args.max_bytes)
            if previous is not None:
                _check_previous(report, previous, args.previous)
            findings = finding_records(validate(report, previous=previous, published=args.published))
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            unreadable = True
            results.append(failure_record(path, exc))
            say(results[-1]["error"]["message"])
            continue
        errors = errors or any(f["severity"] == "error" for f in findings)
        results.append({"report": report.metadata(), "findings": findings})
    if args.format == "json":
        print(dump_json(results[0] if len(results) == 1 else results))
    else:
        for res in results:
            if "findings" in res:
                print(_table(res))
    return EXIT_UNREADABLE if unreadable else EXIT_FINDINGS if errors else EXIT_OK


def _check_previous(report: Any, previous: Any, previous_path: str) -> None:
    """--previous must be another report of an earlier year (comparing a report with itself gives a
    100% COPY; with a later year, every continuity finding is upside down)."""
    from ..errors import ReportError

    if previous.sha256 and previous.sha256 == report.sha256:
        raise ReportError(report.path, f"--previous {previous_path} is this same report",
                          "give the same organ's report for the year before")
    if previous.year is not None and report.year is not None and previous.year >= report.year:
        raise ReportError(report.path, f"--previous {previous_path} reports on {previous.year}, not on a year "
                                       f"before {report.year}", "give the same organ's report for the year before")


def _table(res: dict[str, Any]) -> str:
    """One report's findings for the terminal: a summary line, then errors, warnings, info."""
    from ..terminal import escape_controls

    meta, findings = res["report"], res["findings"]
    counts = {s: sum(f["severity"] == s for f in findings) for s in _SEVERITY_ORDER}
    head = escape_controls(f"# {meta['path']}: {meta['agency'] or '(agency not printed)'}, year {meta['year']}, "
            f"template {meta['template']}: {counts['error']} errors, {counts['warning']} warnings, "
            f"{counts['info']} info")
    if not findings:
        return head + "\n"
    rows = sorted(findings, key=lambda f: _SEVERITY_ORDER.get(f["severity"], 9))
    return head + "\n" + table_text(rows, ["severity", "rule", "table", "row", "column", "expected", "found",
                                           "delta", "message"]) + "\n"
