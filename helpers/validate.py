"""Validate a report: relations, cell domains, cross-checks, completeness, format, sections, timeliness, copying.

What is checked is the rule catalogue `helpers/templates/rules.yaml` (`get_rules()`); the arithmetic
of the relations R1, R3, R4, R5 is read from the template YAML. `validate(report)` returns the
findings as a tidy DataFrame, one row per finding (columns `FINDING_COLUMNS`), and never raises on
bad data: a number that is not there makes a rule "not evaluated" (an info finding), never a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import TemplateError
from .record import Report
from .template import Template, read_data, common, get_template, normalize

__all__ = [
    "FINDING_COLUMNS",
    "Finding",
    "Inputs",
    "Rule",
    "SEVERITIES",
    "cross_year_inputs",
    "finding_records",
    "findings_frame",
    "get_rules",
    "rules_markdown",
    "validate",
]

FINDING_COLUMNS = ["rule", "severity", "table", "row", "column", "expected", "found", "delta", "message", "source"]
SEVERITIES = ("error", "warning", "info")
RUNS = ("always", "with_previous", "never")
VALUE_STATUSES = frozenset({"ok", "inferred", "corrected"})  # corrected: by hand, with a number
AMOUNT_TOLERANCE = 1e-6
_NUMBER_COLUMNS = ("expected", "found", "delta")
_STR = pd.array([], dtype="str").dtype  # pandas' default string dtype, resolved once (lookup by name is slow)


# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Rule:
    """One catalogue entry: id, severity of a violation, checker kind, when it runs, descriptions, params."""

    id: str
    severity: str
    kind: str
    runs: str
    zh: str
    en: str
    why: str
    relation: str | None = None
    templates: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, hash=False)  # compared, not hashed (a dict)
    message_zh: str = ""      # a finding's message templates ({cell}, {expected}, {found}, {delta})
    message_en: str = ""

    def applies_to(self, template: str) -> bool:
        """Whether the rule is meant for reports in this template version."""
        return not self.templates or template in self.templates


@functools.lru_cache(maxsize=None)
def get_rules() -> tuple[Rule, ...]:
    """The rule catalogue (helpers/templates/rules.yaml), checked on load; raises TemplateError if malformed."""
    data = read_data("rules.yaml")
    rules = []
    for spec in data.get("rules", []):
        spec = dict(spec)
        try:
            rule = Rule(id=str(spec.pop("id")), severity=spec.pop("severity"), kind=spec.pop("kind"),
                        runs=spec.pop("runs"), zh=spec.pop("zh"), en=spec.pop("en"), why=spec.pop("why"),
                        relation=spec.pop("relation", None), templates=tuple(spec.pop("templates", ())),
                        params=spec.pop("params", {}) or {}, message_zh=str(spec.pop("message_zh", "")),
                        message_en=str(spec.pop("message_en", "")))
        except KeyError as exc:
            raise TemplateError(f"rules.yaml: a rule lacks the field {exc}; see the comment at its top") from exc
        if spec:
            raise TemplateError(f"rules.yaml: rule {rule.id} has unknown fields {sorted(spec)}")
        if rule.severity not in SEVERITIES:
            raise TemplateError(f"rules.yaml: rule {rule.id} severity {rule.severity!r}; "
                                f"known: {', '.join(SEVERITIES)}")
        if rule.runs not in RUNS:
            raise TemplateError(f"rules.yaml: rule {rule.id} runs {rule.runs!r}; known: {', '.join(RUNS)}")
        if rule.kind not in _CHECKS:
            raise TemplateError(f"rules.yaml: rule {rule.id} kind {rule.kind!r}; known: {', '.join(sorted(_CHECKS))}")
        if rule.kind == "relation" and not any(
                r.id == rule.relation for v in ("2019", "2021") for r in get_template(v).relations):
            raise TemplateError(f"rules.yaml: rule {rule.id} names relation {rule.relation!r}, "
                                "which no template YAML defines")
        rules.append(rule)
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise TemplateError(f"rules.yaml: duplicate rule ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(rules)


# ---------------------------------------------------------------------------------------------
# Findings


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: which rule, how bad, which cell, expected vs found (delta = found - expected), why."""

    rule: str
    severity: str
    message: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    expected: float | None = None
    found: float | None = None
    delta: float | None = None
    source: str | None = None

    @classmethod
    def at(cls, rule: str, severity: str, key: str | None, message: str, **kw: Any) -> Finding:
        """A finding on the cell `table/row/column` (or on no cell when key is None)."""
        t, r, c = key.split("/", 2) if key else (None, None, None)
        return cls(rule=rule, severity=severity, message=message, table=t, row=r, column=c, **kw)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a tidy DataFrame: expected/found/delta floats (NaN: not applicable), severity
    an ordered categorical (info < warning < error, `helpers.frames`), the other text columns
    strings (missing where absent, not "")."""
    from .frames import typed

    data: dict[str, Any] = {}
    for name in FINDING_COLUMNS:
        col = [getattr(f, name) for f in findings]
        if name in _NUMBER_COLUMNS:
            data[name] = np.array([np.nan if v is None else v for v in col], dtype=float)
        else:
            data[name] = pd.array(col, dtype=_STR)
    return typed(pd.DataFrame(data, columns=FINDING_COLUMNS, copy=False))


def finding_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The findings as JSON-ready dicts (missing → None, whole numbers as int)."""
    out = []
    for rec in frame.to_dict("records"):
        for k, v in rec.items():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                rec[k] = None
            elif isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
                rec[k] = int(v)
        out.append(rec)
    return out


