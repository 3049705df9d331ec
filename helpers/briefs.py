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
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import plots
from .errors import BriefError
from .frames import DATE_COLUMNS, missing
from .template import read_data, common, get_template

__all__ = [
    "CorpusData",
    "Html",
    "ReportData",
    "applicants_chart",
    "brief_links",
    "caveat_text",
    "cell_label",
    "copies_table",
    "corpus_title",
    "balanced_reports",
    "coverage",
    "coverage_matrix",
    "distributions_by_year",
    "downloads",
    "distributions",
    "escape",
    "excerpts",
    "findings_summary",
    "finding_message",
    "findings_table",
    "footer",
    "format_value",
    "grid",
    "identity",
    "key_metrics",
    "label",
    "load_corpus",
    "load_report",
    "metric_defs",
    "nav",
    "outcomes_chart",
    "outliers",
    "rankings",
    "report_from_store",
    "sample_path",
    "review_chart",
    "stack",
    "statistical_tables",
    "store_data",
    "trend_note",
    "trends",
    "unkey",
]

FLAG_SEVERITIES = ("error", "warning")


class Html(str):
    """HTML made here from escaped text; notebooks display it as text/html."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<html: {len(self)} characters>"


def escape(value: Any) -> str:
    """Escaped text of a value (None, NaN and NaT as an empty string): every report text goes through it."""
    if missing(value):
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




def stack(*items: Any) -> Html:
    """Views one below the other, as one output (navigation, identity, downloads)."""
    return Html("".join(i._repr_html_() if hasattr(i, "_repr_html_") else _e(i) for i in items))


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
    store: StoreData | None = None

    @property
    def template(self) -> str:
        return str(self.meta.get("template") or "2021")

    @property
    def year(self) -> int | None:
        y = self.meta.get("year")
        return None if missing(y) else int(y)


@dataclasses.dataclass
class StoreData:
    """A store's tables with per-report lookups and every report's metrics (cached per process)."""

    path: Path
    reports: pd.DataFrame
    cells: pd.DataFrame
    findings: pd.DataFrame
    failures: pd.DataFrame
    sections: pd.DataFrame
    store_version: str | None = None   # the store's data version (helpers/versions.py), when it has one

    @functools.cached_property
    def metrics(self) -> pd.DataFrame:
        from .metrics import report_metrics

        return report_metrics(self.cells, self.reports, self.findings)

    @functools.cached_property
    def version_id(self) -> str:
        """The store's version id (helpers.export.store_version_id: the id of `ogi versions`, the one
        exports print), shown in every brief's footer."""
        from .export import store_version_id

        return store_version_id(self.reports, self.cells, self.findings,
                                _Versioned(self.store_version))

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
                     failures=corpus.failures, sections=corpus.sections, store_version=corpus.version_id)


@dataclasses.dataclass(frozen=True)
class _Versioned:
    """What `store_version_id` asks of a store: its own `version_id` (None: hash the tables)."""

    version_id: str | None


PROJECT = Path(__file__).resolve().parent.parent


def sample_path(kind: str) -> Path:
    """The project's sample store or report (briefs.yaml `sample_store`, `sample_report`): what an
    empty `store` or `report_path` parameter means, wherever the notebook runs."""
    return PROJECT / str(_config()[f"sample_{kind}"])


def store_data(store: str | os.PathLike[str] = "") -> StoreData:
    """The store's tables, read once per process while the store is unchanged (a brief run in a
    reused kernel reads the store once, not once per brief). An empty `store`: the sample store."""
    root = Path(store or sample_path("store")).expanduser().absolute()
    if not root.is_dir():
        raise BriefError(str(root), "the store folder does not exist; create it with `ogi ingest FILES --store DIR`")
    return _store_data(str(root), _fingerprint(root))


