"""The report generator: consistent numbers, honest perturbations, an exact flat-text oracle, and a
corpus whose manifest matches its files. (Parsing the rendered files is tests/unit/test_roundtrip.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import get_template, read_report
from helpers.errors import ReportError
from helpers.synth import (BAD_KINDS, FORMS, MANIFEST_COLUMNS, PLACEHOLDERS, perturb, random_report, render,
                           split_run, to_report, write_corpus)
from helpers.template import common

TEMPLATES = ("2019", "2021")


def relation_results(cells: dict[str, float | str], template: str) -> list[tuple[str, str, bool | None]]:
    """(relation id, result key, holds) for every instance; None when an operand is not a number."""
    tmpl = get_template(template)
    out = []
    for rel in tmpl.relations:
        for result, plus, minus in rel.instances(tmpl):
            vals = [cells[k] for k in [result, *plus, *minus]]
            if not all(isinstance(v, (int, float)) for v in vals):
                out.append((rel.id, result, None))
                continue
            expected = sum(cells[k] for k in plus) - sum(cells[k] for k in minus)  # type: ignore[misc]
            out.append((rel.id, result, abs(cells[result] - expected) < 1e-9))  # type: ignore[operator]
    return out


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES),
       kind=st.sampled_from(["department", "government", "township"]))
def test_consistent_reports_satisfy_every_relation(seed: int, template: str, kind: str) -> None:
    rep = random_report(seed, template=template, organ_kind=kind)
    assert set(rep.cells) == set(get_template(template).keys)
    results = relation_results(rep.cells, template)
    assert {rid for rid, _, _ in results} == {"R1", "R3", "R4", "R5"}
    assert all(holds for _, _, holds in results)


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES))
def test_counts_are_non_negative_integers_and_only_signed_cells_go_negative(seed: int, template: str) -> None:
    rep = random_report(seed, template=template)
    info = get_template(template).column_info
    for key, v in rep.cells.items():
        if info[key].dtype in ("count", "signed"):
            assert isinstance(v, int), key
        if info[key].dtype != "signed":
            assert v >= 0, key


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES),
       blank=st.sampled_from([0.0, 0.3]), placeholder=st.sampled_from([0.0, 0.3]))
def test_inconsistent_reports_break_at_least_one_relation(seed: int, template: str, blank: float,
                                                         placeholder: float) -> None:
    rep = random_report(seed, template=template, consistent=False, blank_share=blank, placeholder_share=placeholder)
    assert any(holds is False for _, _, holds in relation_results(rep.cells, template))


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES))
def test_blanks_and_placeholders_only_make_relations_not_evaluable(seed: int, template: str) -> None:
    rep = random_report(seed, template=template, blank_share=0.2, placeholder_share=0.2)
    values = list(rep.cells.values())
    assert "" in values and any(isinstance(v, str) and v for v in values)
    assert all(holds in (True, None) for _, _, holds in relation_results(rep.cells, template))
    assert {v for v in values if isinstance(v, str) and v} <= set(PLACEHOLDERS)


def test_generator_placeholders_are_placeholders_of_the_format() -> None:
    assert set(PLACEHOLDERS) <= set(common()["cells"]["placeholders"])


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES), delta=st.sampled_from([-3, 1, 2, 7]))
def test_perturb_changes_exactly_one_cell(seed: int, template: str, delta: int) -> None:
    rep = random_report(seed, template=template)
    key = "table_3/carried_over/natural_person"
    changed = perturb(rep, key, delta)
    diff = [k for k in rep.cells if rep.cells[k] != changed.cells[k]]
    assert diff == [key]
    assert changed.cells[key] == rep.cells[key] + delta
    assert changed.sections == rep.sections and changed.agency == rep.agency
    assert rep.cells[key] == random_report(seed, template=template).cells[key]  # the original is untouched


def test_perturb_refuses_a_blank_cell() -> None:
    rep = random_report(1, blank_share=1.0)
    with pytest.raises(ValueError, match="not a number"):
        perturb(rep, "table_3/granted/total", 1)


def test_perturbing_a_result_cell_breaks_its_relation() -> None:
    rep = random_report(5)
    bad = perturb(rep, "table_3/results_total/total", 4)
    failing = {(rid, key) for rid, key, holds in relation_results(bad.cells, "2021") if holds is False}
    assert ("R3", "table_3/results_total/total") in failing and ("R4", "table_3/results_total/total") in failing


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES))
def test_next_year_carries_over_last_years_carried_forward(seed: int, template: str) -> None:
    first = random_report(seed, template=template, year=2022)
    second = random_report(seed + 1, template=template, year=2023, previous=first)
    assert (second.agency, second.organ_kind) == (first.agency, first.organ_kind)
    for col in get_template(template).tables["table_3"].column_keys:
        assert second.cells[f"table_3/carried_over/{col}"] == first.cells[f"table_3/carried_forward/{col}"]
    assert all(holds for _, _, holds in relation_results(second.cells, template))


@given(seed=st.integers(0, 2**32), template=st.sampled_from(TEMPLATES))
def test_narrative_counts_agree_with_the_tables(seed: int, template: str) -> None:
    rep = random_report(seed, template=template)
    text = rep.sections["overview"]
    new = rep.cells["table_3/new_received/total"]
    over = rep.cells["table_3/carried_over/total"]
    if new or over:
        assert f"共收到政府信息公开申请{new}件" in text
        assert f"结转下年度继续办理{rep.cells['table_3/carried_forward/total']}件" in text
    assert f"行政复议{rep.cells['table_4/review/total']}件" in text
    assert set(rep.sections) == {s["id"] for s in common()["sections"]}


@given(seed=st.integers(0, 2**32))
def test_agency_name_says_its_organ_kind(seed: int) -> None:
    rep = random_report(seed)
    kind = next(k["kind"] for k in common()["organ_kinds"] if re.search(k["match"], rep.agency))
    assert kind == rep.organ_kind
    assert rep.report_date.year == rep.year + 1


def test_to_report_keeps_statuses_and_unknown_rows() -> None:
    rep = random_report(3, blank_share=0.2, placeholder_share=0.1, unknown_rows=2)
    record = to_report(rep)
    statuses = record.status_counts()
    assert statuses["blank"] == sum(1 for v in rep.cells.values() if v == "")
    assert statuses["unknown"] == 2 * len(get_template("2021").tables["table_3"].columns)
    assert record.agency == rep.agency and record.year == rep.year


# ---------------------------------------------------------------------------------------------
# The flat-text oracle


def test_split_run_examples() -> None:
    r4 = [(6, [0, 1, 2, 3, 4, 5], [])]
    # 12|10|0|0|0|0|22 and 1|2|10|0|0|0|... : only the first satisfies the printed total.
    assert split_run("1210000022", ["count"] * 7, r4)[0] == (12.0, "inferred")
    assert split_run("0000000", ["count"] * 7, r4) == [(0.0, "ok")] * 7
    assert [s for _, s in split_run("1234", ["count"] * 3)] == ["unreadable"] * 3
    assert split_run("9116.36", ["amount"]) == [(9116.36, "ok")]
    assert split_run("12+57", ["count", "signed", "count"]) == [(12.0, "ok"), (5.0, "ok"), (7.0, "ok")]
    assert split_run("273-16109", ["count", "signed", "count"])[0] == (273.0, "ok")


def brute_force(run: str, dtypes: list[str],
                rels: list[tuple[int, list[int], list[int]]]) -> list[tuple[float | None, str]]:
    """The oracle's rule by plain enumeration (small runs only)."""
    pieces = {"count": r"0|[1-9]\d*", "amount": r"(?:0|[1-9]\d*)(?:\.\d+)?", "signed": r"[+-]?(?:0|[1-9]\d*)"}
    splits: list[tuple[float, ...]] = []

    def rec(i: int, c: int, acc: list[float]) -> None:
        if c == len(dtypes):
            if i == len(run):
                splits.append(tuple(acc))
            return
        for j in range(i + 1, len(run) + 1):
            if re.fullmatch(pieces[dtypes[c]], run[i:j]):
                rec(j, c + 1, acc + [float(run[i:j])])

    rec(0, 0, [])
    good = [s for s in splits if all(abs(s[r] - (sum(s[x] for x in p) - sum(s[x] for x in m))) < 1e-9
                                     for r, p, m in rels)] if rels else []
    out: list[tuple[float | None, str]] = []
    for c in range(len(dtypes)):
        values = {s[c] for s in splits}
        if len(values) == 1:
            out.append((splits[0][c], "ok"))
        elif len(good) == 1:
            out.append((good[0][c], "inferred"))
        else:
            out.append((None, "unreadable"))
    return out


