"""Robustness of the parser on the layout families of issue 11, against the generator's own oracle.

Generates `--reports` reports (default 10,000) spread evenly over every family of
`helpers.synth.families.FAMILIES` and random combinations of them, in the forms where each family
occurs; parses each with the public `helpers.read_report` and judges every template cell against
the oracle. Prints per family (and per form with `--by-form`): cells exact, flagged (read as not ok
/ expected not ok), **silently wrong** (read `ok` with a wrong value, or `ok` where the oracle says
the cell cannot be read: must be 0), overconfident (`ok` where only `inferred` is justified),
agency and year right, and the wall time.

Run: .venv/bin/python benchmarks/robustness.py [--reports N] [--seed S] [--workers 2]
     [--family NAME|combination] [--show K] [--by-form]
`--show K` prints the first K silently wrong cells of each group with the family, form and seed that reproduce
them (`--family F --seed S --reports 1 --first-seed` regenerates exactly that report).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import OgiError, read_report  # noqa: E402
from helpers.synth import random_report  # noqa: E402
from helpers.synth.families import (  # noqa: E402
    FAMILIES,
    FAMILY_FORMS,
    judge,
    random_combination,
    render_family,
)

GROUPS = (*FAMILIES, "combination")
# PDFs take longest to write and read: drawn less often where a family has other forms too.
_FORM_WEIGHT = {"pdf": 0.4, "docx": 0.8}


def make_report(seed: int, group: str) -> tuple[Any, Any]:
    """The report and its rendering for one task (the same seed always gives the same file)."""
    rng = random.Random(seed)
    template = "2021" if group == "hybrid" or rng.random() < 0.75 else "2019"
    year = rng.choice([2021, 2022, 2023, 2024]) if template == "2021" else rng.choice([2019, 2020])
    rep = random_report(rng.getrandbits(64), template=template, year=year,
                        blank_share=rng.choice([0.0, 0.0, 0.05]), placeholder_share=rng.choice([0.0, 0.0, 0.03]),
                        unknown_rows=rng.choice([0, 0, 1]))
    if group == "combination":
        return rep, random_combination(rep, rng)
    forms = FAMILY_FORMS[group]
    form = rng.choices(forms, weights=[_FORM_WEIGHT.get(f, 1.0) for f in forms])[0]
    return rep, render_family(rep, group, form, rng)


def run_one(task: tuple[int, str]) -> dict[str, Any]:
    """Generate, parse and judge one report; a refused file or a crash counts every cell as flagged
    (and is listed), so that one bad parse never stops the run."""
    seed, group = task
    rep, out = make_report(seed, group)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report{out.suffix}"
        path.write_bytes(out.data)
        try:
            parsed = read_report(path)
            cells, agency, year, error = parsed.cells, parsed.agency, parsed.year, None
        except Exception as exc:  # noqa: BLE001 - a refusal (OgiError) or a crash: counted, never fatal
            kind = "refused" if isinstance(exc, OgiError) else "CRASH"
            cells, agency, year, error = pd.DataFrame(columns=["table", "row", "column", "value", "status"]), \
                None, None, f"{kind} {type(exc).__name__}: {exc}"
    verdicts = judge(out.expected, cells)
    counts = verdicts["verdict"].value_counts().to_dict()
    wrong = verdicts[verdicts["verdict"] == "silently_wrong"]
    return {"group": group, "form": out.form, "seed": seed, "families": "+".join(out.meta["families"]),
            "cells": len(verdicts), "exact": counts.get("exact", 0), "silent": counts.get("silently_wrong", 0),
            "overconfident": counts.get("overconfident", 0),
            "flagged": int((verdicts["got_status"] != "ok").sum()),
            "want_not_ok": int((verdicts["want_status"] != "ok").sum()),
            "agency": agency == rep.agency, "year": year == rep.year, "error": error,
            "wrong": wrong.head(20).to_dict("records")}


def tasks(n: int, seed: int, only: str | None) -> list[tuple[int, str]]:
    groups = [only] if only else list(GROUPS)
    rng = random.Random(seed)
    return [(rng.getrandbits(48), groups[i % len(groups)]) for i in range(n)]


def table(results: list[dict[str, Any]], key: str) -> None:
    agg: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        for name in (r[key], "ALL"):
            a = agg[name]
            a["reports"] += 1
            for f in ("cells", "exact", "silent", "overconfident", "flagged", "want_not_ok"):
                a[f] += r[f]
            a["agency"] += r["agency"]
            a["year"] += r["year"]
            a["errors"] += r["error"] is not None
            a["silent_reports"] += r["silent"] > 0
    head = (f"{key:<13}{'reports':>8}{'cells':>9}{'exact':>9}{'exact%':>8}{'flagged/exp-not-ok':>21}"
            f"{'SILENTLY WRONG':>16}{'(reports)':>10}{'overconf':>9}{'agency':>8}{'year':>7}{'errors':>7}")
    print(head)
    print("-" * len(head))
    for name in [*sorted(k for k in agg if k != "ALL"), "ALL"]:
        a = agg[name]
        print(f"{name:<13}{a['reports']:>8}{a['cells']:>9}{a['exact']:>9}{100 * a['exact'] / max(1, a['cells']):>7.1f}%"
              f"{a['flagged']:>12}/{a['want_not_ok']:<8}{a['silent']:>16}{a['silent_reports']:>10}"
              f"{a['overconfident']:>9}{a['agency']:>8}{a['year']:>7}{a['errors']:>7}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--family", choices=GROUPS, default=None, help="only this family (or combination)")
    ap.add_argument("--show", type=int, default=0, help="print the first K silently wrong cells of each group")
    ap.add_argument("--by-form", action="store_true", help="also print the figures per form")
    ap.add_argument("--first-seed", type=int, default=None, help="run exactly this task seed (with --family)")
    args = ap.parse_args()
    todo = [(args.first_seed, args.family or "combination")] if args.first_seed is not None \
        else tasks(args.reports, args.seed, args.family)
    t0 = time.perf_counter()
    if args.workers > 1 and len(todo) > 1:
        with multiprocessing.get_context("fork" if os.name == "posix" else "spawn").Pool(args.workers) as pool:
            results = pool.map(run_one, todo, chunksize=8)
    else:
        results = [run_one(t) for t in todo]
    wall = time.perf_counter() - t0
    print(f"robustness: {len(results)} generated reports, seed {args.seed}, {args.workers} workers, "
          f"wall {wall:.1f} s ({len(results) / wall:.1f} reports/s)\n")
    table(results, "group")
    if args.by_form:
        print()
        table(results, "form")
    errors = [r for r in results if r["error"]]
    if errors:
        print(f"\n{len(errors)} reports raised an error, e.g. {errors[0]['group']} {errors[0]['form']} "
              f"seed {errors[0]['seed']}: {errors[0]['error']}")
    if args.show:
        print(f"\nfirst {args.show} silently wrong cells per group, at most 3 per report "
              "(reproduce one report: --family GROUP --first-seed SEED):")
        shown: dict[str, int] = defaultdict(int)
        for r in results:
            for w in r["wrong"][:3]:
                if shown[r["group"]] >= args.show:
                    break
                print(f"  {r['group']:<11} {r['form']:<8} seed {r['seed']:<16} [{r['families']}] {w['key']}: "
                      f"want {w['want_value']} {w['want_status']}, got {w['got_value']} {w['got_status']}")
                shown[r["group"]] += 1


if __name__ == "__main__":
    main()
