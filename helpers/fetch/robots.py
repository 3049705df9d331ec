"""robots.txt, as RFC 9309 says: parsed by Protego (wildcards, Allow/Disallow precedence,
Crawl-delay); a missing file (4xx) allows everything, an unreachable one (5xx, network error)
disallows everything on that host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Robots", "robots_url"]

# The User-Agent sent and matched against robots.txt unless --user-agent says otherwise.
DEFAULT_USER_AGENT = "ogi-reports/0.1 (government information disclosure report research; polite crawler)"


def robots_url(url: str) -> str:
    """The robots.txt URL of the host of `url`."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/robots.txt"


@dataclass
class Robots:
    """The rules of one host for one user agent."""

    parser: Any = None           # a Protego instance, or None
    allow_all: bool = False
    reason: str = ""

    @classmethod
    def from_response(cls, status: int | None, body: bytes) -> Robots:
        """Rules from the robots.txt response (status None: it could not be fetched)."""
        if status is not None and 200 <= status < 300:
            from protego import Protego

            return cls(parser=Protego.parse(body.decode("utf-8", errors="replace")))
        if status is not None and 400 <= status < 500:
            return cls(allow_all=True, reason=f"robots.txt answered {status}: no rules")
        return cls(reason=f"robots.txt unreachable ({status or 'no response'}): the host is not crawled")

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.parser is not None:
            return bool(self.parser.can_fetch(url, user_agent))
        return self.allow_all

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay else 0.0
