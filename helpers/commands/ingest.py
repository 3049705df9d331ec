"""`ogi ingest PATH... --store DIR`: parse, validate and store every new file under the paths."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, positive_int, say
from ..limits import DEFAULT_MAX_BYTES

ORDER = 40


def register(sub: Any) -> None:
    """Add the `ingest` subcommand."""
    p = sub.add_parser("ingest", help="add reports (files and folders) to a corpus store",
                       description="Parse and validate every file under PATH that the store does not hold yet "
                       "(by sha256) and write it to the store's Parquet tables. Safe to interrupt and re-run. "
                       "Exit 0 when every new file was read, 2 when some could not be (see the failures table).")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="report files or folders (hidden files are skipped); none needed with --repair")
    p.add_argument("--store", required=True, metavar="DIR", help="the store folder (created if absent)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="run on a Dask LocalCluster of N worker processes (default: a local process pool)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask cluster at ADDRESS, e.g. tcp://10.0.0.5:8786 ('serial': in-process)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="reports per part file (default 1024: helpers.store.DEFAULT_BATCH_SIZE)")
    p.add_argument("--retry-failed", action="store_true", help="try again the files recorded as failures")
    p.add_argument("--repair", action="store_true",
                   help="drop every batch with a damaged part file and ingest its files again (from its file list)")
    p.add_argument("--reparse", action="store_true",
                   help="read again every stored report an older parser read (from the store's sources/), "
                        "keeping the corrections, and print what changed; no PATH needed")
    p.add_argument("--all", dest="reparse_all", action="store_true", help="with --reparse: every stored report")
    p.add_argument("--corrections", metavar="FILE",
                   help="apply a corrections CSV (columns report_id,key,value,as,why,by) after the ingest")
    p.add_argument("--no-keep-sources", action="store_true",
                   help="do not keep a copy of each new file in the store's sources/ folder (then --reparse "
                        "reads the original paths, if the files are still there)")
    p.add_argument("--no-wait", action="store_true",
                   help="fail at once when another ingest is writing to the store (default: wait for it)")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES,
                   help=f"refuse files larger than this many bytes (default {DEFAULT_MAX_BYTES})")
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    """Ingest, then print the summary line."""
    from ..store import DEFAULT_BATCH_SIZE, ingest

    if not args.paths and not (args.repair or args.reparse or args.corrections):
        args.parser.error("give at least one PATH (or --repair, --reparse or --corrections FILE)")
    if args.reparse_all and not args.reparse:
        args.parser.error("--all goes with --reparse")
    from ..terminal import escape_controls

    options = dict(workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress,
                   batch_size=args.batch_size or DEFAULT_BATCH_SIZE, max_bytes=args.max_bytes,
                   retry_failed=args.retry_failed, wait=not args.no_wait)
    from ..fetch.archive import is_archive  # ogi fetch archives: their reports, with URL provenance

    archives = [p for p in args.paths if is_archive(p)]
    paths = [p for p in args.paths if p not in archives]
    if archives:
        from ..fetch.ingest import ingest_archive

        for archive in archives:
            part = ingest_archive(archive, args.store, **options)
            print(escape_controls(f"{archive}: {part}"))
        if not paths and not (args.repair or args.reparse or args.corrections):
            return EXIT_OK
    code = EXIT_OK
    if paths or args.repair:
        summary = ingest(paths, args.store, repair=args.repair, keep_sources=not args.no_keep_sources, **options)
        print(escape_controls(f"{args.store}: {summary}"))
        if summary.failed:
            say(f"{summary.failed} file(s) could not be read; see them with: ogi query {args.store} "
                "\"SELECT path, error_class, message FROM failures\"")
            code = EXIT_UNREADABLE
    if args.reparse:
        from ..reparse import reparse_store

        changes = reparse_store(args.store, every=args.reparse_all, workers=args.workers, scheduler=args.scheduler,
                                progress=not args.no_progress, wait=not args.no_wait)
        lines = changes.lines()
        print(escape_controls(f"{args.store}: {lines[0]}"))
        for line in lines[1:]:
            print(escape_controls(line))
        if changes.failed or changes.no_source:
            code = EXIT_UNREADABLE
    if args.corrections:
        from ..corrections import apply_corrections, read_corrections_file

        results = apply_corrections(args.store, read_corrections_file(args.corrections), wait=not args.no_wait)
        for res in results:
            if res.applied:
                print(escape_controls(f"{args.store}: correction {res.correction_id}: {res.message}"))
            else:
                say(f"ogi ingest: {args.corrections}: refused: {res.message}")
        n_ok = sum(r.applied for r in results)
        print(escape_controls(f"{args.store}: {args.corrections}: {n_ok} correction(s) applied, "
                              f"{len(results) - n_ok} refused"))
        if n_ok < len(results):
            code = EXIT_UNREADABLE
    return code
