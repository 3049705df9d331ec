"""Report generator: invented 政府信息公开工作年度报告 in every form, with what a parser must read.

`random_report` invents a plausible report (numbers consistent with the printed relations unless
asked otherwise, blanks, placeholders, rows the template does not know, a narrative whose counts
agree with the tables). `render` writes it as Word-export text, flat archiver text, markdown, HTML,
DOCX or PDF and returns the oracle `expected`: one row per cell that a correct parser reads from
that document. `write_corpus` writes a multi-year corpus with injected errors and bad files.

Format labels come from the template YAML files; organ names, narrative phrases and layout words
from templates/synth_names.yaml. Everything is invented: no real report's text is used.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import html as htmlmod
import io
import os
import random
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..record import Report
from ..template import Relation, Row, Template, common, get_template, read_data
from ..template import organ_kind as template_organ_kind

__all__ = [
    "BAD_KINDS",
    "EXPECTED_COLUMNS",
    "FORMS",
    "MANIFEST_COLUMNS",
    "Rendered",
    "SynthReport",
    "perturb",
    "random_report",
    "render",
    "split_run",
    "to_report",
    "write_corpus",
]

FORMS = ("text", "flat", "markdown", "html", "docx", "pdf")
BAD_KINDS = ("empty", "binary", "truncated", "not_a_report", "wrong_charset")
SUFFIX = {"text": ".txt", "flat": ".txt", "markdown": ".md", "html": ".html", "docx": ".docx", "pdf": ".pdf"}
EXPECTED_COLUMNS = ["table", "row", "column", "value", "status", "raw"]
# The manifest of write_corpus: the contract's six columns first, in order, then extras.
MANIFEST_COLUMNS = ["path", "organ", "year", "form", "error_key", "bad_kind", "file", "agency", "template",
                    "error_delta"]
ORGAN_KINDS = ("department", "government", "township")
# Placeholders the generator prints (all in common.yaml's list). Flat rows only carry the ones a
# reader can see between spaces in running text; others are printed there as the first of these.
PLACEHOLDERS = ("/", "—", "无", "-", "--", "不适用", "——", "－")
FLAT_PLACEHOLDERS = ("/", "—", "-", "--", "——")

# How many requests an organ of each kind handles (a scale, multiplied by random factors).
_SCALE = {"township": 3.0, "department": 30.0, "government": 300.0, "unknown": 30.0}
# Applicant columns: (chance the column has any requests, its share of the organ's scale).
_COLUMN_SHARE = {"natural_person": (0.92, 1.0), "commercial": (0.5, 0.15), "research": (0.08, 0.02),
                 "public_welfare": (0.12, 0.03), "legal_service": (0.3, 0.06), "other_org": (0.25, 0.05)}
# Outcome rows: relative frequency of each outcome.
_OUTCOME_WEIGHT = {"granted": 0.35, "partial": 0.12, "denied_state_secret": 0.005, "denied_law_forbidden": 0.02,
                   "denied_security": 0.01, "denied_third_party": 0.03, "denied_internal": 0.03,
                   "denied_process": 0.03, "denied_case_file": 0.02, "denied_admin_query": 0.04,
                   "unable_not_held": 0.25, "unable_needs_creation": 0.03, "unable_unclear": 0.02,
                   "np_petition": 0.04, "np_repeat": 0.03, "np_publication": 0.005, "np_mass_repeat": 0.01,
                   "np_confirm_reissue": 0.01, "oth_no_correction": 0.03, "oth_fee_unpaid": 0.01,
                   "oth_other": 0.06, "other_handling": 0.1}


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class SynthReport:
    """An invented report: identity, every template cell, extra rows and the six narrative sections."""

    template: str
    agency: str
    organ_kind: str
    year: int
    report_date: dt.date
    cells: dict[str, float | str]
    unknown_rows: list[tuple[str, list[float]]] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)


@dataclass
class Rendered:
    """A rendered document and the cells a correct parser reads from it."""

    data: bytes
    suffix: str
    form: str
    expected: pd.DataFrame
    meta: dict[str, Any]


def _rng(rng: random.Random | int) -> random.Random:
    """A random.Random from a seed (or the generator itself)."""
    return rng if isinstance(rng, random.Random) else random.Random(rng)


@functools.lru_cache(maxsize=None)
def _words() -> dict[str, Any]:
    """Names, narrative phrases and layout words (templates/synth_names.yaml)."""
    return read_data("synth_names.yaml")


@functools.lru_cache(maxsize=None)
def _layout(version: str) -> dict[str, Any]:
    """The template's table specs as written (band captions/headers, Table 3 note and column group)."""
    def load(name: str) -> dict[str, Any]:
        return read_data(f"{name}.yaml")

    data = load(version)
    tables = dict(data.get("tables", {}))
    if "inherit" in data:
        tables = {**load(data["inherit"])["tables"], **tables}
    return tables


def _relation(template: Template, rid: str) -> Relation:
    """The template's relation with this id (R1, R3, R4, R5)."""
    return next(r for r in template.relations if r.id == rid)


def _is_number(v: Any) -> bool:
    """True for a printed number (not a blank, a placeholder or a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# Generation


def _split_count(rng: random.Random, n: int, keys: list[str]) -> dict[str, int]:
    """Split n requests over outcome rows: a few rows get most, many stay 0."""
    out = dict.fromkeys(keys, 0)
    if n <= 0:
        return out
    weights = {k: _OUTCOME_WEIGHT.get(k, 0.02) for k in keys}
    active = [k for k in keys if rng.random() < 0.2 + 2.5 * weights[k]]
    if not active:
        active = [max(keys, key=lambda k: weights[k])]
    draws = {k: rng.gammavariate(weights[k] * 8 + 0.3, 1.0) for k in active}
    s = sum(draws.values())
    for k in active:
        out[k] = int(n * draws[k] / s)
    for _ in range(n - sum(out.values())):
        out[rng.choice(active)] += 1
    return out


def _gen_table3(rng: random.Random, tmpl: Template, kind: str, prev: SynthReport | None) -> dict[str, int]:
    """Table 3 bottom-up: outcomes per applicant column, then totals; R1, R3 and R4 hold."""
    r1, r3, r4 = _relation(tmpl, "R1"), _relation(tmpl, "R3"), _relation(tmpl, "R4")
    new_row, over_row = r1.plus
    (done_row,) = r1.minus
    fwd_row = r1.result
    outcomes = list(r3.plus)
    scale = _SCALE.get(kind, 30.0) * rng.choice([0.3, 1.0, 1.0, 1.0, 3.0])
    cells: dict[str, int] = {}
    for col in r4.plus:
        p_active, share = _COLUMN_SHARE.get(col, (0.2, 0.05))
        handled = 0
        if rng.random() < p_active:
            handled = int(rng.lognormvariate(0, 0.9) * scale * share + rng.random())
            if rng.random() < 0.04:
                handled *= rng.choice([10, 30])
        prev_fwd = prev.cells.get(f"table_3/{fwd_row}/{col}") if prev is not None else None
        if prev is not None:
            over = int(prev_fwd) if _is_number(prev_fwd) else 0
        else:
            over = 0 if rng.random() < 0.65 or handled == 0 else rng.randint(0, max(1, handled // 10))
        fwd = 0 if rng.random() < 0.6 or handled == 0 else rng.randint(0, max(1, handled // 8))
        if handled + fwd < over:
            handled = over - fwd
        new = handled + fwd - over
        split = _split_count(rng, handled, outcomes)
        cells[f"table_3/{new_row}/{col}"] = new
        cells[f"table_3/{over_row}/{col}"] = over
        cells[f"table_3/{done_row}/{col}"] = handled
        cells[f"table_3/{fwd_row}/{col}"] = fwd
        for row, v in split.items():
            cells[f"table_3/{row}/{col}"] = v
    for row in tmpl.tables["table_3"].data_rows:
        cells[f"table_3/{row.key}/{r4.result}"] = sum(cells[f"table_3/{row.key}/{c}"] for c in r4.plus)
    return cells


def _gen_table4(rng: random.Random, tmpl: Template, kind: str) -> dict[str, int]:
    """Table 4: mostly zeros; each block's total is the sum of its four outcomes (R5)."""
    r5 = _relation(tmpl, "R5")
    p = {"township": 0.1, "department": 0.35, "government": 0.7}.get(kind, 0.3)
    scale = {"township": 1.0, "department": 3.0, "government": 20.0}.get(kind, 3.0)
    cells: dict[str, int] = {}
    for row in tmpl.tables["table_4"].data_rows:
        active = rng.random() < p
        vals = [0 if not active or rng.random() < 0.5 else int(rng.lognormvariate(0, 1) * scale) for _ in r5.plus]
        for col, v in zip(r5.plus, vals):
            cells[f"table_4/{row.key}/{col}"] = v
        cells[f"table_4/{row.key}/{r5.result}"] = sum(vals)
    return cells