def report_from_store(data: StoreData, report_id: str, with_previous: bool = True) -> ReportData:
    """One stored report with its findings, sections, metrics and (linked) previous year's report."""
    rows = data.reports[data.reports["report_id"].astype(str) == report_id]
    if rows.empty:
        raise BriefError(str(data.path), f"no report with id {report_id!r} in the store; "
                         "list the ids with `ogi` or the store's reports table")
    meta = {k: (None if missing(v) else v.date() if k in DATE_COLUMNS and isinstance(v, pd.Timestamp) else v)
            for k, v in rows.iloc[0].to_dict().items()}   # dates shown as dates, not midnight timestamps
    sec = data.part(report_id, "sections")
    sections = {str(s): str(t) for s, t in zip(sec.get("section", []), sec.get("text", [])) if not missing(t)}
    previous = None
    prev_id = meta.get("previous_report_id")
    if with_previous and prev_id:
        previous = report_from_store(data, str(prev_id), with_previous=False)
    return ReportData(report_id=report_id, meta=meta, cells=data.part(report_id, "cells"),
                      findings=data.part(report_id, "findings"), sections=sections,
                      metrics=data.part(report_id, "metrics"), previous=previous, store=data)


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
        metrics = report_metrics(cells, pd.DataFrame([{"report_id": rid, "template": r.template}]),
                                 (f if f is not None else validate(r)).assign(report_id=rid))
        return ReportData(report_id=rid, meta=meta, cells=cells,
                          findings=f if f is not None else validate(r), sections=dict(r.sections),
                          metrics=metrics)

    out = data(report, findings)
    if prev is not None:
        out.previous = data(prev, None)
    return out


def load_report(report_path: str = "", store: str = "", report_id: str = "", previous_path: str = "") -> ReportData:
    """One report for a brief: from `report_path` (parsed and validated now, with `previous_path` as
    last year's; empty: the project's sample report) or from `store` by `report_id` (its stored
    findings and previous-year link)."""
    if store and report_id:
        return report_from_store(store_data(store), str(report_id))
    if report_id:
        raise BriefError("report_brief", "a report_id needs its store; give store as well")
    return _from_file(str(report_path or sample_path("report")), str(previous_path or ""))


@dataclasses.dataclass
class CorpusData:
    """A store's reports for a corpus brief: `reports` is the selection (year and filter), `all_years`
    the same filter over every year (for trends), one file per organ-year (the panel's); `files`
    and `all_files` the same with every file, the panel's duplicates included."""

    store: StoreData
    year: int | None
    filter: str
    reports: pd.DataFrame
    all_years: pd.DataFrame
    files: pd.DataFrame
    all_files: pd.DataFrame

    @property
    def ids(self) -> set[str]:
        return set(self.reports["report_id"].astype(str))

    def rows(self, frame: pd.DataFrame, ids: set[str] | None = None) -> pd.DataFrame:
        ids = self.ids if ids is None else ids
        return frame[frame["report_id"].astype(str).isin(ids)]


def load_corpus(store: str, year: int | None = None, where: str = "") -> CorpusData:
    """A store's reports of `year` (None: every year) that match `where`, an expression of the
    filter language of `helpers.filter_expr` over the reports table (e.g. `organ_kind ==
    "department"` or `level in ["county", "city"]`; never evaluated as code).

    An organ-year published in several files (as a page and as an attachment, in PDF and DOCX)
    counts once: its panel row's file stands for it (`helpers.metrics.panel_table`), the others
    are in `files` only."""
    from .filter_expr import filter_frame
    from .metrics import panel_table

    data = store_data(store)
    all_files = filter_frame(data.reports, where).reset_index(drop=True)
    ids = set(all_files["report_id"].astype(str))
    primary = set(panel_table(data.cells[data.cells["report_id"].astype(str).isin(ids)], all_files).table["report_id"]
                  .astype(str)) if len(all_files) else set()
    all_years = all_files[all_files["report_id"].astype(str).isin(primary)].reset_index(drop=True)
    reports, files = all_years, all_files
    if year is not None:
        reports = reports[reports["year"] == int(year)].reset_index(drop=True)
        files = files[files["year"] == int(year)].reset_index(drop=True)
    return CorpusData(store=data, year=None if year is None else int(year), filter=where, reports=reports,
                      all_years=all_years, files=files, all_files=all_files)


# --------------------------------------------------------------------------------------------
# Formatting


@functools.lru_cache(maxsize=1)
def metric_defs() -> dict[str, Any]:
    """Metric id → definition (helpers.metrics), in the order of metrics.yaml."""
    from .metrics import metric_definitions

    return {m.id: m for m in metric_definitions()}