def _num(x: float) -> str:
    """A number as printed in a message: whole numbers without decimals, others trimmed."""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# Precompiled per template: cell order, labels, relation instances as matrices


@dataclass
class _Plan:
    """A template compiled for validation: cell arrays and every relation instance as a matrix row."""

    template: Template
    keys: list[str]
    index: dict[str, int]
    tables: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    short: list[str]
    dtypes: np.ndarray
    labels: list[str]
    table_names: list[str]
    table_ids: np.ndarray
    rel_rule: np.ndarray
    rel_result: np.ndarray
    rel_coef: np.ndarray
    rel_ops: np.ndarray
    rel_tol: np.ndarray
    rel_instances: list[tuple[str, int, list[int], list[int]]]
    rel_text: dict[str, str]


@functools.lru_cache(maxsize=None)
def _alone_rows(version: str) -> dict[str, list[str]]:
    """Group rows a hybrid layout prints as one row (key in the other format) → the rows it stands
    for; once per template version (every validation asks)."""
    tmpl = get_template(version)
    out: dict[str, list[str]] = {}
    for table in tmpl.tables.values():
        for row in table.rows:
            if row.group and row.alone_as:
                out[f"{table.key}/{row.alone_as}"] = [f"{table.key}/{kid.key}" for kid in table.children(row)]
    return out


@functools.lru_cache(maxsize=None)
def _plan(version: str, alone: tuple[str, ...] = ()) -> _Plan:
    """Compile a template once: later validations only index arrays and multiply matrices.

    `alone`: rows of a hybrid layout (`table_3/other_handling`, printed as one row in a 2021 table):
    their cells join the plan and the relations sum them in place of the rows they stand for.
    """
    tmpl = get_template(version)
    cells = list(tmpl.cells)
    info = dict(tmpl.column_info)
    row_labels = {(t, r): tmpl.row_info[(t, r)].printed_label for t, r, _ in cells}
    replace: dict[str, str] = {}  # table/row of a row not printed → table/row printed in its place
    groups = _alone_rows(version)
    for tr in alone:
        t, r = tr.split("/", 1)
        group = next(g for g in tmpl.tables[t].rows if g.group and g.alone_as == r)
        for col in tmpl.tables[t].column_keys:
            cells.append((t, r, col))
            info[f"{t}/{r}/{col}"] = tmpl.tables[t].columns[col]
        row_labels[(t, r)] = group.printed_label
        for kid in groups.get(tr, []):
            replace[kid] = tr
    keys = [f"{t}/{r}/{c}" for t, r, c in cells]
    index = {k: i for i, k in enumerate(keys)}
    labels = [f"{row_labels[(t, r)]} / {info[f'{t}/{r}/{c}'].label} [{t}/{r}/{c}]" for t, r, c in cells]
    table_names = list(tmpl.tables)

    def swap(key: str) -> str:
        t, r, c = key.split("/")
        return f"{replace[f'{t}/{r}']}/{c}" if f"{t}/{r}" in replace else key

    instances = []
    for rel in tmpl.relations:
        for result, plus, minus in rel.instances(tmpl):
            if swap(result) != result:  # a row that is not printed: its own R4 stays (not evaluable)
                instances.append((rel.id, index[result], [index[k] for k in plus], [index[k] for k in minus]))
                continue
            plus2 = list(dict.fromkeys(swap(k) for k in plus))
            minus2 = list(dict.fromkeys(swap(k) for k in minus))
            instances.append((rel.id, index[result], [index[k] for k in plus2], [index[k] for k in minus2]))
        if rel.over == "rows":  # the printed single row has its own row relation (R4)
            for tr in alone:
                t, r = tr.split("/", 1)
                if t != rel.table:
                    continue
                instances.append((rel.id, index[f"{t}/{r}/{rel.result}"], [index[f"{t}/{r}/{c}"] for c in rel.plus],
                                  [index[f"{t}/{r}/{c}"] for c in rel.minus]))
    n, k = len(instances), len(keys)
    coef = np.zeros((n, k))
    ops = np.zeros((n, k))
    tol = np.zeros(n)
    for i, (_, res, plus, minus) in enumerate(instances):
        coef[i, plus] += 1.0
        coef[i, minus] -= 1.0
        ops[i, plus + minus + [res]] = 1.0
        if any(info[keys[j]].dtype == "amount" for j in plus + minus + [res]):
            tol[i] = AMOUNT_TOLERANCE
    return _Plan(
        template=tmpl, keys=keys, index=index,
        tables=np.array([t for t, _, _ in cells], dtype=object),
        rows=np.array([r for _, r, _ in cells], dtype=object),
        cols=np.array([c for _, _, c in cells], dtype=object),
        short=[f"{r}/{c}" for _, r, c in cells],
        dtypes=np.array([info[key].dtype for key in keys], dtype=object),
        labels=labels, table_names=table_names,
        table_ids=np.array([table_names.index(t) for t, _, _ in cells]),
        rel_rule=np.array([i[0] for i in instances], dtype=object),
        rel_result=np.array([i[1] for i in instances], dtype=int),
        rel_coef=coef, rel_ops=ops, rel_tol=tol, rel_instances=instances,
        rel_text={r.id: r.en for r in tmpl.relations})


