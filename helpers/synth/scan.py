"""Scan renderer: a report as a printed, stamped and scanned document (scanned PDF, image, TIFF).

The report is laid out as a PDF (`render(report, "pdf")`, ruled grids), each page is rasterised
with pypdfium2 at `dpi` (150, 200, 300) and degraded as a scanner or a phone camera degrades it:
`skew` (degrees, the page turned on the glass), `perspective` (a page photographed at a slight
angle: corners moved by this share of the page), `noise` (share of speckled pixels), `jpeg`
(JPEG quality, None for lossless), `seal` (a red round seal stamped over part of Table 3), `blur`.
`typed` (pdf-scan only) adds a small text layer over the page images, as a site that publishes a
scan stamps it: "title" types the report's title above page 1, "header" the title as a running
header and a page number on every page; the tables stay pictures.
Forms: `pdf-scan` (a PDF of page images, no text layer), `tiff` (a multi-page TIFF), `png` and
`jpeg` (one image per page: `data` is the first page, `meta["page_images"]` all of them). The
PDF's oracle holds: a correct OCR reader reads the same cells (or flags them, never a wrong one).
"""

from __future__ import annotations

import io
import math
import random
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .forms import render
from .grids import _headings
from .model import Rendered, SynthReport, _rng

__all__ = ["DEGRADATIONS", "SCAN_FORMS", "TYPED", "render_html_images", "render_scan"]

SCAN_FORMS = ("pdf-scan", "tiff", "png", "jpeg")
TYPED = (None, "title", "header")  # the text layer a scanned PDF may carry (render_scan's `typed`)
# Named degradation sets for benchmarks and tests (each: options of render_scan).
DEGRADATIONS: dict[str, dict[str, Any]] = {
    "clean": {"skew": 0.0, "noise": 0.0, "jpeg": None, "seal": False, "perspective": 0.0},
    "light": {"skew": 1.0, "noise": 0.001, "jpeg": 85, "seal": False, "perspective": 0.0},
    "seal": {"skew": 0.5, "noise": 0.001, "jpeg": 85, "seal": True, "perspective": 0.0},
    "heavy": {"skew": 2.0, "noise": 0.004, "jpeg": 60, "seal": True, "perspective": 0.0},
    "photo": {"skew": 1.0, "noise": 0.002, "jpeg": 75, "seal": False, "perspective": 0.015},
}


def _seal(img: Image.Image, rng: random.Random, box: tuple[int, int, int, int]) -> None:
    """Stamp a red round seal (ring, star, arc of marks) centred in `box`, multiplied over the ink."""
    x0, y0, x1, y1 = box
    r = int(min(x1 - x0, y1 - y0) * 0.35)
    cx, cy = rng.randint(x0 + r, max(x0 + r, x1 - r)), rng.randint(y0 + r, max(y0 + r, y1 - r))
    layer = Image.new("L", img.size, 0)
    d = ImageDraw.Draw(layer)
    width = max(3, r // 18)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=width)
    star = []
    for k in range(10):
        rad = r * (0.32 if k % 2 == 0 else 0.13)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    d.polygon(star, fill=255)
    for k in range(14):  # the arc of the organ's name: short strokes along the rim
        a = math.pi * (0.85 + 1.3 * k / 13)
        rx, ry = cx + 0.75 * r * math.cos(a), cy + 0.75 * r * math.sin(a)
        d.rectangle((rx - width * 2, ry - width * 2, rx + width * 2, ry + width * 2), fill=255)
    alpha = np.asarray(layer, dtype=np.float32) / 255 * rng.uniform(0.6, 0.85)
    arr = np.asarray(img, dtype=np.float32)
    red = np.array([215.0, 30.0, 40.0])
    arr = arr * (1 - alpha[..., None]) + (arr * red / 255) * alpha[..., None]
    img.paste(Image.fromarray(arr.clip(0, 255).astype(np.uint8)))


def _perspective(img: Image.Image, rng: random.Random, share: float) -> Image.Image:
    """The page as a camera at a slight angle sees it: each corner moved inwards by up to `share`."""
    import cv2

    w, h = img.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[rng.uniform(0, share) * w, rng.uniform(0, share) * h],
                      [w - rng.uniform(0, share) * w, rng.uniform(0, share) * h],
                      [w - rng.uniform(0, share) * w, h - rng.uniform(0, share) * h],
                      [rng.uniform(0, share) * w, h - rng.uniform(0, share) * h]])
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(np.asarray(img), m, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(235, 235, 230))
    return Image.fromarray(out)


