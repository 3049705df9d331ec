"""The start URLs of a crawl: a CSV file with columns `organ,url[,notes]`, or URLs as given."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import FetchError
from .links import normalize_url

__all__ = ["Seed", "read_seeds"]


@dataclass(frozen=True)
class Seed:
    """An organ's annual-report column: its start URL (a list page)."""

    organ: str
    url: str
    notes: str = ""


def read_seeds(args: Iterable[str | os.PathLike[str]]) -> list[Seed]:
    """Seeds from CSV files (organ,url[,notes]) and bare http(s) URLs, in order, without repeats.

    A bare URL's organ is its host. A row without a usable URL is an error naming the file and line.
    """
    out: list[Seed] = []
    seen: set[str] = set()

    def add(seed: Seed) -> None:
        if seed.url not in seen:
            seen.add(seed.url)
            out.append(seed)

    for arg in args:
        text = str(arg)
        url = normalize_url(text) if text.lower().startswith(("http://", "https://")) else None
        if url is not None:
            add(Seed(organ=url.split("/")[2], url=url))
            continue
        path = Path(text)
        if not path.is_file():
            raise FetchError(f"{text}: neither an http(s) URL nor a seeds CSV file; give a file with columns "
                             "organ,url[,notes] or a start URL")
        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                fields = [f.strip().lower() for f in reader.fieldnames or []]
                if "url" not in fields or "organ" not in fields:
                    raise FetchError(f"{path}: the seeds CSV needs a header with columns organ,url[,notes]; "
                                     f"found {', '.join(fields) or 'no header'}")
                for n, row in enumerate(reader, start=2):
                    row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                    url = normalize_url(row.get("url", ""))
                    if url is None:
                        raise FetchError(f"{path}, line {n}: {row.get('url')!r} is not an http(s) URL")
                    add(Seed(organ=row.get("organ") or url.split("/")[2], url=url, notes=row.get("notes", "")))
        except UnicodeDecodeError as exc:
            raise FetchError(f"{path}: the seeds CSV is not UTF-8 text ({exc}); save it as UTF-8") from exc
    if not out:
        raise FetchError("no seeds: give a seeds CSV (organ,url[,notes]) or start URLs")
    return out
