"""`ogi fetch SEEDS... --out ARCHIVE`: crawl annual-report columns into an ogi archive."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, positive_int, table_text

ORDER = 35
MAX_HOST_LINES = 20


def _rate(text: str) -> float:
    """argparse type: requests per second, 0 for no pacing."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no pacing) or a positive number of requests per second")
    return value


def register(sub: Any) -> None:
    """Add the `fetch` subcommand."""
    from ..fetch.robots import DEFAULT_USER_AGENT

    p = sub.add_parser("fetch", help="crawl annual-report columns of government sites into an archive",
                       description="Follow each seed's list pages (pagination) within its site, recognise annual-report "
                       "entries by title, and download each report page, its attachments and article images into "
                       "ARCHIVE (WARC files and manifest.csv), honouring robots.txt and a per-host rate limit. "
                       "Safe to kill and re-run: a crawl resumes; after a finished crawl a re-run fetches only what "
                       "changed (conditional GET) and records changed bodies as new versions. Exit 0 when the crawl "
                       "finished (HTTP errors and refusals are manifest rows), 2 on usage errors or when no seed "
                       "could be reached.")
    p.add_argument("seeds", nargs="+", metavar="SEEDS", help="a CSV file with columns organ,url[,notes], or start URLs")
    p.add_argument("--out", metavar="ARCHIVE", help="the archive folder (created, resumed or re-run)")
    p.add_argument("--years", type=int, nargs="+", metavar="Y", help="only reports of these years (by title)")
    p.add_argument("--rate", type=_rate, default=1.0, metavar="R",
                   help="requests per second per host (host:port); 0 turns pacing off (default 1)")
    p.add_argument("--concurrency", type=positive_int, default=4, metavar="N", help="sites crawled at once (default 4)")
    p.add_argument("--max-bytes", type=positive_int, default=None, metavar="N",
                   help="largest body downloaded in full (default 50 MB); larger ones are recorded, cut")
    p.add_argument("--user-agent", default=DEFAULT_USER_AGENT, metavar="TEXT", help="the User-Agent sent and "
                   "matched against robots.txt")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=None, metavar="N", help="retries on 5xx and time-outs (default 3)")
    p.add_argument("--backoff", type=float, default=None, metavar="S",
                   help="seconds before the first retry, doubling each time (default 1)")
    p.add_argument("--dry-run", action="store_true", help="fetch list pages only and list what would be fetched")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (shown on a terminal only: the crawl's and one per site being crawled, with "
                   "its host's pages, files, MB and errors)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Crawl, then print the summary (and the per-host table)."""
    from ..fetch import Settings, crawl, read_seeds
    from ..fetch.progress import hosts_text

    if not args.out and not args.dry_run:
        print("ogi fetch: give --out ARCHIVE (or --dry-run)", file=sys.stderr)
        return EXIT_UNREADABLE
    seeds = read_seeds(args.seeds)
    settings = Settings(rate=args.rate or None, concurrency=args.concurrency, user_agent=args.user_agent,
                        years=frozenset(args.years) if args.years else None, dry_run=args.dry_run,
                        progress=not args.no_progress)
    for name, value in (("max_bytes", args.max_bytes), ("timeout", args.timeout), ("retries", args.retries),
                        ("backoff", args.backoff)):
        if value is not None:
            setattr(settings, name, value)
    summary = crawl(seeds, args.out or ".", settings)
    if args.dry_run:
        rows = summary.would_fetch
        print(table_text(rows, ["organ", "kind", "year", "title", "url"]) if rows else "nothing to fetch")
    hosts = hosts_text(summary.hosts, MAX_HOST_LINES)
    if hosts:
        print(hosts, file=sys.stderr)
    print(f"{args.out or 'dry run'}: {summary}")
    if summary.reached == 0:
        print("ogi fetch: no seed could be reached; check the URLs and the network", file=sys.stderr)
        return EXIT_UNREADABLE
    return EXIT_OK