def _degrade(img: Image.Image, rng: random.Random, opts: dict[str, Any], seal_box: tuple[int, int, int, int] | None
             ) -> Image.Image:
    if opts["seal"] and seal_box is not None:
        _seal(img, rng, seal_box)
    if opts["perspective"]:
        img = _perspective(img, rng, opts["perspective"])
    if opts["skew"]:
        angle = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0) * opts["skew"]
        img = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))
    if opts["blur"]:
        img = img.filter(ImageFilter.GaussianBlur(opts["blur"]))
    if opts["noise"]:
        arr = np.array(img)
        nrng = np.random.default_rng(rng.getrandbits(32))
        mask = nrng.random(arr.shape[:2]) < opts["noise"]
        arr[mask] = nrng.choice([0, 255], size=(int(mask.sum()), 1)).astype(np.uint8)
        img = Image.fromarray(arr)
    if opts["jpeg"]:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(opts["jpeg"]))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


def _table3_box(pdf: Any, index: int, scale: float) -> tuple[int, int, int, int] | None:
    """Where Table 3's values stand on page `index` (pixels), to put the seal over part of them."""
    page = pdf[index]
    try:
        text = page.get_textpage()
        try:
            full = text.get_text_range()
        finally:
            text.close()
        w, h = page.get_size()
    finally:
        page.close()
    if "".join(_headings()["requests"].split()) not in "".join(full.split()):
        return None  # not the page where Table 3 (section 3) starts
    return int(w * 0.45 * scale), int(h * 0.25 * scale), int(w * 0.92 * scale), int(h * 0.8 * scale)


def _typed_pdf(report: SynthReport, rng: random.Random, pages: list[Image.Image], dpi: int, jpeg: int | None,
               typed: str) -> bytes:
    """The page images as a PDF (reportlab) with typed text in the top and bottom margins: the
    title above page 1 ("title"), or a running header and a page number on every page ("header")."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from .grids import _title
    from .pdf import _register_font

    font = _register_font()
    title = _title(report, rng)
    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    for k, img in enumerate(pages, start=1):
        w, h = img.width * 72 / dpi, img.height * 72 / dpi
        c.setPageSize((w, h))
        raster = io.BytesIO()
        img.save(raster, "JPEG", quality=jpeg or 95)
        c.drawImage(ImageReader(raster), 0, 0, w, h)
        if typed == "title" and k == 1:
            c.setFont(font, 12)
            c.drawCentredString(w / 2, h - 40, title)
        elif typed == "header":
            c.setFont(font, 9)
            c.drawCentredString(w / 2, h - 36, title)
            c.drawCentredString(w / 2, 30, f"- {k} -")
        c.showPage()
    c.save()
    return out.getvalue()


def render_scan(report: SynthReport, rng: random.Random | int = 0, *, form: str = "pdf-scan", dpi: int = 200,
                skew: float = 1.0, noise: float = 0.001, jpeg: int | None = 85, seal: bool = False,
                perspective: float = 0.0, blur: float = 0.0, typed: str | None = None,
                **pdf_options: Any) -> Rendered:
    """Write `report` as a scan in `form` (one of SCAN_FORMS) with the PDF layout's oracle."""
    import pypdfium2 as pdfium

    if form not in SCAN_FORMS:
        raise ValueError(f"unknown scan form {form!r}; choose one of {', '.join(SCAN_FORMS)}")
    if typed not in TYPED or (typed and form != "pdf-scan"):
        raise ValueError(f"typed={typed!r}: one of {', '.join(map(repr, TYPED))}, and only for a pdf-scan")
    r = _rng(rng)
    pdf_options.setdefault("rules", "grid")
    pdf_out = render(report, "pdf", rng=r, **pdf_options)
    opts = {"dpi": dpi, "skew": skew, "noise": noise, "jpeg": jpeg, "seal": seal, "perspective": perspective,
            "blur": blur}
    pdf = pdfium.PdfDocument(pdf_out.data)
    pages: list[Image.Image] = []
    try:
        scale = dpi / 72
        sealed = False
        for i in range(len(pdf)):
            box = None if sealed else _table3_box(pdf, i, scale)
            sealed = sealed or box is not None
            page = pdf[i]
            try:
                img = page.render(scale=scale).to_pil().convert("RGB")
            finally:
                page.close()
            pages.append(_degrade(img, r, opts, box))
    finally:
        pdf.close()
    buf = io.BytesIO()
    page_images: list[bytes] = []
    if form == "pdf-scan" and typed:
        buf.write(_typed_pdf(report, r, pages, dpi, jpeg, typed))
    elif form == "pdf-scan":
        pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=dpi, quality=jpeg or 95)
    elif form == "tiff":
        pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], dpi=(dpi, dpi),
                      compression="jpeg" if jpeg else "tiff_lzw", **({"quality": jpeg} if jpeg else {}))
    else:
        for img in pages:
            one = io.BytesIO()
            img.save(one, "PNG" if form == "png" else "JPEG", dpi=(dpi, dpi), **({"quality": jpeg or 95}
                                                                               if form == "jpeg" else {}))
            page_images.append(one.getvalue())
        buf.write(page_images[0])
    meta = dict(pdf_out.meta)
    meta["options"] = {**meta["options"], **opts, "typed": typed}
    meta["pages"] = len(pages)
    if page_images:
        meta["page_images"] = page_images
    suffix = {"pdf-scan": ".pdf", "tiff": ".tif", "png": ".png", "jpeg": ".jpg"}[form]
    return Rendered(data=buf.getvalue(), suffix=suffix, form=form, expected=pdf_out.expected, meta=meta)


