"""HTML pages: Word exports with mso markup, plain pages, layout tables, GBK or UTF-8."""

from __future__ import annotations

import html as htmlmod
import random
from typing import Any

from .grids import (
    _G,
    _date_text,
    _expected_rows,
    _grids,
    _headings,
    _intro,
    _texts,
    _title,
)
from .model import SynthReport, _words

_MSO_STYLE = ("p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; margin-bottom:.0001pt; text-align:justify; "
              "text-justify:inter-ideograph; font-size:10.5pt; font-family:\"Times New Roman\",serif;}\n")


def _html_cell(cell: _G, mso: bool) -> str:
    """One <td> with its spans; Word-export markup when `mso`."""
    attrs = ""
    if cell.cs > 1:
        attrs += f' colspan="{cell.cs}"'
    if cell.rs > 1:
        attrs += f' rowspan="{cell.rs}"'
    text = "<br />".join(htmlmod.escape(x) for x in cell.text.split("\n")) if cell.text.strip() else "&nbsp;"
    if mso:
        width = 40 * cell.cs
        attrs += (f" width={width} valign=center style='width:{width * 0.75:.1f}pt;border:solid windowtext 1.0pt;"
                  "border-top:none;padding:0cm 5.4pt 0cm 5.4pt'")
        lang = " lang=EN-US" if cell.kind == "value" else ""
        return (f"<td{attrs}><p class=MsoNormal align=center style='text-align:center'><span{lang} "
                f"style='font-size:10.5pt;font-family:宋体;mso-bidi-font-family:宋体'>{text}<o:p></o:p>"
                "</span></p></td>")
    return f"<td{attrs}>{text}</td>"


def _html_table(grid: list[list[_G]], mso: bool) -> str:
    """A leaf <table> from a grid (continuation cells are covered by spans)."""
    rows = []
    for grow in grid:
        rows.append("<tr>" + "".join(_html_cell(c, mso) for c in grow if c.kind != "cont") + "</tr>")
    cls = " class=MsoNormalTable border=1 cellspacing=0 cellpadding=0" if mso else ' border="1" cellspacing="0"'
    return f"<table{cls}><tbody>" + "".join(rows) + "</tbody></table>"


def _html_p(text: str, mso: bool, center: bool = False) -> str:
    """A paragraph; Word-export markup when `mso`."""
    esc = htmlmod.escape(text)
    if mso:
        align = " align=center style='text-align:center'" if center else " style='text-indent:32.0pt'"
        return (f"<p class=MsoNormal{align}><span style='font-size:16.0pt;font-family:仿宋_GB2312;"
                f"mso-hansi-font-family:\"Times New Roman\"'>{esc}<span lang=EN-US><o:p></o:p></span></span></p>")
    return f"<p style=\"text-align:center\">{esc}</p>" if center else f"<p>{esc}</p>"


def _render_html(report: SynthReport, rng: random.Random, opts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """HTML: a fragment or a full page, optional Word-export markup, layout tables, padding."""
    texts = _texts(report, opts)
    grids = _grids(report, opts, texts)
    mso = opts["mso"]
    title = _title(report, rng)
    words = _words()["render"]
    body = [_html_p(title, mso, center=True),
            _html_p(str(words["published"]).format(date=report.report_date.isoformat()), mso, center=True),
            _html_p(_intro(report), mso)]
    for sid, heading in _headings().items():
        body.append(_html_p(heading, mso))
        if sid in grids:
            body.append(_html_table(grids[sid], mso))
        else:
            body += [_html_p(p, mso) for p in report.sections.get(sid, "").split("\n") if p]
    body += [_html_p(report.agency, mso), _html_p(_date_text(report.report_date), mso)]
    content = "\n".join(body)
    if mso:
        content = f"<div class=WordSection1 style='layout-grid:15.6pt'>\n{content}\n</div>"
    if opts["layout_tables"]:
        nav = " &gt; ".join(htmlmod.escape(x) for x in words["nav"])
        content = (f'<table width="100%" class="layout"><tr><td class="nav">{nav}</td></tr>'
                   f'<tr><td class="main"><div id="zoom">{content}</div></td></tr></table>')
    charset = "gbk" if opts["encoding"] == "gbk" else "utf-8"
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if opts["meta_charset"] else ""
    if opts["full_page"]:
        style = f"<style>\n<!--\n{_MSO_STYLE}-->\n</style>" if mso else ""
        page = (f"<!DOCTYPE html>\n<html><head>{meta}<title>{htmlmod.escape(title)}</title>{style}</head>\n"
                f"<body>\n{content}\n</body></html>\n")
    else:
        page = meta + content + "\n"
    if opts["pad_kb"]:
        target = int(opts["pad_kb"]) * 1024
        filler = "<!--[if gte mso 9]><xml><w:WordDocument><w:View>Normal</w:View><w:Zoom>100</w:Zoom>" \
                 "<w:PunctuationKerning/><w:DrawingGridVerticalSpacing>7.8 pt</w:DrawingGridVerticalSpacing>" \
                 "</w:WordDocument></xml><![endif]-->\n"
        size = len(page.encode(charset, errors="xmlcharrefreplace"))
        if size < target:
            pad = filler * ((target - size) // len(filler) + 1)
            page = page.replace("</head>", pad + "</head>", 1) if opts["full_page"] else pad + page
    return page, _expected_rows(report, texts)
