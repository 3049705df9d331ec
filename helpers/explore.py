"""The interactive explorer of notebooks/explore.ipynb: pick organ, year and metric; the report's
tables, findings and the metric's chart follow.

The current view lives in a plain `ExplorerState` (organ, year, metric, the report shown, its value
and finding count, how many of its cells are to check, the last correction entered), so tests and
scripts read it without a browser. The "cells to check" view lists the report's unreadable,
inferred and error-flagged cells beside their printed `raw` text and location, with a form that
enters a correction through `helpers.corrections.apply_corrections` (the function `ogi correct` uses). `Explorer.select()` changes the
view; the ipywidgets controls only call it. Displayed in a notebook, the explorer sends the live
widget and, beside it, a static HTML rendering of the current view: JupyterLab shows the widget,
a static export (nbconvert, `ogi brief`) shows the HTML.
"""

from __future__ import annotations

import dataclasses
import html
import os
from typing import Any

import pandas as pd

from . import briefs, plots
from .errors import BriefError

__all__ = ["Explorer", "ExplorerState"]


@dataclasses.dataclass(frozen=True)
class ExplorerState:
    """What the explorer shows now."""

    organ: str                    # organ_id
    organ_name: str
    year: int | None
    metric: str
    report_id: str | None         # the organ's report of that year (None: there is none)
    agency: str | None
    value: float | None           # the metric's value in that report
    n_findings: int               # errors and warnings of that report
    years: tuple[int, ...]        # the years the organ has reports for
    to_check: int = 0             # cells of the report to check (unreadable, inferred, error-flagged)
    correction: str | None = None  # what the last correction entered did (applied: id and change; or why refused)
    correction_applied: bool | None = None


def _num(v: Any) -> float | None:
    return None if v is None or v is pd.NA or pd.isna(v) else float(v)


