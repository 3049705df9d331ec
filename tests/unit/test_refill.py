"""Real layouts refilled with generated numbers, blanks and placeholders parse back exactly.

The seed's Word-export text and each dev HTML page keep their layout; only their cells change, so a
parser that merely learned the printed numbers (or zeros) fails here.
"""

from __future__ import annotations

import random
from pathlib import Path

import lxml.html
import pytest

from conftest import ROOT, Filled, corpus_dir, corpus_truths, fill_cells, load_truth
from helpers import get_template, read_report

SEED = next((ROOT / "data" / "seed").glob("*.txt"))


def assert_reads(path: Path, template: str, filled: Filled) -> None:
    report = read_report(path)
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in report.cell_records()}
    wrong = []
    for key, (text, value, status) in filled.items():
        c = got[key]
        if c["status"] != status or c["value"] != (None if value is None else pytest.approx(value)) \
                or (status != "ok" and c["raw"].strip() != text.strip()):
            wrong.append((key, text, c["value"], c["status"], c["raw"]))
    assert wrong == []
    assert report.template == template


@pytest.mark.parametrize("seed", range(6))
def test_seed_layout_refilled_parses_back(tmp_path: Path, seed: int) -> None:
    lines = SEED.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("二、主动公开"))
    value_lines = [i for i in range(start, len(lines)) if lines[i].strip() == "0"]
    keys = get_template("2021").keys
    assert len(value_lines) == len(keys) == 200
    filled = fill_cells(random.Random(seed), keys, "2021", zeros=False)
    for i, key in zip(value_lines, keys):
        lines[i] = "\t" + filled[key][0]
    path = tmp_path / "refilled.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert_reads(path, "2021", filled)


HTML_TRUTHS = [p for p in corpus_truths() if load_truth(p)["form"] == "html"]


@pytest.mark.parametrize("truth_path", HTML_TRUTHS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("seed", range(3))
def test_html_page_refilled_parses_back(tmp_path: Path, truth_path: Path, seed: int) -> None:
    corpus_dir()
    truth = load_truth(truth_path)
    original = read_report(truth["_report"])
    html = truth["_report"].read_text(encoding="utf-8")
    root = lxml.html.document_fromstring(html)
    leaf_tables = [t for t in root.iter("table") if t.find(".//table") is None]
    keys = [f"{c['table']}/{c['row']}/{c['column']}" for c in original.cell_records()]
    filled = fill_cells(random.Random(seed), keys, truth["template"], blanks=("", "\u00a0"), zeros=False)
    for c in original.cell_records():
        # provenance "table T row R cell K col C" locates the printed cell
        parts = c["source"].split()
        t, r, k = int(parts[1]), int(parts[3]), int(parts[5])
        tr = list(leaf_tables[t - 1].iter("tr"))[r - 1]
        td = [x for x in tr if x.tag in ("td", "th")][k - 1]
        for child in list(td):
            td.remove(child)
        td.text = filled[f"{c['table']}/{c['row']}/{c['column']}"][0] or "\u00a0"
    path = tmp_path / "refilled.html"
    path.write_bytes(lxml.html.tostring(root, encoding="utf-8"))
    assert_reads(path, truth["template"], filled)