def _amount(rng: random.Random, x: float) -> float | int:
    """An amount rounded to a random number of decimals (integers printed without a point)."""
    digits = rng.choice([0, 1, 2, 2, 4, 6])
    return int(round(x)) if digits == 0 else round(x, digits)


def _decisions(rng: random.Random, kind: str) -> int:
    """A count of administrative decisions: often 0, sometimes very large (lognormal by organ kind)."""
    if rng.random() < {"township": 0.6, "department": 0.3, "government": 0.1}.get(kind, 0.3):
        return 0
    mu = {"township": 2.0, "department": 5.0, "government": 8.0}.get(kind, 5.0)
    return int(rng.lognormvariate(mu, 1.2))


def _gen_table2(rng: random.Random, tmpl: Template, kind: str, prev: SynthReport | None) -> dict[str, float | int]:
    """Table 2 by column meaning: documents, decisions, item counts and signed changes, amounts."""
    t = tmpl.tables["table_2"]
    out: dict[str, float | int] = {}
    big = {"township": 3, "department": 15, "government": 60}.get(kind, 15)
    for row in t.data_rows:
        cols = {c.key: c for c in t.row_columns(row)}
        docs = row.key in ("regulations", "normative_docs")
        for ck, col in cols.items():
            key = f"table_2/{row.key}/{ck}"
            if docs:
                if row.key == "regulations" and kind != "government":
                    v: float | int = 0
                else:
                    v = rng.randint(0, 4 if row.key == "regulations" else big)
            elif col.dtype == "signed":
                v = 0 if rng.random() < 0.5 else rng.randint(-10, 25)
            elif col.dtype == "amount":
                zero = rng.random() < (0.8 if kind == "township" else 0.35)
                v = 0 if zero else _amount(rng, rng.lognormvariate(5, 2) * (100 if row.key == "gov_procurement" else 1))
            elif ck in ("prev_year_items", "items"):
                v = 0 if rng.random() < 0.3 else rng.randint(1, 300 if ck == "prev_year_items" else 20)
            else:
                v = _decisions(rng, kind)
            out[key] = v
        # Stock columns follow the flows (2021: in force; 2019: total published).
        if docs and "in_force" in cols:
            issued, repealed = out[f"table_2/{row.key}/issued"], out[f"table_2/{row.key}/repealed"]
            before = prev.cells.get(f"table_2/{row.key}/in_force") if prev is not None else None
            if _is_number(before):
                base = int(before)
            else:
                base = 0 if row.key == "regulations" and kind != "government" else rng.randint(0, 8 * big)
            repealed = min(int(repealed), base + int(issued))
            out[f"table_2/{row.key}/repealed"] = repealed
            out[f"table_2/{row.key}/in_force"] = base + int(issued) - repealed
        if docs and "total_published" in cols:
            made = int(out[f"table_2/{row.key}/made"])
            out[f"table_2/{row.key}/published"] = made if rng.random() < 0.7 else rng.randint(0, made)
            published = int(out[f"table_2/{row.key}/published"])
            out[f"table_2/{row.key}/total_published"] = published + rng.randint(0, 10 * big)
    return out


def _break(rng: random.Random, tmpl: Template, cells: dict[str, float | str]) -> set[str]:
    """Make one relation fail (change its result cell); return the cells that must stay numbers."""
    instances = [inst for rel in tmpl.relations for inst in rel.instances(tmpl)]
    rng.shuffle(instances)
    for result, plus, minus in instances:
        if all(_is_number(cells[k]) for k in [result, *plus, *minus]):
            delta = rng.choice([1, 2, 3, 5, 10])
            value = cells[result]
            assert _is_number(value)
            cells[result] = value + delta if value < delta or rng.random() < 0.5 else value - delta
            return {result, *plus, *minus}
    raise AssertionError("no relation to break")  # pragma: no cover - every template has relations


def _agency(rng: random.Random, kind: str) -> str:
    """An invented organ name of the given kind (place syllables + an organ pattern)."""
    w = _words()
    place = rng.choice(w["place_first"]) + rng.choice(w["place_second"])
    return str(rng.choice(w["organs"][kind if kind in w["organs"] else "department"])).format(p=place)


def _report_date(rng: random.Random, kind: str, year: int) -> dt.date:
    """The signature date: departments in January, governments by March, townships in between."""
    month = {"department": 1, "government": rng.choice([1, 2, 3, 3]), "township": rng.choice([1, 1, 2, 3])}.get(kind, 1)
    day = rng.randint(5 if month == 1 else 1, 28 if month == 2 else 31)
    return dt.date(year + 1, month, day)


def _num(cells: dict[str, float | str], *keys: str) -> int | None:
    """The sum of some cells when all are numbers (for narrative counts), else None."""
    vals = [cells.get(k) for k in keys]
    if not all(_is_number(v) for v in vals):
        return None
    return int(sum(vals))  # type: ignore[arg-type]


def _narrative(rng: random.Random, tmpl: Template, agency: str, year: int, cells: dict[str, float | str],
               prev: SynthReport | None) -> dict[str, str]:
    """The six sections: invented prose whose request and review counts agree with the tables."""
    w = _words()["narrative"]
    fmt = {"agency": agency, "year": year, "next": year + 1}
    r1, r4, r5 = _relation(tmpl, "R1"), _relation(tmpl, "R4"), _relation(tmpl, "R5")
    tot = r4.result
    new = _num(cells, f"table_3/{r1.plus[0]}/{tot}")
    over = _num(cells, f"table_3/{r1.plus[1]}/{tot}")
    done = _num(cells, f"table_3/{r1.minus[0]}/{tot}")
    fwd = _num(cells, f"table_3/{r1.result}/{tot}")
    rows4 = [r.key for r in tmpl.tables["table_4"].data_rows]
    review = _num(cells, f"table_4/{rows4[0]}/{r5.result}")
    suits = _num(cells, *[f"table_4/{r}/{r5.result}" for r in rows4[1:]])
    counts = []
    if new == 0 and over == 0:
        counts.append(w["no_requests"].rstrip("。"))
    else:
        for text, value, name in ((w["received"], new, "new"), (w["carried_over"], over, "over"),
                                  (w["handled"], done, "done"), (w["carried_forward"], fwd, "forward")):
            if value is not None:
                counts.append(text.format(**{name: value}))
    if review is not None:
        counts.append(w["review"].format(review=review))
    if suits is not None:
        counts.append(w["suits"].format(suits=suits))
    parts = [p.format(**fmt) for p in w["overview_parts"]]
    if counts:
        parts[1] = parts[1] + "，".join(counts) + "。"
    overview = "\n".join([rng.choice(w["overview_open"]).format(**fmt), *parts])
    if prev is not None and prev.sections.get("problems") and rng.random() < 0.7:
        problems = prev.sections["problems"]  # copied from last year, as evaluators complain
    else:
        problems = "\n".join(p.format(**fmt) for p in rng.sample(w["problems"], rng.randint(1, 2)))
    unpaid = _num(cells, f"table_3/oth_fee_unpaid/{tot}") if "table_3/oth_fee_unpaid/total" in cells else None
    if unpaid:
        other = w["other"][1].format(fee_notices=unpaid + rng.randint(0, 3), fee=100 * rng.randint(1, 40))
    else:
        other = rng.choice(w["other"]).format(fee_notices=rng.randint(1, 5), fee=100 * rng.randint(1, 40))
    return {"overview": overview, "proactive": "", "requests": "", "review": "", "problems": problems,
            "other": other}