def format_value(value: Any, unit: str = "件") -> str:
    """A metric value as printed in briefs: shares in per cent, counts with separators."""
    if missing(value):
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
    if missing(now) or missing(before):
        return "—"
    d = float(now) - float(before)
    if unit == "share":
        return f"{d * 100:+.1f} pp"
    if unit == "per 100":
        return f"{d:+.2f}"
    return f"{d:+,.0f}" if float(d).is_integer() else f"{d:+,.4f}"


def _cell_text(value: Any, raw: Any, status: str) -> str:
    if status in ("ok", "inferred", "corrected") and not missing(value):
        v = float(value)
        text = _e(f"{v:,.0f}" if v.is_integer() else f"{v:,.6f}".rstrip("0").rstrip("."))
        if status == "corrected":   # a correction by hand: the number, tagged (its reason is the cell's title)
            text += f'<span class="status">{_e(_config()["statuses"].get(status, status))}</span>'
        return text
    raw_text = "" if missing(raw) else str(raw).strip()
    shown = _config()["statuses"].get(status, status)
    tag = f'<span class="status">{_e(shown)}</span>'
    return f"{_e(raw_text)}{tag}" if raw_text else tag


# --------------------------------------------------------------------------------------------
# Report views


def _source_link(path: Any, href: str = "") -> str:
    """The source file by its name, linked relatively when `href` is given; never an absolute path."""
    if missing(path) or not str(path):
        return ""
    name = _e(Path(str(path)).name)
    return f'<a href="{_e(href)}"><code>{name}</code></a>' if href else f"<code>{name}</code>"


def identity(data: ReportData, source_href: str = "") -> Html:
    """Agency, year, template, source (its file name, linked by `source_href` when given) and cell
    statuses of a report."""
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
        ("level", _e(_config().get("levels", {}).get(str(m.get("level")), m.get("level")))),
        ("year", _e(m.get("year")) or f'<span class="status">{_e(label("not_printed"))}</span>'),
        ("template", _e(f"{data.template} · {tmpl.name}")),
        ("form", _e(m.get("form"))),
        ("title", _e(m.get("title"))),
        ("report_date", _e(m.get("report_date"))),
        ("published", _e(m.get("published"))),
        ("source", _source_link(m.get("path"), source_href)),
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
    for rec in f.to_dict("records"):
        t, r, c = rec.get("table"), rec.get("row"), rec.get("column")
        if missing(t) or missing(r) or missing(c):
            continue
        out.setdefault(f"{t}/{r}/{c}", []).append(finding_message(rec))
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


def _hybrid_rows(data: ReportData, table: str, after: str, cols: Sequence[Any], td: Any) -> list[str]:
    """For a 2021-format report that prints the single 2019 （六）其他处理 row (metrics.HYBRID), that
    row, shown after the last of the three 2021 （六） rows it stands for."""
    from .metrics import HYBRID, _groups, layouts

    groups = {k: v for k, v in _groups().items() if k.startswith(f"{table}/")}
    if not groups or data.template != "2021":
        return []
    rows19 = {k.split("/")[1]: [m.split("/")[1] for m in v] for k, v in groups.items()}
    out = []
    for row19, members in rows19.items():
        if after != members[-1]:
            continue
        meta = pd.DataFrame([{"report_id": data.report_id, "template": data.template}])
        if layouts(data.cells.assign(report_id=data.report_id), meta).get(data.report_id) != HYBRID:
            continue
        r19 = next(r for r in get_template("2019").tables[table].rows if r.key == row19)
        out.append(f"<tr><th>{_e(r19.printed_label)}</th>" + "".join(td(f"{table}/{row19}/{c.key}") for c in cols)
                   + "</tr>")
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
    notes = {f"{t}/{r}/{c}": str(n) for t, r, c, s, n in zip(data.cells["table"], data.cells["row"],
                                                            data.cells["column"], data.cells["status"],
                                                            data.cells["note"]) if str(s) == "corrected"}

    def td(key: str) -> str:
        v, raw, status = cells.get(key, (None, "", "missing"))
        cls = [f"s-{status}"]
        why = flags.get(key, []) + ([notes[key]] if key in notes else [])
        title = f' title="{_e(" | ".join(why))}"' if why else ""
        if key in flags:
            cls.append("flag")
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
                body.extend(_hybrid_rows(data, tkey, r.key, cols, td))
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


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    from .validate import get_rules

    return {r.id: r for r in get_rules()}


