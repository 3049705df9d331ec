"""Markdown with pipe tables, as a converter writes it."""

from __future__ import annotations

import random
from typing import Any

from .grids import (
    _date_text,
    _expected_rows,
    _grid_width,
    _grids,
    _headings,
    _intro,
    _texts,
    _title,
)
from .model import SynthReport, _words


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
