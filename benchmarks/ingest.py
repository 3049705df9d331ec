"""Benchmark `ogi ingest`: reports/s, peak memory and the cost of a second (no-op) run, by corpus size.

For each size N (default 1,000 and 10,000 generated reports; 100,000 with `--sizes 100000` takes
well over a quarter of an hour on a 2-core machine) the script generates a multi-year corpus with
helpers.synth (cached in --workdir), then runs, each in a fresh process:

1. a first ingest into an empty store (the default local process pool, all cores);
2. a second ingest of the same files into the same store, which must parse nothing.

It prints reports/s (wall clock, and per CPU-second of all processes, which does not depend on
what else the machine is doing), the peak RSS of the ingesting process, of its largest worker and
of the whole process tree (psutil, sampled every 0.1 s; resource.getrusage of self without it), and
the no-op time as a share of the first run (target <= 10%), the writer's share of the first run's
wall time, and one core's parse+validate rate of a random sample of the same files (in one
process, no pool, no store; the timed loop alone, not the process's start) with the ingest's ratio
to it (target: >= 1.6x on 2 workers), in wall-clock time and against the sample's reports per
CPU-second (the stricter ratio: one core's worth, free of the sample's waits for the disk). The load
average is printed beside each run: wall-clock figures depend on what else the machine is doing. With `--reparse`, a third run
re-parses every stored report (`ogi ingest --store S --reparse --all`: from the store's kept source
copies, corrections applied, parts replaced, years relinked) and its time is printed beside the
fresh ingest's. Peak memory should not grow with N: files are parsed in tasks of a few files,
at most a few tasks are in flight, and results are written every `batch_size` reports.

    .venv/bin/python benchmarks/ingest.py [--sizes 1000 10000] [--forms text html markdown flat] [--reparse]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YEARS = [2021, 2022, 2023]
CHUNK = 500  # reports per generator call (generation runs in parallel over chunks)


def _generate_chunk(out: str, reports: int, forms: list[str], seed: int) -> int:
    """One generator call; its manifest is hidden so that ingest does not read it as a report."""
    from helpers.synth import write_corpus

    write_corpus(out, reports=reports, years=YEARS, forms=forms, error_share=0.1, bad_file_share=0.01, seed=seed)
    os.replace(Path(out) / "manifest.csv", Path(out) / ".manifest.csv")
    return reports


def generate(corpus: Path, n: int, forms: list[str]) -> float:
    """Generate (or reuse) a corpus of n files; returns the seconds spent generating."""
    stamp = corpus / ".bench.json"
    want = {"n": n, "forms": forms, "years": YEARS, "chunk": CHUNK}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return 0.0
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    t0 = time.perf_counter()
    chunks = [(str(corpus / f"c{i:04d}"), min(CHUNK, n - i * CHUNK), forms, 1000 + i)
              for i in range((n + CHUNK - 1) // CHUNK)]
    with cf.ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        assert sum(pool.map(_generate_chunk, *zip(*chunks))) == n
    stamp.write_text(json.dumps(want))
    return time.perf_counter() - t0


class Sampler:
    """Peak RSS of this process, of its largest descendant and of the whole tree; CPU of all of them."""

    def __init__(self, every: float = 0.1) -> None:
        import threading

        self.peak_self = self.peak_child = self.peak_tree = 0.0
        self.cpu: dict[int, float] = {}
        self.peaks: dict[int, float] = {}   # peak RSS of every descendant seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(every,), daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        procs = [me] + me.children(recursive=True)
        total = 0.0
        for p in procs:
            try:
                rss = p.memory_info().rss / 2**20
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += rss
            self.cpu[p.pid] = t.user + t.system
            if p.pid == me.pid:
                self.peak_self = max(self.peak_self, rss)
            else:
                self.peak_child = max(self.peak_child, rss)
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0.0), rss)
        self.peak_tree = max(self.peak_tree, total)

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            self._sample()

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def child(corpus: str, store: str, reparse: bool = False) -> None:
    """Run one ingest (or, with `reparse`, a re-parse of every stored report) in this process and
    print its figures as JSON (memory in MiB)."""
    from helpers import ingest, reparse_store

    if reparse:
        with Sampler() as sampler:
            res = reparse_store(store, every=True, progress=False)
        print(json.dumps({"reparsed": res.reparsed, "seconds": res.seconds, "cpu_s": sum(sampler.cpu.values()),
                          "rss_tree_mib": sampler.peak_tree,
                          "status_changes": sum(res.transitions.values())}))
        return

    try:
        import psutil  # noqa: F401
        sampler: Sampler | None = Sampler()
    except ImportError:  # fall back to getrusage: the workers of the forkserver are not counted
        sampler = None
    if sampler is not None:
        with sampler:
            summary = ingest([corpus], store, progress=False)
        # the workers: the descendants that did the parsing (the fork server itself stays small)
        workers = sorted(sampler.peaks.values(), reverse=True)
        mem = {"rss_self_mib": sampler.peak_self, "rss_worker_mib": sampler.peak_child,
               "rss_workers_mib": workers, "rss_tree_mib": sampler.peak_tree, "cpu_s": sum(sampler.cpu.values())}
    else:
        summary = ingest([corpus], store, progress=False)
        use = resource.getrusage(resource.RUSAGE_SELF)
        mem = {"rss_self_mib": use.ru_maxrss / 1024, "rss_worker_mib": float("nan"), "rss_workers_mib": [],
               "rss_tree_mib": float("nan"), "cpu_s": float("nan")}
    print(json.dumps({"ingested": summary.ingested, "skipped": summary.skipped, "failed": summary.failed,
                      "linked": summary.linked, "seconds": summary.seconds, "write_s": summary.write_seconds,
                      "worker_cpu_s": summary.worker_cpu_s, "load": os.getloadavg(), **mem}))


def one_core(corpus: str, sample: int) -> None:
    """One core's parse+validate rate of the corpus's files, in this process (no pool, no store):
    `read_report` then the single-report rules, what an ingest worker does per file before the rows
    are collected. A random `sample` of the files (seeded): every k-th file would follow the
    generator's cycle of forms (k = 10 over four forms took only text and markdown); prints JSON."""
    import random

    from helpers.parse import read_report
    from helpers.validate import findings_list

    files = sorted(str(p) for p in Path(corpus).rglob("*") if p.is_file() and not p.name.startswith("."))
    picked = sorted(random.Random(17).sample(files, min(sample, len(files))))

    def run(paths: list[str]) -> int:
        ok = 0
        for path in paths:
            try:
                findings_list(read_report(path))
                ok += 1
            except Exception:  # noqa: BLE001 - a bad file costs what it costs, like in an ingest
                pass
        return ok

    run(picked[:20])  # warm-up: imports, compiled patterns, templates
    load = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    ok = run(picked)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"files": len(picked), "parsed": ok, "wall": wall, "cpu": cpu, "load": load}))