def random_report(rng: random.Random | int, *, template: str = "2021", year: int = 2023, agency: str | None = None,
                  organ_kind: str | None = None, consistent: bool = True, blank_share: float = 0.0,
                  placeholder_share: float = 0.0, unknown_rows: int = 0,
                  previous: SynthReport | None = None) -> SynthReport:
    """Invent a report: plausible numbers (mostly small, a few large, many zeros), narrative, identity.

    consistent=True makes R1, R3, R4 and R5 hold on every cell; consistent=False makes at least one
    relation fail (its cells are never blanked). Blanks ("") and placeholders then replace about
    `blank_share` / `placeholder_share` of the cells (which makes the relations on them not
    evaluable). `previous` continues the same organ a year later: same agency, carried_over equal to
    last year's carried_forward (X1; a blank there counts as 0), stocks carried on, narrative reused.
    """
    r = _rng(rng)
    tmpl = get_template(template)
    if previous is not None:
        agency = agency or previous.agency
        organ_kind = organ_kind or previous.organ_kind
    if agency is None:
        organ_kind = organ_kind or r.choice(ORGAN_KINDS)
        agency = _agency(r, organ_kind)
    organ_kind = organ_kind or template_organ_kind(agency)
    prev = previous if previous is not None and previous.template == template else None
    if previous is not None and prev is None:
        # Across a format change only Table 3's common rows carry over.
        prev = SynthReport(template, previous.agency, previous.organ_kind, previous.year, previous.report_date,
                           {k: v for k, v in previous.cells.items() if k.startswith("table_3/")},
                           sections=previous.sections)
    cells: dict[str, float | str] = {}
    cells.update(_gen_table2(r, tmpl, organ_kind, prev))
    cells.update(_gen_table3(r, tmpl, organ_kind, prev))
    cells.update(_gen_table4(r, tmpl, organ_kind))
    cells = {k: cells[k] for k in tmpl.keys}
    keep: set[str] = set()
    if not consistent:
        keep = _break(r, tmpl, cells)
    for key in tmpl.keys:
        if key in keep:
            continue
        roll = r.random()
        if roll < blank_share:
            cells[key] = ""
        elif roll < blank_share + placeholder_share:
            cells[key] = r.choice(PLACEHOLDERS)
    extra = []
    labels = r.sample(_words()["unknown_rows"], min(unknown_rows, len(_words()["unknown_rows"])))
    for label in labels:
        n_cols = len(tmpl.tables["table_3"].columns) - 1
        vals = [float(r.choice([0, 0, 0, 1, 2, r.randint(1, 30)])) for _ in range(n_cols)]
        extra.append((label, vals + [float(sum(vals))]))
    sections = _narrative(r, tmpl, agency, year, cells, previous)
    return SynthReport(template=template, agency=agency, organ_kind=organ_kind, year=year,
                       report_date=_report_date(r, organ_kind, year), cells=cells, unknown_rows=extra,
                       sections=sections)


def perturb(report: SynthReport, key: str, delta: float) -> SynthReport:
    """A copy with one numeric cell changed by `delta` (the narrative is left as it was)."""
    value = report.cells[key]
    if not _is_number(value):
        raise ValueError(f"cell {key} holds {value!r}, not a number; choose a numeric cell to perturb")
    out = copy.deepcopy(report)
    new = value + delta
    out.cells[key] = int(new) if isinstance(value, int) and float(delta).is_integer() else new
    return out


def _unknown_name(label: str) -> str:
    """The row key the parser gives a row the template does not know."""
    return "unknown:" + re.sub(r"\s+", "", label)


def to_report(report: SynthReport) -> Report:
    """The generated cells as a `Report` (numbers ok, "" blank, text placeholder, extra rows unknown)."""
    recs: list[dict[str, Any]] = []
    for key, v in report.cells.items():
        t, r, c = key.split("/", 2)
        if _is_number(v):
            recs.append({"table": t, "row": r, "column": c, "value": float(v), "raw": _fmt(v), "status": "ok"})
        else:
            recs.append({"table": t, "row": r, "column": c, "value": None, "raw": v,
                         "status": "placeholder" if str(v).strip() else "blank"})
    recs += _unknown_records(report)
    return Report.from_cells(recs, template=report.template, agency=report.agency, year=report.year,
                             report_date=report.report_date, organ_kind=report.organ_kind,
                             sections=dict(report.sections))


def _unknown_records(report: SynthReport) -> list[dict[str, Any]]:
    """The unknown rows as cell records with status unknown."""
    cols = get_template(report.template).tables["table_3"].column_keys
    out = []
    for label, vals in report.unknown_rows:
        for col, v in zip(cols, vals):
            out.append({"table": "table_3", "row": _unknown_name(label), "column": col, "value": float(v),
                        "raw": _fmt(v), "status": "unknown"})
    return out


# ---------------------------------------------------------------------------------------------
# Printing cells


def _fmt(v: float | int, dtype: str = "count", plus: bool = False) -> str:
    """A number as printed: integers without a decimal point, amounts as given, signs when asked."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = str(v) if isinstance(v, int) else f"{v:.10f}".rstrip("0").rstrip(".")
    if dtype == "signed" and plus and v > 0:
        text = "+" + text
    return text


# ---------------------------------------------------------------------------------------------
# Table layout shared by the forms: rows of logical cells with spans


@dataclass
class _G:
    """One logical table cell: text, spans, and the template key when it holds a value."""

    text: str
    cs: int = 1
    rs: int = 1
    key: str | None = None
    kind: str = "label"  # label, head, value, cont (continuation of a cell merged from above)


def _cont(cs: int = 1) -> _G:
    """A continuation cell: the part of a cell merged from the row above."""
    return _G("", cs=cs, kind="cont")


def _spans(n: int, width: int, data_shift: bool = False) -> list[int]:
    """Column spans of a Table 2 row of n logical cells in a grid `width` wide (2019: Shanghai-like)."""
    if n == width:
        return [1] * n
    if width == 5 and n == 4:
        return [1, 2, 1, 1] if data_shift else [1, 1, 2, 1]
    if width == 5 and n == 3:
        return [1, 2, 2]
    return [1] * (n - 1) + [width - n + 1] if n > 1 else [width]


def _grid_table2(tmpl: Template, texts: dict[str, str], mismatch: bool) -> list[list[_G]]:
    """Table 2 as rows of logical cells: per band a caption row, a header row and its data rows."""
    t = tmpl.tables["table_2"]
    bands = _layout(tmpl.version)["table_2"]["bands"]
    width = max(len(b["header"]) for b in bands) + (1 if tmpl.version == "2019" else 0)
    rows: list[list[_G]] = []
    for i, band in enumerate(bands):
        rows.append([_G(band["caption"], cs=width, kind="head")])
        header = band["header"]
        rows.append([_G(h, cs=s, kind="head") for h, s in zip(header, _spans(len(header), width))])
        shift = mismatch and i > 0 and len(header) == 4 and width == 5
        for row in t.data_rows:
            if row.band != band["id"]:
                continue
            keys = [f"table_2/{row.key}/{c.key}" for c in t.row_columns(row)]
            spans = _spans(len(keys) + 1, width, data_shift=shift)
            rows.append([_G(row.printed_label)] + [_G(texts[k], cs=s, key=k, kind="value") for k, s in zip(keys, spans[1:])])
    return rows


def _level(row: Row) -> int:
    """A Table 3 row's depth from its numbering: 一 → 1, （一） → 2, 1 → 3."""
    n = row.number or ""
    if n.startswith(("（", "(")):
        return 2
    if n.isdigit():
        return 3
    return 1


