"""Matplotlib charts for the briefs and the explorer, with Chinese labels that never turn into boxes.

Every chart is drawn on a fresh `matplotlib.figure.Figure` (no pyplot state, so briefs run in a
reused kernel draw exactly what a fresh kernel draws) and returned as a `Chart`: PNG bytes that a
notebook displays as an `<img>` with a data URI. Fonts come from a fallback list of CJK families
looked up with `matplotlib.font_manager`; a glyph that no font has raises `BriefError` instead of
printing a box. Values that are not numbers (blank, placeholder, unreadable, missing) are not drawn
as 0: the chart says which categories had no number.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import BriefError
from .template import Template, read_data, get_template

__all__ = [
    "CJK_FONTS",
    "brief_config",
    "Chart",
    "applicants_chart",
    "cjk_fonts",
    "distribution_chart",
    "metric_history_chart",
    "outcome_groups",
    "outcomes_chart",
    "review_chart",
    "trend_chart",
]

# Preferred CJK families, best first: Debian's fonts-noto-cjk, then other common Linux, macOS and
# Windows families. The first installed ones are used; DejaVu Sans closes the list for Latin text.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC", "Source Han Sans CN",
    "Noto Serif CJK SC", "Noto Serif CJK JP", "Source Han Serif SC",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN",
    "PingFang SC", "Hiragino Sans GB", "Heiti SC", "STHeiti", "Microsoft YaHei", "SimHei", "SimSun",
)
LATIN_FALLBACK = "DejaVu Sans"
# File names that hold CJK fonts, used to register them when matplotlib's font cache predates them.
_CJK_FILE = re.compile(r"(?i)(cjk|wqy|wenquanyi|droid.?sans.?fallback|uming|ukai|sourcehan|simhei|simsun|msyh)")
_GLYPH_MISSING = re.compile(r"Glyph \d+ .*missing from (?:current )?font")

PALETTE = ("#2f6f9f", "#7fb0d6", "#d08c3a", "#9a9a9a", "#b5483a", "#5c9a5c", "#8c6bb1")
DPI = 96
WIDTH = 5.6  # inches: two charts side by side on a brief page, text still readable


# --------------------------------------------------------------------------------------------
# Fonts


@functools.lru_cache(maxsize=1)
def brief_config() -> dict[str, Any]:
    """The words and metric lists of briefs and charts (templates/briefs.yaml)."""
    return read_data("briefs.yaml")


def _w(key: str) -> str:
    return str(brief_config()["charts"][key])


@functools.lru_cache(maxsize=1)
def cjk_fonts() -> tuple[str, ...]:
    """The installed CJK families of `CJK_FONTS`, in preference order (found via font_manager).

    When matplotlib's font cache was built before the CJK fonts were installed, the system font
    folders are scanned and the CJK files registered, so a fresh `make brief` still finds them.
    """
    from matplotlib import font_manager

    def installed() -> tuple[str, ...]:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return tuple(name for name in CJK_FONTS if name in names)

    found = installed()
    if not found:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(path):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file: skip it
                    continue
        found = installed()
    return found


def _font_family() -> list[str]:
    fonts = cjk_fonts()
    if not fonts:
        raise BriefError("charts", "no CJK font is installed, so Chinese chart labels would print as boxes; "
                         "install one (Debian: apt-get install fonts-noto-cjk, or run scripts/system-deps.sh)")
    return [fonts[0], LATIN_FALLBACK]  # every extra family costs glyph lookups on each text


def _rc() -> dict[str, Any]:
    return {
        "font.family": _font_family(),
        "font.size": 10.5,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "svg.hashsalt": "ogi",
    }


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(_rc()):
        yield


# --------------------------------------------------------------------------------------------
# The chart object


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes and a caption; shows as an `<img>` with a data URI in notebooks."""

    png: bytes
    title: str
    note: str = ""

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def _repr_html_(self) -> str:
        note = f"<figcaption>{html.escape(self.note)}</figcaption>" if self.note else ""
        return (f'<figure class="chart"><img alt="{html.escape(self.title, quote=True)}" '
                f'src="{self.data_uri()}"/>{note}</figure>')

    def __repr__(self) -> str:
        return f"<chart: {self.title}>"