@dataclass
class _Cells:
    """A report's template cells as arrays in template order (absent cells: status missing)."""

    plan: _Plan
    text: Callable[[str], list[Any]]   # a text column of the report's cells, in their order
    take: np.ndarray | None      # positions in the cells of the template cells (None: the first n rows)
    values: np.ndarray
    statuses: np.ndarray
    has: np.ndarray
    extra_rows: list[str]

    @classmethod
    def of(cls, report: Report) -> _Cells:
        """The cells of `report`: read from the parser's plain cell dicts when its DataFrame has not
        been built (what ingest and `ogi validate` give), so validating builds no pandas object."""
        plan = _plan(report.template)
        frame = report.__dict__.get("_frame")
        if frame is None and "_cols" in report.__dict__:   # columns read back from the store
            cols = report.__dict__["_cols"]
            tabs, rws, cls_ = cols["table"], cols["row"], cols["column"]
            values = np.array([np.nan if v is None else v for v in cols["value"]], dtype=float)
            statuses = np.array(cols["status"], dtype=object)
            text = cols.__getitem__
        elif frame is None and "_rows" in report.__dict__:
            from .record import _as_text, _as_value

            rows = report.__dict__["_rows"]
            def text(name: str) -> list[Any]:  # type: ignore[misc]
                return [v if type(v) is str else _as_text(v) for v in (r.get(name) for r in rows)]

            tabs, rws, cls_ = text("table"), text("row"), text("column")
            vals = [v if type(v) is float else _as_value(v) for v in (r.get("value") for r in rows)]
            values = np.array([np.nan if v is None else v for v in vals], dtype=float)
            statuses = np.array(text("status"), dtype=object)
        else:
            frame = report.cells
            tabs, rws, cls_ = (frame[c].tolist() for c in ("table", "row", "column"))
            values = frame["value"].to_numpy(dtype=float, na_value=np.nan)
            statuses = np.array(frame["status"].tolist(), dtype=object)
            text = lambda name: frame[name].tolist()  # type: ignore[assignment]  # noqa: E731
        alone = _alone_rows(report.template)
        if alone and len(tabs) > len(plan.keys):  # a hybrid layout prints a group as one row
            printed = {f"{t}/{r}" for t, r in zip(tabs, rws)}
            hybrid = tuple(sorted(tr for tr in alone if tr in printed))
            if hybrid:
                plan = _plan(report.template, hybrid)
        n = len(plan.keys)
        keys = [f"{a}/{b}/{d}" for a, b, d in zip(tabs, rws, cls_)]
        take: np.ndarray | None = None
        if len(keys) >= n and keys[:n] == plan.keys:
            # the usual layout (Report.from_cells, the parser): template cells first, in template order
            extra = set(keys[n:])
            values, statuses = values[:n], statuses[:n]
        else:  # any order: look each template cell up (first occurrence wins, like Report.from_cells)
            pos: dict[str, int] = {}
            for i, key in enumerate(keys):
                pos.setdefault(key, i)
            take = np.array([pos.get(k, -1) for k in plan.keys])
            found = take >= 0
            values = np.where(found, values[take] if len(values) else np.nan, np.nan)
            statuses = np.where(found, statuses[take] if len(statuses) else "missing", "missing").astype(object)
            extra = set(pos) - set(plan.index)
        has = np.fromiter((s in VALUE_STATUSES for s in statuses), dtype=bool, count=n) & ~np.isnan(values)
        return cls(plan=plan, text=text, take=take, values=values, statuses=statuses, has=has,
                   extra_rows=sorted(extra))

    def _text(self, column: str) -> np.ndarray:
        """A text column of the cells in template order ("" for absent cells); built on first use."""
        col = self.text(column)
        if self.take is None:
            return np.array(col[:len(self.plan.keys)], dtype=object)
        return np.array([col[i] if i >= 0 else "" for i in self.take], dtype=object)

    @functools.cached_property
    def sources(self) -> np.ndarray:
        return self._text("source")

    @functools.cached_property
    def raws(self) -> np.ndarray:
        return self._text("raw")

    @functools.cached_property
    def notes(self) -> np.ndarray:
        return self._text("note")

    def value(self, key: str) -> float | None:
        i = self.plan.index.get(key)
        return float(self.values[i]) if i is not None and self.has[i] else None

    def status(self, key: str) -> str:
        i = self.plan.index.get(key)
        return str(self.statuses[i]) if i is not None else "missing"

    def label(self, key: str) -> str:
        i = self.plan.index.get(key)
        return self.plan.labels[i] if i is not None else f"[{key}]"

    def source(self, key: str) -> str | None:
        i = self.plan.index.get(key)
        return (str(self.sources[i]) or None) if i is not None else None


