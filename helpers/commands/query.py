"""Run one SQL statement (DuckDB) over a corpus store's tables and print the result.

Sandboxed by default: one read-only statement (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE,
EXPLAIN) over the views reports, cells, findings, failures, sections, corrections and versions; DuckDB reaches no file
but the store's own part files (no read_csv of other files, no COPY, ATTACH, INSTALL/LOAD or URL)
and its configuration is locked. --unsafe gives DuckDB's full power, for your own queries on
your own machine. A refused or failed statement is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, say

ORDER = 45


def register(sub: Any) -> None:
    """Add the `query` subcommand."""
    p = sub.add_parser("query", help="run SQL over a corpus store (read-only and sandboxed)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", metavar="DIR", help="a corpus store folder (written by ogi ingest)")
    p.add_argument("query", metavar="SQL", help='one DuckDB statement, e.g. "SELECT year, count(*) FROM reports '
                   'GROUP BY 1"')
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table: aligned for the terminal; csv: with a header line; json: a list of objects "
                        "(default table)")
    p.add_argument("--unsafe", action="store_true",
                   help="no sandbox: any DuckDB statement, file and extension (only for your own queries)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the store, run the query, print the rows."""
    from ..errors import QueryError
    from ..store import open_store
    from ..terminal import dump_json, json_value, table_text, write_csv

    corpus = open_store(args.store, sandbox=not args.unsafe)
    try:
        res = corpus.query(args.query)
    except QueryError as exc:
        say(f"ogi query: {exc}")
        return EXIT_UNREADABLE
    if args.format == "json":
        print(dump_json([{c: json_value(v) for c, v in zip(res.columns, row)} for row in res.rows]))
    elif args.format == "csv":
        write_csv(sys.stdout, res.columns, res.rows)
    else:
        print(table_text(res.rows, res.columns))
        print(f"({len(res.rows)} row{'s' if len(res.rows) != 1 else ''})")
    return EXIT_OK