def cell_label(table: Any, row: Any = None, column: Any = None) -> str:
    """The display label of a cell (or of a row, or a table) in Chinese: `表3 （七）总计 | 总计`,
    never the internal key."""
    if missing(table) or not str(table):
        return ""
    from .export import variable_label

    t, r, c = str(table), "" if missing(row) else str(row), "" if missing(column) else str(column)
    if r.startswith("unknown:"):
        return f"表{t.rsplit('_', 1)[-1]} {r[len('unknown:'):]}" + (f" | {c}" if c else "")
    if r and c:
        try:
            return variable_label(f"{t}/{r}/{c}")["label_zh"]
        except Exception:  # noqa: BLE001 - a key outside both templates: say where, plainly
            pass
    for version in ("2021", "2019"):
        tbl = get_template(version).tables.get(t)
        if tbl is None:
            continue
        if not r:
            return tbl.title
        hit = next((x for x in tbl.rows if x.key == r), None)
        if hit is not None:
            return f"表{t.rsplit('_', 1)[-1]} {hit.printed_label}"
    return " ".join(x for x in (t, r, c) if x)


_KEY = re.compile(r"\[?\b(table_\d)/([A-Za-z0-9_:.\-\u4e00-\u9fff]+)(?:/([A-Za-z0-9_]+))?\]?")


def unkey(text: str) -> str:
    """`text` with every internal cell key (`table_3/granted/total`, `[table_3/...]`) replaced by
    its display label, so that a reader never sees a key."""
    return _KEY.sub(lambda m: f"（{cell_label(m.group(1), m.group(2), m.group(3))}）" if m.group(0).startswith("[")
                    else cell_label(m.group(1), m.group(2), m.group(3)), text)


def finding_message(rec: Mapping[str, Any], lang: str = "zh") -> str:
    """A finding's message from the rule catalogue's template (rules.yaml `message_zh`/`message_en`)
    with the cell's display label and the amounts; a rule that could not be evaluated says so. Falls
    back to the stored (English) message for a rule without a template."""
    rule = _rules().get(str(rec.get("rule")))
    template = getattr(rule, f"message_{lang}", "") if rule is not None else ""
    if rule is None or not template:
        return "" if missing(rec.get("message")) else str(rec["message"])
    if str(rec.get("severity")) == "info" and rule.severity != "info":
        text = label("not_evaluated").format(rule=rule.id)
        return text.split(" · ")[0 if lang == "zh" else -1]
    where = cell_label(rec.get("table"), rec.get("row"), rec.get("column"))

    def num(key: str, signed: bool = False) -> str:
        v = rec.get(key)
        if missing(v):
            return "—"
        return _change(v, 0, "件") if signed else format_value(v, "")

    found_share = "—" if missing(rec.get("found")) else f"{float(rec['found']):.0%}"
    text = template.format(cell=where, expected=num("expected"), found=num("found"), delta=num("delta", True),
                           found_share=found_share)
    return text.lstrip("：: ") if not where else text


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
            where = cell_label(rec.get("table"), rec.get("row"), rec.get("column"))
            rule = str(rec["rule"])
            zh, en = finding_message(rec, "zh"), "" if missing(rec.get("message")) else unkey(str(rec["message"]))
            out.append([f'<span class="sev-{_e(rec["severity"])}">{_e(sev.get(str(rec["severity"]), rec["severity"]))}'
                        f"</span>", f'<abbr title="{_e(_rule_names().get(rule, ""))}">{_e(rule)}</abbr>',
                        _e(where), _e(format_value(rec.get("expected"), "")),
                        _e(format_value(rec.get("found"), "")), _e(format_value(rec.get("delta"), "")),
                        f'<span class="msg-zh">{_e(zh)}</span>'
                        + (f'<br><span class="en">{_e(en)}</span>' if en and en != zh else "")])
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
        if not missing(rec.get("caveat")) and rec.get("caveat"):
            notes.append(caveat_text(str(rec["caveat"])))
        if not missing(rec.get("note")) and rec.get("note"):
            notes.append(unkey(str(rec["note"])))
        frac = ""
        if m.is_rate and not missing(rec.get("numerator")) and not missing(rec.get("denominator")):
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
                f'<span class="year">{len(c.reports)} {_e(label("reports"))}</span></h1>{filt}{_duplicates_note(c)}'
                f'<p class="note"><code>{_e(c.store.path.name)}</code></p></div>')


