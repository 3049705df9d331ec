"""`ogi query DIR "SELECT ..."`: run DuckDB SQL over a store's tables and print the result."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, dump_json, table_text

ORDER = 45


def register(sub: Any) -> None:
    """Add the `query` subcommand."""
    p = sub.add_parser("query", help="run SQL over a corpus store",
                       description="Run a DuckDB SQL query over the store's views reports, cells, findings, "
                       "failures and sections, e.g. ogi query store \"SELECT year, count(*) FROM reports GROUP BY 1\".")
    p.add_argument("store", metavar="DIR")
    p.add_argument("query", metavar="SQL")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=run)


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as dicts with missing values as None (JSON null, empty in tables and CSV)."""
    import pandas as pd

    def clean(v: Any) -> Any:
        if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):
            return None
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            return v.item()
        return v

    return [{str(k): clean(v) for k, v in rec.items()} for rec in frame.astype(object).to_dict("records")]


def run(args: argparse.Namespace) -> int:
    """Open the store, run the query, print the rows."""
    import duckdb

    from ..store import open_store

    corpus = open_store(args.store)
    try:
        frame = corpus.sql(args.query)
    except duckdb.Error as exc:
        print(f"ogi query: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    rows = _records(frame)
    columns = [str(c) for c in frame.columns]
    if args.format == "json":
        print(dump_json(rows))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in columns])
    else:
        print(table_text(rows, columns))
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return EXIT_OK