def _new_figure(width: float, height: float, labels: Sequence[str] = (), bottom: float = 0.45,
                top: float = 0.35, right: float = 0.25) -> tuple[Any, Any]:
    """A figure with one axes and fixed margins (in inches), the left one wide enough for the
    longest tick label. Fixed margins are ~2x cheaper to draw than constrained layout."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    size = float(_rc()["font.size"]) / 72
    longest = max([sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in str(t)) for t in labels] + [3.0])
    left = min(0.45 * width, longest * size + 0.35)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return fig, fig.add_subplot()


@functools.lru_cache(maxsize=1)
def _canvas_class() -> type:
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    class SharedRendererCanvas(FigureCanvasAgg):  # type: ignore[misc]
        """An Agg canvas that shares one renderer per (width, height, dpi) across figures.

        Matplotlib caches text metrics per renderer; charts of the same size drawn one after the
        other (every brief draws the same three) then measure each label once per process. The
        renderer is cleared at the start of every draw, so the pixels are those of a new one."""

        renderers: dict[tuple[int, int, float], Any] = {}

        def get_renderer(self) -> Any:
            w, h = self.get_width_height(physical=True)
            key = (w, h, self.figure.dpi)
            renderer = self.renderers.get(key)
            if renderer is None:
                renderer = self.renderers[key] = RendererAgg(w, h, self.figure.dpi)
            self.renderer, self._lastKey = renderer, key
            return renderer

    return SharedRendererCanvas


def _no_number_note(labels: list[str]) -> str:
    """The caption naming the bars whose cell printed no number (drawn empty, never as 0)."""
    return _w("no_number_note") + "、".join(labels) if labels else ""


def _render(fig: Any, title: str, note: str = "") -> Chart:
    """Draw the figure to PNG; a missing glyph is an error (it would print as a box)."""
    _canvas_class()(fig)
    buf = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    missing = [str(w.message) for w in caught if _GLYPH_MISSING.search(str(w.message))]
    for w in caught:
        if not _GLYPH_MISSING.search(str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        raise BriefError("charts", f"chart {title!r} has characters no installed font can draw "
                         f"({missing[0]}); install fonts-noto-cjk")
    return Chart(png=buf.getvalue(), title=title, note=note)


# --------------------------------------------------------------------------------------------
# Cell helpers


def _short(label: str) -> str:
    """A row label without its parenthesised explanation (部分公开（区分处理的…）→ 部分公开)."""
    return re.split(r"[（(]", label, maxsplit=1)[0] or label


def _values(cells: pd.DataFrame) -> dict[str, tuple[float | None, str]]:
    """{key: (value or None, status)} for a report's cells."""
    keys = cells["table"].astype(str) + "/" + cells["row"].astype(str) + "/" + cells["column"].astype(str)
    vals = cells["value"].astype("float64")
    return {k: (None if math.isnan(v) else float(v), str(s))
            for k, v, s in zip(keys, vals, cells["status"].astype(str))}


def outcome_groups(template: Template) -> list[tuple[str, str, list[str]]]:
    """The outcome categories of Table 3 as (key, short label, row keys summed), in printed order.

    A category is a row numbered （一）…（六）; a group row (不予公开, 无法提供, …) sums the
    digit-numbered rows under it. Read from the template, so 2019's single （六） row works too.
    """
    rows = template.tables["table_3"].rows
    keys = [r.key for r in rows]
    start, end = keys.index("results") + 1, keys.index("results_total")
    out: list[tuple[str, str, list[str]]] = []
    in_group = False
    for row in rows[start:end]:
        if row.number and row.number.startswith("（"):
            out.append((row.key, _short(row.label), [] if row.group else [row.key]))
            in_group = row.group
        elif in_group and not row.group:
            out[-1][2].append(row.key)
    return out


def _sum(values: Mapping[str, tuple[float | None, str]], keys: Sequence[str]) -> float | None:
    """Sum of the cells, or None when any of them holds no number (never a silent 0)."""
    total = 0.0
    for k in keys:
        v, _ = values.get(k, (None, "missing"))
        if v is None:
            return None
        total += v
    return total