def _duplicates_note(c: CorpusData) -> str:
    """How many files of the selection are duplicates of an organ-year counted once ("" if none)."""
    n = len(c.files) - len(c.reports)
    return f'<p class="note">{_e(label("duplicate_files").format(n=n, files=len(c.files)))}</p>' if n else ""


def coverage(c: CorpusData) -> Html:
    """Reports by year, template and form; files that could not be read; reports with errors."""
    r = c.reports
    parts = []
    scope = label("all_years") if c.year is None else str(c.year)
    filt = f"；{label('filter')}：{c.filter}" if c.filter else ""
    parts.append(f'<p class="summary">{_e(scope)}{_e(filt)} — {_e(label("reports"))}: {len(r)}</p>{_duplicates_note(c)}')
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
                            [[_e(_agency_text(a)), _e(y), _e(n)] for a, y, n in zip(errors["agency"], errors["year"],
                                                                       errors["n_errors"])]))
    parts.append(coverage_matrix(c))
    fails = c.store.failures
    parts.append(f'<h3>{_e(label("failures"))}: {len(fails)}</h3>')
    if len(fails):
        parts.append(_table([label("path"), label("error_class"), label("message")],
                            [[f"<code>{_e(Path(str(p)).name)}</code>", _e(k), _e(m)] for p, k, m in
                             zip(fails["path"], fails["error_class"], fails["message"])]))
    else:
        parts.append(f'<p class="ok">{_e(label("no_failures"))}</p>')
    return Html("".join(parts))


def coverage_matrix(c: CorpusData) -> Html:
    """Organ × year: how many files each organ published for each year (every year of the filter,
    so gaps show), the first `coverage_organs` organs by name and a count of the rest."""
    r = c.all_files
    if r.empty or "organ_id" not in r:
        return Html("")
    organ = r["organ_id"].astype(object).where(r["organ_id"].notna(), "report:" + r["report_id"].astype(str))
    name = r["agency"].astype(object).where(r["agency"].notna(), r.get("organ_name"))
    frame = pd.DataFrame({"organ": organ, "name": name.map(_agency_text), "year": r["year"]}).dropna(subset=["year"])
    years = sorted({int(y) for y in frame["year"]})
    counts = frame.groupby(["organ", "year"]).size()
    names = frame.groupby("organ")["name"].first().sort_values(kind="stable")
    limit = int(_config().get("coverage_organs", 40))
    rows = []
    for org, nm in list(names.items())[:limit]:
        cells = []
        for y in years:
            n = int(counts.get((org, y), 0))
            cells.append(_e(n) if n else f'<span class="status">{_e(label("no_file").split(" · ")[0])}</span>')
        rows.append([_e(nm), *cells])
    more = (f'<p class="note">{_e(label("more_pairs").format(n=len(names) - limit))}</p>' if len(names) > limit else "")
    return Html(f'<h3>{_e(label("coverage_matrix"))}</h3>'
                + _table([label("organ"), *map(str, years)], rows, "matrix") + more)


def distributions_by_year(c: CorpusData, metrics: Sequence[str] | None = None) -> Html:
    """Per key metric and year: number of solid values, quartiles and median (small denominators
    left out), over every year of the filter."""
    defs = metric_defs()
    ids = set(c.all_years["report_id"].astype(str))
    m = c.rows(c.store.metrics, ids).drop(columns=["year"], errors="ignore")
    m = m.merge(c.all_years[["report_id", "year"]].astype({"report_id": str}), on="report_id", how="left")
    solid = m[m["value"].notna() & ~m["small_n"].fillna(False).astype(bool)]
    rows = []
    for mid in metrics or _config()["corpus_distributions"]:
        d = defs[mid]
        part = solid[solid["metric"] == mid]
        for y, g in part.groupby("year", sort=True):
            v = g["value"].astype("float64")
            rows.append([_e(d.zh), _e(int(y)), _e(len(v)), *(_e(format_value(v.quantile(q), d.unit))
                                                              for q in (0.25, 0.5, 0.75))])
    return Html(f'<h3>{_e(label("by_year"))}</h3>' + _table(
        [label("metric"), label("year"), label("reports"), label("p25"), label("median"), label("p75")], rows))


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


