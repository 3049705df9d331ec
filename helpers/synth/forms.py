"""`render`: one report in one form, with the options of each form and its expected cells."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .docx import _render_docx
from .grids import _frame
from .html import _render_html
from .markdown import _render_markdown
from .model import FORMS, SUFFIX, Rendered, SynthReport, _rng
from .pdf import _render_pdf
from .text import _render_flat, _render_text

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
# The forms rendered through the text-layer ones (issue 14): scans and images by OCR, old Word and WPS
# through LibreOffice, spreadsheets, OFD. Each renderer lives in its own module (scan, doc, sheet,
# ofd), imported on use; their options are their functions' keyword arguments.
SCAN_FORMS = ("pdf-scan", "tiff", "png", "jpeg")
DOC_FORMS = ("doc", "wps")
SHEET_FORMS = ("xlsx", "xls", "et", "ods")
OTHER_FORMS = (*SCAN_FORMS, "html-images", *DOC_FORMS, *SHEET_FORMS, "ofd")
ALL_FORMS = (*FORMS, *OTHER_FORMS)


def _render_other(report: SynthReport, form: str, rng: random.Random | int, options: dict[str, Any]) -> Rendered:
    """One of OTHER_FORMS, by its own module's renderer."""
    if form in SCAN_FORMS:
        from .scan import render_scan

        return render_scan(report, rng, form=form, **options)
    if form == "html-images":
        from .scan import render_html_images

        return render_html_images(report, rng, **options)
    if form in DOC_FORMS:
        from .doc import render_doc

        return render_doc(report, rng, form=form, **options)
    if form in SHEET_FORMS:
        from .sheet import render_sheet

        return render_sheet(report, rng, form=form, **options)
    from .ofd import render_ofd

    return render_ofd(report, rng, **options)


def render(report: SynthReport, form: str, *, rng: random.Random | int = 0, **options: Any) -> Rendered:
    """Write `report` in `form` (one of ALL_FORMS) and say what a correct parser reads from it.

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
    plus the unknown rows where the form can show them (all but flat). OTHER_FORMS take their own
    renderer's options (helpers/synth/scan.py, doc.py, sheet.py, ofd.py).
    """
    if form in OTHER_FORMS:
        return _render_other(report, form, rng, options)
    if form not in _RENDERERS:
        raise ValueError(f"unknown form {form!r}; choose one of {', '.join(ALL_FORMS)}")
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
