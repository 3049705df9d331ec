"""Write a stored corpus (ogi export DIR --to csv|parquet|stata|xlsx --out PATH [--table NAME]
[--layout long|wide] [--excel-safe]): as files for Stata, R, Excel or pandas, with a bilingual codebook
and a Frictionless data package (datapackage.json).

PATH with no suffix, or an existing folder: every table (reports, cells, findings, metrics, panel),
one file each, with codebook.csv and datapackage.json (--table NAME writes one). PATH ending in the
suffix of --to (.csv, .parquet, .dta, .xlsx): one table (default cells) as that file, with
<stem>_codebook.csv and <stem>_datapackage.json beside it. Any other suffix is an error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK

ORDER = 60
# helpers.export.FORMATS, LAYOUTS and TABLES (tests/unit/test_cli_robust.py checks they agree), written
# out here because importing helpers.export loads pandas before the arguments are parsed.
FORMATS, LAYOUTS = ("csv", "parquet", "stata", "xlsx"), ("long", "wide")
TABLES = ("reports", "cells", "findings", "metrics", "panel")


def register(sub: Any) -> None:
    """Add the `export` subcommand."""
    p = sub.add_parser("export", help="write a stored corpus as CSV, Parquet, Stata or Excel with a codebook",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", metavar="DIR", help="a corpus store folder")
    p.add_argument("--to", choices=FORMATS, required=True, help="file format")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="a folder (every table), or a file whose suffix matches --to (one table)")
    p.add_argument("--table", choices=TABLES, default=None,
                   help="write only this table (default: every table into a folder; cells into a file)")
    p.add_argument("--layout", choices=LAYOUTS, default="long",
                   help="of the cells table: long, one row per cell with its status; wide, one row per report "
                        "with a status variable beside each value (default long)")
    p.add_argument("--labels", choices=["zh", "en"], default="zh",
                   help="language of the Stata variable and value labels (default zh; the codebook has both)")
    p.add_argument("--excel-safe", action="store_true",
                   help="CSV only: prefix ' to text fields starting with = + - @ so that a spreadsheet does not "
                        "run them as formulas (the file is then no longer verbatim; see docs/store.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print one line saying what was written."""
    from ..export import export_store

    res = export_store(args.store, args.to, args.out, layout=args.layout, labels=args.labels, table=args.table,
                       excel_safe=args.excel_safe)
    extra = f"; {res.dropped_cells} non-template cells left out (see --layout long)" if res.dropped_cells else ""
    tables = ", ".join(f"{name} {rows} rows" for name, rows in res.tables)
    print(f"wrote {res.path} ({tables}), {res.codebook.name} and {res.datapackage.name if res.datapackage else ''}"
          f"{extra}", file=sys.stderr)
    return EXIT_OK