def caveat_text(caveat: str) -> str:
    """A metric's machine-readable caveat (`inferred=KEY; R4=KEY`) in words, Chinese first, with
    display labels instead of keys."""
    from .export import variable_label

    parts = []
    for token in [t.strip() for t in caveat.split(";") if t.strip()]:
        what, _, key = token.partition("=")
        try:
            where = variable_label(key)["label_zh"]
        except Exception:  # noqa: BLE001 - a key outside the templates: show it as it is
            where = key
        if what in ("inferred", "unreadable"):
            parts.append(f"{where}：{label('caveat_' + what).split(' · ')[0]}")
        else:
            parts.append(f"{where}：{label('caveat_rule').format(rule=what).split(' · ')[0]}")
    return f"{label('caveat').split(' · ')[0]}（{'；'.join(parts)}）" if parts else ""


def rankings(c: CorpusData, metrics: Sequence[str] | None = None, top: int = 10, top_per_year: int = 5) -> Html:
    """Top reports per key metric within each level and year (`top`, or `top_per_year` over several
    years), highest first unless briefs.yaml `ascending_metrics` lists the metric; ties share a
    rank; small-denominator rates are never ranked and zero values are not listed (both counted)."""
    from .metrics import rank

    defs = metric_defs()
    m = c.rows(c.store.metrics)
    names = c.reports.set_index(c.reports["report_id"].astype(str))
    ascending = set(_config().get("ascending_metrics", ()))
    levels = _config().get("levels", {})
    parts = [f'<p class="note">{_e(label("ranked_within"))}</p>']
    for mid in metrics or _config()["corpus_rankings"]:
        d = defs[mid]
        asc = mid in ascending
        ranked = rank(m, mid, c.reports, ascending=asc)
        zeros = ranked["value"].astype("float64") == 0
        n_zero = int(zeros.sum())
        ranked = ranked[~zeros]
        small = int((m[(m["metric"] == mid)]["small_n"].fillna(False).astype(bool)).sum())
        rows = []
        shown = ranked.groupby(["level", "year"], sort=True, dropna=False).head(
            top if c.year is not None else top_per_year)
        for rec in shown.to_dict("records"):
            who = names.loc[str(rec["report_id"])] if str(rec["report_id"]) in names.index else {}
            frac = (f"{format_value(rec['numerator'])}/{format_value(rec['denominator'])}" if d.is_rate else "")
            group = f"{levels.get(str(rec.get('level')), rec.get('level'))} {rec.get('year')} ({rec['n_ranked']})"
            rows.append([_e(rec["rank"]), _e(_agency_text(who.get("agency") if len(who) else None)),
                         _e(group), _e(format_value(rec["value"], d.unit)), _e(frac)])
        notes = [label("direction_asc" if asc else "direction_desc")]
        if small:
            notes.append(f"{label('excluded_small')}: {small}")
        if n_zero:
            notes.append(f"{label('excluded_zero')}: {n_zero}")
        parts.append(f"<h3>{_e(d.zh)} <span class=\"en\">{_e(d.en)}</span></h3>"
                     + _table([label(k) for k in ("rank", "agency", "peer_group", "value", "fraction")], rows)
                     + f'<p class="note">{_e("；".join(notes))}</p>')
    return Html("".join(parts))


