"""`ogi correct STORE REPORT_ID KEY VALUE --why TEXT`: correct one cell by hand (helpers/corrections.py)."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, say

ORDER = 42


def register(sub: Any) -> None:
    """Add the `correct` subcommand."""
    p = sub.add_parser("correct", help="correct one cell of a stored report by hand (kept in the corrections table)",
                       description="Record the right value of a cell the parser misread: appended to the store's "
                       "corrections table with who, when, why and the parsed value it replaces; the cell becomes "
                       "status `corrected`, the report is validated again and a store version is recorded. "
                       "Exit 0 when applied, 2 when refused (the reason on stderr).")
    p.add_argument("store", metavar="STORE", help="a corpus store folder")
    p.add_argument("report_id", metavar="REPORT_ID", help="the report's sha256 (or its first 6+ digits)")
    p.add_argument("key", metavar="KEY", help="the cell: table/row/column, e.g. table_3/new_received/total")
    p.add_argument("value", metavar="VALUE", help="the number the original prints ('' with --as blank/placeholder)")
    p.add_argument("--why", required=True, metavar="TEXT", help="why: e.g. where in the original it is printed")
    p.add_argument("--by", default="", metavar="NAME", help="who made the correction")
    p.add_argument("--as", dest="as_", choices=["ok", "blank", "placeholder"], default="ok",
                   help="what the original prints: a number (ok, default), a blank or a placeholder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Apply the correction and say what it did."""
    from ..corrections import Correction, apply_corrections

    res = apply_corrections(args.store, [Correction(args.report_id, args.key, args.value, args.why.strip(),
                                                    args.by.strip(), args.as_)])[0]
    if not res.applied:
        say(f"ogi correct: refused: {res.message}")
        return EXIT_UNREADABLE
    print(f"{args.store}: correction {res.correction_id}: {res.message}")
    return EXIT_OK
