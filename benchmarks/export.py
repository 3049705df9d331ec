"""Seconds and peak memory of `ogi export` (every table, both layouts) for a generated store.

The generated corpus and its store are kept under build/bench/export-<N>/ so that a second run
skips straight to the exports.

    .venv/bin/python benchmarks/export.py [--reports 500] [--formats csv parquet stata xlsx]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from helpers.export import export_store
    from helpers.store import ingest, open_store
    from helpers.synth import write_corpus

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=500)
    ap.add_argument("--formats", nargs="+", default=["csv", "parquet", "stata", "xlsx"])
    args = ap.parse_args()
    root = ROOT / "build" / "bench" / f"export-{args.reports}"
    store = root / "store"
    if not (store / "ogi-store.json").is_file():
        write_corpus(root / "files", reports=args.reports, years=[2020, 2021, 2022, 2023], forms=["text", "html"],
                     error_share=0.2, seed=13)
        (root / "files" / "manifest.csv").unlink(missing_ok=True)
        ingest([root / "files"], store, progress=False)
    corpus = open_store(store)
    n_cells = len(corpus.cells)
    print(f"store: {len(corpus.reports)} reports, {n_cells} cells, {len(corpus.findings)} findings")
    for to in args.formats:
        for layout in ("long", "wide"):
            out = root / "out" / f"{to}-{layout}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            res = export_store(corpus, to, out, layout=layout)
            secs = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in res.files) / 1e6
            print(f"{to:8s} {layout:5s} {secs:6.1f} s  {size:7.1f} MB  " + ", ".join(f"{n} {r}" for n, r in res.tables))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