@dataclass
class _Context:
    """Everything the checkers share for one validation."""

    report: Report
    previous: Report | None
    published: dt.date | None
    cells: _Cells

    @functools.cached_property
    def prev_cells(self) -> _Cells | None:
        return _Cells.of(self.previous) if self.previous is not None else None

    @functools.cached_property
    def relation_eval(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(expected, found, operands without a number, inferred operands) per relation instance."""
        p, c = self.cells.plan, self.cells
        v0 = np.where(c.has, c.values, 0.0)
        expected = p.rel_coef @ v0
        found = c.values[p.rel_result]
        nbad = p.rel_ops @ (~c.has).astype(float)
        ninf = p.rel_ops @ (c.statuses == "inferred").astype(float)
        return expected, found, nbad, ninf


# ---------------------------------------------------------------------------------------------
# Checkers: one per rule kind; each yields findings for one rule


def _check_relation(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """R1, R3, R4, R5: result = sum(plus) - sum(minus) per instance; error when it differs."""
    p, c = ctx.cells.plan, ctx.cells
    expected, found, nbad, ninf = ctx.relation_eval
    text = p.rel_text.get(rule.relation or "", "")
    has = statuses = None
    for i in np.flatnonzero(p.rel_rule == rule.relation):
        _, res, plus, minus = p.rel_instances[i]
        key = p.keys[res]
        if nbad[i] > 0:
            if has is None:  # plain lists: much faster than numpy scalars in this loop
                has, statuses = c.has.tolist(), c.statuses.tolist()
            by_status: dict[str, list[str]] = {}
            for j in plus + minus + [res]:
                if not has[j]:
                    name = "result" if j == res else p.short[j]
                    by_status.setdefault(statuses[j], []).append(name)
            what = "; ".join(f"{s}: {', '.join(names)}" for s, names in by_status.items())
            yield Finding.at(rule.id, "info", key,
                             f"{rule.id} not evaluated for {c.label(key)}: not every cell is a number ({what})",
                             source=c.source(key))
            continue
        delta = float(found[i] - expected[i])
        if abs(delta) <= p.rel_tol[i]:
            continue
        delta = round(delta, 9)
        note = ""
        if ninf[i] > 0:
            inferred = [p.keys[j] for j in plus + minus + [res] if c.statuses[j] == "inferred"]
            note = f"; uses inferred cells (split of run-together digits): {', '.join(inferred)}"
        yield Finding.at(rule.id, rule.severity, key,
                         f"{rule.id} fails at {c.label(key)}: printed {_num(found[i])}, the operands give "
                         f"{_num(expected[i])} (delta {_num(delta)}; {text}){note}",
                         expected=float(expected[i]), found=float(found[i]), delta=delta, source=c.source(key))


def _domains(rule: Rule, plan: _Plan) -> np.ndarray:
    """Per cell of the plan, the domain its column dtype must satisfy (rule params `domains`)."""
    key = (rule.id, tuple(plan.keys[len(plan.template.keys):]), plan.template.version)
    got = _DOMAINS.get(key)
    if got is None:
        domains = rule.params.get("domains", {})
        got = _DOMAINS[key] = np.array([domains.get(d, "any") for d in plan.dtypes], dtype=object)
    return got


_DOMAINS: dict[tuple[str, tuple[str, ...], str], np.ndarray] = {}


def _check_cell_domain(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """R6: counts are non-negative integers, amounts non-negative, signed columns exempt."""
    p, c = ctx.cells.plan, ctx.cells
    wants = _domains(rule, p)
    v = np.where(c.has, c.values, 0.0)
    negative = c.has & (v < 0)
    fraction = c.has & (v != np.floor(v))
    bad = ((wants == "non_negative_integer") & (negative | fraction)) | ((wants == "non_negative") & negative)
    for i in np.flatnonzero(bad):
        key = p.keys[i]
        need = "a non-negative whole number" if wants[i] == "non_negative_integer" else "not negative"
        kind = {"count": "a count", "amount": "an amount"}.get(str(p.dtypes[i]), "this cell")
        note = " (an inferred cell)" if c.statuses[i] == "inferred" else ""
        yield Finding.at(rule.id, rule.severity, key,
                         f"{rule.id}: {c.label(key)} is {_num(c.values[i])}{note}, but {kind} must be {need}",
                         found=float(c.values[i]), source=c.source(key))


def _check_carry_over(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X1: this year's carried-over row equals last year's carried-forward row, column by column."""
    prev, c = ctx.prev_cells, ctx.cells
    if prev is None or ctx.previous is None:
        return
    year, pyear = ctx.report.year, ctx.previous.year
    table = rule.params["table"]
    if year is not None and pyear is not None and pyear != year - 1:
        yield Finding.at(rule.id, "info", None, f"{rule.id} not evaluated: the previous report is for {pyear}, "
                         f"not {year - 1}", source=ctx.previous.path)
        return
    for col in c.plan.template.tables[table].column_keys:
        key = f"{table}/{rule.params['result_row']}/{col}"
        pkey = f"{table}/{rule.params['previous_row']}/{col}"
        now, before = c.value(key), prev.value(pkey)
        if now is None or before is None:
            why = [f"this year's cell is {c.status(key)}"] if now is None else []
            why += [f"last year's {pkey} is {prev.status(pkey)}"] if before is None else []
            yield Finding.at(rule.id, "info", key, f"{rule.id} not evaluated for {c.label(key)}: {'; '.join(why)}",
                             source=c.source(key))
            continue
        if now != before:
            note = " (an inferred cell is involved)" if "inferred" in (c.status(key), prev.status(pkey)) else ""
            yield Finding.at(rule.id, rule.severity, key,
                             f"{rule.id}: {c.label(key)} is {_num(now)}, but last year's report carried forward "
                             f"{_num(before)} (delta {_num(now - before)}){note}",
                             expected=before, found=now, delta=now - before, source=c.source(key))


def _check_stock_flow(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X2: in force ≈ last year's in force + issued − repealed (a plausibility warning)."""
    prev, c = ctx.prev_cells, ctx.cells
    if prev is None or ctx.previous is None:
        return
    year, pyear = ctx.report.year, ctx.previous.year
    if year is not None and pyear is not None and pyear != year - 1:
        yield Finding.at(rule.id, "info", None, f"{rule.id} not evaluated: the previous report is for {pyear}, "
                         f"not {year - 1}", source=ctx.previous.path)
        return
    if not rule.applies_to(ctx.previous.template):
        yield Finding.at(rule.id, "info", None, f"{rule.id} not evaluated: the previous report uses the "
                         f"{ctx.previous.template} format, whose Table 2 columns are not comparable",
                         source=ctx.previous.path)
        return
    par, table = rule.params, rule.params["table"]
    for row in par["rows"]:
        key = f"{table}/{row}/{par['result']}"
        parts = [(prev, f"{table}/{row}/{k}", 1.0, "last year's") for k in par.get("previous", [])]
        parts += [(c, f"{table}/{row}/{k}", 1.0, "") for k in par.get("plus", [])]
        parts += [(c, f"{table}/{row}/{k}", -1.0, "") for k in par.get("minus", [])]
        now = c.value(key)
        missing = [f"{who} {k} is {cells.status(k)}".strip() for cells, k, _, who in parts if cells.value(k) is None]
        if now is None:
            missing.append(f"{key} is {c.status(key)}")
        if missing:
            yield Finding.at(rule.id, "info", key, f"{rule.id} not evaluated for {c.label(key)}: {'; '.join(missing)}",
                             source=c.source(key))
            continue
        expected = sum(sign * (cells.value(k) or 0.0) for cells, k, sign, _ in parts)
        if now is not None and now != expected:
            yield Finding.at(rule.id, rule.severity, key,
                             f"{rule.id}: {c.label(key)} is {_num(now)}, but last year's stock plus this year's "
                             f"issued minus repealed gives {_num(expected)} (delta {_num(now - expected)}); "
                             "amendments or scope changes can explain this", expected=expected, found=now,
                             delta=now - expected, source=c.source(key))


@functools.lru_cache(maxsize=1)
def _normalize_table() -> tuple[re.Pattern[str], dict[str, str]]:
    """The characters `template.normalize` changes (in the BMP), as a regex class and a map."""
    changed = {ch: n for ch in map(chr, range(0x10000)) if (n := normalize(ch)) != ch}
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(changed)) + "]"), changed


