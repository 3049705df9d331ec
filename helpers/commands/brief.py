"""Offline HTML briefs of reports and of the corpus (ogi brief INPUT... --out DIR [--workers N]).

INPUT is one store folder (written by `ogi ingest`), or report files and folders, which are first
ingested into DIR/store. Exit code 3 when at least one brief failed (each is listed in
DIR/index.html with its error; the others are written all the same).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..cli import EXIT_BRIEF_FAILED, EXIT_OK, positive_int

ORDER = 60


def register(sub: Any) -> None:
    """Add the `brief` subcommand."""
    p = sub.add_parser("brief", help="execute the brief notebooks and publish offline HTML briefs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="a store folder, or report files and folders")
    p.add_argument("--out", required=True, metavar="DIR", help="where index.html, corpus.html and reports/ go")
    p.add_argument("--workers", type=positive_int, default=min(2, os.cpu_count() or 1),
                   help="kernels run side by side (default: min(2, CPUs))")
    p.add_argument("--year", type=int, default=None, help="only reports of this year (and a corpus brief of it)")
    p.add_argument("--filter", default="", metavar="EXPR",
                   help='only reports matching EXPR, in the filter language of docs/briefs.md (column, comparison, '
                        'in/not in a [list], and/or/not, literals; never run as code), e.g. '
                        '\'organ_kind == "department" and year >= 2021\'')
    p.add_argument("--force", action="store_true", help="re-run every brief, even those whose inputs did not change")
    p.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                   help="folder with report_brief.ipynb and corpus_brief.ipynb (default: the project's notebooks/)")
    p.add_argument("--keep-notebooks", action="store_true",
                   help="keep every executed notebook under DIR/notebooks/ (failed ones are always kept under failed/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _store_of(inputs: list[str], out: Path, progress: bool = True) -> str:
    """The store to brief: the one given, or DIR/store after ingesting the files and folders given."""
    from ..errors import BriefError
    from ..store import MARKER, ingest

    stores = [p for p in inputs if (Path(p) / MARKER).is_file()]
    if stores:
        if len(inputs) > 1:
            raise BriefError("ogi brief", "give either one store folder or report files and folders, not both "
                             f"(stores given: {', '.join(stores)})")
        return stores[0]
    missing = [p for p in inputs if not Path(p).exists()]
    if missing:
        raise BriefError("ogi brief", f"no such file or folder: {', '.join(missing)}")
    from ..brief_runner import check_output, input_files

    check_output(out)
    files = input_files(inputs, out)
    if not files:
        raise BriefError("ogi brief", f"no report files in {', '.join(inputs)} (the brief folder {out} is never read)")
    store = out / "store"
    summary = ingest(files, store, progress=progress)
    print(f"ingest: {summary}", file=sys.stderr)
    return str(store)


def run(args: argparse.Namespace) -> int:
    """Ingest if needed, run the briefs, print where index.html is."""
    from ..brief_runner import NOTEBOOK_DIR, run_briefs

    out = Path(args.out)
    store = _store_of(list(args.inputs), out, progress=not args.no_progress)
    result = run_briefs(store, out, workers=args.workers, year=args.year, where=args.filter,
                        notebooks=args.notebooks or NOTEBOOK_DIR, progress=not args.no_progress, force=args.force,
                        keep_notebooks=args.keep_notebooks)
    n = len(result.jobs)
    failed = result.failed
    print(f"briefs: {n - len(failed)} ok, {len(failed)} failed, {n - result.ran} unchanged (skipped) "
          f"in {result.seconds:.1f} s")
    for res in failed:
        print(f"  failed: {res.id}: {res.error}", file=sys.stderr)
    print(f"open {result.index}")
    return EXIT_BRIEF_FAILED if failed else EXIT_OK