@given(values=st.lists(st.integers(0, 150), min_size=2, max_size=6), with_total=st.booleans())
def test_split_run_agrees_with_brute_force(values: list[int], with_total: bool) -> None:
    rels = [(len(values), list(range(len(values))), [])] if with_total else []
    printed = values + [sum(values)] if with_total else values
    run = "".join(str(v) for v in printed)
    got = split_run(run, ["count"] * len(printed), rels)
    assert got == brute_force(run, ["count"] * len(printed), rels)
    for (value, status), true in zip(got, printed):
        assert status in ("ok", "inferred", "unreadable")
        if status != "unreadable":
            assert value == true  # a consistent row never infers a wrong number


# ---------------------------------------------------------------------------------------------
# Rendering options and the corpus


def test_render_refuses_unknown_forms_and_options() -> None:
    rep = random_report(0)
    with pytest.raises(ValueError, match="unknown form"):
        render(rep, "rtf")
    with pytest.raises(ValueError, match="no option"):
        render(rep, "text", encoding="gbk")


def test_html_options_shape_the_page() -> None:
    rep = random_report(2)
    page = render(rep, "html", encoding="gbk", meta_charset=False, full_page=True, mso=True, pad_kb=150,
                  layout_tables=True)
    assert len(page.data) >= 150 * 1024
    with pytest.raises(UnicodeDecodeError):
        page.data.decode("utf-8")
    assert rep.agency in page.data.decode("gbk") and b"charset" not in page.data and b"MsoNormal" in page.data
    frag = render(rep, "html", full_page=False, meta_charset=False, mso=False, encoding="utf-8")
    assert not frag.data.lstrip().startswith(b"<!DOCTYPE") and b"<html" not in frag.data


