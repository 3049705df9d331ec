"""SIGKILL an `ogi ingest` at random moments and check the store survives each time.

For each round: a fresh store, `ogi ingest CORPUS --store S` started (the default process pool,
or a Dask LocalCluster with `--workers 2`), SIGKILL after a random delay, then: no process of ours
left 10 s later, the store opens, a second `ogi ingest` completes it, and its reports, cells and
findings tables equal those of an uninterrupted ingest (no row lost, none duplicated).

    .venv/bin/python benchmarks/kill.py --rounds 30            # 30 per pool kind (the Must-show run)
    .venv/bin/python benchmarks/kill.py --rounds 3 --kinds processes

Prints one line per round and a summary; exit 1 when any round failed.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OGI = [sys.executable, "-c", "from helpers.cli import entry; entry()"]
# Small batches, so that kills land before, between and during batch writes and in the link phase.
KINDS = {"processes": ["--batch-size", "8"], "dask": ["--workers", "2", "--batch-size", "8"]}


def tables(store: Path) -> dict[str, pd.DataFrame]:
    """The reports, cells and findings tables in a canonical order (ingest times dropped)."""
    from helpers import open_store

    corpus = open_store(store)
    out = {}
    for name in ("reports", "cells", "findings"):
        frame = getattr(corpus, name).drop(columns=["ingested_at"], errors="ignore")
        frame = frame.astype(str)
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> list[str]:
    """The names of the tables that differ."""
    return [n for n in a if not a[n].equals(b[n])]


def descendants(pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def survivors(procs: list[Any], seconds: float = 10.0) -> list[int]:
    """The processes of `procs` still alive after `seconds`."""
    import psutil

    deadline = time.monotonic() + seconds
    alive = procs
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return [p.pid for p in alive]


def run_ingest(corpus: Path, store: Path, extra: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OGI, "ingest", str(corpus), "--store", str(store), "--no-progress", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def one_round(corpus: Path, store: Path, extra: list[str], delay: float,
              reference: dict[str, pd.DataFrame]) -> tuple[bool, str]:
    """Kill an ingest after `delay` s, then complete it; (ok, what happened)."""
    proc = subprocess.Popen([*OGI, "ingest", str(corpus), "--store", str(store), "--no-progress", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    time.sleep(delay)
    kids = descendants(proc.pid)
    finished = proc.poll() is not None
    os.kill(proc.pid, signal.SIGKILL) if not finished else None
    proc.wait()
    left = survivors(kids)
    if left:
        for pid in left:   # clean up after a failed round: only the processes this round started
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return False, f"{len(left)} process(es) alive 10 s after the kill: {left}"
    res = run_ingest(corpus, store, extra)
    if res.returncode not in (0, 2):
        return False, f"the re-run failed (exit {res.returncode}): {res.stderr.strip()[-300:]}"
    diff = same(reference, tables(store))
    if diff:
        return False, f"tables differ from the uninterrupted ingest: {', '.join(diff)}"
    return True, f"{'finished before the kill' if finished else f'{len(kids)} child process(es) gone'}; re-run: " \
                 f"{res.stdout.strip()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30, help="kills per pool kind (default 30)")
    ap.add_argument("--reports", type=int, default=120, help="reports in the generated corpus (default 120)")
    ap.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sys.exit(run(args.rounds, args.reports, args.kinds, args.seed))


def run(rounds: int, reports: int, kinds: list[str], seed: int = 0, work: Path | None = None) -> int:
    """The benchmark (also called by the slow test with a few rounds); returns the number of failed rounds."""
    from helpers import synth

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work or tmp)
        corpus = base / "corpus"
        synth.write_corpus(corpus, reports=reports, years=[2021, 2022, 2023], forms=["text", "html"],
                           error_share=0.2, bad_file_share=0.05, seed=seed)
        failed = killed = 0
        for kind in kinds:
            ref_store = base / f"reference-{kind}"
            t0 = time.perf_counter()
            res = run_ingest(corpus, ref_store, KINDS[kind])
            span = time.perf_counter() - t0
            reference = tables(ref_store)
            print(f"{kind}: uninterrupted ingest {span:.1f} s ({res.stdout.strip()})", flush=True)
            for i in range(rounds):
                delay = rng.uniform(0.2, 0.9 * span)
                ok, what = one_round(corpus, base / f"store-{kind}-{i}", KINDS[kind], delay, reference)
                failed += not ok
                killed += not what.startswith("finished before")
                print(f"  {kind} kill {i + 1}/{rounds} at {delay:.2f} s: {'ok' if ok else 'FAILED'}: {what}", flush=True)
        print(f"{failed} of {rounds * len(kinds)} rounds failed ({killed} killed mid-run, "
              f"{rounds * len(kinds) - killed} finished before their kill)")
        return failed


if __name__ == "__main__":
    main()
