"""`ogi versions STORE` and `ogi diff STORE V1 V2`: a store's data versions, and the cells that
changed between two of them (see helpers/versions.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, positive_int

ORDER = 47
FORMATS = ["table", "csv", "json"]


def register(sub: Any) -> None:
    """Add the `versions` and `diff` subcommands."""
    p = sub.add_parser("versions", help="list a store's data versions (one row each); --prune KEEP drops older ones",
                       description="List the data versions of a store, oldest first: id, time, ogi version, "
                       "summary, and the reports, cells and corrections each holds. Every ingest, correction and "
                       "re-parse records one; cite the id. --prune KEEP keeps the newest KEEP versions and "
                       "removes the part files only older versions needed.")
    p.add_argument("store", metavar="STORE", help="a corpus store folder")
    p.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json")
    p.add_argument("--prune", type=positive_int, metavar="KEEP", help="keep only the newest KEEP versions")
    p.set_defaults(func=run_versions)
    d = sub.add_parser("diff", help="the cells that differ between two versions of a store",
                       description="List the cells that differ between versions V1 and V2 of a store (ids from "
                       "`ogi versions`, a unique prefix, `latest` or `latest~N`): report_id, table, row, column, "
                       "old value and status, new value and status, and change (changed, added, removed).")
    d.add_argument("store", metavar="STORE", help="a corpus store folder")
    d.add_argument("old", metavar="V1", help="the older version")
    d.add_argument("new", metavar="V2", help="the newer version")
    d.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json")
    d.set_defaults(func=run_diff)


def _print(frame: Any, fmt: str, noun: str) -> None:
    import pandas as pd

    from ..terminal import dump_json, json_value, table_text, write_csv

    def plain(v: Any) -> Any:
        v = v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v
        return None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v

    rows = [tuple(plain(v) for v in r) for r in frame.astype(object).itertuples(index=False, name=None)]
    cols = list(frame.columns)
    if fmt == "json":
        print(dump_json([{c: json_value(v) for c, v in zip(cols, r)} for r in rows]))
    elif fmt == "csv":
        write_csv(sys.stdout, cols, rows)
    else:
        print(table_text(rows, cols))
        print(f"({len(rows)} {noun}{'s' if len(rows) != 1 else ''})")


def run_versions(args: argparse.Namespace) -> int:
    """Prune (if asked), then list the versions."""
    from ..cli import say
    from ..versions import list_versions, prune_versions

    if args.prune:
        gone = prune_versions(args.store, args.prune)
        say(f"{args.store}: pruned {len(gone)} version(s), kept the newest {args.prune}")
    _print(list_versions(args.store), args.format, "version")
    return EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    """Print the changed cells."""
    from ..versions import diff_versions

    _print(diff_versions(args.store, args.old, args.new), args.format, "changed cell")
    return EXIT_OK
