"""OFD renderer: a report as an OFD package (GB/T 33190), written directly as XML.

The report is laid out as the PDF renderer lays it out (`render(report, "pdf")`); its glyphs and
ruling lines, as the PDF reader extracts them, are written as OFD `TextObject`s (one per run of
glyphs on a line, the advances in `DeltaX`, repeats as `g N d`) and `PathObject`s, in millimetres.
So the OFD shows the same page as the PDF and the PDF's oracle holds for it.
"""

from __future__ import annotations

import io
import random
import zipfile
from typing import Any

from .forms import render
from .grids import _title
from .model import Rendered, SynthReport, _rng

__all__ = ["render_ofd"]

MM = 25.4 / 72
_NS = "http://www.ofdspec.org/2016"


def _f(x: float) -> str:
    return f"{x * MM:.3f}".rstrip("0").rstrip(".")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _deltax(advances: list[float]) -> str:
    """Advances as DeltaX, runs of equal ones as `g N d`."""
    out: list[str] = []
    i = 0
    while i < len(advances):
        j = i
        while j + 1 < len(advances) and abs(advances[j + 1] - advances[i]) < 1e-3:
            j += 1
        n = j - i + 1
        out.append(f"g {n} {_f(advances[i])}" if n > 2 else " ".join([_f(advances[i])] * n))
        i = j + 1
    return " ".join(out)


def _page_xml(page: Any, next_id: list[int]) -> str:
    objs: list[str] = []

    def oid() -> int:
        next_id[0] += 1
        return next_id[0]

    runs: list[list[Any]] = []
    for g in page.glyphs:
        last = runs[-1][-1] if runs else None
        if last is not None and abs(g.top - last.top) < 0.3 and abs(g.bottom - last.bottom) < 0.3 \
                and 0 <= g.x0 - last.x1 < 0.6 * last.em:
            runs[-1].append(g)
        else:
            runs.append([g])
    for run in runs:
        size = run[0].bottom - run[0].top
        x0, top = run[0].x0, run[0].top
        x1 = max(g.x1 for g in run)
        text, adv = "", []
        for k, g in enumerate(run):
            text += g.text
            if k + 1 < len(run):
                adv.append(run[k + 1].x0 - g.x0)
            if g.space_after and k + 1 < len(run):
                # a printed space: its own character with no advance of its own
                text += " "
                adv.append(0.0)
        baseline = 0.85 * size
        objs.append(f'<ofd:TextObject ID="{oid()}" Boundary="{_f(x0)} {_f(top)} {_f(x1 - x0)} {_f(size)}" '
                    f'Font="2" Size="{_f(size)}"><ofd:TextCode X="0" Y="{_f(baseline)}"'
                    + (f' DeltaX="{_deltax(adv)}"' if adv else "") + f">{_esc(text)}</ofd:TextCode></ofd:TextObject>")
    for rule in page.rules:
        if rule.horizontal:
            box = (rule.lo, rule.pos - 0.25, rule.hi - rule.lo, 0.5)
            path = f"M 0 {_f(0.25)} L {_f(rule.hi - rule.lo)} {_f(0.25)}"
        else:
            box = (rule.pos - 0.25, rule.lo, 0.5, rule.hi - rule.lo)
            path = f"M {_f(0.25)} 0 L {_f(0.25)} {_f(rule.hi - rule.lo)}"
        objs.append(f'<ofd:PathObject ID="{oid()}" Boundary="{" ".join(_f(v) for v in box)}" LineWidth="0.176">'
                    f"<ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{_NS}"><ofd:Area><ofd:PhysicalBox>0 0 '
            f'{_f(page.width)} {_f(page.height)}</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="{oid()}">'
            + "".join(objs) + "</ofd:Layer></ofd:Content></ofd:Page>")


def render_ofd(report: SynthReport, rng: random.Random | int = 0, **pdf_options: Any) -> Rendered:
    """Write `report` as an OFD package with the PDF layout's oracle (`pdf_options` go to the PDF)."""
    import pypdfium2 as pdfium

    from ..readers.pdf import _pages

    r = _rng(rng)
    pdf_out = render(report, "pdf", rng=r, **pdf_options)
    pdf = pdfium.PdfDocument(pdf_out.data)
    try:
        pages = list(_pages("(generated)", pdf, {"glyphs": [], "unmapped": [], "images": []}))  # type: ignore[arg-type]
    finally:
        pdf.close()
    title = _title(report, r)
    next_id = [2]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{_NS}" Version="1.0" '
                              f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>{r.getrandbits(64):016x}'
                              f"</ofd:DocID><ofd:Title>{_esc(title)}</ofd:Title><ofd:Creator>ogi synth"
                              "</ofd:Creator></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
                              "</ofd:DocBody></ofd:OFD>")
        page_refs = []
        for k, page in enumerate(pages):
            z.writestr(f"Doc_0/Pages/Page_{k}/Content.xml", _page_xml(page, next_id))
            page_refs.append(f'<ofd:Page ID="{k + 1000}" BaseLoc="Pages/Page_{k}/Content.xml"/>')
        z.writestr("Doc_0/PublicRes.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{_NS}" '
                                          'BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" FontName="SimSun" '
                                          'FamilyName="SimSun"/></ofd:Fonts></ofd:Res>')
        w, h = (pages[0].width, pages[0].height) if pages else (595.0, 842.0)
        z.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{_NS}">'
                                         f"<ofd:CommonData><ofd:MaxUnitID>{next_id[0]}</ofd:MaxUnitID><ofd:PageArea>"
                                         f"<ofd:PhysicalBox>0 0 {_f(w)} {_f(h)}</ofd:PhysicalBox></ofd:PageArea>"
                                         "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>"
                                         + "".join(page_refs) + "</ofd:Pages></ofd:Document>")
    meta = dict(pdf_out.meta)
    return Rendered(data=buf.getvalue(), suffix=".ofd", form="ofd", expected=pdf_out.expected, meta=meta)
