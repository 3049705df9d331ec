"""Per-host pacing: at most `rate` requests per second to one host (host:port), one at a time and
1/rate seconds after the previous one ended, while different hosts are fetched concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

__all__ = ["RateLimiter"]


class RateLimiter:
    """`async with limiter.slot(host):` waits for the host's turn. rate=None turns pacing off
    (requests to one host are then still one at a time)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._delay: dict[str, float] = {}

    def set_delay(self, host: str, seconds: float) -> None:
        """A longer gap for one host (robots.txt Crawl-delay)."""
        self._delay[host] = seconds

    def interval(self, host: str) -> float:
        base = 1.0 / self.rate if self.rate else 0.0
        return max(base, self._delay.get(host, 0.0))

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            wait = self._next.get(host, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:  # the gap runs from the end of a request: the server never sees two closer than that
                self._next[host] = time.monotonic() + self.interval(host)
