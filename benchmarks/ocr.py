"""OCR accuracy and speed on generated scans, per degradation and dpi, for each engine tried.

Each generated report (helpers.synth.random_report, 2019 and 2021 formats) is rendered as a scan
(helpers.synth.scan.render_scan: 150/200/300 dpi × clean, light = 1° skew + light noise + JPEG 85,
seal = a red seal over Table 3, heavy = 2° skew + more noise + JPEG 60 + seal, photo = slight
perspective), as a scanned PDF (and, for 200 dpi light, as a multi-page TIFF), and read by OCR.
Every template cell is scored against the generator's oracle: exact (status and value right),
flagged (unreadable or missing: the reader said it could not read it; or `inferred`, the right value
in a row placed by order because its label was not read) or **silently wrong** (any other reading:
must be 0). Seconds per page are CPU seconds on one core (onnxruntime on one
thread; the tesseract child process counted), the wall clock beside them.

The OCR'd cells are stored before the honesty step's thresholds (confidence and relation checks;
readings that are no clean number are marked, as they are whatever the thresholds), so the
summary also shows how many cells would be silently wrong at other confidence thresholds: that
is how each engine's THRESHOLDS in helpers/readers/scan.py were chosen.

Run: nice -n 10 .venv/bin/python benchmarks/ocr.py --reports 200 --sample 50 [--jobs 2] [--out build/ocr-bench.jsonl]
     .venv/bin/python benchmarks/ocr.py --summary build/ocr-bench.jsonl
A run appends one JSON line per report, so an interrupted run keeps its results and resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.parse import parse_document  # noqa: E402
from helpers.readers import scan  # noqa: E402
from helpers.synth import random_report  # noqa: E402
from helpers.synth.scan import DEGRADATIONS, render_scan  # noqa: E402

CONFIGS = [(dpi, deg, "pdf-scan") for deg in DEGRADATIONS for dpi in (150, 200, 300)] + [(200, "light", "tiff")]


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_one(seed: int, engine: str) -> dict[str, Any]:
    dpi, deg, form = CONFIGS[seed % len(CONFIGS)]
    report = random_report(seed, template=["2019", "2021"][seed % 2], organ_kind=["department", "government",
                           "township"][seed % 3])  # consistent: relations hold
    out = render_scan(report, seed, form=form, dpi=dpi, **DEGRADATIONS[deg])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"scan{out.suffix}"
        path.write_bytes(out.data)
        cpu, wall = _cpu(), time.perf_counter()
        reader = scan.read_image if form == "tiff" else scan.read_scanned_pdf
        try:
            doc = reader(path, out.data, engine=engine, settle=False)
            scan.mark_unclean(doc)  # threshold-free; the thresholds are applied in score()
            parsed = parse_document(doc)
            cells = parsed.cell_records()
            template, error = parsed.template, None
        except Exception as exc:  # noqa: BLE001 - a failed report is a result too
            cells, template, error = [], report.template, f"{type(exc).__name__}: {exc}"
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    expected = {f"{r['table']}/{r['row']}/{r['column']}": (None if r["value"] is None or
                                                           (isinstance(r["value"], float) and math.isnan(r["value"]))
                                                           else float(r["value"]), r["status"])
                for r in out.expected.to_dict("records")}
    keep = ("table", "row", "column", "value", "status", "raw", "source")
    return {"seed": seed, "engine": engine, "dpi": dpi, "degradation": deg, "form": form, "pages": out.meta["pages"],
            "cpu": cpu, "wall": wall, "template": template, "error": error,
            "cells": [{k: c[k] for k in keep} for c in cells], "expected": expected}


def score(rec: dict[str, Any], min_checked: float, min_alone: float) -> tuple[int, int, int]:
    """(exact, flagged, silently wrong) of one stored report at these thresholds."""
    cells = rec["cells"]
    doubt = scan.doubtful_cells(cells, rec["template"], min_checked, min_alone) if cells else {}
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in cells}
    exact = flagged = wrong = 0
    for key, (value, status) in rec["expected"].items():
        c = got.get(key)
        right = (value is None and c is not None and c["value"] is None) or (
            value is not None and c is not None and c["value"] is not None and abs(float(c["value"]) - value) < 1e-9)
        if c is None or key in doubt or c["status"] in ("unreadable", "missing"):
            flagged += 1
        elif c["status"] == status and right:
            exact += 1
        elif c["status"] == "inferred" and right:
            flagged += 1  # the right value in a row placed by order, its label not read: said, not wrong
        else:
            wrong += 1
    return exact, flagged, wrong


def summary(path: Path) -> None:
    recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"{len(recs)} reports read ({path})")
    print("thresholds (cells in a relation / in none, Table 2): " +
          ", ".join(f"{e} {a:.2f} / {b:.2f}" for e, (a, b) in scan.THRESHOLDS.items()) + "\n")
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        groups[(r["engine"], r["degradation"], r["dpi"], r["form"])].append(r)
    head = f"{'engine':10} {'degradation':11} {'dpi':>4} {'form':8} {'reports':>7} {'cells':>6} {'exact':>7} " \
           f"{'flagged':>7} {'WRONG':>5} {'failed':>6} {'cpu s/page':>10} {'wall s/page':>11}"
    print(head)
    print("-" * len(head))
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0.0, 0])
    for key in sorted(groups):
        rs = groups[key]
        e = f = w = 0
        for r in rs:
            a, b, c = score(r, *scan.THRESHOLDS[r["engine"]])
            e, f, w = e + a, f + b, w + c
        n = e + f + w
        pages = sum(r["pages"] for r in rs)
        failed = sum(1 for r in rs if r["error"])
        cpu, wall = sum(r["cpu"] for r in rs), sum(r["wall"] for r in rs)
        t = totals[key[0]]
        for i, v in enumerate((len(rs), n, e, f, w, cpu, wall, pages)):
            t[i] += v
        print(f"{key[0]:10} {key[1]:11} {key[2]:>4} {key[3]:8} {len(rs):>7} {n:>6} {e / n:>7.1%} {f / n:>7.1%} "
              f"{w:>5} {failed:>6} {cpu / pages:>10.1f} {wall / pages:>11.1f}")
    print()
    for engine, (reports, n, e, f, w, cpu, wall, pages) in totals.items():
        print(f"{engine}: {int(reports)} reports, {int(n)} cells: exact {e / n:.1%}, flagged {f / n:.1%}, "
              f"silently wrong {int(w)}; {cpu / pages:.1f} CPU s/page ({wall / pages:.1f} wall)")
    print("\nMust-show case (rapidocr, 200 dpi, <= 1 deg skew, light noise; scanned PDF and multi-page TIFF):")
    cases = {"clean + light, PDF and TIFF": (("clean", "light"), ("pdf-scan", "tiff")),
             "light, scanned PDF": (("light",), ("pdf-scan",)), "light, multi-page TIFF": (("light",), ("tiff",))}
    for label, (degs, forms) in cases.items():
        chosen = [r for r in recs if r["engine"] == "rapidocr" and r["dpi"] == 200 and r["degradation"] in degs
                  and r["form"] in forms]
        if chosen:
            e = f = w = 0
            for r in chosen:
                a, b, c = score(r, *scan.THRESHOLDS[r["engine"]])
                e, f, w = e + a, f + b, w + c
            print(f"  {label}: {len(chosen)} reports, {e + f + w} cells, exact {e / (e + f + w):.1%}, "
                  f"silently wrong {w}")
    for engine in sorted({r["engine"] for r in recs}):
        print(f"\nsilently wrong cells at other thresholds ({engine}; checked / alone):")
        mine = [r for r in recs if r["engine"] == engine]
        for checked in (0.0, 0.3, 0.5, 0.7):
            row = []
            for alone in (0.5, 0.8, 0.9, 0.95, 0.97):
                ws = [score(r, checked, alone) for r in mine]
                row.append(f"{checked:.1f}/{alone:.2f}: {sum(x[2] for x in ws)} wrong, "
                           f"{sum(x[0] for x in ws) / max(sum(sum(x) for x in ws), 1):.1%} exact")
            print("  " + " | ".join(row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=6, help="reports for the first engine")
    ap.add_argument("--sample", type=int, default=2, help="reports for the other engines")
    ap.add_argument("--engines", default="rapidocr,tesseract")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "ocr-bench.jsonl")
    ap.add_argument("--summary", type=Path, help="only print the summary of a results file")
    ap.add_argument("--jobs", type=int, default=1, help="reports read at once, one process each")
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        done = {(r["engine"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines()) if r}
    engines = args.engines.split(",")
    # interleave: the second engine's sample runs alongside, so a cut-short run still compares both
    plan = [(engines[0], s) for s in range(args.reports)]
    for k, engine in enumerate(engines[1:]):
        step = max(args.reports // max(args.sample, 1), 1)
        for j in range(args.sample):
            plan.insert(min(len(plan), (j + 1) * step + j), (engine, j * step))
    todo = [(engine, seed) for engine, seed in plan if (engine, seed) not in done]

    def keep(rec: dict[str, Any]) -> None:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        e, f, w = score(rec, *scan.THRESHOLDS[rec["engine"]])
        print(f"{rec['engine']} seed {rec['seed']} {rec['dpi']}dpi {rec['degradation']} {rec['form']}: exact {e} "
              f"flagged {f} WRONG {w} {rec['cpu'] / rec['pages']:.1f} cpu s/page {rec['error'] or ''}", flush=True)

    if args.jobs > 1:  # one report a process, each on one core: CPU seconds per page stay one core's
        import concurrent.futures as cf

        with cf.ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, seed, engine) for engine, seed in todo]
            for fut in cf.as_completed(futures):
                keep(fut.result())
    else:
        for engine, seed in todo:
            keep(run_one(seed, engine))
    summary(args.out)


if __name__ == "__main__":
    os.environ.setdefault("OGI_OCR_THREADS", "1")
    main()