def _normalize(text: str) -> str:
    """`template.normalize`, several times faster on long prose: only the characters present are replaced."""
    pattern, changed = _normalize_table()
    present = set(pattern.findall(text))
    if any(changed[ch] in changed for ch in present):  # e.g. U+FE31 → "—", itself changed: one pass only
        return normalize(text)
    for ch in present:
        text = text.replace(ch, changed[ch])
    return text


_SENTENCE = re.compile(r"[。;]")
_COUNT = re.compile(r"\d\s*件")


@functools.lru_cache(maxsize=None)
def _claims(rule: Rule, version: str) -> list[tuple[str, str, list[re.Pattern[str]], list[list[str]]]]:
    """A narrative rule's claims compiled for a template: (id, en, patterns, alternatives in its cells)."""
    index = _plan(version).index
    number = rule.params["number"]
    out = []
    for claim in rule.params["claims"]:
        alts = [[k for k in alt if k in index] for alt in claim["sums"]]
        alts = [a for a in alts if a]
        if not alts:
            continue
        pats = [re.compile(p.replace("{N}", number)) for p in claim["patterns"]]
        out.append((claim["id"], claim["en"], pats, alts))
    return out


def _check_narrative(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X3: counts stated in the narrative equal the tables' cells (first statement of each kind)."""
    c = ctx.cells
    # A claim never spans 。 or ; (the patterns' gaps exclude them), so only sentences that state a
    # count ("<digits>件") are searched, in text order.
    sentences = [(sid, part) for sid in rule.params["sections"]
                 for part in _SENTENCE.split(_normalize(ctx.report.sections.get(sid) or ""))
                 if _COUNT.search(part)]
    if not sentences:
        return
    for claim_id, en, patterns, alts in _claims(rule, ctx.report.template):
        hit = None
        for pattern in patterns:  # in the catalogue's order: a later pattern is a fallback
            hit = next(((sid, m) for sid, text in sentences if (m := pattern.search(text))), None)
            if hit:
                break
        if hit is None:
            continue
        sid, m = hit
        stated = float(m.group("n").replace(",", ""))
        quote = m.group(0)
        evaluable = []
        unknown: list[str] = []
        for alt in alts:
            vals = [c.value(k) for k in alt]
            if all(v is not None for v in vals):
                evaluable.append((alt, float(sum(v for v in vals if v is not None))))
            else:
                unknown += [f"{k} is {c.status(k)}" for k, v in zip(alt, vals) if v is None]
        ref = alts[0][0]
        if not evaluable:
            yield Finding.at(rule.id, "info", ref, f"{rule.id} not evaluated ({en}): the narrative says \"{quote}\" "
                             f"but the table cells are not all numbers ({'; '.join(dict.fromkeys(unknown))})",
                             found=stated, source=f"section {sid}: {quote}")
            continue
        if any(abs(total - stated) <= AMOUNT_TOLERANCE for _, total in evaluable):
            continue
        alt, total = evaluable[0]
        cells_text = " + ".join(c.label(k) for k in alt)
        inferred = [k for k in alt if c.status(k) == "inferred"]
        note = f"; inferred cells: {', '.join(inferred)}" if inferred else ""
        yield Finding.at(rule.id, rule.severity, alt[0],
                         f"{rule.id} ({en}): the narrative says \"{quote}\" ({_num(stated)}), but {cells_text} gives "
                         f"{_num(total)} (delta {_num(stated - total)}){note}",
                         expected=total, found=stated, delta=round(stated - total, 9), source=f"section {sid}: {quote}")


def _check_fee_notice(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X4: unpaid-fee lapses in Table 3 should come with fee notices reported in section 6."""
    key = rule.params["cell"]
    value = ctx.cells.value(key)
    if key not in ctx.cells.plan.index or value is None or value <= 0:
        return
    text = ctx.report.sections.get(rule.params["section"])
    if not text:
        yield Finding.at(rule.id, "info", key, f"{rule.id} not evaluated: {ctx.cells.label(key)} is {_num(value)}, but "
                         "the report has no section 6 text to look for fee notices in", found=value)
        return
    if not re.search(rule.params["mentions"], _normalize(text)):
        yield Finding.at(rule.id, "info", key, f"{rule.id}: {ctx.cells.label(key)} is {_num(value)}, but "
                         "section 6 does not mention fee notices or information-processing fees (they may date "
                         "from last year)",
                         found=value, source=ctx.cells.source(key))


def _check_fee_note(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X5 (a documented non-check): note that a section-6 fee is not compared with Table 2 (八)."""
    key = rule.params["cell"]
    text = ctx.report.sections.get(rule.params["section"])
    if key not in ctx.cells.plan.index or not text:
        return
    m = re.search(rule.params["fee_pattern"], _normalize(text))
    if not m:
        return
    table_value = ctx.cells.value(key)
    shown = f"{_num(table_value)} 万元" if table_value is not None else ctx.cells.status(key)
    yield Finding.at(rule.id, "info", key,
                     f"{rule.id}: section 6 states an information-processing fee of {m.group('n')} "
                     f"{m.group('unit')}; it is not compared with {ctx.cells.label(key)} ({shown}), which counts "
                     "administrative fees in general", source=f"section {rule.params['section']}: {m.group(0)}")


def _check_not_run(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """X6: out of scope for a single report (documented in the catalogue, never run)."""
    return iter(())


def _check_completeness(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """Every template cell present: a summary per table, one finding per unreadable or missing cell."""
    p, c = ctx.cells.plan, ctx.cells
    listed, per_cell = rule.params["listed"], set(rule.params["per_cell"])
    n_tables = len(p.table_names)
    size = np.bincount(p.table_ids, minlength=n_tables)
    numbers = np.bincount(p.table_ids[c.has], minlength=n_tables)
    counts = {s: np.bincount(p.table_ids[c.statuses == s], minlength=n_tables) for s in listed}
    absent_tables = set()
    for ti, table in enumerate(p.table_names):
        parts = [f"{s} {counts[s][ti]}" for s in listed if counts[s][ti]]
        if not parts:
            continue
        if counts.get("missing", size * 0)[ti] == size[ti]:
            absent_tables.add(table)
            msg = f"{table} is absent: all {size[ti]} cells missing"
        else:
            msg = (f"{table}: {numbers[ti]} of {size[ti]} cells hold a number; " + ", ".join(parts)
                   + (" (inferred cells are numbers taken from a split that a printed relation makes unique)"
                      if counts.get("inferred", size * 0)[ti] else ""))
        yield Finding(rule=rule.id, severity="info", message=msg, table=table, expected=float(size[ti]),
                      found=float(numbers[ti]), delta=float(numbers[ti] - size[ti]))
    for i in np.flatnonzero(np.isin(c.statuses, list(per_cell))):
        if p.tables[i] in absent_tables:
            continue
        key = p.keys[i]
        raw = f" (printed {c.raws[i]!r})" if c.raws[i] else ""
        note = f": {c.notes[i]}" if c.notes[i] else ""
        yield Finding.at(rule.id, "info", key, f"{c.statuses[i]}: {c.label(key)}{raw}{note}", source=c.source(key))
    if c.extra_rows:
        yield Finding(rule=rule.id, severity="info", message=f"{len(c.extra_rows)} cells outside the template "
                      f"kept as printed: {', '.join(c.extra_rows[:10])}{' …' if len(c.extra_rows) > 10 else ''}")


def _check_template(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """TEMPLATE: the table format matches the reporting year."""
    version, year = ctx.report.template, ctx.report.year
    span = rule.params["formats"].get(version)
    if year is None:
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id} not evaluated: the report year is "
                      f"unknown (tables in the {version} format)")
        return
    if span is None:
        return
    newer = [v for v, s in rule.params["formats"].items() if s.get("from", 0) <= year <= s.get("to", 9999)]
    if "to" in span and year > span["to"]:
        yield Finding(rule=rule.id, severity=rule.severity, message=f"{rule.id}: a {year} report uses the outdated "
                      f"{version} format; reports for {year} should use the {' or '.join(newer) or 'current'} "
                      "format", found=float(year))
    elif year < span.get("from", 0):
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id}: a {year} report uses the {version} "
                      f"format, which was issued for reports from {span['from']}; check the year or the "
                      "format detection", found=float(year))


def _check_sections(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """SECTIONS: the six sections present and in the template's order."""
    wanted = [s["id"] for s in common()["sections"]]
    headings = {s["id"]: f"{s['number']}、{s['heading']}" for s in common()["sections"]}
    present = [s for s, text in ctx.report.sections.items() if text is not None and s in headings]
    if not present and ctx.report.form is None:
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id} not evaluated: the record holds no "
                      "section text (it was built from cells, not read from a file)")
        return
    for sid in wanted:
        if sid not in present:
            yield Finding(rule=rule.id, severity=rule.severity, message=f"{rule.id}: section {headings[sid]} "
                          f"({sid}) is missing", source=f"section {sid}")
    order = [wanted.index(s) for s in present]
    if order != sorted(order):
        yield Finding(rule=rule.id, severity=rule.severity, message=f"{rule.id}: sections out of order: printed as "
                      + ", ".join(headings[s] for s in present))


