"""DOCX and PDF parsing speed on one core, and pdfplumber vs pypdfium2 for the PDF reader.

Samples: the corpus DOCX (the real 2021 Word template) and PDF (huaian-gov-2024, 6 pages), when
../shared/corpus is present, and a generated six-page report PDF (reportlab, CID font
STSong-Light; the generator of tests/unit/test_readers_pdf.py) that is always available.

For each PDF the same layout code (`helpers.readers.pdf.layout_pages`) is fed by both backends:
pypdfium2 (what `read_pdf` uses) and pdfplumber (an adapter below), so speed and fidelity (cells
right out of 200) compare the extraction libraries, not two layout algorithms.

Run: .venv/bin/python benchmarks/parse_docx_pdf.py [--seconds 3]. Target: >= 20 six-page PDFs/s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "unit")]

from helpers.document import Document  # noqa: E402
from helpers.parse import parse_document  # noqa: E402
from helpers.readers.docx import read_docx  # noqa: E402
from helpers.readers.pdf import Glyph, PageContent, Rule, layout_pages, read_pdf  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


FIGURES: dict[str, float] = {}  # label -> reports/s per CPU second, read by benchmarks/parse.py
FLOORS: dict[str, float] = {}  # label -> the floor's calls per CPU second (same file), read by benchmarks/parse.py


def rate(fn: Callable[[], Any], seconds: float) -> tuple[float, float]:
    """(calls per CPU second, calls per wall-clock second) over at least `seconds` of calls.

    CPU time is the one-core figure (other processes on a shared machine do not distort it);
    wall-clock time is printed beside it.
    """
    fn()  # warm up (imports, caches)
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds or n < 3:
        fn()
        n += 1
    return n / max(time.process_time() - cpu, 1e-9), n / elapsed


# ---------------------------------------------------------------------------------------------
# pdfplumber as a second backend for the same layout step


def _white(colour: Any) -> bool:
    if colour is None:
        return False
    values = list(colour) if isinstance(colour, (list, tuple)) else [colour]
    if len(values) == 4:  # CMYK
        return all(float(v) <= 0.02 for v in values)
    return all(isinstance(v, (int, float)) and float(v) >= 0.96 for v in values)


def plumber_pages(data: bytes) -> Iterator[PageContent]:
    """pdfplumber's characters and visible edges as `PageContent` (pages closed as they go)."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            glyphs: list[Glyph] = []
            for c in page.chars:
                if c["text"].isspace():
                    if glyphs and c["text"] == " ":
                        glyphs[-1].space_after = True
                    continue
                glyphs.append(Glyph(c["text"], c["x0"], c["top"], c["x1"], c["bottom"]))
            rules = []
            for e in page.edges:
                stroked = e.get("stroke") and not _white(e.get("stroking_color"))
                filled = e.get("fill") and not _white(e.get("non_stroking_color"))
                if e.get("object_type") != "line" and not (stroked or filled):
                    continue
                if e["orientation"] == "h" and e["x1"] - e["x0"] > 3:
                    rules.append(Rule(True, (e["top"] + e["bottom"]) / 2, e["x0"], e["x1"]))
                elif e["orientation"] == "v" and e["bottom"] - e["top"] > 3:
                    rules.append(Rule(False, (e["x0"] + e["x1"]) / 2, e["top"], e["bottom"]))
            yield PageContent(number, float(page.width), float(page.height), glyphs, rules)
            page.close()


def read_pdf_plumber(path: Path, data: bytes) -> Document:
    return Document(path=str(path), form="pdf", blocks=layout_pages(plumber_pages(data)))


# ---------------------------------------------------------------------------------------------
# Fidelity


def right_cells(doc: Document, want: dict[str, tuple[str, float | None, str]]) -> int:
    """Cells read back exactly (value and status; raw text for blanks and placeholders)."""
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in parse_document(doc).cell_records()}
    ok = 0
    for key, (text, value, status) in want.items():
        c = got.get(key)
        if c and c["status"] == status and (value is None and c["value"] is None or
                                             value is not None and c["value"] is not None and
                                             abs(c["value"] - value) < 1e-9) \
                and (status == "ok" or c["raw"].strip() == text.strip()):
            ok += 1
    return ok


