"""The interactive explorer of notebooks/explore.ipynb: pick organ, year and metric; the report's
tables, findings and the metric's chart follow.

The current view lives in a plain `ExplorerState` (organ, year, metric, the report shown, its value
and finding count), so tests and scripts read it without a browser. `Explorer.select()` changes the
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


def _num(v: Any) -> float | None:
    return None if v is None or v is pd.NA or pd.isna(v) else float(v)


class Explorer:
    """Organ × year × metric over a store; `select()` changes the view, `state` says what it is."""

    def __init__(self, store: str | os.PathLike[str], organ: str = "", year: int | None = None,
                 metric: str | None = None) -> None:
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
                             value=value, n_findings=n_findings, years=years)

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
        self.views = {"summary": summary, "chart": chart, "findings": findings, "tables": tables}

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
                           f'{v["tables"]}</div>')

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
            }
            for name in ("organ", "year", "metric"):
                c[name].observe(self._on_change, names="value")
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
        finally:
            self._syncing = False

    def widget(self) -> Any:
        """The explorer as one ipywidgets box."""
        import ipywidgets as w

        c = self.controls
        return w.VBox([w.HBox([c["organ"], c["year"], c["metric"]]), c["summary"], c["chart"], c["findings"],
                       c["tables"]])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = str(self.render())
        data["text/plain"] = f"<explorer: {self.state.organ_name} {self.state.year} {self.state.metric}>"
        return data

    def __repr__(self) -> str:
        return f"<explorer: {html.escape(self.state.organ_name)} {self.state.year} {self.state.metric}>"
