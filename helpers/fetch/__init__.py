"""Collecting reports from government sites: a polite, resumable crawler that writes an ogi
archive (WARC files and a manifest), and the reading of an archive's reports for ingest.

Steps, one module each: seeds (the start URLs), robots (robots.txt), ratelimit (per-host pacing),
links (what a page's links are), crawl (the crawl itself), archive (WARC + manifest + descriptor),
ingest (an archive's reports with their provenance, for the store).
"""

from __future__ import annotations

from ..errors import OgiError

__all__ = ["FetchError", "FetchSummary", "Settings", "crawl", "read_manifest", "read_seeds"]


class FetchError(OgiError):
    """A crawl could not start or an archive could not be read (the message says what to do)."""


from .archive import read_manifest  # noqa: E402
from .crawl import FetchSummary, Settings, crawl  # noqa: E402
from .seeds import read_seeds  # noqa: E402