def render_html_images(report: SynthReport, rng: random.Random | int = 0, *, dpi: int = 150,
                       embed: bool = True, folder: str = "report_files", skew: float = 0.0, noise: float = 0.0,
                       jpeg: int | None = None, plus_sign: bool = True) -> Rendered:
    """An HTML page whose three tables are pictures (`<img>`): each table as the PDF layout prints it,
    cut from the page raster at `dpi` (a table broken over two pages gives two pictures), embedded
    as `data:` URIs (`embed`) or saved beside the page in `folder` (`meta["files"]`: relative path →
    bytes, as a browser's "save page" writes them into `PAGE_files/`). The PDF's oracle holds."""
    import base64
    import re

    import pypdfium2 as pdfium

    from ..readers.pdf import _pages, _tables

    r = _rng(rng)
    pdf_out = render(report, "pdf", rng=r, split_row=None, rules="grid", plus_sign=plus_sign)
    html_out = render(report, "html", rng=r, layout_tables=False, full_page=True, mso=False, encoding="utf-8",
                      meta_charset=True, colspan_mismatch=False, pad_header=False, unit_suffix=False,
                      plus_sign=plus_sign, pad_kb=None)
    opts = {"dpi": dpi, "skew": skew, "noise": noise, "jpeg": jpeg, "seal": False, "perspective": 0.0, "blur": 0.0}
    pdf = pdfium.PdfDocument(pdf_out.data)
    # page, whether no text stands above it on its page, whether none but a page number stands
    # below it, its column rules, its picture
    crops: list[tuple[int, bool, bool, list[float], Image.Image]] = []
    try:
        contents = list(_pages("(generated)", pdf, {"glyphs": [], "unmapped": [], "images": []}))  # type: ignore[arg-type]
        scale = dpi / 72
        for index, content in enumerate(contents):
            grids = _tables(content.rules, content.width, content.height)
            if not grids:
                continue
            page = pdf[index]
            try:
                raster = page.render(scale=scale).to_pil().convert("RGB")
            finally:
                page.close()
            for g in grids:
                box = (int((g.xs[0] - 6) * scale), int((g.ys[0] - 6) * scale), int((g.xs[-1] + 6) * scale),
                       int((g.ys[-1] + 6) * scale))
                first = not any(gl.bottom <= g.ys[0] for gl in content.glyphs)  # no text above it on its page
                below = "".join(gl.text for gl in content.glyphs if gl.top >= g.ys[-1])
                last = not re.search(r"[\u4e00-\u9fff]", re.sub("[第页共]", "", below))  # a page number at most
                crops.append((index, first, last, g.xs,
                              _degrade(raster.crop(box), r, opts, None)))
    finally:
        pdf.close()
    groups: list[list[Image.Image]] = []
    for k, (index, first, _last, xs, img) in enumerate(crops):
        prev = crops[k - 1] if k else None
        # the rest of a table broken over the page: first on the next page, no heading above it, as
        # wide (its first part may be header rows only, whose merged cells leave column rules out)
        if prev is not None and prev[0] == index - 1 and prev[2] and first and \
                abs(prev[3][0] - xs[0]) < 1 and abs(prev[3][-1] - xs[-1]) < 1:
            groups[-1].append(img)
        else:
            groups.append([img])
    html = html_out.data.decode("utf-8")
    tables = list(re.finditer(r"<table\b.*?</table>", html, re.S))
    if len(tables) != len(groups):
        raise ValueError(f"{len(groups)} table pictures for {len(tables)} HTML tables")
    files: dict[str, bytes] = {}
    out, last = [], 0
    for n, (m, group) in enumerate(zip(tables, groups), start=1):
        out.append(html[last:m.start()])
        for k, img in enumerate(group):
            buf = io.BytesIO()
            img.save(buf, "PNG", dpi=(dpi, dpi))
            if embed:
                src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
            else:
                src = f"{folder}/table{n}_{k + 1}.png"
                files[src] = buf.getvalue()
            out.append(f'<p><img src="{src}" alt="table {n}"></p>')
        last = m.end()
    out.append(html[last:])
    meta = dict(pdf_out.meta)
    meta["options"] = {**meta["options"], **opts, "embed": embed}
    meta["files"] = files
    return Rendered(data="".join(out).encode("utf-8"), suffix=".html", form="html", expected=pdf_out.expected,
                    meta=meta)