def _check_timeliness(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """TIMELINESS: publication (or report) date vs the Art. 49 deadline for the organ kind."""
    report = ctx.report
    kind = report.organ_kind or "unknown"
    deadline_spec = common()["deadlines"].get(kind)
    if deadline_spec is None:
        who = "the organ kind is unknown, so" if kind == "unknown" else f"a {kind} has"
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id}: {who} no statutory deadline "
                      "(Art. 49 sets deadlines for departments and governments at county level and above)")
        return
    if report.year is None:
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id} not evaluated: the report year is unknown")
        return
    for label, date in (("--published", ctx.published), ("published", report.published),
                        ("report date", report.report_date)):
        if date is not None:
            break
    else:
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id} not evaluated: no publication or report "
                      "date (give one with --published DATE)")
        return
    if isinstance(date, dt.datetime):
        date = date.date()
    deadline = dt.date(report.year + 1, deadline_spec["month"], deadline_spec["day"])
    late = (date - deadline).days
    if late > 0:
        yield Finding(rule=rule.id, severity=rule.severity, message=f"{rule.id}: {label} {date.isoformat()} is "
                      f"{late} days after the deadline {deadline.isoformat()} for a {kind} "
                      f"({deadline_spec['basis']})", delta=float(late), source=label)
    elif date < dt.date(report.year + 1, 1, 1):
        yield Finding(rule=rule.id, severity="info", message=f"{rule.id}: {label} {date.isoformat()} is before "
                      f"the end of the reporting year {report.year}; check the date or the year", source=label)


