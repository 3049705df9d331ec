"""Benchmark `ogi ingest --scheduler ADDRESS` on a real Dask cluster of 1, 2, 4 ... worker processes.

Starts a `dask scheduler` and N `dask worker` processes (the CLI programs of distributed, one
thread each, on this machine), waits until the scheduler sees all N, imports the parser in every
worker (a cluster is long-lived: its start-up is not the ingest's), then ingests a generated corpus
(helpers.synth, cached in --workdir like benchmarks/ingest.py) into an empty store through the
same path as `ogi ingest --scheduler ADDRESS`, in a child process. Prints, per worker count:
reports/s (wall clock), the speed-up over one worker, the CPU seconds of the Dask workers and of
the ingesting process, the writer's time and its share of the wall time, and the wall time of the
parse phase and of the link phase that follows it (linking organ-years and their cross-year
findings). The writer runs on a thread of the ingesting process, so the ingest is writer-bound
only when its time approaches the parse phase's; on a machine of C cores the curve flattens at
C workers whatever the writer does. The load average is printed beside each run.

    .venv/bin/python benchmarks/dask_cluster.py [--reports 2000] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import generate  # noqa: E402  (the same cached corpora as benchmarks/ingest.py)


def child(corpus: str, store: str, address: str) -> None:
    """One ingest on the cluster at `address`, in this process; prints its figures as JSON."""
    from helpers import ingest

    c0 = time.process_time()
    s = ingest([corpus], store, scheduler=address, progress=False)
    print(json.dumps({"ingested": s.ingested, "failed": s.failed, "seconds": s.seconds, "parse_s": s.parse_seconds,
                      "write_s": s.write_seconds, "worker_cpu_s": s.worker_cpu_s,
                      "main_cpu_s": time.process_time() - c0}))


def _bin(name: str) -> str:
    """A program of this virtualenv (`dask`), else the one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def _cpu(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def run(n_workers: int, corpus: Path, store: Path, work: Path) -> dict:
    """Start a scheduler and n workers, ingest, stop them; returns the figures."""
    from distributed import Client

    sched_file = work / f"scheduler-{n_workers}.json"
    sched_file.unlink(missing_ok=True)
    logs = open(work / f"cluster-{n_workers}.log", "w")
    procs = [subprocess.Popen([_bin("dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], stdout=logs, stderr=logs)]
    try:
        for _ in range(300):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(n_workers):
            procs.append(subprocess.Popen([_bin("dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard", "--memory-limit", "0"], stdout=logs, stderr=logs))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(n_workers, timeout=120)

            def warm() -> str:
                import helpers.parse  # noqa: F401
                import helpers.validate  # noqa: F401
                from helpers.store import parser_version

                return parser_version()

            client.run(warm)
            pids = list(client.run(os.getpid).values())
        shutil.rmtree(store, ignore_errors=True)
        load = os.getloadavg()
        cpu0 = _cpu(pids)
        out = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(store), address],
                             check=True, capture_output=True, text=True).stdout
        res = json.loads(out.strip().splitlines()[-1])
        res["dask_cpu_s"] = _cpu(pids) - cpu0
        res["load"] = load
        return res
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--forms", nargs="+", default=["text", "html", "markdown", "flat"])
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "ogi-bench-ingest"))
    ap.add_argument("--child", nargs=3, metavar=("CORPUS", "STORE", "ADDRESS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / f"corpus-{args.reports}"
    generate(corpus, args.reports, list(args.forms))
    print(f"Dask cluster benchmark: {os.cpu_count()} cores, {args.reports} generated reports, a `dask scheduler` and "
          f"N `dask worker` processes (1 thread each) on this machine")
    print(f"{'workers':>7} {'ingest s':>9} {'reports/s':>10} {'speed-up':>9} {'parse s':>8} {'link s':>7} "
          f"{'writer s':>9} {'writer %':>9} {'dask CPU-s':>11} {'main CPU-s':>11}  load (1, 5, 15 min)")
    base = None
    rows = []
    for n in args.workers:
        r = run(n, corpus, work / f"store-dask-{n}", work)
        rate = r["ingested"] / r["seconds"]
        base = base or rate
        rows.append((n, r, rate))
        print(f"{n:>7} {r['seconds']:>9.1f} {rate:>10.1f} {rate / base:>8.2f}x {r['parse_s']:>8.1f} "
              f"{r['seconds'] - r['parse_s']:>7.1f} {r['write_s']:>9.2f} {r['write_s'] / r['seconds']:>8.1%} "
              f"{r['dask_cpu_s']:>11.1f} {r['main_cpu_s']:>11.1f}  {', '.join(f'{x:.2f}' for x in r['load'])}",
              flush=True)
    cores = os.cpu_count() or 1
    n, r, rate = max(rows, key=lambda x: x[2])
    ceiling = r["ingested"] / r["write_s"] if r["write_s"] else float("inf")
    print(f"best: {rate:.1f} reports/s with {n} workers. The writer alone would sustain {ceiling:.0f} reports/s "
          f"(its time {r['write_s']:.1f} s is {r['write_s'] / r['seconds']:.1%} of the wall time), so with "
          f"{cores} cores the curve flattens where the workers outnumber the cores, not at the writer; the ingesting "
          f"process's own CPU ({r['main_cpu_s']:.1f} s: hashing, the writer, the link phase) shares those cores.")


if __name__ == "__main__":
    main()
