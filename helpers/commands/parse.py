"""Read reports (text, HTML, DOCX, PDF) into the canonical cell table: one row per template cell
with its value, printed text, status, source and note. Exit 0 when every file was read, 2 when a
file could not be (it is named on stderr; the others are still printed)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, dump_json, failure_record, positive_int, say, table_text
from ..limits import DEFAULT_MAX_BYTES

ORDER = 10


def register(sub: Any) -> None:
    """Add the `parse` subcommand."""
    p = sub.add_parser("parse", help="read reports into the canonical cell table", description=__doc__)
    p.add_argument("files", nargs="+", metavar="FILE", help="report files (.txt, .md, .html, .docx, .pdf ...)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table: aligned for the terminal; csv: one line per cell with the file's path; json: the "
                        "report and its cells (default table)")
    p.add_argument("--no-ocr", action="store_true",
                   help="do not read scans and images by OCR (they are then NoTextLayer errors)")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES,
                   help=f"refuse files larger than this many bytes (default {DEFAULT_MAX_BYTES})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse each file; a file that fails is reported and the others go on."""
    from ..parse import read_report
    from ..terminal import escape_controls

    from ..terminal import write_csv

    results: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        try:
            report = read_report(path, max_bytes=args.max_bytes, ocr=not args.no_ocr)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            failed += 1
            results.append(failure_record(path, exc))
            say(results[-1]["error"]["message"])
            continue
        results.append(report.to_dict())
    if args.format == "json":
        print(dump_json(results[0] if len(results) == 1 else results))
    elif args.format == "csv":
        columns = ["path", "table", "row", "column", "value", "raw", "status", "source", "note"]
        write_csv(sys.stdout, columns, ([res["report"]["path"], *(c[k] for k in columns[1:])]
                                        for res in results if "cells" in res for c in res["cells"]))
    else:
        for res in results:
            if "cells" not in res:
                continue
            meta = res["report"]
            print(escape_controls(f"# {meta['path']}: {meta['agency'] or '(agency not printed)'}, year {meta['year']}, "
                                  f"template {meta['template']}, {meta['form']}"))
            for note in meta.get("notes") or []:
                print(escape_controls(f"# note: {note}"))
            print(table_text(res["cells"], ["table", "row", "column", "value", "status", "raw"]))
            print()
    return EXIT_UNREADABLE if failed else EXIT_OK