def _shingles(text: str, n: int) -> set[str]:
    s = re.sub(r"\s+", "", text)
    return {s[i:i + n] for i in range(max(len(s) - n + 1, 0))}


def _check_copy(ctx: _Context, rule: Rule) -> Iterator[Finding]:
    """COPY: share of this year's section 5/6 text (as character shingles) found in last year's."""
    if ctx.previous is None:
        return
    n, threshold, min_chars = rule.params["shingle"], rule.params["threshold"], rule.params["min_chars"]
    headings = {s["id"]: f"{s['number']}、{s['heading']}" for s in common()["sections"]}
    for sid in rule.params["sections"]:
        now, before = ctx.report.sections.get(sid), ctx.previous.sections.get(sid)
        name = headings.get(sid, sid)
        if not now or not before:
            which = "this report" if not now else "the previous report"
            yield Finding(rule=rule.id, severity="info", source=f"section {sid}",
                          message=f"{rule.id} not evaluated for {name}: no text in {which}")
            continue
        length = len(re.sub(r"\s+", "", now))
        if length < min_chars:
            yield Finding(rule=rule.id, severity="info", message=f"{rule.id} not evaluated for {name}: "
                          f"{length} characters, too short to compare (minimum {min_chars})", source=f"section {sid}")
            continue
        mine, theirs = _shingles(now, n), _shingles(before, n)
        share = len(mine & theirs) / len(mine) if mine else 0.0
        if share >= threshold:
            yield Finding(rule=rule.id, severity=rule.severity,
                          message=f"{rule.id}: {share:.0%} of {name} also appears in the previous report "
                          f"({ctx.previous.year or 'year unknown'}; threshold {threshold:.0%}, "
                          f"{n}-character shingles)",
                          found=round(share, 4), source=f"section {sid}")


_CHECKS: dict[str, Callable[[_Context, Rule], Iterator[Finding]]] = {
    "relation": _check_relation,
    "cell_domain": _check_cell_domain,
    "carry_over": _check_carry_over,
    "stock_flow": _check_stock_flow,
    "narrative": _check_narrative,
    "fee_notice": _check_fee_notice,
    "fee_note": _check_fee_note,
    "aggregate": _check_not_run,
    "completeness": _check_completeness,
    "template": _check_template,
    "sections": _check_sections,
    "timeliness": _check_timeliness,
    "copy": _check_copy,
}


# What the checkers of the cross-year kinds read of a report and of its previous year's, from their
# params: the link phase of an ingest loads only these from the store.
_READS: dict[str, Callable[[Rule], tuple[set[tuple[str, str]], set[str]]]] = {
    "carry_over": lambda r: ({(r.params["table"], r.params["result_row"]),
                              (r.params["table"], r.params["previous_row"])}, set()),
    "stock_flow": lambda r: ({(r.params["table"], row) for row in r.params["rows"]}, set()),
    "copy": lambda r: (set(), set(r.params["sections"])),
}


@dataclass(frozen=True)
class Inputs:
    """The template rows (table, row) and section ids some rules read; `rows` None means every cell."""

    rows: frozenset[tuple[str, str]] | None
    sections: frozenset[str] | None


