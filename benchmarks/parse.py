"""Parse speed of HTML reports on one core, against a bare lxml parse of the same bytes.

Prints reports/s for the dev HTML pages of ../shared/corpus and for generated Word-export pages of
real size (100–350 KB), and the ratio of our time to `lxml.html.fromstring`. Targets (issue 3):
>= 200 reports/s; aim for <= 5x lxml. Then the DOCX and PDF figures of benchmarks/parse_docx_pdf.py
(issue 4: >= 20 six-page PDFs/s), and (issue 14) .doc through the warm LibreOffice converter (the
cold first file, which starts LibreOffice, apart), .xlsx and OFD. Every figure is printed beside
benchmarks/baseline.json (the figures committed before the alignment work of issue 11, whose target
is within 10% of them). Last, per form (issue 17): reports/s, the floor's rate on the same files
(lxml.html.fromstring of the HTML bytes; pypdfium2's plain text of every PDF page; python-docx's
load of the DOCX), the ratio and whether the issue's targets are met.
Run: .venv/bin/python benchmarks/parse.py [--save-baseline]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import read_report  # noqa: E402
from helpers.synth import random_report, render  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
BASELINE = Path(__file__).resolve().parent / "baseline.json"
FIGURES: dict[str, float] = {}  # label -> reports/s per CPU second
FLOORS: dict[str, float] = {}  # label -> the floor (lxml parse, pdfium text, python-docx load) per CPU second
# Issue 17's targets per form: (most times the floor, fewest reports/s), None where none is set.
TARGETS = {"HTML": (5.0, None), "PDF": (3.0, 50.0), "DOCX": (None, 150.0)}


def timed(fn, items, min_seconds: float = 2.0) -> float:
    """CPU seconds per item (this process, one core), repeating the list until min_seconds passed.

    CPU time rather than wall time, so that other load on the machine does not skew the figure.
    """
    n, t0 = 0, time.process_time()
    while True:
        for it in items:
            fn(it)
        n += len(items)
        elapsed = time.process_time() - t0
        if elapsed >= min_seconds:
            return elapsed / n


def bench(label: str, paths: list[Path]) -> None:
    datas = [p.read_bytes() for p in paths]
    ours = timed(read_report, paths)
    bare = timed(lxml.html.fromstring, datas)
    kb = sum(len(d) for d in datas) / len(datas) / 1024
    FIGURES[f"HTML {label}"] = 1 / ours
    FLOORS[f"HTML {label}"] = 1 / bare
    print(f"{label:<34} {len(paths):>3} files, mean {kb:7.1f} KB: {1 / ours:8.1f} reports/s "
          f"({ours * 1000:6.2f} ms CPU), lxml.html.fromstring {bare * 1000:6.2f} ms, ratio {ours / bare:5.2f}x")


def bench_forms() -> None:
    """.doc (wall clock: the conversion runs in the LibreOffice process), .xlsx and OFD (CPU)."""
    import shutil

    from helpers.synth.ofd import render_ofd
    from helpers.synth.sheet import render_sheet

    with tempfile.TemporaryDirectory() as tmp:
        reports = [random_report(k, template=["2019", "2021"][k % 2]) for k in range(6)]

        def written(name: str, make) -> list[Path]:
            paths = []
            for k, r in enumerate(reports):
                out = make(r, k)
                paths.append(Path(tmp) / f"{name}{k}{out.suffix}")
                paths[-1].write_bytes(out.data)
            return paths

        for label, make in (("generated .xlsx workbooks", lambda r, k: render_sheet(r, k, form="xlsx")),
                            ("generated OFD packages", lambda r, k: render_ofd(r, k))):
            paths = written(label[10:14], make)
            ours = timed(read_report, paths)
            print(f"{label:<34} {len(paths):>3} files: {1 / ours:8.1f} reports/s ({ours * 1000:6.2f} ms CPU)")
        if shutil.which("soffice") is None:
            print(".doc: LibreOffice not installed (scripts/system-deps.sh), skipped")
            return
        from helpers.readers import doc as docmod
        from helpers.synth.doc import render_doc

        paths = written("doc", render_doc)
        docmod.converter().close()  # the first file below starts LibreOffice again: the cold figure
        t0 = time.perf_counter()
        read_report(paths[0])
        cold = time.perf_counter() - t0
        n, t0 = 0, time.perf_counter()
        while n < 12 or time.perf_counter() - t0 < 3:
            read_report(paths[n % len(paths)])
            n += 1
        warm = (time.perf_counter() - t0) / n
        print(f"{'generated .doc (LibreOffice warm)':<34} {len(paths):>3} files: {1 / warm:8.1f} reports/s "
              f"({warm * 1000:6.1f} ms wall); cold first file {cold:.2f} s (starts LibreOffice)")


def main() -> None:
    dev = sorted(CORPUS.glob("*/report.html"))
    if dev:
        bench("dev HTML pages (../shared/corpus)", dev)
    else:
        print("dev HTML pages: ../shared/corpus not present, skipped")
    with tempfile.TemporaryDirectory() as tmp:
        rng = random.Random(7)
        paths = []
        for i in range(12):
            report = random_report(rng.randrange(10**9), template=rng.choice(["2019", "2021"]))
            out = render(report, "html", rng=i, mso=True, full_page=True, pad_kb=rng.choice([100, 180, 250, 350]))
            p = Path(tmp) / f"gen{i}{out.suffix}"
            p.write_bytes(out.data)
            paths.append(p)
        bench("generated Word-export pages", paths)
    print()
    bench_forms()
    print()
    import parse_docx_pdf  # the DOCX and PDF figures (same folder)

    save = "--save-baseline" in sys.argv
    sys.argv = sys.argv[:1]
    parse_docx_pdf.main()
    FIGURES.update(parse_docx_pdf.FIGURES)
    FLOORS.update(parse_docx_pdf.FLOORS)
    summary()
    compare(save)


def summary() -> None:
    """Per form and sample: reports/s on one core, the floor's rate on the same file, the ratio, and
    whether issue 17's targets (HTML <= 5x lxml; PDF >= 50/s and <= 3x pdfium's text; DOCX >= 150/s)
    are met. pdfplumber rows are the comparison backend, not the reader: no target."""
    print(f"\n{'per form (issue 17 targets)':<56} {'reports/s':>9} {'floor/s':>8} {'x floor':>7}  target")
    for label, now in FIGURES.items():
        floor = FLOORS.get(label)
        if floor is None or label.endswith("pdfplumber"):
            continue
        most, fewest = TARGETS[label.split()[0]]
        ratio = floor / now
        wants = ([f"<= {most:g}x {'met' if ratio <= most else 'NOT met'}"] if most else []) + \
                ([f">= {fewest:g}/s {'met' if now >= fewest else 'NOT met'}"] if fewest else [])
        print(f"{label:<56} {now:9.1f} {floor:8.1f} {ratio:6.2f}x  {'; '.join(wants)}")


def compare(save: bool) -> None:
    """Print every figure beside the committed baseline (and its ratio); --save-baseline rewrites it."""
    base = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.is_file() else {}
    print(f"\n{'figure (reports/s, one core)':<62} {'baseline':>9} {'now':>9} {'now/base':>8}")
    for label, now in FIGURES.items():
        was = base.get(label)
        ratio = f"{now / was:8.2f}" if was else f"{'-':>8}"
        print(f"{label:<62} {was if was else float('nan'):9.1f} {now:9.1f} {ratio}")
    if save:
        BASELINE.write_text(json.dumps({k: round(v, 1) for k, v in FIGURES.items()}, indent=1) + "\n",
                            encoding="utf-8")
        print(f"baseline written to {BASELINE.name}")


if __name__ == "__main__":
    main()
