"""What the brief notebooks show: a report's or a corpus's data, and its views as escaped HTML.

The notebooks (notebooks/report_brief.ipynb, corpus_brief.ipynb, explore.ipynb) only call this
module, `helpers.plots` and `helpers.explore`. `load_report` gathers one report (from a file, parsed
and validated here, or from a store by id) with its previous year's; `load_corpus` gathers a store's
reports for a year and filter. Each view returns `Html` (a string shown as HTML) or a `plots.Chart`.
Every piece of report text (agency, narrative, raw cell text, finding messages, file paths) is
escaped with `html.escape`, so a narrative holding `<script>` shows as text.

Running the notebooks over many reports and exporting them is `helpers.brief_runner`.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import plots
from .errors import BriefError
from .template import read_data, common, get_template

__all__ = [
    "CorpusData",
    "Html",
    "ReportData",
    "applicants_chart",
    "brief_links",
    "copies_table",
    "corpus_title",
    "coverage",
    "distributions",
    "escape",
    "excerpts",
    "findings_summary",
    "findings_table",
    "format_value",
    "grid",
    "identity",
    "key_metrics",
    "label",
    "load_corpus",
    "load_report",
    "metric_defs",
    "outcomes_chart",
    "rankings",
    "report_from_store",
    "review_chart",
    "statistical_tables",
    "store_data",
    "trends",
]

FLAG_SEVERITIES = ("error", "warning")


class Html(str):
    """HTML made here from escaped text; notebooks display it as text/html."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<html: {len(self)} characters>"


def escape(value: Any) -> str:
    """Escaped text of a value (None and NaN as an empty string): every report text goes through it."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


_e = escape


def _config() -> dict[str, Any]:
    return plots.brief_config()


def label(key: str) -> str:
    """A UI label of templates/briefs.yaml (`中文 · English`)."""
    return str(_config()["labels"].get(key, key))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "data") -> str:
    """An HTML table; headers are escaped here, row cells must already be HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def grid(*items: Any) -> Html:
    """Charts (or other HTML views) side by side, two to a row on a wide page."""
    return Html('<div class="charts">' + "".join(i._repr_html_() for i in items) + "</div>")


# --------------------------------------------------------------------------------------------
# Loading


@dataclasses.dataclass
class ReportData:
    """One report as a brief needs it: metadata, cells, findings, sections, metrics, previous year."""

    report_id: str
    meta: dict[str, Any]
    cells: pd.DataFrame
    findings: pd.DataFrame
    sections: dict[str, str]
    metrics: pd.DataFrame
    previous: ReportData | None = None

    @property
    def template(self) -> str:
        return str(self.meta.get("template") or "2021")

    @property
    def year(self) -> int | None:
        y = self.meta.get("year")
        return None if _missing(y) else int(y)