class Explorer:
    """Organ × year × metric over a store; `select()` changes the view, `state` says what it is."""

    def __init__(self, store: str | os.PathLike[str], organ: str = "", year: int | None = None,
                 metric: str | None = None) -> None:
        self.store = os.fspath(store)
        self.data = briefs.store_data(store)
        reps = self.data.reports.copy()
        if reps.empty:
            raise BriefError(str(store), "the store holds no reports; ingest some with `ogi ingest FILES --store DIR`")
        reps["organ_id"] = reps["organ_id"].astype(object).where(reps["organ_id"].notna(),
                                                                 "report:" + reps["report_id"])
        reps["organ_name"] = reps["organ_name"].astype(object).where(
            reps["organ_name"].notna(), reps["agency"].astype(object).where(reps["agency"].notna(), reps["organ_id"]))
        self.reports = reps
        names = reps.drop_duplicates("organ_id").sort_values(["organ_name", "organ_id"])
        self.organs: dict[str, str] = dict(zip(names["organ_id"].astype(str), names["organ_name"].astype(str)))
        self.metrics = {m.id: m for m in briefs.metric_defs().values()}
        self.views: dict[str, Any] = {}
        self._controls: dict[str, Any] | None = None
        self._syncing = False
        start = organ or next(iter(self.organs))
        self.state = self._state(start, year, metric or str(plots.brief_config()["explorer_default_metric"]))
        self._render()

    # Selecting

    def _state(self, organ: str, year: int | None, metric: str) -> ExplorerState:
        if organ not in self.organs:
            by_name = {v: k for k, v in self.organs.items()}
            if organ in by_name:
                organ = by_name[organ]
            else:
                known = ", ".join(list(self.organs.values())[:5])
                raise BriefError("explorer", f"unknown organ {organ!r}; pick one of the store's organs (e.g. {known})")
        if metric not in self.metrics:
            raise BriefError("explorer", f"unknown metric {metric!r}; see docs/metrics.md for the metric ids")
        own = self.reports[self.reports["organ_id"].astype(str) == organ]
        years = tuple(sorted(int(y) for y in own["year"].dropna().unique()))
        if year is None and years:
            year = years[-1]
        row = own[own["year"] == year] if year is not None else own.iloc[0:0]
        rid = str(row.iloc[0]["report_id"]) if len(row) else None
        value = None
        n_findings = 0
        if rid:
            m = self.data.part(rid, "metrics")
            hit = m[m["metric"] == metric]
            value = _num(hit.iloc[0]["value"]) if len(hit) else None
            f = self.data.part(rid, "findings")
            n_findings = int(f["severity"].astype(str).isin(briefs.FLAG_SEVERITIES).sum()) if len(f) else 0
        return ExplorerState(organ=organ, organ_name=self.organs[organ], year=None if year is None else int(year),
                             metric=metric, report_id=rid, agency=None if not len(row) else row.iloc[0]["agency"],
                             value=value, n_findings=n_findings, years=years,
                             to_check=len(self.cells_to_check(rid)) if rid else 0)

    # Cells to check, and corrections

    def cells_to_check(self, report_id: str | None = None) -> pd.DataFrame:
        """The cells of a report (default: the one shown) to check against the original: unreadable,
        inferred, and those an error or warning finding names, with what was printed (`raw`), where
        (`source`: page, line or table cell), the parser's note and the rules that flag it."""
        cols = ["key", "status", "value", "raw", "source", "note", "flagged_by"]
        rid = report_id if report_id is not None else self.state.report_id
        if not rid:
            return pd.DataFrame(columns=cols)
        cells = self.data.part(rid, "cells")
        if cells.empty:
            return pd.DataFrame(columns=cols)
        f = self.data.part(rid, "findings")
        flagged: dict[tuple[str, str, str], list[str]] = {}
        if len(f):
            f = f[f["severity"].astype(str).isin(briefs.FLAG_SEVERITIES) & f["row"].notna() & f["column"].notna()]
            for t, r, c, rule in zip(f["table"], f["row"], f["column"], f["rule"]):
                flagged.setdefault((str(t), str(r), str(c)), []).append(str(rule))
        keys = list(zip(cells["table"].astype(str), cells["row"].astype(str), cells["column"].astype(str)))
        status = cells["status"].astype(str)
        pick = status.isin(["unreadable", "inferred"]).to_numpy() | pd.Series([k in flagged for k in keys]).to_numpy()
        sub = cells[pick]
        out = pd.DataFrame({
            "key": [f"{t}/{r}/{c}" for (t, r, c), p in zip(keys, pick) if p],
            "status": sub["status"].astype(str).to_numpy(), "value": sub["value"].to_numpy(),
            "raw": sub["raw"].astype(str).to_numpy(), "source": sub["source"].astype(str).to_numpy(),
            "note": sub["note"].astype(str).to_numpy(),
            "flagged_by": [", ".join(dict.fromkeys(flagged.get(k, []))) for k, p in zip(keys, pick) if p]},
            columns=cols)
        return out.reset_index(drop=True)

    def correct(self, key: str, value: str | float | None, why: str, by: str = "", as_: str = "ok") -> ExplorerState:
        """Enter a correction of a cell of the report shown (written to the store by
        `helpers.corrections.apply_corrections`, like `ogi correct`), reload the store and return the
        new state; `state.correction` says what it did, or why it was refused."""
        from .corrections import Correction, apply_corrections

        s = self.state
        if not s.report_id:
            self.state = dataclasses.replace(s, correction="no report is shown: pick an organ and year first",
                                             correction_applied=False)
            return self.state
        res = apply_corrections(self.store, [Correction(s.report_id, key.strip(), value, why.strip(), by.strip(),
                                                        as_)])[0]
        if res.applied:
            self.data = briefs.store_data(self.store)   # the store changed: read it again
            self.__dict__.pop("_outliers", None)
        self.state = dataclasses.replace(self._state(s.organ, s.year, s.metric),
                                         correction=(f"{res.correction_id}: {res.message}" if res.applied
                                                     else f"refused: {res.message}"),
                                         correction_applied=res.applied)
        self._render()
        self._sync_controls()
        return self.state

    def _check_html(self) -> briefs.Html:
        """The cells-to-check table (report text escaped) and the last correction's message."""
        e = briefs.escape
        rows = self.cells_to_check()
        head = "".join(f"<th>{e(c)}</th>" for c in rows.columns)
        body = "".join("<tr>" + "".join(f"<td>{e('' if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v)}</td>"
                                        for v in r) + "</tr>" for r in rows.itertuples(index=False, name=None))
        msg = self.state.correction
        note = f'<p class="note">{e(msg)}</p>' if msg else ""
        return briefs.Html(f'<div class="check"><h3>cells to check ({len(rows)})</h3>'
                           f'<table><tr>{head}</tr>{body}</table>{note}</div>')

    def select(self, organ: str | None = None, year: int | None = None, metric: str | None = None) -> ExplorerState:
        """Show another organ, year or metric (None keeps the current one; a new organ without a
        year shows its latest year) and return the new state."""
        s = self.state
        new_organ = organ if organ is not None else s.organ
        if year is None:
            year = s.year if new_organ == s.organ else None
        self.state = self._state(new_organ, year, metric if metric is not None else s.metric)
        self._render()
        self._sync_controls()
        return self.state

    # Views

    def history(self) -> pd.DataFrame:
        """The organ's metric by year with the median of its peers (same level and year)."""
        s = self.state
        m = self.data.metrics
        m = m[m["metric"] == s.metric].drop(columns=["agency", "year"], errors="ignore")
        m = m.merge(self.reports[["report_id", "organ_id", "level", "year"]], on="report_id")
        solid = m[m["value"].notna() & ~m["small_n"].fillna(False).astype(bool)]
        own = m[m["organ_id"].astype(str) == s.organ]
        level = own["level"].iloc[0] if len(own) else None
        peers = solid[solid["level"] == level].groupby("year")["value"].median().rename("peer_median")
        out = own[["year", "value"]].merge(peers, left_on="year", right_index=True, how="left")
        return out.sort_values("year").reset_index(drop=True)

    def _render(self) -> None:
        s = self.state
        m = self.metrics[s.metric]
        hist = self.history()
        scale = 100.0 if m.unit == "share" else 1.0  # shares are plotted in per cent
        hist["value"] = hist["value"].astype("float64") * scale
        hist["peer_median"] = hist["peer_median"].astype("float64") * scale
        chart = plots.metric_history_chart(hist, m.zh, "%" if m.unit == "share" else m.unit, s.organ_name)
        e = briefs.escape
        if s.report_id:
            data = briefs.report_from_store(self.data, s.report_id)
            tables, findings = briefs.statistical_tables(data), briefs.findings_table(data)
        else:
            tables = findings = briefs.Html(f'<p class="status">{e(briefs.label("no_report"))}</p>')
        summary = briefs.Html(
            f'<div class="identity"><h2>{e(s.agency or s.organ_name)} <span class="year">{e(s.year or "")}</span></h2>'
            f'<p>{e(m.zh)} <span class="en">{e(m.en)}</span>: <b>{e(briefs.format_value(s.value, m.unit))}</b> — '
            f'{e(briefs.label("flagged"))}: {s.n_findings}</p>{self._peer_text()}</div>')
        self.views = {"summary": summary, "chart": chart, "findings": findings, "tables": tables,
                      "check": self._check_html()}

    def outliers(self) -> Any:
        """`helpers.metrics.flag_outliers` of the current metric over the store (peer group: level
        and year), computed once per metric."""
        from .metrics import flag_outliers

        cache = self.__dict__.setdefault("_outliers", {})
        mid = self.state.metric
        if mid not in cache:
            m = self.data.metrics
            cache[mid] = flag_outliers(m[m["metric"] == mid], self.reports).set_index("report_id")
        return cache[mid]

    def _peer_text(self) -> str:
        """The report's peer group (level, year, size), its median and the robust z-score."""
        s = self.state
        if not s.report_id:
            return ""
        table = self.outliers()
        if s.report_id not in table.index:
            return ""
        rec = table.loc[s.report_id]
        m = self.metrics[s.metric]
        e = briefs.escape
        levels = briefs._config().get("levels", {})
        z = "—" if pd.isna(rec["z"]) else f"{float(rec['z']):+.1f}"
        flag = " ⚠" if bool(rec["outlier"]) else ""
        return (f'<p class="note">{e(briefs.label("peer_group"))}: {e(levels.get(str(rec["level"]), rec["level"]))} '
                f'{e(rec["year"])} ({e(rec["peers"])}) — {e(briefs.label("peer_median"))}: '
                f'{e(briefs.format_value(rec["median"], m.unit))} — {e(briefs.label("z"))}: {e(z)}{e(flag)}</p>')

    def render(self) -> briefs.Html:
        """The current view as static HTML (the fallback of static exports)."""
        v = self.views
        return briefs.Html(f'<div class="explorer">{v["summary"]}{v["chart"]._repr_html_()}{v["findings"]}'
                           f'{v["check"]}{v["tables"]}</div>')

    # Widgets

    @property
    def controls(self) -> dict[str, Any]:
        """The ipywidgets: organ, year, metric dropdowns and the summary, chart, findings, tables outputs."""
        if self._controls is None:
            import ipywidgets as w

            years = sorted(int(y) for y in self.reports["year"].dropna().unique())
            c = {
                "organ": w.Dropdown(options=[(v, k) for k, v in self.organs.items()], value=self.state.organ,
                                    description=briefs.label("organ").split(" · ")[0]),
                "year": w.Dropdown(options=years, value=self.state.year,
                                   description=briefs.label("year").split(" · ")[0]),
                "metric": w.Dropdown(options=[(m.zh, k) for k, m in self.metrics.items()], value=self.state.metric,
                                     description=briefs.label("metric").split(" · ")[0]),
                "summary": w.HTML(), "chart": w.Image(format="png"), "findings": w.HTML(), "tables": w.HTML(),
                "check": w.HTML(),
                # the correction form (cells to check): written through helpers.corrections
                "key": w.Dropdown(options=[], description="cell"), "value": w.Text(description="value"),
                "as": w.Dropdown(options=["ok", "blank", "placeholder"], value="ok", description="prints"),
                "why": w.Text(description="why"), "by": w.Text(description="by"),
                "submit": w.Button(description="correct"), "message": w.HTML(),
            }
            for name in ("organ", "year", "metric"):
                c[name].observe(self._on_change, names="value")
            c["submit"].on_click(self._on_submit)
            self._controls = c
            self._sync_controls()
        return self._controls

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        c = self._controls or {}
        owner = change["owner"]
        if owner is c.get("organ"):
            self.select(organ=change["new"])
        elif owner is c.get("year"):
            self.select(year=change["new"])
        else:
            self.select(metric=change["new"])

    def _on_submit(self, _button: Any = None) -> None:
        c = self._controls or {}
        self.correct(c["key"].value or "", c["value"].value, c["why"].value, c["by"].value, c["as"].value)

    def _sync_controls(self) -> None:
        c = self._controls
        if c is None:
            return
        self._syncing = True
        try:
            s = self.state
            c["organ"].value = s.organ
            if s.year is not None:
                c["year"].value = s.year
            c["metric"].value = s.metric
            c["summary"].value = str(self.views["summary"])
            c["chart"].value = self.views["chart"].png
            c["findings"].value = str(self.views["findings"])
            c["tables"].value = str(self.views["tables"])
            c["check"].value = str(self.views["check"])
            keys = list(self.cells_to_check()["key"])
            c["key"].options = keys
            c["key"].value = keys[0] if keys else None
            c["message"].value = briefs.escape(s.correction or "")
        finally:
            self._syncing = False

    def widget(self) -> Any:
        """The explorer as one ipywidgets box."""
        import ipywidgets as w

        c = self.controls
        form = w.VBox([w.HBox([c["key"], c["value"], c["as"]]), w.HBox([c["why"], c["by"], c["submit"]]),
                       c["message"]])
        return w.VBox([w.HBox([c["organ"], c["year"], c["metric"]]), c["summary"], c["chart"], c["findings"],
                       c["check"], form, c["tables"]])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = str(self.render())
        data["text/plain"] = f"<explorer: {self.state.organ_name} {self.state.year} {self.state.metric}>"
        return data

    def __repr__(self) -> str:
        return f"<explorer: {html.escape(self.state.organ_name)} {self.state.year} {self.state.metric}>"