def outliers(c: CorpusData, metrics: Sequence[str] | None = None, top: int = 20) -> Html:
    """Reports whose key metric is a robust outlier among their peers (same level and year;
    `helpers.metrics.flag_outliers`), with the peer group, its size and median."""
    from .metrics import flag_outliers, metrics_config

    cfg = metrics_config()["outliers"]
    defs = metric_defs()
    mids = list(metrics or _config()["corpus_rankings"])
    m = c.rows(c.store.metrics)
    m = m[m["metric"].isin(mids)]
    flagged = flag_outliers(m, c.reports)
    flagged = flagged[flagged["outlier"]].assign(_a=lambda d: -d["z"].astype("float64").abs())
    flagged = flagged.sort_values("_a").head(top)
    note = f'<p class="note">{_e(label("outliers_note").format(z=cfg["z"], min_peers=cfg["min_peers"]))}</p>'
    if flagged.empty:
        return Html(f'<p class="ok">{_e(label("no_outliers"))}</p>{note}')
    names = c.reports.set_index(c.reports["report_id"].astype(str))
    levels = _config().get("levels", {})
    rows = []
    for rec in flagged.to_dict("records"):
        d = defs[rec["metric"]]
        who = names.loc[str(rec["report_id"])] if str(rec["report_id"]) in names.index else {}
        rows.append([_e(d.zh), _e(_agency_text(who.get("agency") if len(who) else None)),
                     _e(f"{levels.get(str(rec['level']), rec['level'])} {rec['year']}"), _e(rec["peers"]),
                     _e(format_value(rec["value"], d.unit)), _e(format_value(rec["median"], d.unit)),
                     _e(f"{float(rec['z']):+.1f}")])
    return Html(_table([label(k) for k in ("metric", "agency", "peer_group", "peers", "value", "peer_median", "z")],
                       rows) + note)


def _agency_text(value: Any) -> str:
    """An agency for display: never "nan" or "None" (a report with no agency printed says so)."""
    if missing(value) or str(value).strip() in ("", "nan", "None", "<NA>"):
        return label("not_printed").split(" · ")[0]
    return str(value)


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
    text = {(str(r), str(sec)): str(t) for r, sec, t in zip(c.store.sections["report_id"], c.store.sections["section"],
                                                              c.store.sections["text"]) if not missing(t)}
    n_chars = int(_config().get("copy_excerpt_chars", 80))

    def cut(rid: Any, sec: Any) -> str:
        t = " ".join(text.get((str(rid), str(sec)), "").split())
        return _e(t[:n_chars] + ("…" if len(t) > n_chars else ""))

    rows = [[_e(kinds.get(k, k)), _e(heads.get(s, s)), _e(f"{a} {ya}"), _e(f"{b} {yb}"), _e(f"{sim:.2f}"),
             _e(f"{sh:.0%}"), f'<span class="excerpt">{cut(ra, s)}</span>', f'<span class="excerpt">{cut(rb, s)}</span>']
            for k, s, a, ya, b, yb, sim, sh, ra, rb in zip(
                pairs["kind"], pairs["section"], pairs.get("name_a", pairs["organ_a"]), pairs["year_a"],
                pairs.get("name_b", pairs["organ_b"]), pairs["year_b"], pairs["similarity"], pairs["shared_share"],
                pairs["report_a"], pairs["report_b"])][:top]
    more = f'<p class="note">{_e(label("more_pairs").format(n=len(pairs) - top))}</p>' if len(pairs) > top else ""
    return Html(summary + _table([label(k) for k in ("kind", "section", "agency", "agency", "similarity",
                                                     "shared_share", "excerpt_a", "excerpt_b")], rows, "copies") + more)


def trends(c: CorpusData, metrics: Sequence[str] | None = None) -> plots.Chart:
    """Pooled rates by year over every year of the filtered reports."""
    from .metrics import aggregate_metrics

    reports = balanced_reports(c)
    ids = set(reports["report_id"].astype(str))
    m = c.rows(c.store.metrics, ids)
    mids = list(metrics or _config()["corpus_trends"])
    pooled = aggregate_metrics(m[m["metric"].isin(mids)], reports, by=("year",))
    pooled = pooled.assign(value=pooled["value"].astype("float64") * 100)
    defs = metric_defs()
    return plots.trend_chart(pooled, [(mid, defs[mid].zh) for mid in mids], unit="%")


def balanced_reports(c: CorpusData) -> pd.DataFrame:
    """The reports of organs present in every year of the filter (one file per organ-year: the
    panel's), so that a trend compares the same organs year after year."""
    from .metrics import panel_table

    r = c.all_years
    if r.empty or "organ_id" not in r:
        return r.iloc[0:0]
    keep = panel_table(c.rows(c.store.cells, set(r["report_id"].astype(str))), r,
                       keys=["table_3/results_total/total"]).table
    keep = keep[keep["year"].notna() & ~keep["organ_id"].astype(str).str.startswith("report:")]
    years = set(keep["year"].astype(int))
    full = keep.groupby("organ_id")["year"].nunique()
    organs = set(full[full == len(years)].index)
    ids = set(keep.loc[keep["organ_id"].isin(organs), "report_id"].astype(str))
    return r[r["report_id"].astype(str).isin(ids)]