def _grid_table3(tmpl: Template, texts: dict[str, str], unknown: list[tuple[str, list[str]]],
                 pad_header: bool = False) -> list[list[_G]]:
    """Table 3 as rows of logical cells with the real template's merges (unknown rows before （七）)."""
    t = tmpl.tables["table_3"]
    spec = _layout(tmpl.version)["table_3"]
    cols = list(t.columns.values())
    org = [c for c in cols if c.group]
    group_label = org[0].group if org else ""
    first, last = cols[0], cols[-1]
    rows: list[list[_G]] = [[_G(spec.get("header_note", ""), cs=3, rs=3, kind="head"),
                             _G(spec.get("column_group", ""), cs=len(cols), kind="head")]]
    if pad_header:
        rows.append([_cont(3), _G(first.label, kind="head"), _G(group_label, cs=len(org), kind="head"),
                     _G(last.label, kind="head")])
        rows.append([_cont(3), _G("", kind="head")] + [_G(c.label, kind="head") for c in org] + [_G("", kind="head")])
    else:
        rows.append([_cont(3), _G(first.label, rs=2, kind="head"), _G(group_label, cs=len(org), kind="head"),
                     _G(last.label, rs=2, kind="head")])
        rows.append([_cont(3), _cont()] + [_G(c.label, kind="head") for c in org] + [_cont()])
    col_keys = [c.key for c in cols]
    done_row = _relation(tmpl, "R1").minus[0]

    def values(row_key: str) -> list[_G]:
        return [_G(texts[f"table_3/{row_key}/{c}"], key=f"table_3/{row_key}/{c}", kind="value") for c in col_keys]

    # The results block: level-2 leaves and groups with their level-3 rows, unknown rows before (七).
    entries: list[tuple[str, Any]] = []  # ("leaf1", row) | ("block", [items])
    block: list[tuple[Row | None, list[Row], str | None, list[str] | None]] = []
    results_label = ""
    for row in t.rows:
        lv = _level(row)
        if lv == 1:
            if row.group:
                results_label = row.printed_label
                entries.append(("block", block))
                continue
            entries.append(("leaf1", row))
        elif lv == 2:
            if row.key == done_row:
                for label, vals in unknown:
                    block.append((None, [], label, vals))
            block.append((row, [], None, None))
        else:
            block[-1][1].append(row)
    n_block = sum(max(1, len(kids)) for _, kids, _, _ in block)
    for kind, item in entries:
        if kind == "leaf1":
            rows.append([_G(item.printed_label, cs=3)] + values(item.key))
            continue
        top_done = False
        for row, kids, ulabel, uvals in item:
            top = _cont() if top_done else _G(results_label, rs=n_block)
            top_done = True
            if ulabel is not None:
                name = _unknown_name(ulabel)
                rows.append([top, _G(ulabel, cs=2)] + [_G(v, key=f"table_3/{name}/{c}", kind="value")
                                                        for v, c in zip(uvals or [], col_keys)])
            elif not kids:
                rows.append([top, _G(row.printed_label, cs=2)] + values(row.key))
            else:
                for j, kid in enumerate(kids):
                    mid = _G(row.printed_label, rs=len(kids)) if j == 0 else _cont()
                    rows.append([top if j == 0 else _cont(), mid, _G(kid.printed_label)] + values(kid.key))
    return rows


def _grid_table4(tmpl: Template, texts: dict[str, str]) -> list[list[_G]]:
    """Table 4 as four rows: block headers, leaf headers (merged down), litigation leaves, 15 values."""
    t = tmpl.tables["table_4"]
    cols = list(t.columns.values())
    top = [r for r in t.data_rows if not r.parent]
    sub = [r for r in t.data_rows if r.parent]
    parent = sub[0].parent if sub else ""
    n = len(cols)
    r0 = [_G(r.label, cs=n, kind="head") for r in top]
    if sub:
        r0.append(_G(parent or "", cs=n * len(sub), kind="head"))
    r1 = [_G(c.label, rs=2, kind="head") for _ in top for c in cols] + [_G(r.label, cs=n, kind="head") for r in sub]
    r2 = [_cont() for _ in top for _c in cols] + [_G(c.label, kind="head") for _ in sub for c in cols]
    r3 = [_G(texts[f"table_4/{r.key}/{c.key}"], key=f"table_4/{r.key}/{c.key}", kind="value")
          for r in [*top, *sub] for c in cols]
    return [r0, r1, r2, r3]


def _grid_width(grid: list[list[_G]]) -> int:
    """The number of grid columns of a table."""
    return max(sum(c.cs for c in row) for row in grid)


# ---------------------------------------------------------------------------------------------
# Expected cells


def _expected_rows(report: SynthReport, texts: dict[str, str], unknown: bool = True) -> list[dict[str, Any]]:
    """One record per template cell as printed in a cell-per-cell form (plus unknown rows)."""
    out = []
    for key in get_template(report.template).keys:
        t, r, c = key.split("/", 2)
        v = report.cells[key]
        if _is_number(v):
            out.append({"table": t, "row": r, "column": c, "value": float(v), "status": "ok", "raw": texts[key]})
        else:
            out.append({"table": t, "row": r, "column": c, "value": None,
                        "status": "placeholder" if str(v).strip() else "blank", "raw": str(v).strip()})
    if unknown:
        out += [{k: rec[k] for k in EXPECTED_COLUMNS} for rec in _unknown_records(report)]
    return out


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The expected cells as a DataFrame with a nullable float value column."""
    df = pd.DataFrame(rows, columns=EXPECTED_COLUMNS)
    df["value"] = pd.array([None if v is None else float(v) for v in df["value"]], dtype="Float64")
    return df


# ---------------------------------------------------------------------------------------------
# The flat-text oracle: what can be known about numbers printed with no separator


_PIECE = {"count": re.compile(r"0|[1-9]\d*"), "amount": re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?"),
          "signed": re.compile(r"[+-]?(?:0|[1-9]\d*)")}


def split_run(run: str, dtypes: Sequence[str],
              relations: Sequence[tuple[int, Sequence[int], Sequence[int]]] = ()) -> list[tuple[float | None, str]]:
    """(value, status) per column for n numbers printed run together as `run`.

    Every split of `run` into one valid number per column is considered (counts: "0" or no leading
    zero; amounts: one decimal point allowed; signed: a leading +/-). One split: all "ok". Several:
    a column with the same value in all of them is "ok"; otherwise, if the relations printed within
    the row (result index, plus indices, minus indices) leave exactly one split, "inferred" with its
    value; else "unreadable" (None). Counted exactly by dynamic programming, never capped.
    """
    n, size = len(dtypes), len(run)
    ends = [[[j for j in range(i + 1, size + 1) if _PIECE[d].fullmatch(run, i, j)] for i in range(size)]
            for d in dtypes]
    back = [[0] * (size + 1) for _ in range(n + 1)]
    back[n][size] = 1
    for c in range(n - 1, -1, -1):
        for i in range(size):
            back[c][i] = sum(back[c + 1][j] for j in ends[c][i])
    if back[0][0] == 0:
        return [(None, "unreadable")] * n
    fwd = [[0] * (size + 1) for _ in range(n + 1)]
    fwd[0][0] = 1
    values: list[set[float]] = [set() for _ in range(n)]
    for c in range(n):
        for i in range(size):
            if not fwd[c][i]:
                continue
            for j in ends[c][i]:
                if back[c + 1][j]:
                    fwd[c + 1][j] += fwd[c][i]
                    values[c].add(float(run[i:j]))
    if back[0][0] == 1 or all(len(v) == 1 for v in values):
        return [(next(iter(v)), "ok") for v in values]
    solutions = _relation_splits(run, ends, back, list(dtypes), relations) if relations else []
    out: list[tuple[float | None, str]] = []
    for c in range(n):
        if len(values[c]) == 1:
            out.append((next(iter(values[c])), "ok"))
        elif len(solutions) == 1:
            out.append((solutions[0][c], "inferred"))
        else:
            out.append((None, "unreadable"))
    return out


def _relation_splits(run: str, ends: list[list[list[int]]], back: list[list[int]], dtypes: list[str],
                     relations: Sequence[tuple[int, Sequence[int], Sequence[int]]]) -> list[tuple[float, ...]]:
    """Up to two splits of `run` on which every relation holds (depth-first, memoised on partial sums)."""
    n, size = len(dtypes), len(run)
    rels = [(r, set(p), set(m)) for r, p, m in relations]
    ordered = all(r > max([*p, *m], default=-1) for r, p, m in rels)
    memo: dict[tuple[int, int, tuple[float, ...]], list[tuple[float, ...]]] = {}

    def step(c: int, i: int, sums: tuple[float, ...]) -> list[tuple[float, ...]]:
        if c == n:
            return [()] if i == size else []
        state = (c, i, sums)
        if state in memo:
            return memo[state]
        found: list[tuple[float, ...]] = []
        forced = [k for k, (r, _, _) in enumerate(rels) if r == c] if ordered else []
        candidates = ends[c][i]
        if forced:
            want = sums[forced[0]]
            if want < 0 or not float(want).is_integer():
                candidates = []
            else:
                piece = str(int(want))
                candidates = [j for j in candidates if run[i:j] == piece]
        for j in candidates:
            if not back[c + 1][j]:
                continue
            v = float(run[i:j])
            if forced and any(abs(sums[k] - v) > 1e-9 for k in forced):
                continue
            new = list(sums)
            for k, (r, p, m) in enumerate(rels):
                if c in p:
                    new[k] += v
                elif c in m:
                    new[k] -= v
                if r == c and ordered:
                    new[k] = 0.0
            for rest in step(c + 1, j, tuple(new)):
                found.append((v, *rest))
                if len(found) >= 2:
                    break
            if len(found) >= 2:
                break
        memo[state] = found
        return found

    if ordered:
        return step(0, 0, tuple(0.0 for _ in rels))
    # Relations whose result precedes an operand: enumerate all splits and filter (small rows only).
    sols: list[tuple[float, ...]] = []

    def walk(c: int, i: int, acc: list[float]) -> None:
        if len(sols) >= 2:
            return
        if c == n:
            if i == size and all(abs(acc[r] - (sum(acc[x] for x in p) - sum(acc[x] for x in m))) < 1e-9
                                 for r, p, m in rels):
                sols.append(tuple(acc))
            return
        for j in ends[c][i]:
            if back[c + 1][j]:
                walk(c + 1, j, acc + [float(run[i:j])])

    walk(0, 0, [])
    return sols


def _row_relations(tmpl: Template, keys: list[str]) -> list[tuple[int, list[int], list[int]]]:
    """The relation instances all of whose cells are printed in this one row."""
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for rel in tmpl.relations:
        for res, plus, minus in rel.instances(tmpl):
            if res in index and all(k in index for k in [*plus, *minus]):
                out.append((index[res], [index[k] for k in plus], [index[k] for k in minus]))
    return out


# ---------------------------------------------------------------------------------------------
# Rendering


def _title(report: SynthReport, rng: random.Random) -> str:
    """The report title, in one of the usual word orders."""
    suffix = common()["metadata"]["title_suffix"]
    pattern = rng.choice(_words()["render"]["titles"])
    return str(pattern).format(agency=report.agency, year=report.year, suffix=suffix)


def _date_text(d: dt.date) -> str:
    """A date as printed in Chinese (2024年1月20日)."""
    return str(_words()["render"]["date"]).format(y=d.year, m=d.month, d=d.day)


def _headings() -> dict[str, str]:
    """Section id → printed heading (一、总体情况 …)."""
    return {s["id"]: f"{s['number']}、{s['heading']}" for s in common()["sections"]}


def _intro(report: SynthReport) -> str:
    """The lead-in paragraph (legal basis and statistics period), chosen by the agency name."""
    options = _words()["narrative"]["intro"]
    text = options[sum(map(ord, report.agency)) % len(options)]
    return str(text).format(agency=report.agency, year=report.year)


def _texts(report: SynthReport, opts: dict[str, Any]) -> dict[str, str]:
    """Every template cell as printed in cell-per-cell forms."""
    info = get_template(report.template).column_info
    out = {}
    for key, v in report.cells.items():
        if _is_number(v):
            text = _fmt(v, info[key].dtype, plus=opts.get("plus_sign", True))
            if opts.get("unit_suffix") and info[key].dtype == "amount" and info[key].unit is None:
                text += str(_words()["render"]["amount_unit"])
            out[key] = text
        else:
            out[key] = str(v)
    return out


def _unknown_texts(report: SynthReport) -> list[tuple[str, list[str]]]:
    """The unknown rows with their values as printed."""
    return [(label, [_fmt(v) for v in vals]) for label, vals in report.unknown_rows]


def _grids(report: SynthReport, opts: dict[str, Any], texts: dict[str, str],
           unknown: bool = True) -> dict[str, list[list[_G]]]:
    """The three tables as grids, keyed by the section that holds them."""
    tmpl = get_template(report.template)
    return {
        "proactive": _grid_table2(tmpl, texts, mismatch=bool(opts.get("colspan_mismatch"))),
        "requests": _grid_table3(tmpl, texts, _unknown_texts(report) if unknown else [],
                                 pad_header=bool(opts.get("pad_header"))),
        "review": _grid_table4(tmpl, texts),
    }


def _bookmark(rng: random.Random) -> str:
    """A Word bookmark marker as the seed's text export prints it."""
    return f"[bookmark: hmcheck_{rng.getrandbits(128):032x}]"