def test_every_form_renders_with_its_suffix_and_one_expected_row_per_cell() -> None:
    rep = random_report(4, template="2019", unknown_rows=1)
    for form in FORMS:
        out = render(rep, form, rng=1)
        assert out.data and out.suffix.startswith(".") and out.form == form
        known = out.expected[~out.expected["row"].str.startswith("unknown:")]
        assert len(known) == len(get_template("2019").keys) == 198
        assert out.expected["row"].str.startswith("unknown:").any() == (form != "flat")


def test_write_corpus_saves_table_pictures_as_a_browser_saves_a_page(tmp_path: Path) -> None:
    """html-images pages come both ways: pictures embedded, or in `NAME_files/` beside the page,
    every local `src` there on disk; those folders are no manifest rows."""
    out = tmp_path / "corpus"
    manifest = write_corpus(out, reports=4, years=[2022], forms=["html-images"], seed=2)
    kinds = set()
    for rec in manifest.to_dict("records"):
        page = Path(rec["path"])
        srcs = re.findall(r'<img src="([^"]+)"', page.read_text(encoding="utf-8"))
        assert srcs, rec["file"]
        local = [s for s in srcs if not s.startswith("data:")]
        kinds.add("saved" if local else "embedded")
        for src in local:
            assert src.startswith(page.stem + "_files/") and (out / src).is_file()
    assert kinds == {"saved", "embedded"}
    assert sorted(p.name for p in out.iterdir() if p.is_file() and p.name != "manifest.csv") == sorted(manifest["file"])


def test_write_corpus_manifest_matches_the_files(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    manifest = write_corpus(out, reports=20, years=[2020, 2021, 2022], forms=["text", "flat", "html", "markdown"],
                            error_share=0.25, bad_file_share=0.25, seed=3)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert len(manifest) == 20
    on_disk = sorted(p.name for p in out.iterdir() if p.name != "manifest.csv")
    assert on_disk == sorted(manifest["file"])  # no temporary files left behind
    saved = pd.read_csv(out / "manifest.csv")
    assert list(saved["file"]) == list(manifest["file"])
    assert manifest["bad_kind"].notna().sum() == 5 and set(manifest["bad_kind"].dropna()) == set(BAD_KINDS)
    assert manifest["error_key"].notna().sum() == 4
    assert not (manifest["error_key"].notna() & manifest["bad_kind"].notna()).any()
    # Organs report every year in turn, with the format of the year.
    for _, group in manifest.groupby("organ"):
        assert group["agency"].nunique() == 1
        assert list(group["year"]) == sorted(group["year"])
    assert set(manifest.loc[manifest["year"] == 2020, "template"]) == {"2019"}
    for rec in manifest.to_dict("records"):
        path = Path(rec["path"])
        if rec["bad_kind"] == "empty":
            assert path.stat().st_size == 0
        if rec["bad_kind"] in ("empty", "binary", "not_a_report", "wrong_charset"):
            with pytest.raises(ReportError):
                read_report(path)
        elif not isinstance(rec["bad_kind"], str):
            report = read_report(path)
            assert (report.agency, report.year) == (rec["agency"], rec["year"])
            if isinstance(rec["error_key"], str) and rec["form"] != "flat":
                read = {k: ("" if v is None else v) for k, v in report.values().items()}
                tmpl = get_template(rec["template"])
                broken = [rid for rid, result, holds in relation_results(read, rec["template"]) if holds is False]
                touched = [rel.id for rel in tmpl.relations for res, plus, minus in rel.instances(tmpl)
                           if rec["error_key"] in [res, *plus, *minus]]
                assert set(broken) & set(touched)