def trend_note(c: CorpusData) -> Html:
    """How many organs the trend follows and how many reports each year has."""
    b = balanced_reports(c)
    per_year = b.groupby("year").size()
    text = "，".join(f"{int(y)}: {int(n)}" for y, n in per_year.items())
    return Html(f'<p class="note">{_e(label("balanced").format(n=b["organ_id"].nunique() if len(b) else 0))}；'
                f'{_e(label("n_per_year"))}：{_e(text or "—")}</p>')


def brief_links(c: CorpusData, href: str = "reports/{report_id}.html", status: Mapping[str, str] | None = None) -> Html:
    """A table linking every selected file's brief (`href` formatted with report_id and short_id)."""
    r = c.files.sort_values(["year", "agency"], na_position="last", kind="stable")
    rows = []
    for rec in r.to_dict("records"):
        rid = str(rec["report_id"])
        link = href.format(report_id=rid, short_id=rid[:16]) if href else ""
        name = _e(_agency_text(rec.get("agency")) if not missing(rec.get("agency")) else
                  (rec.get("organ_name") if not missing(rec.get("organ_name")) else rid[:12]))
        cell = f'<a href="{_e(link)}">{name}</a>' if link else name
        st = (status or {}).get(rid, "")
        rows.append([cell, _e(rec.get("year")), _e(rec.get("template")), _e(rec.get("form")), _e(rec.get("n_errors")),
                     _e(st)])
    return Html(_table([label(k) for k in ("agency", "year", "template", "form", "n_errors", "status")], rows,
                       "links"))


# --------------------------------------------------------------------------------------------
# Navigation, downloads, footer


def nav(index_href: str = "", previous_href: str = "", corpus_href: str = "") -> Html:
    """Links back to the index, to the corpus brief and to the previous year's brief (relative hrefs
    given by `ogi brief`; none when the brief is run on its own)."""
    links = [(index_href, "nav_index"), (corpus_href, "nav_corpus"), (previous_href, "nav_previous")]
    parts = [f'<a class="nav-{k[4:]}" href="{_e(h)}">{_e(label(k))}</a>' for h, k in links if h]
    return Html(f'<nav class="links">{" · ".join(parts)}</nav>' if parts else "")


def _csv_uri(frame: pd.DataFrame) -> str:
    import base64

    text = frame.to_csv(index=False, lineterminator="\n")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(("\ufeff" + text).encode("utf-8")).decode("ascii")


def downloads(data: ReportData) -> Html:
    """The report's cells, findings and metrics as CSV files inside the page (data: URIs), so the
    page stays one self-contained file."""
    from .record import CELL_COLUMNS

    short = data.report_id[:16]
    cells = data.cells[[c for c in CELL_COLUMNS if c in data.cells.columns]]
    frames = {"cells": cells, "findings": data.findings.drop(columns=["report_id"], errors="ignore"),
              "metrics": data.metrics.drop(columns=["report_id"], errors="ignore")}
    links = [f'<a class="download" download="{_e(short)}_{k}.csv" href="{_csv_uri(f)}">{_e(label("download_" + k))}'
             f"</a>" for k, f in frames.items()]
    return Html(f'<p class="downloads">{_e(label("downloads"))}：{" · ".join(links)}</p>')


def footer(data: ReportData | CorpusData | StoreData | None = None) -> Html:
    """Versions (ogi, rule catalogue, store) and the methods note, at the foot of every brief."""
    from . import __version__

    store = data.store if isinstance(data, CorpusData) else data if isinstance(data, StoreData) else None
    if isinstance(data, ReportData):
        store = getattr(data, "store", None)
    version = store.version_id if store is not None else "—"
    from .export import rules_version

    rules = rules_version()
    methods = "".join(f"<li>{_e(t)}</li>" for t in _config().get("methods", []))
    return Html(f'<footer class="brief-footer"><p>{_e(label("footer_versions").format(ogi=__version__, rules=rules, store=version))}'
                f'</p><details open><summary>{_e(label("methods_title"))}</summary><ul>{methods}</ul></details></footer>')
