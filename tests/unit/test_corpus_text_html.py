"""Every text and HTML report of ../shared/corpus reads exactly as its hand-checked truth says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, corpus_dir, corpus_truths, load_truth, truth_misses

from helpers import read_report

TEXT_HTML = [p for p in corpus_truths() if load_truth(p)["form"] in ("text", "html")]


def test_corpus_has_text_and_html_reports() -> None:
    corpus_dir()
    forms = {load_truth(p)["form"] for p in TEXT_HTML}
    assert forms == {"text", "html"}


@pytest.mark.parametrize("truth_path", TEXT_HTML, ids=lambda p: p.parent.name)
def test_report_scores_100_percent(truth_path: Path) -> None:
    truth = load_truth(truth_path)
    report = read_report(truth["_report"])
    assert truth_misses(truth, report.cell_records()) == []
    assert report.template == truth["template"]
    # the truth may add the full name in brackets after the printed one ("上海市科委 (上海市科学技术委员会)")
    assert report.agency == re.sub(r"\s*\([^()]*\)$", "", truth["agency"])
    assert report.year == truth["year"]
    n_template = 200 if truth["template"] == "2021" else 198
    assert len(report.cells) == n_template


@pytest.mark.parametrize("truth_path", TEXT_HTML, ids=lambda p: p.parent.name)
def test_units_printed_inside_cells_are_recorded(truth_path: Path) -> None:
    truth = load_truth(truth_path)
    report = read_report(truth["_report"])
    assert report.units == truth.get("units", {})


def test_ambiguous_runs_are_flagged_or_settled_by_a_named_relation() -> None:
    corpus_dir()
    truth = load_truth(corpus_dir() / "pingtan-2022" / "truth.json")
    report = read_report(truth["_report"])
    cells = {f"{c['table']}/{c['row']}/{c['column']}": c for c in report.cell_records()}
    for key in truth["ambiguous"]:
        c = cells[key]
        if c["status"] == "inferred":
            assert c["value"] == truth["cells"][key] and "R4" in c["note"]
        elif c["status"] == "ok":  # the same value in every split of the run
            assert c["value"] == truth["cells"][key] and "unique" not in c["note"]
        else:
            assert c["value"] is None and c["status"] == "unreadable" and c["note"]
    # normative_docs '8855698' has no relation within its row: it must stay unreadable
    assert cells["table_2/normative_docs/issued"]["status"] == "unreadable"


def test_score_corpus_tool_passes_for_text_and_html(tmp_path: Path) -> None:
    """The shared scorer, run as CI would, on the text and HTML truths."""
    corpus = corpus_dir()
    tool = corpus.parent / "tools" / "score-corpus"
    sub = tmp_path / "corpus"
    sub.mkdir()
    for p in TEXT_HTML:
        truth = json.loads(p.read_text(encoding="utf-8"))
        truth["file"] = str((p.parent / truth["file"]).resolve())
        (sub / p.parent.name).mkdir()
        (sub / p.parent.name / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    ogi = Path(sys.executable).parent / "ogi"
    proc = subprocess.run([sys.executable, str(tool), str(ogi), str(sub)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(100.0%)" in proc.stdout