def _render_text(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Word-export text like the seed: one cell per line after a tab, a blank line after each row."""
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    tmpl = get_template(report.template)
    total_label = tmpl.tables["table_4"].columns[_relation(tmpl, "R5").result].label
    lines: list[str] = []
    if opts["title"]:
        lines += [_title(report, rng), ""]
    lines.append(_intro(report))
    heads = _headings()
    for sid, heading in heads.items():
        lines.append(heading)
        if sid in grids:
            for r, grow in enumerate(grids[sid]):
                for cell in grow:
                    text = cell.text
                    if sid == "review" and r == 1 and text == total_label and opts["split_total"]:
                        text = "\n".join(text)  # 总 / 计 on two lines, as Word exports print it
                    if cell.kind == "label" and text and rng.random() < opts["bookmarks"]:
                        text = _bookmark(rng) + text
                    first, *more = text.split("\n")
                    lines.append("\t" + first)
                    lines += more
                lines.append("")
            lines.append("")
        else:
            lines += [p for p in report.sections.get(sid, "").split("\n") if p]
    pad = " " * rng.randint(10, 30)
    lines += [pad + report.agency, pad + "    " + _date_text(report.report_date), ""]
    return "\n".join(lines), _expected_rows(report, texts)


def _render_markdown(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Markdown: headings as `##`, each table a pipe table (labels right-aligned in merged columns)."""
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    out = [_title(report, rng), "", str(_words()["render"]["published"]).format(date=report.report_date.isoformat()),
           "", _intro(report), ""]
    for sid, heading in _headings().items():
        out += [f"## {heading}", ""]
        if sid in grids:
            grid = grids[sid]
            width = _grid_width(grid)
            for r, grow in enumerate(grid):
                cells: list[str] = []
                for cell in grow:
                    if cell.kind == "cont":
                        cells += [""] * cell.cs
                    elif cell.kind == "label":
                        cells += [""] * (cell.cs - 1) + [cell.text]
                    elif cell.kind == "head":
                        cells += [cell.text] + [""] * (cell.cs - 1)
                    else:
                        cells.append(cell.text)
                cells += [""] * (width - len(cells))
                out.append("| " + " | ".join(c.replace("\n", "") for c in cells) + " |")
                if r == 0:
                    out.append("|" + "---|" * width)
            out.append("")
        else:
            for p in report.sections.get(sid, "").split("\n"):
                if p:
                    out += [p, ""]
    out += [report.agency, "", _date_text(report.report_date), ""]
    return "\n".join(out), _expected_rows(report, texts)


def _render_flat(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Archiver text like pingtan: a `标题:` header block, then the body on one line, table cells
    run together with no separator.

    Numbers of a row are concatenated; a row holding a blank or placeholder is printed with spaces
    between its cells instead, a blank printed as a placeholder ("—") and a placeholder that text
    cannot show between spaces (无, 不适用) as "—" too (the oracle expects those placeholders).
    Rows the template does not know are not printed: in running text they cannot be told apart.
    """
    tmpl = get_template(report.template)
    info = tmpl.column_info
    opts = {**opts, "plus_sign": opts.get("plus_sign", True)}
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts, unknown=False)
    expected = {(r["table"], r["row"], r["column"]): r for r in _expected_rows(report, texts, unknown=False)}
    words = _words()["render"]
    arch = words["archiver"]
    sep = " " if opts["label_space"] else ""
    body = [_intro(report)]
    for sid, heading in _headings().items():
        body.append(heading)
        if sid not in grids:
            body += [p for p in report.sections.get(sid, "").split("\n") if p]
            continue
        parts: list[str] = []
        for grow in grids[sid]:
            labels = [c.text.replace("\n", "") for c in grow if c.kind in ("label", "head") and c.text]
            vals = [c for c in grow if c.kind == "value"]
            if not vals:
                parts.append(opts["head_sep"].join(labels))
                continue
            keys = [c.key for c in vals if c.key]
            printed = []
            plain = True
            for c in vals:
                text = c.text
                number = re.fullmatch(r"[+\-]?\d+(?:\.\d+)?", text)
                if not text.strip() or (not number and text not in FLAT_PLACEHOLDERS):
                    text = FLAT_PLACEHOLDERS[1]
                if not re.fullmatch(r"[+\-]?\d+(?:\.\d+)?", text):
                    plain = False
                    t, r, col = str(c.key).split("/", 2)
                    expected[(t, r, col)].update(value=None, status="placeholder", raw=text)
                printed.append(text)
            spaced = not plain or (sid == "review" and opts["table4_spaced"]) or rng.random() < opts["spaced_share"]
            if spaced:
                parts.append(sep.join(labels) + " " + " ".join(printed) + " ")
            else:
                run = "".join(printed)
                parts.append(sep.join(labels) + sep + run)
                dtypes = [info[k].dtype for k in keys]
                for k, (value, status) in zip(keys, split_run(run, dtypes, _row_relations(tmpl, keys))):
                    t, r, col = k.split("/", 2)
                    expected[(t, r, col)].update(value=value, status=status, raw=run)
        body.append("".join(parts))
    body.append(f"{report.agency} {_date_text(report.report_date)}")
    published = report.report_date.isoformat() + f" {rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}"
    title = _title(report, rng)
    header = [f"{arch['title']}: {title}", f"{arch['published']}: {published}", f"{arch['number']}: ",
              f"{arch['agency']}: {report.agency if opts['header_agency'] else ''}",
              f"{arch['column']}: {words['column']}",
              str(arch["body"])]
    text = "\n".join(header) + "\n" + " ".join(body) + "\n"
    return text, list(expected.values())


_MSO_STYLE = ("p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; margin-bottom:.0001pt; text-align:justify; "
              "text-justify:inter-ideograph; font-size:10.5pt; font-family:\"Times New Roman\",serif;}\n")


def _html_cell(cell: _G, mso: bool) -> str:
    """One <td> with its spans; Word-export markup when `mso`."""
    attrs = ""
    if cell.cs > 1:
        attrs += f' colspan="{cell.cs}"'
    if cell.rs > 1:
        attrs += f' rowspan="{cell.rs}"'
    text = "<br />".join(htmlmod.escape(x) for x in cell.text.split("\n")) if cell.text.strip() else "&nbsp;"
    if mso:
        width = 40 * cell.cs
        attrs += (f" width={width} valign=center style='width:{width * 0.75:.1f}pt;border:solid windowtext 1.0pt;"
                  "border-top:none;padding:0cm 5.4pt 0cm 5.4pt'")
        lang = " lang=EN-US" if cell.kind == "value" else ""
        return (f"<td{attrs}><p class=MsoNormal align=center style='text-align:center'><span{lang} "
                f"style='font-size:10.5pt;font-family:宋体;mso-bidi-font-family:宋体'>{text}<o:p></o:p>"
                "</span></p></td>")
    return f"<td{attrs}>{text}</td>"


def _html_table(grid: list[list[_G]], mso: bool) -> str:
    """A leaf <table> from a grid (continuation cells are covered by spans)."""
    rows = []
    for grow in grid:
        rows.append("<tr>" + "".join(_html_cell(c, mso) for c in grow if c.kind != "cont") + "</tr>")
    cls = " class=MsoNormalTable border=1 cellspacing=0 cellpadding=0" if mso else ' border="1" cellspacing="0"'
    return f"<table{cls}><tbody>" + "".join(rows) + "</tbody></table>"


def _html_p(text: str, mso: bool, center: bool = False) -> str:
    """A paragraph; Word-export markup when `mso`."""
    esc = htmlmod.escape(text)
    if mso:
        align = " align=center style='text-align:center'" if center else " style='text-indent:32.0pt'"
        return (f"<p class=MsoNormal{align}><span style='font-size:16.0pt;font-family:仿宋_GB2312;"
                f"mso-hansi-font-family:\"Times New Roman\"'>{esc}<span lang=EN-US><o:p></o:p></span></span></p>")
    return f"<p style=\"text-align:center\">{esc}</p>" if center else f"<p>{esc}</p>"


def _render_html(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """HTML: a fragment or a full page, optional Word-export markup, layout tables, padding."""
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    mso = opts["mso"]
    title = _title(report, rng)
    words = _words()["render"]
    body = [_html_p(title, mso, center=True),
            _html_p(str(words["published"]).format(date=report.report_date.isoformat()), mso, center=True),
            _html_p(_intro(report), mso)]
    for sid, heading in _headings().items():
        body.append(_html_p(heading, mso))
        if sid in grids:
            body.append(_html_table(grids[sid], mso))
        else:
            body += [_html_p(p, mso) for p in report.sections.get(sid, "").split("\n") if p]
    body += [_html_p(report.agency, mso), _html_p(_date_text(report.report_date), mso)]
    content = "\n".join(body)
    if mso:
        content = f"<div class=WordSection1 style='layout-grid:15.6pt'>\n{content}\n</div>"
    if opts["layout_tables"]:
        nav = " &gt; ".join(htmlmod.escape(x) for x in words["nav"])
        content = (f'<table width="100%" class="layout"><tr><td class="nav">{nav}</td></tr>'
                   f'<tr><td class="main"><div id="zoom">{content}</div></td></tr></table>')
    charset = "gbk" if opts["encoding"] == "gbk" else "utf-8"
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if opts["meta_charset"] else ""
    if opts["full_page"]:
        style = f"<style>\n<!--\n{_MSO_STYLE}-->\n</style>" if mso else ""
        page = (f"<!DOCTYPE html>\n<html><head>{meta}<title>{htmlmod.escape(title)}</title>{style}</head>\n"
                f"<body>\n{content}\n</body></html>\n")
    else:
        page = meta + content + "\n"
    if opts["pad_kb"]:
        target = int(opts["pad_kb"]) * 1024
        filler = "<!--[if gte mso 9]><xml><w:WordDocument><w:View>Normal</w:View><w:Zoom>100</w:Zoom>" \
                 "<w:PunctuationKerning/><w:DrawingGridVerticalSpacing>7.8 pt</w:DrawingGridVerticalSpacing>" \
                 "</w:WordDocument></xml><![endif]-->\n"
        size = len(page.encode(charset, errors="xmlcharrefreplace"))
        if size < target:
            pad = filler * ((target - size) // len(filler) + 1)
            page = page.replace("</head>", pad + "</head>", 1) if opts["full_page"] else pad + page
    return page, _expected_rows(report, texts)


def _render_docx(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """DOCX via python-docx: merged cells as in the real template, U+3000 in blank cells, line
    breaks inside header labels."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.table import _Cell

    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    d = docx.Document()
    p = d.add_paragraph(_title(report, rng))
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph(_intro(report))
    for sid, heading in _headings().items():
        d.add_paragraph(heading)
        if sid not in grids:
            for para in report.sections.get(sid, "").split("\n"):
                if para:
                    d.add_paragraph(para)
            continue
        grid = grids[sid]
        width = _grid_width(grid)
        table = d.add_table(rows=len(grid), cols=width)
        table.style = "Table Grid"
        placed: list[tuple[int, int, _G]] = []
        for r, grow in enumerate(grid):
            c = 0
            for cell in grow:
                if cell.kind == "cont":
                    c += cell.cs
                    continue
                placed.append((r, c, cell))
                c += cell.cs
        # Merge on the XML cells taken before any merge (table.cell() rescans the table each call).
        tcs = [list(tr.tc_lst) for tr in table._tbl.tr_lst]
        for r, c, cell in placed:
            tc = tcs[r][c]
            if cell.rs > 1 or cell.cs > 1:
                tc = tc.merge(tcs[r + cell.rs - 1][c + cell.cs - 1])
            target = _Cell(tc, table)
            text = cell.text
            if cell.kind == "value" and not text.strip():
                text = opts["blank_text"]
            elif cell.kind == "head" and opts["line_breaks"] and 4 <= len(text) <= 6 and "\n" not in text:
                text = text[:2] + "\n" + text[2:]
            target.text = text
        d.add_paragraph("")
    for text in (report.agency, _date_text(report.report_date)):
        d.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue()), _expected_rows(report, texts)


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every member dated 1980-01-01: one seed gives the same bytes at any time
    (python-docx stamps members with the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def _positions(grid: list[list[_G]]) -> list[list[int]]:
    """The first grid column of every logical cell (continuation cells included)."""
    out = []
    for grow in grid:
        cols, c = [], 0
        for cell in grow:
            cols.append(c)
            c += cell.cs
        out.append(cols)
    return out


def _split_grid(grid: list[list[_G]], k: int, per_line: Sequence[int]) -> tuple[list[list[_G]], list[list[_G]]]:
    """Cut a table before row k as a page break does: a merged label that runs over the cut is
    broken at a line end (`per_line[c]` characters fit a line of column c), its first lines
    printed above the cut and the rest below, as real PDF exports print them (（四）无 / 法提供)."""
    pos = _positions(grid)
    top = [list(row) for row in grid[:k]]
    bottom = [list(row) for row in grid[k:]]
    for r in range(k):
        for i, cell in enumerate(grid[r]):
            if cell.kind == "cont" or r + cell.rs <= k:
                continue
            width = max(1, per_line[pos[r][i]])
            lines = -(-len(cell.text) // width)
            cut = width * max(1, lines // 2) if lines > 1 else max(1, len(cell.text) // 2)
            top[r][i] = _G(cell.text[:cut], cs=cell.cs, rs=k - r, key=cell.key, kind=cell.kind)
            j = pos[k].index(pos[r][i])
            bottom[0][j] = _G(cell.text[cut:], cs=cell.cs, rs=r + cell.rs - k, key=cell.key, kind=cell.kind)
    return top, bottom


_FONT = "STSong-Light"
_CELL_PT = 9      # table text size (points); narrative size is the option font_size
_MARGIN = 72     # page margins (points)


@functools.lru_cache(maxsize=None)
def _register_font() -> str:
    """Register reportlab's built-in CID font (no font file needed) once."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def _pdf_table(grid: list[list[_G]], width: int, widths: list[float], sid: str, opts: dict[str, Any], font: str,
               cell_style: Any, center: Any) -> Any:
    """One reportlab Table from a grid of logical cells (labels as wrapping paragraphs)."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data: list[list[Any]] = [[""] * width for _ in grid]
    rules = {"grid": [("GRID", (0, 0), (-1, -1), 0.5, colors.black)],  # every cell boxed
             "horizontal": [("LINEABOVE", (0, 0), (-1, -1), 0.5, colors.black),  # a rule under every row
                            ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.black)],
             "frame": [("BOX", (0, 0), (-1, -1), 0.5, colors.black),  # rules between rows in a box
                       ("LINEABOVE", (0, 1), (-1, -1), 0.5, colors.black)],
             "partial": [("BOX", (0, 0), (-1, -1), 0.5, colors.black),  # ... and one inner vertical rule
                         ("LINEABOVE", (0, 1), (-1, -1), 0.5, colors.black),
                         ("LINEAFTER", (0, 0), (0, -1), 0.5, colors.black)],
             "none": []}[opts["rules"]]
    style: list[tuple[Any, ...]] = [*rules,
                                    ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), _CELL_PT),
                                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]
    for r, (grow, cols) in enumerate(zip(grid, _positions(grid))):
        for cell, c in zip(grow, cols):
            if cell.kind == "cont":
                continue
            text = cell.text.replace("\n", "")
            if cell.kind == "value":
                data[r][c] = text
            else:
                vertical = sid == "requests" and c == 0 and cell.rs > 3 and opts["vertical_label"]
                markup = "<br/>".join(htmlmod.escape(ch) for ch in text) if vertical else htmlmod.escape(text)
                data[r][c] = Paragraph(markup, center if cell.kind == "head" or vertical else cell_style)
            if cell.rs > 1 or cell.cs > 1:
                style.append(("SPAN", (c, r), (c + cell.cs - 1, r + cell.rs - 1)))
    return Table(data, colWidths=widths, style=TableStyle(style), splitByRow=1)


def _render_pdf(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """PDF via reportlab with the built-in CID font STSong-Light: wrapped labels, tables that run
    over page breaks, optionally the results label one character per line."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    font = _register_font()
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    body = ParagraphStyle("body", fontName=font, fontSize=opts["font_size"], leading=opts["font_size"] * 1.9,
                          firstLineIndent=opts["font_size"] * 2, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, firstLineIndent=0)
    title_style = ParagraphStyle("title", parent=head, fontSize=18, leading=28, alignment=TA_CENTER)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=_CELL_PT, leading=_CELL_PT * 1.3, wordWrap="CJK")
    center = ParagraphStyle("cellc", parent=cell_style, alignment=TA_CENTER)
    title = _title(report, rng)
    story: list[Any] = [Paragraph(htmlmod.escape(title), title_style), Spacer(1, 12),
                        Paragraph(htmlmod.escape(_intro(report)), body)]
    usable = A4[0] - 2 * _MARGIN
    for sid, heading in _headings().items():
        story.append(Paragraph(htmlmod.escape(heading), head))
        if sid not in grids:
            story += [Paragraph(htmlmod.escape(p), body) for p in report.sections.get(sid, "").split("\n") if p]
            continue
        grid = grids[sid]
        width = _grid_width(grid)
        if sid == "requests":
            label = [usable * x for x in (0.06 if opts["vertical_label"] else 0.1, 0.1, 0.26)]
            rest = (usable - sum(label)) / (width - 3)
            widths = label + [rest] * (width - 3)
        elif sid == "proactive":
            widths = [usable * 0.3] + [usable * 0.7 / (width - 1)] * (width - 1)
        else:
            widths = [usable / width] * width
        cut = opts["split_row"] if sid == "requests" else None
        per_line = [1 if c == 0 and sid == "requests" and opts["vertical_label"] else int((w - 12) // _CELL_PT)
                    for c, w in enumerate(widths)]
        parts = list(_split_grid(grid, cut, per_line)) if cut and 3 < cut < len(grid) else [grid]
        for n, part in enumerate(parts):
            if n:
                story.append(PageBreak())
            story.append(_pdf_table(part, width, widths, sid, opts, font, cell_style, center))
        story.append(Spacer(1, 8))
    sign = ParagraphStyle("sign", parent=head, alignment=2)
    story += [Spacer(1, 20), Paragraph(htmlmod.escape(report.agency), sign),
              Paragraph(htmlmod.escape(_date_text(report.report_date)), sign)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN,
                            title=title, invariant=1)
    def page_number(canvas: Any, document: Any) -> None:
        if opts["page_numbers"]:
            canvas.setFont(font, 10)
            canvas.drawCentredString(A4[0] / 2, 25, f"- {document.page} -")

    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return buf.getvalue(), _expected_rows(report, texts)


# Options each form understands, with how a default is drawn when the caller does not give one.
_OPTIONS: dict[str, dict[str, Callable[[random.Random, SynthReport], Any]]] = {
    "text": {"title": lambda r, s: r.random() < 0.7, "bookmarks": lambda r, s: r.choice([0.0, 0.2]),
             "split_total": lambda r, s: r.random() < 0.7, "plus_sign": lambda r, s: r.random() < 0.7,
             "pad_header": lambda r, s: False, "colspan_mismatch": lambda r, s: False,
             "unit_suffix": lambda r, s: False},
    "flat": {"label_space": lambda r, s: r.random() < 0.3, "head_sep": lambda r, s: r.choice(["", " "]),
             "table4_spaced": lambda r, s: r.random() < 0.5, "spaced_share": lambda r, s: r.choice([0.0, 0.0, 0.2]),
             "header_agency": lambda r, s: r.random() < 0.5, "plus_sign": lambda r, s: r.random() < 0.7,
             "pad_header": lambda r, s: False, "colspan_mismatch": lambda r, s: False,
             "unit_suffix": lambda r, s: False},
    "markdown": {"plus_sign": lambda r, s: r.random() < 0.7, "pad_header": lambda r, s: False,
                 "colspan_mismatch": lambda r, s: False, "unit_suffix": lambda r, s: False},
    "html": {"encoding": lambda r, s: r.choice(["utf-8", "utf-8", "gbk"]),
             "meta_charset": lambda r, s: r.random() < 0.6,
             "full_page": lambda r, s: r.random() < 0.5, "mso": lambda r, s: r.random() < 0.5,
             "pad_kb": lambda r, s: None, "layout_tables": lambda r, s: r.random() < 0.4,
             "colspan_mismatch": lambda r, s: s.template == "2019" and r.random() < 0.7,
             "pad_header": lambda r, s: r.random() < 0.3, "plus_sign": lambda r, s: r.random() < 0.7,
             "unit_suffix": lambda r, s: r.random() < 0.3},
    "docx": {"blank_text": lambda r, s: r.choice(["\u3000", "\u3000\u3000", ""]),
             "line_breaks": lambda r, s: r.random() < 0.7, "plus_sign": lambda r, s: r.random() < 0.7,
             "pad_header": lambda r, s: False, "colspan_mismatch": lambda r, s: False,
             "unit_suffix": lambda r, s: False},
    "pdf": {"vertical_label": lambda r, s: r.random() < 0.5, "font_size": lambda r, s: r.choice([15, 16]),
            "split_row": lambda r, s: r.choice([None, r.randint(8, 24)]), "page_numbers": lambda r, s: r.random() < 0.7,
            "plus_sign": lambda r, s: r.random() < 0.7, "pad_header": lambda r, s: False,
            "colspan_mismatch": lambda r, s: False, "unit_suffix": lambda r, s: False,
            "rules": lambda r, s: "grid"},
}

_RENDERERS: dict[str, Callable[[SynthReport, random.Random, dict[str, Any]], tuple[Any, list[dict[str, Any]]]]] = {
    "text": _render_text, "flat": _render_flat, "markdown": _render_markdown, "html": _render_html,
    "docx": _render_docx, "pdf": _render_pdf,
}


def render(report: SynthReport, form: str, *, rng: random.Random | int = 0, **options: Any) -> Rendered:
    """Write `report` in `form` (one of FORMS) and say what a correct parser reads from it.

    Options not given are drawn from `rng`, so one seed gives one layout. Per form:
    text: title, bookmarks (share of labels), split_total (总/计 over two lines), plus_sign;
    flat: label_space, head_sep, table4_spaced, spaced_share, header_agency, plus_sign;
    markdown: plus_sign; html: encoding ("utf-8"/"gbk"), meta_charset, full_page, mso (Word-export
    markup), pad_kb (pad the page to this size), layout_tables, colspan_mismatch (2019 Shanghai
    header/data spans), pad_header (fixture-style Table 3 header), unit_suffix (元 in the 2019
    procurement amount); docx: blank_text, line_breaks; pdf: vertical_label, font_size, split_row
    (break Table 3 over a page before this grid row, merged labels broken in two), page_numbers,
    rules ("grid": every cell boxed; "horizontal": rules between rows only; "frame": those and an outer
    box, no inner vertical rules; "partial": the frame and one vertical rule after the first column;
    "none": borderless).
    `expected` has one row per template cell (value, status, raw as a correct parser gives them)
    plus the unknown rows where the form can show them (all but flat).
    """
    if form not in _RENDERERS:
        raise ValueError(f"unknown form {form!r}; choose one of {', '.join(FORMS)}")
    r = _rng(rng)
    known = _OPTIONS[form]
    unknown_opts = set(options) - set(known)
    if unknown_opts:
        raise ValueError(f"form {form} has no option(s) {', '.join(sorted(unknown_opts))}; "
                         f"known: {', '.join(sorted(known))}")
    opts = {name: options[name] if name in options else draw(r, report) for name, draw in known.items()}
    out, rows = _RENDERERS[form](report, r, opts)
    if isinstance(out, str):
        data = out.encode("gbk", errors="xmlcharrefreplace") if opts.get("encoding") == "gbk" else out.encode("utf-8")
    else:
        data = out
    meta = {"agency": report.agency, "year": report.year, "template": report.template,
            "report_date": report.report_date, "organ_kind": report.organ_kind, "options": opts}
    return Rendered(data=data, suffix=SUFFIX[form], form=form, expected=_frame(rows), meta=meta)


# ---------------------------------------------------------------------------------------------
# Corpus


def _atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _bad_file(kind: str, rng: random.Random, good: Rendered) -> tuple[bytes, str]:
    """The bytes and suffix of a bad file of the given kind."""
    if kind == "empty":
        return b"", good.suffix
    if kind == "binary":
        return b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048), good.suffix
    if kind == "truncated":
        return good.data[: max(1, len(good.data) * rng.randint(20, 45) // 100)], good.suffix
    if kind == "not_a_report":
        w = _words()["narrative"]["unrelated_page"]
        body = "".join(f"<p>{htmlmod.escape(x)}</p>" for x in w)
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{htmlmod.escape(w[0])}</title></head>"
                f"<body>{body}</body></html>").encode("utf-8"), ".html"
    if kind == "wrong_charset":
        # A page decoded with the wrong charset upstream and saved again: valid UTF-8 mojibake.
        text = good.data.decode("utf-8", errors="replace") if good.suffix == ".html" else ""
        if not text:
            text = "<html><head><meta charset=\"utf-8\"></head><body><p>" + htmlmod.escape(good.meta["agency"]) + \
                   common()["metadata"]["title_suffix"] + "</p></body></html>"
        return text.encode("utf-8").decode("gbk", errors="replace").encode("utf-8"), ".html"
    raise ValueError(f"unknown bad-file kind {kind!r}; known: {', '.join(BAD_KINDS)}")


def write_corpus(out_dir: str | os.PathLike[str], *, reports: int, years: list[int], forms: list[str],
                 error_share: float = 0.0, bad_file_share: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Write `reports` files: organs × years (each organ reports every year in turn, the same organ
    carrying its numbers over), forms cycling, `error_share` of the good reports with one relation
    cell perturbed, `bad_file_share` bad files. Files are written atomically; the manifest (one row
    per file, MANIFEST_COLUMNS: path, organ, year, form, error_key, bad_kind, then file, agency,
    template, error_delta) is
    returned and written as manifest.csv in `out_dir`.
    """
    if reports < 0 or not years or not forms:
        raise ValueError("write_corpus needs reports >= 0, at least one year and at least one form")
    bad_forms = [f for f in forms if f not in FORMS]
    if bad_forms:
        raise ValueError(f"unknown form(s) {', '.join(bad_forms)}; choose from {', '.join(FORMS)}")
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    years = sorted(years)
    slots = [(o, y) for o in range((reports + len(years) - 1) // len(years)) for y in years][:reports]
    n_bad = round(bad_file_share * reports)
    bad_idx = set(rng.sample(range(reports), n_bad)) if n_bad else set()
    good_idx = [i for i in range(reports) if i not in bad_idx]
    n_err = round(error_share * len(good_idx))
    err_idx = set(rng.sample(good_idx, n_err)) if n_err else set()
    previous: dict[int, SynthReport] = {}
    rows = []
    bad_count = 0
    for i, (organ, year) in enumerate(slots):
        form = forms[i % len(forms)]
        template = "2019" if year <= 2020 else "2021"
        rep = random_report(rng.getrandbits(64), template=template, year=year, previous=previous.get(organ),
                            blank_share=rng.choice([0.0, 0.0, 0.05]), placeholder_share=rng.choice([0.0, 0.0, 0.03]),
                            unknown_rows=rng.choice([0, 0, 0, 1]))
        previous[organ] = rep
        error_key, delta = None, None
        if i in err_idx:
            tmpl = get_template(template)
            cands = [k for rel in tmpl.relations for res, plus, minus in rel.instances(tmpl)
                     for k in [res] if all(_is_number(rep.cells[x]) for x in [res, *plus, *minus])]
            if cands:
                error_key = rng.choice(cands)
                value = rep.cells[error_key]
                delta = rng.choice([1, 2, 3, 10])
                delta = -delta if _is_number(value) and value >= delta and rng.random() < 0.5 else delta
                rep = perturb(rep, error_key, delta)
        rendered = render(rep, form, rng=rng.getrandbits(64))
        data, suffix, bad_kind = rendered.data, rendered.suffix, None
        if i in bad_idx:
            bad_kind = BAD_KINDS[bad_count % len(BAD_KINDS)]
            bad_count += 1
            data, suffix = _bad_file(bad_kind, rng, rendered)
            error_key, delta = None, None
        name = f"{i:05d}_o{organ:04d}_{year}_{form}{suffix}"
        _atomic_write(out / name, data)
        rows.append({"path": str(out / name), "organ": organ, "year": year, "form": form, "error_key": error_key,
                     "bad_kind": bad_kind, "file": name, "agency": rep.agency, "template": template,
                     "error_delta": delta})
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    buf = io.StringIO()
    manifest.to_csv(buf, index=False)
    _atomic_write(out / "manifest.csv", buf.getvalue().encode("utf-8"))
    return manifest