def cross_year_inputs() -> Inputs:
    """What the cross-year rules (`runs: with_previous`) read of the two reports: a report holding
    only these cells and sections gives the same cross-year findings as the whole report (which the
    link phase of an ingest then need not load). A rule of a kind not in `_READS` reads everything."""
    rows: set[tuple[str, str]] = set()
    sections: set[str] = set()
    for rule in get_rules():
        if rule.runs != "with_previous":
            continue
        if rule.kind not in _READS:
            return Inputs(rows=None, sections=None)
        r, s = _READS[rule.kind](rule)
        rows |= r
        sections |= s
    return Inputs(rows=frozenset(rows), sections=frozenset(sections))


# ---------------------------------------------------------------------------------------------
# Entry point


def validate(report: Report, previous: Report | None = None,
             published: dt.date | None = None) -> pd.DataFrame:
    """Check one report against every rule of the catalogue; return the findings as a tidy DataFrame.

    `previous` (the same organ's report for the year before) enables X1, X2 and COPY; `published`
    overrides the report's own dates for TIMELINESS. Rows follow the catalogue order, then the
    template's cell order. Severity `error` means a printed relation or cell domain is broken.

    :example:
    >>> from helpers import Report, validate
    >>> cells = {"table_4/review/upheld": 1, "table_4/review/corrected": 0, "table_4/review/other": 0,
    ...          "table_4/review/pending": 0, "table_4/review/total": 2}
    >>> r = Report.from_cells(cells)
    >>> validate(r).query("severity == 'error'")[["rule", "row", "column", "delta"]].values.tolist()
    [['R5', 'review', 'total', 1.0]]
    """
    return findings_frame(findings_list(report, previous, published))


def findings_list(report: Report, previous: Report | None = None, published: dt.date | None = None,
                  only: frozenset[str] | None = None) -> list[Finding]:
    """`validate` as a list of `Finding` records (no DataFrame: what ingest writes, a batch at a
    time); with `only`, just the rules of those ids (the link phase's cross-year rules)."""
    if isinstance(published, dt.datetime):
        published = published.date()
    ctx = _Context(report=report, previous=previous, published=published, cells=_Cells.of(report))
    findings: list[Finding] = []
    for rule in get_rules():
        if rule.runs == "never" or (rule.runs == "with_previous" and previous is None):
            continue
        if only is not None and rule.id not in only:
            continue
        if not rule.applies_to(report.template):
            continue
        findings.extend(_CHECKS[rule.kind](ctx, rule))
    return findings


# ---------------------------------------------------------------------------------------------
# Documentation


def _relation_text(version: str, relation_id: str) -> str:
    tmpl = get_template(version)
    rel = next((r for r in tmpl.relations if r.id == relation_id), None)
    if rel is None:
        return "(not in this format)"
    over = "each column" if rel.over == "columns" else "each row"
    rhs = " + ".join(f"`{k}`" for k in rel.plus)
    if rel.minus:
        rhs += " − " + " − ".join(f"`{k}`" for k in rel.minus)
    return f"{rel.table}, {over}: `{rel.result}` = {rhs}"


def rules_markdown() -> str:
    """The catalogue as Markdown (docs/rules.md is this text; a test keeps the two equal)."""
    runs = {"always": "always", "with_previous": "with `--previous`", "never": "not run"}
    lines = [
        "# Validation rules",
        "",
        "Generated from `helpers/templates/rules.yaml` by `helpers.validate.rules_markdown()`; do not edit",
        "by hand (`tests/unit/test_validate.py` checks that this file equals its output).",
        "",
        "`ogi validate FILE... [--previous FILE] [--published DATE] [--format table|json]` and",
        "`helpers.validate(report, previous=None, published=None)` report one finding per problem with the",
        "columns rule, severity, table, row, column, expected, found, delta (= found − expected), message,",
        "source. Severity is that of a violation; a rule that cannot be evaluated because a cell is blank, a",
        "placeholder, unreadable or missing gives an `info` finding saying so. Exit code 1 means at least",
        "one `error` finding.",
        "",
        "| id | severity | runs | what | why |",
        "|---|---|---|---|---|",
    ]
    for r in get_rules():
        fmt = f" ({', '.join(r.templates)} format)" if r.templates else ""
        lines.append(f"| {r.id} | {r.severity} | {runs[r.runs]}{fmt} | {_cell(r.en)}<br>{_cell(r.zh)} | "
                     f"{_cell(r.why)} |")
    lines += ["", "## Relations, as read from the template YAML", ""]
    for r in get_rules():
        if r.kind == "relation" and r.relation:
            new, old = _relation_text("2021", r.relation), _relation_text("2019", r.relation)
            text = f"both formats: {new}" if new == old else f"2021 format: {new}; 2019 format: {old}"
            lines.append(f"* **{r.id}**: {text}.")
    x3 = next((r for r in get_rules() if r.kind == "narrative"), None)
    if x3 is not None:
        lines += ["", f"## {x3.id}: narrative claims", "",
                  f"Searched in section(s) {', '.join(x3.params['sections'])}; the first statement of each kind "
                  "counts (a claim's patterns are tried in order). A claim holds if it equals any of its",
                  "alternatives (cells a format lacks are dropped).",
                  ""]
        for claim in x3.params["claims"]:
            alts = " or ".join("(" + " + ".join(f"`{k}`" for k in alt) + ")" for alt in claim["sums"])
            lines.append(f"* `{claim['id']}` ({claim['en']}): {alts}")
    lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
