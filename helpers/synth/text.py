"""Word-export text (one cell per line) and archiver-flattened text (cells run together): the text reader's two forms."""

from __future__ import annotations

import random
import re
from typing import Any

from ..template import get_template
from .grids import (
    _date_text,
    _expected_rows,
    _grids,
    _headings,
    _intro,
    _row_relations,
    _texts,
    _title,
    split_run,
)
from .model import FLAT_PLACEHOLDERS, SynthReport, _relation, _words


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
