"""`ogi parse FILE... [--format table|csv|json]`: read reports into the canonical cell table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, dump_json, failure_record, positive_int, table_text
from ..read import DEFAULT_MAX_BYTES

ORDER = 10


def register(sub: Any) -> None:
    """Add the `parse` subcommand."""
    p = sub.add_parser("parse", help="read reports into the canonical cell table")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES,
                   help=f"refuse files larger than this many bytes (default {DEFAULT_MAX_BYTES})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse each file; a file that fails is reported and the others go on."""
    from ..parse import read_report

    results: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        try:
            report = read_report(path, max_bytes=args.max_bytes)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            failed += 1
            results.append(failure_record(path, exc))
            print(results[-1]["error"]["message"], file=sys.stderr)
            continue
        results.append(report.to_dict())
    if args.format == "json":
        print(dump_json(results[0] if len(results) == 1 else results))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(["path", "table", "row", "column", "value", "raw", "status", "source", "note"])
        for res in results:
            if "cells" not in res:
                continue
            for c in res["cells"]:
                writer.writerow([res["report"]["path"], c["table"], c["row"], c["column"],
                                 "" if c["value"] is None else c["value"], c["raw"], c["status"], c["source"],
                                 c["note"]])
    else:
        for res in results:
            if "cells" not in res:
                continue
            meta = res["report"]
            print(f"# {meta['path']}: {meta['agency'] or '(agency not printed)'}, year {meta['year']}, "
                  f"template {meta['template']}, {meta['form']}")
            print(table_text(res["cells"], ["table", "row", "column", "value", "status", "raw"]))
            print()
    return EXIT_UNREADABLE if failed else EXIT_OK
