"""Seconds per brief and in total for 1,000 generated reports: papermill's default path against ours.

papermill's default path is what a user gets from `papermill.execute_notebook` (a fresh kernel per
notebook, imports and store read each time) plus the same HTML export; it is measured on a sample
(default 20 briefs) and extrapolated to all reports, and the script says so. Ours is `run_briefs`
(one reused kernel per worker, 2 workers) over every report plus the corpus brief. The generated
corpus and its store are kept under build/bench/ so that a second run skips straight to the briefs.

    .venv/bin/python benchmarks/briefs.py [--reports 1000] [--sample 20] [--workers 2]

Target: 1,000 report briefs in under 5 minutes on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 300.0


def corpus_store(n: int, base: Path) -> Path:
    """Generate n reports over four years and ingest them (both kept and reused)."""
    from helpers.store import ingest, open_store
    from helpers.synth import write_corpus

    gen, store = base / f"reports-{n}", base / f"store-{n}"
    if not (gen / "manifest.csv").is_file():
        t0 = time.perf_counter()
        write_corpus(gen, reports=n, years=[2020, 2021, 2022, 2023], forms=["text", "html", "markdown", "flat"],
                     error_share=0.1, seed=1000)
        print(f"generated {n} reports in {time.perf_counter() - t0:.1f} s")
    files = sorted(str(p) for p in gen.iterdir() if p.name != "manifest.csv")
    t0 = time.perf_counter()
    summary = ingest(files, store, progress=False)
    print(f"store: {summary} ({time.perf_counter() - t0:.1f} s)")
    if len(open_store(store).reports) < n * 0.95:
        raise SystemExit(f"only {len(open_store(store).reports)} of {n} reports were stored")
    return store


def papermill_default(store: Path, sample: int) -> list[float]:
    """Seconds per brief of papermill.execute_notebook (fresh kernel) + the HTML export."""
    import nbformat
    import papermill

    from helpers.brief_runner import export_html, plan_briefs

    jobs = [j for j in plan_briefs(store, corpus=False)][:sample]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, job in enumerate(jobs):
            t0 = time.perf_counter()
            out_nb = Path(tmp) / f"{i}.ipynb"
            papermill.execute_notebook(job.notebook, str(out_nb), parameters=job.parameters, progress_bar=False)
            (Path(tmp) / f"{i}.html").write_text(export_html(nbformat.read(out_nb, as_version=4), job.title),
                                                 encoding="utf-8")
            times.append(time.perf_counter() - t0)
    return times


def _cpu() -> float:
    """CPU seconds of this process and of every finished descendant (workers and their kernels)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ours(store: Path, workers: int) -> tuple[float, float, int, int]:
    """Wall and CPU seconds of run_briefs over the whole store (from scratch), jobs, failures."""
    from helpers.brief_runner import run_briefs

    out = store.parent / "briefs"
    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), _cpu()
    run = run_briefs(store, out, workers=workers, progress=True)
    return time.perf_counter() - t0, _cpu() - c0, len(run.jobs), len(run.failed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=20, help="briefs timed on papermill's default path")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=ROOT / "build" / "bench")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    store = corpus_store(args.reports, args.dir)
    from helpers.store import open_store

    n = len(open_store(store).reports)

    pm = papermill_default(store, args.sample)
    per_pm = statistics.mean(pm)
    print(f"papermill default (fresh kernel per brief, 1 process): {per_pm:.2f} s per brief, measured on "
          f"{len(pm)} briefs (median {statistics.median(pm):.2f} s); extrapolated to {n} reports: "
          f"{per_pm * n:.0f} s ({per_pm * n / 60:.1f} min); with {args.workers} such processes at best "
          f"{per_pm * n / args.workers / 60:.1f} min")

    load0 = os.getloadavg()[0]
    total, cpu, jobs, failed = ours(store, args.workers)
    print(f"ours (reused kernels, {args.workers} workers): {total:.1f} s for {jobs} briefs ({n} reports + corpus), "
          f"{total / jobs:.3f} s per brief (wall), {failed} failed; speed-up {per_pm * n / total:.1f}x")
    cores = os.cpu_count() or 1
    print(f"  CPU: {cpu:.0f} s in all processes ({cpu / jobs:.3f} s per brief), i.e. {cpu / cores:.0f} s of wall "
          f"time on {cores} otherwise idle cores; load average before/after: {load0:.1f}/{os.getloadavg()[0]:.1f} "
          "(other work on the machine slows the wall time)")
    verdict = "met" if total < TARGET_SECONDS and jobs >= n else "NOT met"
    print(f"target (1,000 report briefs under {TARGET_SECONDS:.0f} s): {verdict}"
          + ("" if n >= 1000 else f" (ran {n} reports; the target is for 1,000)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