def truth_values(truth_path: Path) -> dict[str, tuple[str, float | None, str]]:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    out: dict[str, tuple[str, float | None, str]] = {k: (str(v), float(v), "ok") for k, v in truth["cells"].items()}
    out.update({k: (v, None, "blank" if not v.strip() else "placeholder") for k, v in truth.get("raw", {}).items()})
    return out


def pdf_floor(data: bytes) -> None:
    """The floor for a PDF: pypdfium2's own plain text of every page (open, load, extract, close)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for page in pdf:
            text = page.get_textpage()
            text.get_text_range()
            text.close()
            page.close()
    finally:
        pdf.close()


def docx_floor(data: bytes) -> None:
    """The floor for a DOCX: python-docx's load of the package (every part parsed)."""
    import docx

    docx.Document(io.BytesIO(data))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time spent per measurement")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from conftest import fill_cells
    from test_readers_pdf import make_report_pdf

    from helpers import get_template

    values = fill_cells(random.Random(0), get_template("2021").keys)
    generated = make_report_pdf(values, 0)
    samples: list[tuple[str, Path, bytes, dict[str, tuple[str, float | None, str]]]] = []
    pdf_truth = CORPUS / "huaian-gov-2024" / "truth.json"
    if pdf_truth.is_file():
        path = pdf_truth.parent / "report.pdf"
        samples.append(("huaian-gov-2024 (6 pages, WPS)", path, path.read_bytes(), truth_values(pdf_truth)))
    else:
        print(f"corpus PDF not found under {CORPUS}: generated sample only")
    samples.append(("generated (6 pages, reportlab)", Path("generated.pdf"), generated, values))

    print(f"one core, {args.seconds:.0f} s per figure; reports/s = read + parse, per CPU second "
          f"(wall-clock in brackets); read ms = reader alone, CPU")
    print("floor = the library's own plain extraction of the same file (pypdfium2 text of every page; "
          "python-docx's load); x floor = our read + parse time over it")
    print(f"{'PDF sample':34} {'backend':10} {'pages':>5} {'read ms':>8} {'reports/s':>17} {'cells right':>11} "
          f"{'floor ms':>8} {'x floor':>7}")
    for name, path, data, want in samples:
        floor_cpu, _ = rate(lambda: pdf_floor(data), args.seconds)
        for backend, reader in (("pypdfium2", read_pdf), ("pdfplumber", read_pdf_plumber)):
            doc = reader(path, data)
            pages = len({c.source.split(" ")[1] for b in doc.blocks for c in b.cells})
            read_cpu, _ = rate(lambda: reader(path, data), args.seconds)
            per_cpu, per_wall = rate(lambda: parse_document(reader(path, data)), args.seconds)
            FIGURES[f"PDF {name} {backend}"] = per_cpu
            FLOORS[f"PDF {name} {backend}"] = floor_cpu
            print(f"{name:34} {backend:10} {pages:>5} {1000 / read_cpu:>8.1f} {per_cpu:>8.1f} ({per_wall:>5.1f}) "
                  f"{right_cells(doc, want):>7}/{len(want)} {1000 / floor_cpu:>8.1f} {floor_cpu / per_cpu:>6.1f}x")

    docx_truth = CORPUS / "template-docx-2021" / "truth.json"
    if docx_truth.is_file():
        path = docx_truth.parent / "report.docx"
        data = path.read_bytes()
        read_cpu, _ = rate(lambda: read_docx(path, data), args.seconds)
        per_cpu, per_wall = rate(lambda: parse_document(read_docx(path, data)), args.seconds)
        floor_cpu, _ = rate(lambda: docx_floor(data), args.seconds)
        right = right_cells(read_docx(path, data), truth_values(docx_truth))
        FIGURES["DOCX template-docx-2021"] = per_cpu
        FLOORS["DOCX template-docx-2021"] = floor_cpu
        print(f"\n{'DOCX sample':45} {'read ms':>8} {'reports/s':>17} {'cells right':>11} {'floor ms':>8} {'x floor':>7}")
        print(f"{'template-docx-2021 (real template)':45} {1000 / read_cpu:>8.1f} {per_cpu:>8.1f} "
              f"({per_wall:>5.1f}) {right:>7}/200 {1000 / floor_cpu:>8.1f} {floor_cpu / per_cpu:>6.1f}x")
    else:
        print(f"corpus DOCX not found under {CORPUS}: DOCX not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
