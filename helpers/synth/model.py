"""The generated report itself: numbers for every table that keep the relations (or break one on purpose), narrative, metadata."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..record import Report
from ..template import Relation, Template, get_template, read_data
from ..template import organ_kind as template_organ_kind

FORMS = ("text", "flat", "markdown", "html", "docx", "pdf")


SUFFIX = {"text": ".txt", "flat": ".txt", "markdown": ".md", "html": ".html", "docx": ".docx", "pdf": ".pdf"}


EXPECTED_COLUMNS = ["table", "row", "column", "value", "status", "raw"]


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


def _fmt(v: float | int, dtype: str = "count", plus: bool = False) -> str:
    """A number as printed: integers without a decimal point, amounts as given, signs when asked."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = str(v) if isinstance(v, int) else f"{v:.10f}".rstrip("0").rstrip(".")
    if dtype == "signed" and plus and v > 0:
        text = "+" + text
    return text