def run_child(corpus: Path, store: Path, reparse: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", str(corpus), str(store)] + (["--child-reparse"] if reparse else [])
    return _run(cmd)


def run_one_core(corpus: Path, sample: int) -> dict:
    return _run([sys.executable, __file__, "--one-core", str(corpus), str(sample)])


def _run(cmd: list[str]) -> dict:
    """The JSON figures a child run printed last (their "wall" is the child's own timing)."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--forms", nargs="+", default=["text", "html", "markdown", "flat"])
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "ogi-bench-ingest"))
    ap.add_argument("--reparse", action="store_true",
                    help="also time a re-parse of every stored report (ogi ingest --reparse --all)")
    ap.add_argument("--child", nargs=2, metavar=("CORPUS", "STORE"), help=argparse.SUPPRESS)
    ap.add_argument("--child-reparse", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--one-core", nargs=2, metavar=("CORPUS", "SAMPLE"), help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, default=1000,
                    help="files of each corpus parsed and validated in-process for one core's rate (default 1000)")
    args = ap.parse_args()
    if args.child:
        child(*args.child, reparse=args.child_reparse)
        return
    if args.one_core:
        one_core(args.one_core[0], int(args.one_core[1]))
        return
    work = Path(args.workdir)
    print(f"ingest benchmark: {os.cpu_count()} cores, forms {', '.join(args.forms)}, years {YEARS}, "
          f"work folder {work}")
    header = (f"{'reports':>8} {'gen s':>6} {'ingest s':>9} {'reports/s':>10} {'per CPU-s':>10} {'linked':>7} "
              f"{'failed':>7} {'RSS main':>9} {'RSS worker':>11} {'RSS all':>8} {'no-op s':>8} {'no-op/first':>12} "
              f"{'writer':>7} {'1 core/s':>9} {'ratio':>6} {'ratio CPU':>10}  load (1, 5, 15 min)")
    print(header + "   (RSS in MiB, peak; writer: its share of the ingest's wall time; 1 core/s: parse+validate "
          "of a sample of the same files in one process, wall clock of the timed loop; ratio: ingest reports/s "
          "over it; ratio CPU: over that sample's reports per CPU-second, the stricter figure)")
    rows = []
    for n in args.sizes:
        corpus, store = work / f"corpus-{n}", work / f"store-{n}"
        gen = generate(corpus, n, list(args.forms))
        shutil.rmtree(store, ignore_errors=True)
        first = run_child(corpus, store)
        second = run_child(corpus, store)
        core = run_one_core(corpus, min(args.sample, n))
        assert second["ingested"] == 0 and second["failed"] == 0, second
        assert second["skipped"] == first["ingested"] + first["failed"] + first["skipped"], (first, second)
        rate = first["ingested"] / first["seconds"]
        share = second["seconds"] / first["seconds"]
        core_rate = core["parsed"] / core["wall"]     # the timed loop alone, in wall-clock time
        core_cpu_rate = core["parsed"] / core["cpu"]  # ... per CPU-second: one core's worth, free of I/O waits
        rows.append((n, first, second))
        print(f"{n:>8} {gen:>6.0f} {first['seconds']:>9.1f} {rate:>10.1f} {first['ingested'] / first['cpu_s']:>10.1f} "
              f"{first['linked']:>7} {first['failed']:>7} {first['rss_self_mib']:>9.0f} {first['rss_worker_mib']:>11.0f} "
              f"{first['rss_tree_mib']:>8.0f} {second['seconds']:>8.2f} {share:>11.1%} "
              f"{first['write_s'] / first['seconds']:>7.1%} {core_rate:>9.1f} {rate / core_rate:>5.2f}x "
              f"{rate / core_cpu_rate:>9.2f}x  "
              f"{', '.join(f'{x:.2f}' for x in first['load'])}"
              f"{'' if share <= 0.10 else '  (no-op over the 10% target)'}", flush=True)
        print(f"{'':>8} workers' peak RSS (MiB): {', '.join(f'{x:.0f}' for x in first['rss_workers_mib'])}; "
              f"one core: {core['parsed']} of {core['files']} files in {core['wall']:.1f} s wall, "
              f"{core_cpu_rate:.1f} per CPU-s (load {', '.join(f'{x:.2f}' for x in core['load'])}); "
              f"ingest workers' CPU {first['worker_cpu_s']:.1f} s of the {first['cpu_s']:.1f} CPU-s of all processes",
              flush=True)
        if args.reparse:
            again = run_child(corpus, store, reparse=True)
            assert again["reparsed"] == first["ingested"], again
            print(f"{'':>8} re-parse of {again['reparsed']} stored reports: {again['seconds']:.1f} s "
                  f"({again['reparsed'] / again['seconds']:.1f} reports/s, {again['reparsed'] / again['cpu_s']:.1f} "
                  f"per CPU-s, RSS all {again['rss_tree_mib']:.0f} MiB) beside the fresh ingest's "
                  f"{first['seconds']:.1f} s ({again['seconds'] / first['seconds']:.0%}); "
                  f"{again['status_changes']} cell status changes (same parser: expected 0)", flush=True)
    if len(rows) > 1:
        (n0, a, _), (n1, b, _) = rows[0], rows[-1]
        print(f"peak RSS from {n0} to {n1} reports ({n1 / n0:.0f}x): ingesting process {a['rss_self_mib']:.0f} → "
              f"{b['rss_self_mib']:.0f} MiB, largest worker {a['rss_worker_mib']:.0f} → {b['rss_worker_mib']:.0f} MiB, "
              f"all processes {a['rss_tree_mib']:.0f} → {b['rss_tree_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