@dataclasses.dataclass
class StoreData:
    """A store's tables with per-report lookups and every report's metrics (cached per process)."""

    path: Path
    reports: pd.DataFrame
    cells: pd.DataFrame
    findings: pd.DataFrame
    failures: pd.DataFrame
    sections: pd.DataFrame

    @functools.cached_property
    def metrics(self) -> pd.DataFrame:
        from .metrics import report_metrics

        return report_metrics(self.cells, self.reports)

    @functools.cached_property
    def by_id(self) -> dict[str, dict[str, pd.DataFrame]]:
        """report_id → {cells, findings, sections, metrics} (one grouping pass per table)."""
        out: dict[str, dict[str, pd.DataFrame]] = {rid: {} for rid in self.reports["report_id"].astype(str)}
        for name in ("cells", "findings", "sections", "metrics"):
            frame = getattr(self, name)
            for rid, part in frame.groupby(frame["report_id"].astype(str), sort=False):
                if rid in out:
                    out[rid][name] = part.reset_index(drop=True)
        return out

    def part(self, report_id: str, name: str) -> pd.DataFrame:
        got = self.by_id.get(report_id, {}).get(name)
        if got is None:
            return getattr(self, name).iloc[0:0]
        return got


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of a store's files: a changed store gives a new cache entry."""
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((str(p.relative_to(root)), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


@functools.lru_cache(maxsize=4)
def _store_data(root: str, fingerprint: tuple[tuple[str, int, int], ...]) -> StoreData:
    from .store import open_store

    corpus = open_store(root)
    return StoreData(path=Path(root), reports=corpus.reports, cells=corpus.cells, findings=corpus.findings,
                     failures=corpus.failures, sections=corpus.sections)


def store_data(store: str | os.PathLike[str]) -> StoreData:
    """The store's tables, read once per process while the store is unchanged (a brief run in a
    reused kernel reads the store once, not once per brief)."""
    root = Path(store).expanduser().absolute()
    if not root.is_dir():
        raise BriefError(str(root), "the store folder does not exist; create it with `ogi ingest FILES --store DIR`")
    return _store_data(str(root), _fingerprint(root))


def report_from_store(data: StoreData, report_id: str, with_previous: bool = True) -> ReportData:
    """One stored report with its findings, sections, metrics and (linked) previous year's report."""
    rows = data.reports[data.reports["report_id"].astype(str) == report_id]
    if rows.empty:
        raise BriefError(str(data.path), f"no report with id {report_id!r} in the store; "
                         "list the ids with `ogi` or the store's reports table")
    meta = {k: (None if _missing(v) else v) for k, v in rows.iloc[0].to_dict().items()}
    sec = data.part(report_id, "sections")
    sections = {str(s): str(t) for s, t in zip(sec.get("section", []), sec.get("text", [])) if not _missing(t)}
    previous = None
    prev_id = meta.get("previous_report_id")
    if with_previous and prev_id:
        previous = report_from_store(data, str(prev_id), with_previous=False)
    return ReportData(report_id=report_id, meta=meta, cells=data.part(report_id, "cells"),
                      findings=data.part(report_id, "findings"), sections=sections,
                      metrics=data.part(report_id, "metrics"), previous=previous)


def _from_file(path: str, previous_path: str = "") -> ReportData:
    from .metrics import report_metrics
    from .parse import read_report
    from .validate import validate

    report = read_report(path)
    prev = read_report(previous_path) if previous_path else None
    findings = validate(report, previous=prev)

    def data(r: Any, f: pd.DataFrame | None) -> ReportData:
        rid = r.sha256 or Path(r.path or path).name
        cells = r.cells.assign(report_id=rid)
        meta = r.metadata()
        meta.update(report_id=rid, organ_name=r.agency)
        metrics = report_metrics(cells, pd.DataFrame([{"report_id": rid, "template": r.template}]))
        return ReportData(report_id=rid, meta=meta, cells=cells,
                          findings=f if f is not None else validate(r), sections=dict(r.sections),
                          metrics=metrics)

    out = data(report, findings)
    if prev is not None:
        out.previous = data(prev, None)
    return out


def load_report(report_path: str = "", store: str = "", report_id: str = "", previous_path: str = "") -> ReportData:
    """One report for a brief: from `report_path` (parsed and validated now, with `previous_path` as
    last year's) or from `store` by `report_id` (its stored findings and previous-year link)."""
    if store and report_id:
        return report_from_store(store_data(store), str(report_id))
    if report_path:
        return _from_file(str(report_path), str(previous_path or ""))
    raise BriefError("report_brief", "give a report_path, or a store and a report_id")


@dataclasses.dataclass
class CorpusData:
    """A store's reports for a corpus brief: `reports` is the selection (year and filter), `all_years`
    the same filter over every year (for trends)."""

    store: StoreData
    year: int | None
    filter: str
    reports: pd.DataFrame
    all_years: pd.DataFrame

    @property
    def ids(self) -> set[str]:
        return set(self.reports["report_id"].astype(str))

    def rows(self, frame: pd.DataFrame, ids: set[str] | None = None) -> pd.DataFrame:
        ids = self.ids if ids is None else ids
        return frame[frame["report_id"].astype(str).isin(ids)]


def load_corpus(store: str, year: int | None = None, filter: str = "") -> CorpusData:  # noqa: A002
    """A store's reports of `year` (None: every year) that match `filter`, a pandas query over the
    reports table (e.g. `organ_kind == "department"` or `level in ["county", "city"]`)."""
    data = store_data(store)
    reports = data.reports
    if filter:
        try:
            reports = reports.query(filter, engine="python")
        except Exception as exc:  # noqa: BLE001 - a user's filter expression: say what is wrong
            raise BriefError("corpus_brief", f"the filter {filter!r} cannot be applied to the reports table: {exc}; "
                             f"columns are {', '.join(map(str, data.reports.columns))}") from exc
    all_years = reports
    if year is not None:
        reports = reports[reports["year"] == int(year)]
    return CorpusData(store=data, year=None if year is None else int(year), filter=filter,
                      reports=reports.reset_index(drop=True), all_years=all_years.reset_index(drop=True))


# --------------------------------------------------------------------------------------------
# Formatting


@functools.lru_cache(maxsize=1)
def metric_defs() -> dict[str, Any]:
    """Metric id → definition (helpers.metrics), in the order of metrics.yaml."""
    from .metrics import metric_definitions

    return {m.id: m for m in metric_definitions()}


def format_value(value: Any, unit: str = "件") -> str:
    """A metric value as printed in briefs: shares in per cent, counts with separators."""
    if _missing(value):
        return "—"
    v = float(value)
    if unit == "share":
        return f"{v * 100:.1f}%"
    if unit == "per 100":
        return f"{v:.2f}"
    if v.is_integer():
        return f"{v:,.0f}"
    return f"{v:,.4f}".rstrip("0").rstrip(".")


def _change(now: Any, before: Any, unit: str) -> str:
    if _missing(now) or _missing(before):
        return "—"
    d = float(now) - float(before)
    if unit == "share":
        return f"{d * 100:+.1f} pp"
    if unit == "per 100":
        return f"{d:+.2f}"
    return f"{d:+,.0f}" if float(d).is_integer() else f"{d:+,.4f}"


def _cell_text(value: Any, raw: Any, status: str) -> str:
    if status in ("ok", "inferred") and not _missing(value):
        v = float(value)
        return _e(f"{v:,.0f}" if v.is_integer() else f"{v:,.6f}".rstrip("0").rstrip("."))
    raw_text = "" if _missing(raw) else str(raw).strip()
    shown = _config()["statuses"].get(status, status)
    tag = f'<span class="status">{_e(shown)}</span>'
    return f"{_e(raw_text)}{tag}" if raw_text else tag


# --------------------------------------------------------------------------------------------
# Report views


def identity(data: ReportData) -> Html:
    """Agency, year, template, source and cell statuses of a report."""
    m = data.meta
    kinds = _config()["organ_kinds"]
    tmpl = get_template(data.template)
    statuses = data.cells["status"].astype(str).value_counts() if len(data.cells) else pd.Series(dtype=int)
    status_text = "，".join(f"{k} {int(v)}" for k, v in statuses.items())
    prev = data.previous
    rows = [
        ("agency", _e(m.get("agency")) or f'<span class="status">{_e(label("not_printed"))}</span>'),
        ("organ_name", _e(m.get("organ_name"))),
        ("organ_kind", _e(kinds.get(str(m.get("organ_kind")), m.get("organ_kind")))),
        ("level", _e(m.get("level"))),
        ("year", _e(m.get("year")) or f'<span class="status">{_e(label("not_printed"))}</span>'),
        ("template", _e(f"{data.template} · {tmpl.name}")),
        ("form", _e(m.get("form"))),
        ("title", _e(m.get("title"))),
        ("report_date", _e(m.get("report_date"))),
        ("published", _e(m.get("published"))),
        ("source", f"<code>{_e(m.get('path'))}</code>"),
        ("source_url", f"<code>{_e(m.get('source_url'))}</code>" if m.get("source_url") else ""),  # ogi fetch
        ("report_id", f"<code>{_e(data.report_id)}</code>"),
        ("cells", _e(status_text)),
        ("previous", _e(f"{prev.meta.get('agency') or ''} {prev.year or ''}".strip()) if prev else _e(label("none"))),
    ]
    body = "".join(f"<tr><th>{_e(label(k))}</th><td>{v}</td></tr>" for k, v in rows if v)
    name = m.get("agency") or m.get("organ_name") or ""
    return Html(f'<div class="identity"><h1 class="agency">{_e(name)} <span class="year">{_e(m.get("year") or "")}'
                f'</span></h1><table class="meta">{body}</table></div>')


def _flags(findings: pd.DataFrame) -> dict[str, list[str]]:
    """Cell key → messages of error and warning findings located at that cell."""
    out: dict[str, list[str]] = {}
    if findings.empty:
        return out
    f = findings[findings["severity"].astype(str).isin(FLAG_SEVERITIES)]
    for t, r, c, msg in zip(f["table"], f["row"], f["column"], f["message"]):
        if _missing(t) or _missing(r) or _missing(c):
            continue
        out.setdefault(f"{t}/{r}/{c}", []).append(str(msg))
    return out


def _unknown_rows(cells: pd.DataFrame, table: str, columns: Sequence[str]) -> list[str]:
    """Rows the template does not know (`unknown:<label>`), shown after the table's own rows."""
    unknown = cells[(cells["table"] == table) & cells["row"].astype(str).str.startswith("unknown:")]
    out = []
    tag = _e(_config()["statuses"]["unknown"])
    for row, part in unknown.groupby(unknown["row"].astype(str), sort=False):
        by_col = {str(c): (v, raw) for c, v, raw in zip(part["column"], part["value"].astype("float64"), part["raw"])}
        tds = "".join(f'<td class="s-unknown">{_cell_text(*by_col[c], "ok") if c in by_col else ""}</td>'
                      for c in columns)
        name = _e(row[len("unknown:"):])
        out.append(f'<tr class="unknown"><th>{name}<span class="status">{tag}</span></th>{tds}</tr>')
    return out


@functools.lru_cache(maxsize=4)
def _bands(version: str) -> dict[str, str]:
    spec = read_data(f"{version}.yaml").get("tables", {}).get("table_2", {})
    return {b["id"]: b.get("caption", b["id"]) for b in spec.get("bands", [])}


def statistical_tables(data: ReportData) -> Html:
    """Tables 2, 3 and 4 as printed in the template, flagged cells highlighted (hover for why)."""
    tmpl = get_template(data.template)
    flags = _flags(data.findings)
    cells = {f"{t}/{r}/{c}": (v, raw, str(s)) for t, r, c, v, raw, s in zip(
        data.cells["table"], data.cells["row"], data.cells["column"], data.cells["value"].astype("float64"),
        data.cells["raw"], data.cells["status"])}

    def td(key: str) -> str:
        v, raw, status = cells.get(key, (None, "", "missing"))
        cls = [f"s-{status}"]
        title = ""
        if key in flags:
            cls.append("flag")
            title = f' title="{_e(" | ".join(flags[key]))}"'
        return f'<td class="{" ".join(cls)}"{title}>{_cell_text(v, raw, status)}</td>'

    out = []
    for tkey, table in tmpl.tables.items():
        parts = [f'<h3>{_e(table.title)}</h3>']
        if tkey == "table_2":
            bands: dict[str, list[Any]] = {}
            for row in table.data_rows:
                bands.setdefault(row.band or "", []).append(row)
            captions = _bands(data.template)
            for band, rows in bands.items():
                cols = table.row_columns(rows[0])
                head = "".join(f"<th>{_e(c.label)}</th>" for c in cols)
                body = "".join(f"<tr><th>{_e(r.label)}</th>" + "".join(td(f"{tkey}/{r.key}/{c.key}") for c in cols)
                               + "</tr>" for r in rows)
                parts.append(f'<table class="stat band"><caption>{_e(captions.get(band, band))}</caption><thead><tr>'
                             f'<th></th>{head}</tr></thead><tbody>{body}</tbody></table>')
        else:
            cols = list(table.columns.values())
            head = "".join(f"<th>{_e(c.label)}</th>" for c in cols)
            body: list[str] = []
            for r in table.rows:
                name = _e(r.printed_label)
                if r.group:
                    body.append(f'<tr class="group"><th colspan="{len(cols) + 1}">{name}</th></tr>')
                    continue
                cls = ' class="sub"' if (r.number or "").isdigit() else ""
                if r.parent:
                    name = f"{_e(r.parent)}：{name}"
                body.append(f"<tr{cls}><th>{name}</th>" + "".join(td(f"{tkey}/{r.key}/{c.key}") for c in cols)
                            + "</tr>")
            body.extend(_unknown_rows(data.cells, tkey, [c.key for c in cols]))
            parts.append(f'<table class="stat"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}'
                         f'</tbody></table>')
        out.append("".join(parts))
    legend = "".join(f'<span class="s-{k}">{_e(v)}</span> ' for k, v in _config()["statuses"].items())
    return Html(f'<div class="tables">{"".join(out)}<p class="legend"><span class="flag">'
                f'{_e(_config()["severities"]["error"])}/{_e(_config()["severities"]["warning"])}</span> '
                f'{legend}</p></div>')


@functools.lru_cache(maxsize=1)
def _rule_names() -> dict[str, str]:
    from .validate import get_rules

    return {r.id: r.zh for r in get_rules()}


def findings_table(data: ReportData) -> Html:
    """Errors and warnings in full; information findings counted, listed in a collapsed block."""
    f = data.findings
    if f.empty:
        return Html(f'<p class="ok">{_e(label("no_findings"))}</p>')
    sev = _config()["severities"]
    main = f[f["severity"].astype(str).isin(FLAG_SEVERITIES)]
    info = f[~f["severity"].astype(str).isin(FLAG_SEVERITIES)]

    def rows(frame: pd.DataFrame) -> list[list[str]]:
        out = []
        for rec in frame.to_dict("records"):
            where = "/".join(str(rec[k]) for k in ("table", "row", "column") if not _missing(rec.get(k)))
            rule = str(rec["rule"])
            out.append([f'<span class="sev-{_e(rec["severity"])}">{_e(sev.get(str(rec["severity"]), rec["severity"]))}'
                        f"</span>", f'<abbr title="{_e(_rule_names().get(rule, ""))}">{_e(rule)}</abbr>',
                        f"<code>{_e(where)}</code>", _e(format_value(rec.get("expected"), "")),
                        _e(format_value(rec.get("found"), "")), _e(format_value(rec.get("delta"), "")),
                        _e(rec.get("message"))])
        return out

    headers = [label(k) for k in ("severity", "rule", "cell", "expected", "found", "delta", "message")]
    counts = f["severity"].astype(str).value_counts()
    summary = "，".join(f"{sev.get(k, k)}: {int(counts.get(k, 0))}" for k in ("error", "warning", "info"))
    parts = [f'<p class="summary">{_e(summary)}</p>']
    if len(main):
        parts.append(_table(headers, rows(main), "findings"))
    else:
        parts.append(f'<p class="ok">{_e(label("no_findings"))}</p>')
    if len(info):
        by_rule = info["rule"].astype(str).value_counts()
        listing = "，".join(f"{_e(k)} × {int(v)}" for k, v in by_rule.items())
        parts.append(f'<details><summary>{_e(label("info_findings"))} ({len(info)}): {listing}</summary>'
                     f'{_table(headers, rows(info), "findings")}</details>')
    return Html("".join(parts))


def key_metrics(data: ReportData, metrics: Sequence[str] | None = None) -> Html:
    """Key metrics of the report against the previous year's, with numerators, denominators and
    small-number caveats."""
    ids = list(metrics or _config()["report_metrics"])
    defs = metric_defs()
    now = data.metrics.set_index("metric") if len(data.metrics) else pd.DataFrame()
    before = (data.previous.metrics.set_index("metric") if data.previous is not None and len(data.previous.metrics)
              else pd.DataFrame())
    rows = []
    for mid in ids:
        m = defs.get(mid)
        if m is None:
            continue
        rec = now.loc[mid].to_dict() if mid in now.index else {}
        prev = before.loc[mid].to_dict() if mid in before.index else {}
        notes = []
        if rec.get("small_n") is True:
            notes.append(label("small_n"))
        if not _missing(rec.get("note")) and rec.get("note"):
            notes.append(str(rec["note"]))
        frac = ""
        if m.is_rate and not _missing(rec.get("numerator")) and not _missing(rec.get("denominator")):
            frac = f' <span class="frac">({format_value(rec["numerator"])}/{format_value(rec["denominator"])})</span>'
        rows.append([f"{_e(m.zh)}<br><span class=\"en\">{_e(m.en)}</span>",
                     _e(format_value(rec.get("value"), m.unit)) + frac,
                     _e(format_value(prev.get("value"), m.unit)) if prev else "—",
                     _e(_change(rec.get("value"), prev.get("value"), m.unit)) if prev else "—",
                     _e("；".join(notes))])
    headers = [label(k) for k in ("metric", "this_year", "last_year", "change", "note")]
    return Html(_table(headers, rows, "metrics"))


def outcomes_chart(data: ReportData) -> plots.Chart:
    """Request outcomes by category, against the previous year's when there is one."""
    prev = data.previous
    return plots.outcomes_chart(data.cells, data.template, previous=prev.cells if prev else None,
                                previous_template=prev.template if prev else None, year=data.year)


def applicants_chart(data: ReportData) -> plots.Chart:
    """New requests by applicant type."""
    return plots.applicants_chart(data.cells, data.template)


def review_chart(data: ReportData) -> plots.Chart:
    """Reconsideration and litigation cases by result."""
    return plots.review_chart(data.cells, data.template)


def excerpts(data: ReportData, sections: Sequence[str] | None = None, chars: int | None = None) -> Html:
    """Excerpts of sections 5 (problems) and 6 (other matters), escaped, cut at `chars` characters."""
    ids = list(sections or _config()["excerpt_sections"])
    limit = int(chars or _config()["excerpt_chars"])
    heads = {s["id"]: f"{s['number']}、{s['heading']}" for s in common()["sections"]}
    parts = []
    for sid in ids:
        text = (data.sections.get(sid) or "").strip()
        body = (f'<p class="status">{_e(label("no_text"))}</p>' if not text else
                "".join(f"<p>{_e(p)}</p>" for p in (text[:limit] + ("…" if len(text) > limit else "")).splitlines()
                        if p.strip()))
        cut = f' <span class="status">({_e(label("truncated"))})</span>' if len(text) > limit else ""
        parts.append(f'<section class="excerpt"><h3>{_e(heads.get(sid, sid))}{cut}</h3>{body}</section>')
    return Html("".join(parts))


# --------------------------------------------------------------------------------------------
# Corpus views


def corpus_title(c: CorpusData) -> Html:
    """The corpus brief's heading: scope, filter and store."""
    scope = label("all_years") if c.year is None else str(c.year)
    filt = f'<p class="note">{_e(label("filter"))}: <code>{_e(c.filter)}</code></p>' if c.filter else ""
    return Html(f'<div class="identity"><p class="kicker">{_e(label("corpus_brief"))}</p><h1>{_e(scope)} '
                f'<span class="year">{len(c.reports)} {_e(label("reports"))}</span></h1>{filt}'
                f'<p class="note"><code>{_e(c.store.path)}</code></p></div>')


def coverage(c: CorpusData) -> Html:
    """Reports by year, template and form; files that could not be read; reports with errors."""
    r = c.reports
    parts = []
    scope = label("all_years") if c.year is None else str(c.year)
    filt = f"；{label('filter')}：{c.filter}" if c.filter else ""
    parts.append(f'<p class="summary">{_e(scope)}{_e(filt)} — {_e(label("reports"))}: {len(r)}</p>')
    if len(r):
        tab = (r.assign(year=r["year"].astype("string").fillna("?"))
               .groupby(["year", "template", "form"], dropna=False).size().reset_index(name="n"))
        parts.append(_table([label("year"), label("template"), label("form"), label("reports")],
                            [[_e(a), _e(b), _e(f), _e(n)] for a, b, f, n in tab.itertuples(index=False)]))
    errors = r[pd.to_numeric(r.get("n_errors"), errors="coerce").fillna(0) > 0] if len(r) else r
    parts.append(f'<h3>{_e(label("with_errors"))}: {len(errors)} / {len(r)}</h3>')
    if len(errors):
        errors = errors.sort_values("n_errors", ascending=False).head(20)
        parts.append(_table([label("agency"), label("year"), label("n_errors")],
                            [[_e(a), _e(y), _e(n)] for a, y, n in zip(errors["agency"], errors["year"],
                                                                       errors["n_errors"])]))
    fails = c.store.failures
    parts.append(f'<h3>{_e(label("failures"))}: {len(fails)}</h3>')
    if len(fails):
        parts.append(_table([label("path"), label("error_class"), label("message")],
                            [[f"<code>{_e(p)}</code>", _e(k), _e(m)] for p, k, m in
                             zip(fails["path"], fails["error_class"], fails["message"])]))
    else:
        parts.append(f'<p class="ok">{_e(label("no_failures"))}</p>')
    return Html("".join(parts))


def distributions(c: CorpusData, metrics: Sequence[str] | None = None) -> list[plots.Chart]:
    """One histogram per key metric over the selected reports (small-number rates set apart)."""
    defs = metric_defs()
    m = c.rows(c.store.metrics)
    out = []
    for mid in metrics or _config()["corpus_distributions"]:
        d = m[m["metric"] == mid]
        unit = defs[mid].unit
        vals = d["value"].astype("float64") * (100 if unit == "share" else 1)
        out.append(plots.distribution_chart(vals, defs[mid].zh, "%" if unit == "share" else unit,
                                            small=d["small_n"]))
    return out


def rankings(c: CorpusData, metrics: Sequence[str] | None = None, top: int = 10, top_per_year: int = 5) -> Html:
    """Top reports per key metric within each year (`top`, or `top_per_year` over several years);
    small-denominator rates are never ranked, and their number is given."""
    from .metrics import rank

    defs = metric_defs()
    m = c.rows(c.store.metrics)
    names = c.reports.set_index(c.reports["report_id"].astype(str))
    parts = []
    for mid in metrics or _config()["corpus_rankings"]:
        d = defs[mid]
        ranked = rank(m, mid, c.reports, by=("year",))
        small = int((m[(m["metric"] == mid)]["small_n"].fillna(False).astype(bool)).sum())
        rows = []
        shown = ranked.groupby("year", sort=True, dropna=False).head(top if c.year is not None else top_per_year)
        for rec in shown.to_dict("records"):
            who = names.loc[str(rec["report_id"])] if str(rec["report_id"]) in names.index else {}
            frac = (f"{format_value(rec['numerator'])}/{format_value(rec['denominator'])}" if d.is_rate else "")
            rows.append([_e(rec["rank"]), _e(who.get("agency") if len(who) else ""), _e(rec.get("year")),
                         _e(format_value(rec["value"], d.unit)), _e(frac)])
        caveat = f'<p class="note">{_e(label("excluded_small"))}: {small}</p>' if small else ""
        parts.append(f"<h3>{_e(d.zh)} <span class=\"en\">{_e(d.en)}</span></h3>"
                     + _table([label(k) for k in ("rank", "agency", "year", "value", "fraction")], rows) + caveat)
    return Html("".join(parts))


def findings_summary(c: CorpusData, top: int = 15) -> Html:
    """The most common findings over the selected reports: rule, severity, how many reports."""
    f = c.rows(c.store.findings)
    if f.empty:
        return Html(f'<p class="ok">{_e(label("no_findings"))}</p>')
    sev = _config()["severities"]
    order = {k: i for i, k in enumerate(_config()["severities"])}
    g = (f.groupby(["rule", "severity"]).agg(n=("report_id", "size"), reports=("report_id", "nunique"))
         .reset_index())
    g = g.assign(_o=g["severity"].map(order).fillna(len(order))).sort_values(["_o", "n"], ascending=[True, False])
    g = g.head(top)
    rows = [[_e(r), _e(sev.get(s, s)), _e(_rule_names().get(r, "")), _e(n), _e(k)]
            for r, s, n, k in zip(g["rule"], g["severity"], g["n"], g["reports"])]
    return Html(_table([label("rule"), label("severity"), label("message"), label("count"), label("reports")], rows))


def copies_table(c: CorpusData, threshold: float = 0.8, top: int = 10) -> Html:
    """Near-duplicate texts of sections 5 and 6 (briefs.yaml `copy_sections`) among the selected
    reports, and against each organ's previous report: a count by kind and section, then the top pairs."""
    from .copies import find_copies

    ids = c.ids | set(c.all_years["previous_report_id"].dropna().astype(str)) if len(c.reports) else set()
    pairs = find_copies(c.rows(c.store.sections, ids), c.rows(c.store.reports, ids), threshold=threshold,
                        sections_used=tuple(_config()["copy_sections"]))
    pairs = pairs[pairs["report_a"].astype(str).isin(c.ids) | pairs["report_b"].astype(str).isin(c.ids)]
    if pairs.empty:
        return Html(f'<p class="ok">{_e(label("no_copies"))}</p>')
    kinds = _config()["copy_kinds"]
    heads = {s["id"]: s["heading"] for s in common()["sections"]}
    counts = pairs.groupby(["kind", "section"]).size().reset_index(name="n")
    summary = _table([label("kind"), label("section"), label("count")],
                     [[_e(kinds.get(k, k)), _e(heads.get(sec, sec)), _e(n)]
                      for k, sec, n in counts.itertuples(index=False)])
    rows = [[_e(kinds.get(k, k)), _e(heads.get(s, s)), _e(f"{a} {ya}"), _e(f"{b} {yb}"), _e(f"{sim:.2f}"),
             _e(f"{sh:.0%}")]
            for k, s, a, ya, b, yb, sim, sh in zip(
                pairs["kind"], pairs["section"], pairs.get("name_a", pairs["organ_a"]), pairs["year_a"],
                pairs.get("name_b", pairs["organ_b"]), pairs["year_b"], pairs["similarity"], pairs["shared_share"])][:top]
    more = f'<p class="note">{_e(label("more_pairs").format(n=len(pairs) - top))}</p>' if len(pairs) > top else ""
    return Html(summary + _table([label(k) for k in ("kind", "section", "agency", "agency", "similarity",
                                                     "shared_share")], rows) + more)


def trends(c: CorpusData, metrics: Sequence[str] | None = None) -> plots.Chart:
    """Pooled rates by year over every year of the filtered reports."""
    from .metrics import aggregate_metrics

    ids = set(c.all_years["report_id"].astype(str))
    m = c.rows(c.store.metrics, ids)
    mids = list(metrics or _config()["corpus_trends"])
    pooled = aggregate_metrics(m[m["metric"].isin(mids)], c.all_years, by=("year",))
    pooled = pooled.assign(value=pooled["value"].astype("float64") * 100)
    defs = metric_defs()
    return plots.trend_chart(pooled, [(mid, defs[mid].zh) for mid in mids], unit="%")


def brief_links(c: CorpusData, href: str = "reports/{report_id}.html", status: Mapping[str, str] | None = None) -> Html:
    """A table linking every selected report's brief (`href` formatted with report_id and short_id)."""
    r = c.reports.sort_values(["year", "agency"], na_position="last", kind="stable")
    rows = []
    for rec in r.to_dict("records"):
        rid = str(rec["report_id"])
        link = href.format(report_id=rid, short_id=rid[:16]) if href else ""
        name = _e(rec.get("agency") or rec.get("organ_name") or rid[:12])
        cell = f'<a href="{_e(link)}">{name}</a>' if link else name
        st = (status or {}).get(rid, "")
        rows.append([cell, _e(rec.get("year")), _e(rec.get("template")), _e(rec.get("form")), _e(rec.get("n_errors")),
                     _e(st)])
    return Html(_table([label(k) for k in ("agency", "year", "template", "form", "n_errors", "status")], rows,
                       "links"))
