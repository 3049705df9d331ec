"""ogi fetch: pages per second against the local site family (rate limit off, one core), and the
memory of 100k queued URLs. Run with `.venv/bin/python benchmarks/fetch.py [--organs N]`."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from collections import deque
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organs", type=int, default=52)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core: crawler and server together

    from helpers.fetch import Settings, crawl, read_manifest
    from helpers.fetch.crawl import Item
    from helpers.fetch.seeds import Seed
    from helpers.synth.site import SiteFamily, serve

    t0 = time.perf_counter()
    family = SiteFamily(organs=args.organs, slow=0.0)   # no planted slow pages: the crawler's own speed
    print(f"site family: {args.organs} organs x {len(family.years)} years, {len(family.docs)} documents, "
          f"generated in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp, serve(family) as served:
        seeds = [Seed(o, u) for o, u in served.seeds]
        settings = Settings(rate=None, concurrency=args.concurrency, max_bytes=1 << 20, backoff=0.01, progress=False)
        summary = crawl(seeds, Path(tmp) / "a", settings)
        n = len(served.requests())
        m = read_manifest(Path(tmp) / "a")
        print(f"crawl: {n} requests ({summary.pages} pages, {summary.files} files, {summary.bytes / 1e6:.1f} MB) in "
              f"{summary.seconds:.2f} s = {n / summary.seconds:.0f} requests/s, "
              f"{(summary.pages + summary.files) / summary.seconds:.0f} pages+files/s (server in the same core)")
        served.clear_log()
        again = crawl(seeds, Path(tmp) / "a", settings)
        print(f"re-run (conditional GET: 304s, and the planted errors again): {len(served.requests())} requests in {again.seconds:.2f} s = "
              f"{len(served.requests()) / again.seconds:.0f} requests/s; {len(m)} manifest rows")

    tracemalloc.start()
    queue = deque(Item(f"https://www{i % 1000}.example.gov.cn/col/ndbg/art_{i}.html", "entry",
                       f"https://www{i % 1000}.example.gov.cn/col/ndbg/index_{i % 50}.html", 2000 + i % 25,
                       f"某某局{2000 + i % 25}年政府信息公开工作年度报告", "2024-01-15") for i in range(100_000))
    seen = {item.url for item in queue}
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory: 100k queued URLs (queue items + seen set) = {current / 1e6:.1f} MB "
          f"({current / len(queue):.0f} bytes per URL)")
    del queue, seen


if __name__ == "__main__":
    main()
