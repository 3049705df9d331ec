"""`ogi export DIR --to csv|parquet|stata|xlsx [--layout long|wide] --out PATH`: a stored corpus
as a file for Stata, R or Excel, with a bilingual codebook beside it (<stem>_codebook.csv)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK

ORDER = 60
# helpers.export.FORMATS and LAYOUTS (tests/unit/test_cli_robust.py checks they agree), written out
# here because importing helpers.export loads pandas before the arguments are parsed.
FORMATS, LAYOUTS = ("csv", "parquet", "stata", "xlsx"), ("long", "wide")


def register(sub: Any) -> None:
    """Add the `export` subcommand."""
    p = sub.add_parser("export", help="write a stored corpus as CSV, Parquet, Stata or Excel with a codebook",
                       description="Write a stored corpus as CSV, Parquet, Stata (.dta, version 118) or Excel, "
                                   "with a codebook (variable, label_zh, label_en, unit, definition) written "
                                   "beside it as <stem>_codebook.csv.")
    p.add_argument("store", metavar="DIR", help="a corpus store folder")
    p.add_argument("--to", choices=FORMATS, required=True, help="file format")
    p.add_argument("--layout", choices=LAYOUTS, default="long",
                   help="long: one row per cell with report metadata; wide: one row per report (default long)")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    p.add_argument("--labels", choices=["zh", "en"], default="zh",
                   help="language of the Stata variable labels (default zh; the codebook has both)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print one line saying what was written."""
    from ..export import export_store

    res = export_store(args.store, args.to, args.out, layout=args.layout, labels=args.labels)
    extra = f"; {res.dropped_cells} non-template cells left out (see --layout long)" if res.dropped_cells else ""
    print(f"wrote {res.path} ({res.rows} rows x {res.columns} columns) and {res.codebook}{extra}", file=sys.stderr)
    return EXIT_OK
