"""Generated reports read back exactly: for every form, `read_report(rendered file)` gives the cells
the renderer's oracle `expected` says a correct parser reads (value, status; raw text of blanks and
placeholders), no other rows, and the agency, year, report date and template version."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import IN_CI
from helpers import read_report
from helpers.synth import Rendered, SynthReport, random_report, render

# DOCX and PDF examples cost ~0.3 s each (python-docx, reportlab, the PDF reader): fewer of them.
SLOW_FORM_EXAMPLES = 5 if IN_CI else 15

reports = st.builds(
    random_report,
    rng=st.integers(0, 2**32),
    template=st.sampled_from(["2019", "2021"]),
    organ_kind=st.sampled_from(["department", "government", "township"]),
    consistent=st.booleans(),
    blank_share=st.sampled_from([0.0, 0.0, 0.05, 0.3]),
    placeholder_share=st.sampled_from([0.0, 0.0, 0.05, 0.2]),
    unknown_rows=st.integers(0, 2),
)
layouts = st.integers(0, 2**32)


def mismatches(out: Rendered, report: SynthReport) -> list[Any]:
    """Everything the parser read differently from the oracle (empty when the round trip holds)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report{out.suffix}"
        path.write_bytes(out.data)
        parsed = read_report(path)
    got = {(c["table"], c["row"], c["column"]): c for c in parsed.cell_records()}
    wrong: list[Any] = []
    seen = set()
    for want in out.expected.to_dict("records"):
        key = (want["table"], want["row"], want["column"])
        seen.add(key)
        c = got.get(key)
        value = None if pd.isna(want["value"]) else float(want["value"])
        if c is None:
            wrong.append((key, "not read"))
            continue
        same = (value is None and c["value"] is None) or (
            value is not None and c["value"] is not None and abs(c["value"] - value) < 1e-9)
        if want["status"] in ("blank", "placeholder"):
            same = same and c["raw"].strip() == str(want["raw"]).strip()
        if not same or c["status"] != want["status"]:
            wrong.append((key, (value, want["status"], want["raw"]), (c["value"], c["status"], c["raw"], c["note"])))
    wrong += [(key, "not expected", got[key]["status"]) for key in got if key not in seen]
    meta = {"agency": parsed.agency, "year": parsed.year, "template": parsed.template,
            "report_date": parsed.report_date}
    want_meta = {k: out.meta[k] for k in meta}
    if meta != want_meta:
        wrong.append(("meta", want_meta, meta))
    return wrong


def check(report: SynthReport, form: str, layout: int, **options: Any) -> None:
    out = render(report, form, rng=layout, **options)
    assert mismatches(out, report) == [], out.meta["options"]


@given(report=reports, layout=layouts)
def test_word_export_text_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "text", layout)


@given(report=reports, layout=layouts)
def test_flat_archiver_text_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "flat", layout)


@given(report=reports, layout=layouts)
def test_markdown_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "markdown", layout)


@given(report=reports, layout=layouts)
def test_html_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "html", layout)


@settings(max_examples=SLOW_FORM_EXAMPLES)
@given(report=reports, layout=layouts)
def test_docx_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "docx", layout)


@settings(max_examples=SLOW_FORM_EXAMPLES)
@given(report=reports, layout=layouts)
def test_pdf_round_trip(report: SynthReport, layout: int) -> None:
    check(report, "pdf", layout)


# Layout traps forced on, so that every run exercises them whatever the drawn options.


@given(seed=st.integers(0, 2**32), template=st.sampled_from(["2019", "2021"]))
def test_flat_rows_of_a_large_organ_settle_by_relations_or_are_unreadable(seed: int, template: str) -> None:
    report = random_report(seed, template=template, organ_kind="government")
    out = render(report, "flat", rng=seed, table4_spaced=False, spaced_share=0.0)
    assert mismatches(out, report) == []


def test_word_export_page_with_every_html_trap_round_trips() -> None:
    report = random_report(11, template="2019", blank_share=0.1, placeholder_share=0.05, unknown_rows=1)
    out = render(report, "html", rng=1, encoding="gbk", meta_charset=False, full_page=True, mso=True, pad_kb=200,
                 layout_tables=True, colspan_mismatch=True, pad_header=True, unit_suffix=True)
    assert len(out.data) >= 200 * 1024
    assert mismatches(out, report) == []


@settings(max_examples=SLOW_FORM_EXAMPLES)
@given(seed=st.integers(0, 2**32), split=st.integers(5, 27))
def test_pdf_table_broken_over_pages_with_a_vertical_label_round_trips(seed: int, split: int) -> None:
    report = random_report(seed, blank_share=0.05, unknown_rows=1)
    out = render(report, "pdf", rng=seed, vertical_label=True, split_row=split, page_numbers=True)
    assert mismatches(out, report) == []


def test_the_comparison_catches_a_wrong_oracle_and_a_wrong_document() -> None:
    report = random_report(8, unknown_rows=1)
    out = render(report, "text", rng=2)
    assert mismatches(out, report) == []
    wrong = out.expected.copy()
    row = wrong.index[wrong["status"] == "ok"][0]
    wrong.loc[row, "value"] = wrong.loc[row, "value"] + 1
    assert len(mismatches(Rendered(out.data, out.suffix, out.form, wrong, out.meta), report)) == 1
    extra_row = Rendered(out.data, out.suffix, out.form, out.expected[~out.expected["row"].str.startswith("unknown:")],
                         out.meta)
    assert any(m[1] == "not expected" for m in mismatches(extra_row, report))
    other_agency = Rendered(out.data, out.suffix, out.form, out.expected, {**out.meta, "agency": "某某局"})
    assert mismatches(other_agency, report)[-1][0] == "meta"