def _count_axis(ax: Any, values: Iterable[float | None]) -> None:
    """A count axis from 0 with whole-number ticks (and a visible scale when everything is 0)."""
    from matplotlib.ticker import MaxNLocator

    top = max([v for v in values if v is not None] + [0.0])
    ax.set_xlim(0, top * 1.18 if top > 0 else 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_xlabel(_w("count_unit"))


def _bar_labels(ax: Any, bars: Any, values: Sequence[float | None], fmt: str = "{:,.0f}") -> None:
    for bar, v in zip(bars, values):
        text = _w("no_number") if v is None else fmt.format(v)
        ax.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8, color="#333")


# --------------------------------------------------------------------------------------------
# Report charts


def outcomes_chart(cells: pd.DataFrame, template: str = "2021", previous: pd.DataFrame | None = None,
                   previous_template: str | None = None, year: int | None = None) -> Chart:
    """Request outcomes (Table 3 total column, by category), against the previous year when given."""
    tmpl = get_template(template)
    groups = outcome_groups(tmpl)
    now = _values(cells)
    series = [(str(year) if year else _w("this_year"), [_sum(now, [f"table_3/{r}/total" for r in rows])
                                              for _, _, rows in groups])]
    if previous is not None:
        prev_groups = {k: rows for k, _, rows in outcome_groups(get_template(previous_template or template))}
        pv = _values(previous)
        label = f"{year - 1}" if year else _w("last_year")
        series.append((label, [_sum(pv, [f"table_3/{r}/total" for r in prev_groups.get(k, [])])
                               if prev_groups.get(k) else None for k, _, _ in groups]))
    labels = [lab for _, lab, _ in groups]
    title = _w("outcomes")
    with _style():
        fig, ax = _new_figure(WIDTH, 0.3 * len(labels) * len(series) + 1.0, labels)
        height = 0.8 / len(series)
        for i, (name, vals) in enumerate(series):
            ys = [j + (i - (len(series) - 1) / 2) * height for j in range(len(labels))]
            bars = ax.barh(ys, [0 if v is None else v for v in vals], height=height * 0.92, color=PALETTE[i],
                           label=name)
            _bar_labels(ax, bars, vals)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        _count_axis(ax, [v for _, vals in series for v in vals])
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(frameon=False, loc="lower right")
        return _render(fig, title, _no_number_note([lab for lab, v in zip(labels, series[0][1]) if v is None]))


def applicants_chart(cells: pd.DataFrame, template: str = "2021") -> Chart:
    """New requests by applicant type (Table 3 row 一, the six applicant columns)."""
    tmpl = get_template(template)
    table = tmpl.tables["table_3"]
    cols = [c for c in table.columns.values() if c.key != "total"]
    vals = _values(cells)
    values = [vals.get(f"table_3/new_received/{c.key}", (None, "missing"))[0] for c in cols]
    labels = [c.label for c in cols]
    title = _w("applicants")
    with _style():
        fig, ax = _new_figure(WIDTH, 2.9, labels)
        bars = ax.barh(range(len(labels)), [0 if v is None else v for v in values], color=PALETTE[0])
        _bar_labels(ax, bars, values)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        _count_axis(ax, values)
        ax.set_title(title)
        return _render(fig, title, _no_number_note([lab for lab, v in zip(labels, values) if v is None]))


def review_chart(cells: pd.DataFrame, template: str = "2021") -> Chart:
    """Reconsideration and litigation (Table 4): each block's cases stacked by result."""
    tmpl = get_template(template)
    table = tmpl.tables["table_4"]
    parts = [c for c in table.columns.values() if c.key != "total"]
    blocks = table.data_rows
    vals = _values(cells)
    title = _w("review")
    with _style():
        names = [(f"{b.parent}：" if b.parent else "") + b.label for b in blocks]
        fig, ax = _new_figure(WIDTH, 2.6, names, bottom=0.85)
        left = [0.0] * len(blocks)
        missing: list[str] = []
        for i, col in enumerate(parts):
            widths = []
            for b in blocks:
                v = vals.get(f"table_4/{b.key}/{col.key}", (None, "missing"))[0]
                if v is None:
                    missing.append(f"{b.label}/{col.label}")
                widths.append(0.0 if v is None else v)
            ax.barh(range(len(blocks)), widths, left=left, color=PALETTE[i], label=col.label)
            left = [a + w for a, w in zip(left, widths)]
        for j, b in enumerate(blocks):
            total = vals.get(f"table_4/{b.key}/total", (None, "missing"))[0]
            ax.annotate(_w("total") + " " + (_w("no_number") if total is None else f"{total:,.0f}"), (left[j], j),
                        xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(range(len(blocks)), names)
        ax.invert_yaxis()
        _count_axis(ax, [v * 1.12 for v in left])
        ax.set_title(title)
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, frameon=False, ncols=len(parts), loc="lower center", fontsize=9)
        return _render(fig, title, _no_number_note(missing))


