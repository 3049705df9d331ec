"""What a crawl shows while it runs and prints when it ends: per-host figures (pages, files, bytes,
errors), as progress bars on a terminal and as the summary table.

While crawling, one bar counts every URL of the crawl with the totals beside it, and one bar per
site being crawled (one per concurrent seed, replaced when the seed is done) counts that seed's
URLs with its host's figures. The bars go to stderr and only to a terminal (tqdm), so a log or a
pipe gets the summary alone.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["HOST_COLUMNS", "Progress", "figures", "host_rows", "hosts_text"]

HOST_COLUMNS = ["host", "pages", "files", "MB", "not_modified", "errors", "disallowed"]


def figures(stats: Mapping[str, int]) -> dict[str, Any]:
    """One host's (or the crawl's) figures as a bar shows them: pages, files, MB, errors."""
    return {"pages": int(stats.get("pages", 0)), "files": int(stats.get("files", 0)),
            "MB": f"{int(stats.get('bytes', 0)) / 1e6:.1f}", "errors": int(stats.get("errors", 0))}


def host_rows(hosts: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The summary's per-host rows (HOST_COLUMNS), the hosts with errors first, then by pages and
    files; at most `limit` rows."""
    if hosts is None or not len(hosts):
        return []
    frame = hosts.sort_values(["errors", "pages", "files", "host"], ascending=[False, False, False, True],
                              kind="stable")
    if limit is not None:
        frame = frame.head(limit)
    return [{"host": r["host"], "pages": int(r["pages"]), "files": int(r["files"]),
             "MB": f"{int(r['bytes']) / 1e6:.2f}", "not_modified": int(r["not_modified"]),
             "errors": int(r["errors"]), "disallowed": int(r["disallowed"])} for r in frame.to_dict("records")]


def hosts_text(hosts: Any, limit: int = 20) -> str:
    """The per-host table of a crawl's summary (`FetchSummary.hosts`), with a count of the hosts
    left out beyond `limit`; "" when no host was asked anything."""
    from ..terminal import table_text

    rows = host_rows(hosts, limit)
    if not rows:
        return ""
    text = table_text(rows, HOST_COLUMNS)
    if len(hosts) > limit:
        text += f"\n... and {len(hosts) - limit} more hosts"
    return text


class Progress:
    """The crawl's bars (see the module doc); every method is a no-op when they are off."""

    def __init__(self, enabled: bool, slots: int, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled) and bool(isatty and isatty())
        self.total: Any = None
        self.bars: dict[int, tuple[Any, int]] = {}   # seed → (its bar, its line)
        self.free = list(range(1, max(1, slots) + 1))
        if self.enabled:
            from tqdm import tqdm

            self.total = tqdm(unit="url", file=self.stream, desc="fetch", dynamic_ncols=True, position=0)

    def start(self, key: int, host: str) -> None:
        """A seed's crawl begins: a bar of its own, labelled with its host."""
        if not self.enabled:
            return
        from tqdm import tqdm

        position = self.free.pop(0) if self.free else len(self.bars) + 1
        self.bars[key] = (tqdm(unit="url", file=self.stream, desc=host, dynamic_ncols=True, position=position,
                               leave=False), position)

    def tick(self, key: int | None, host_stats: Mapping[str, int], totals: Mapping[str, int]) -> None:
        """One URL done: the seed's bar with its host's figures, the total bar with the crawl's."""
        if not self.enabled:
            return
        bar = self.bars.get(key, (None, 0))[0] if key is not None else None
        if bar is not None:
            bar.set_postfix(figures(host_stats), refresh=False)
            bar.update(1)
        self.total.set_postfix(figures(totals), refresh=False)
        self.total.update(1)

    def finish(self, key: int) -> None:
        """A seed is done: its bar goes, its line is free for the next seed."""
        bar, position = self.bars.pop(key, (None, 0))
        if bar is not None:
            self.free.append(position)
            self.free.sort()
            bar.refresh()   # its last figures shown (a throttled bar may lag behind), then cleared
            bar.close()

    def close(self) -> None:
        for key in list(self.bars):
            self.finish(key)
        if self.total is not None:
            self.total.close()