# --------------------------------------------------------------------------------------------
# Corpus charts


def distribution_chart(values: pd.Series, label: str, unit: str = "", small: pd.Series | None = None,
                       highlight: float | None = None) -> Chart:
    """Distribution of one metric over reports: a histogram of solid values, small-n values apart."""
    vals = pd.to_numeric(values, errors="coerce").astype("float64")
    is_small = (small.fillna(False).astype(bool).to_numpy() if small is not None
                else [False] * len(vals))
    solid = vals[[not s for s in is_small]].dropna()
    n_small = int(vals[list(map(bool, is_small))].notna().sum())
    title = f"{label}：{_w('distribution')}"
    with _style():
        fig, ax = _new_figure(WIDTH, 2.6, ["0000"], bottom=0.5)
        if len(solid):
            ax.hist(solid, bins=min(20, max(5, len(solid) // 3)), color=PALETTE[0], edgecolor="white")
        else:
            ax.text(0.5, 0.5, _w("no_values"), ha="center", va="center", transform=ax.transAxes)
        if highlight is not None and not math.isnan(highlight):
            ax.axvline(highlight, color=PALETTE[4], lw=2, label=_w("this_report"))
            ax.legend(frameon=False)
        ax.set_xlabel(f"{label}（{unit}）" if unit else label)
        ax.set_ylabel(_w("reports_axis"))
        ax.set_title(title)
        note = _w("n_reports").format(n=len(solid)) + (_w("n_small").format(n=n_small) if n_small else "")
        return _render(fig, title, note)


def trend_chart(pooled: pd.DataFrame, metrics: Sequence[tuple[str, str]], unit: str = "") -> Chart:
    """Year-over-year trend of pooled metrics: `pooled` has year, metric, value (one line per metric)."""
    title = _w("trend")
    with _style():
        fig, ax = _new_figure(WIDTH, 2.8, ["0000"], bottom=0.5)
        years: set[int] = set()
        for i, (metric, label) in enumerate(metrics):
            d = pooled[pooled["metric"] == metric].dropna(subset=["year"]).sort_values("year")
            d = d[d["value"].notna()]
            if d.empty:
                continue
            ys = d["year"].astype(int).tolist()
            years.update(ys)
            ax.plot(ys, d["value"].astype(float), marker="o", color=PALETTE[i % len(PALETTE)], label=label)
        if years:
            ax.set_xticks(sorted(years), [str(y) for y in sorted(years)])
            ax.legend(frameon=False, fontsize=8)
        else:
            ax.text(0.5, 0.5, _w("no_data"), ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel(unit)
        ax.set_title(title)
        return _render(fig, title)


def metric_history_chart(history: pd.DataFrame, label: str, unit: str = "", organ: str = "") -> Chart:
    """One organ's metric by year (`history`: year, value, peer_median) with its peers' median."""
    title = f"{organ}：{label}" if organ else label
    with _style():
        fig, ax = _new_figure(WIDTH, 2.6, ["0000"], bottom=0.5)
        h = history.dropna(subset=["year"]).sort_values("year")
        years = h["year"].astype(int).tolist()
        if "peer_median" in h:
            ax.plot(years, h["peer_median"].astype("float64"), ls="--", color=PALETTE[3], marker=".",
                    label=_w("peer_median"))
        ax.plot(years, h["value"].astype("float64"), marker="o", color=PALETTE[0], label=organ or _w("this_organ"))
        if years:
            ax.set_xticks(years, [str(y) for y in years])
        if h["value"].isna().all():
            ax.text(0.5, 0.5, _w("no_values"), ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=8)
        return _render(fig, title)
