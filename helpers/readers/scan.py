"""OCR reader for scans and images (scanned PDF, PNG, JPEG, TIFF): page images → positioned
characters and ruling lines → the PDF reader's layout (`layout_pages`), never flattened text.

Each page image is straightened (the skew that maximises the contrast of row profiles, up to
±3°), its ruling lines are found with OpenCV (long thin runs of ink, by morphology) and erased,
and its characters are recognised by the OCR engine (RapidOCR's PP-OCRv4 models, bundled in the
`rapidocr-onnxruntime` wheel and run by onnxruntime on one thread; nothing is downloaded; or
Tesseract as a separate process), each with its own box and recognition confidence; a ruled cell
with marks but no character, or whose number was read weakly or not cleanly, is recognised again on
its own crop and the two readings weighed (`_reread`). Everything is read on the red
channel, where a red seal over a table fades out and black ink stays black. Characters and rules,
in points, go through the same grid and alignment as a PDF's text layer, so a scanned table is
rebuilt as boxed cells.

Honesty: every cell read by OCR says so in its `source` (`... (OCR 97%)`, the lowest confidence
of its characters). A number is taken only when its confidence is high **and** the printed
relations (R1, R3, R4, R5) it takes part in hold (`doubtful_cells`); otherwise its text is marked
(`12 (62% OCR)`, `12 (99% OCR, R3 fails)`) so the parser reports it `unreadable` with the OCR
reading in `raw`. A ruled cell that shows ink but gave no text is marked too, never read as blank.
Caps: MAX_PAGES pages, MAX_PIXELS pixels a page.
"""

from __future__ import annotations

import io
import os
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..document import Cell, Document
from ..errors import BrokenFile, NotAReport
from .pdf import (
    Glyph,
    PageContent,
    Rule,
    _glyphs_by_table,
    _lines,
    _tables,
    layout_pages,
)

__all__ = ["ENGINES", "MAX_PAGES", "MAX_PIXELS", "MIN_CONFIDENCE", "MIN_CONFIDENCE_ALONE", "OCR_DPI", "THRESHOLDS",
           "default_engine", "doubtful_cells", "mark_doubtful", "mark_unclean", "ocr_confidence", "ocr_pages",
           "read_html_images", "read_image", "read_scanned_pdf", "tables_missing"]

MAX_PAGES = 60            # a report has a handful of pages; more is not one report
MAX_PIXELS = 60_000_000   # per page (A4 at 600 dpi is 35 Mpx): larger is a decompression bomb
OCR_DPI = 200             # scanned PDFs are rasterised at their image resolution, capped to this..300
# A cell whose weakest character is below these is not read, per engine (chosen on the generated
# scans with benchmarks/ocr.py): cells in a printed relation, which the relation checks as well, and
# cells in none (Table 2), which only the confidence guards. Tesseract is sure of more of its errors
# (it read a 6 as 0 at 96% in a row and its total alike, which the row's relation cannot see).
THRESHOLDS: dict[str, tuple[float, float]] = {"rapidocr": (0.50, 0.90), "tesseract": (0.97, 0.97)}
MIN_CONFIDENCE, MIN_CONFIDENCE_ALONE = THRESHOLDS["rapidocr"]
REREAD_BELOW = 0.90       # a number read with less confidence is read again on its own crop
MAX_SKEW = 3.0            # degrees searched when straightening a page
# The text of a ruled cell with marks that OCR could not read: a dash then a bracketed digit, which
# the parser keeps as one value that is not a number (unreadable), never blank and never a number.
INK_MARK = "- (0% OCR, marks not read)"
DARK = 170               # red-channel value below which a pixel can be ink
MIN_STROKE = 12           # pixels: a mark this large in a ruled cell is ink (a dash), smaller is speckle
SPECK = 3                 # pixels: a mark this small beside a number (not between its digits) is noise


@dataclass(slots=True)
class _Char:
    """One recognised character: its box in pixels and its confidence."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    conf: float


# ---------------------------------------------------------------------------------------------
# The engine


_LOCK = threading.Lock()
ENGINES = ("rapidocr", "tesseract")


def default_engine() -> str:
    """The OCR engine in use: RapidOCR unless OGI_OCR_ENGINE names another (benchmarks/ocr.py)."""
    engine = os.environ.get("OGI_OCR_ENGINE", "rapidocr")
    return engine if engine in ENGINES else "rapidocr"


@lru_cache(maxsize=1)
def _rapidocr() -> Any:
    """RapidOCR with its bundled models, on one thread (a worker process uses one core)."""
    from rapidocr_onnxruntime import RapidOCR

    threads = int(os.environ.get("OGI_OCR_THREADS", "1"))
    # det on a page scaled to 1400 px: as accurate on 9-point table text, 4x faster than 2000
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, print_verbose=False, max_side_len=1400)


def _split_box(text: str, x0: float, top: float, x1: float, bottom: float, conf: float) -> list[_Char]:
    """A word's box shared evenly among its characters (spaces dropped). A full-width character
    (an ideograph, 、，（）) is printed in a square of the type size, whatever part of it holds ink:
    its box is widened to that square, so that the narrow ink of `、` leaves no gap that would read
    as a space (and split a label into a stray `、` value)."""
    n = max(len(text), 1)
    step = (x1 - x0) / n
    size = bottom - top
    out = []
    for k, ch in enumerate(text):
        if not ch.strip():
            continue
        a, b = x0 + k * step, x0 + (k + 1) * step
        if unicodedata.east_asian_width(ch) in ("W", "F") and b - a < 0.9 * size:
            mid = (a + b) / 2
            a, b = mid - 0.45 * size, mid + 0.45 * size
        out.append(_Char(ch, a, top, b, bottom, conf))
    return out


def _recognise_rapidocr(img: np.ndarray) -> list[_Char]:
    with _LOCK:
        result, _ = _rapidocr()(img, use_cls=False, return_word_box=True)
    out: list[_Char] = []
    for line in result or []:
        box, text, score = line[0], line[1], float(line[2])
        char_boxes = line[3] if len(line) > 3 else None
        chars = line[4] if len(line) > 4 else None
        scores = line[5] if len(line) > 5 else None
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        top, bottom = min(ys), max(ys)
        if chars and char_boxes and scores and len(chars) == len(char_boxes) == len(scores):
            for word, cb, sc in zip(chars, char_boxes, scores):  # a "word" may hold a run of digits
                out += _split_box(word, min(p[0] for p in cb), top, max(p[0] for p in cb), bottom,
                                  min(float(sc), score))
        else:
            out += _split_box(text, min(xs), top, max(xs), bottom, score)
    return out


def _recognise_tesseract(img: np.ndarray, psm: str = "3") -> list[_Char]:
    """Tesseract (Debian's tesseract-ocr with chi_sim), run as a separate process: word boxes from
    its TSV output, the word's confidence for each of its characters."""
    import subprocess

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        run = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim", "--psm", psm, "tsv"],
                             input=buf.getvalue(), capture_output=True, timeout=300, env=env, check=True)
    except FileNotFoundError as exc:
        raise RuntimeError("tesseract is not installed (scripts/system-deps.sh installs it)") from exc
    out: list[_Char] = []
    for row in run.stdout.decode("utf-8", "replace").splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        x, y, w, h, conf = int(f[6]), int(f[7]), int(f[8]), int(f[9]), float(f[10])
        out += _split_box(f[11].strip(), x, y, x + w, y + h, max(conf, 0.0) / 100)
    return out


def _recognise(img: np.ndarray, engine: str | None = None) -> list[_Char]:
    """OCR one page image (RGB, uint8) into characters with boxes and confidences."""
    engine = engine or default_engine()
    return _recognise_tesseract(img) if engine == "tesseract" else _recognise_rapidocr(img)


# ---------------------------------------------------------------------------------------------
# Page images: straighten, rules, ink


def _gray(img: np.ndarray) -> np.ndarray:
    """The red channel: black ink stays dark, a red seal turns light (it is not the report's text)."""
    return img[..., 0] if img.ndim == 3 else img


def _deskew(img: np.ndarray) -> np.ndarray:
    """Rotate the page so that its text lines and rules are horizontal."""
    import cv2

    gray = _gray(img)
    h, w = gray.shape
    scale = 800 / max(w, h)
    small = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    ink = (small < 160).astype(np.float32)
    centre = (small.shape[1] / 2, small.shape[0] / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rot = cv2.warpAffine(ink, m, (small.shape[1], small.shape[0]))
        profile = rot.sum(axis=1)
        return float(np.square(np.diff(profile)).sum())

    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.25), key=sharpness)
    best = max(np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05), key=sharpness)
    if abs(best) < 0.05:
        return img
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(best), 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(255, 255, 255) if img.ndim == 3 else 255)


def _binary(img: np.ndarray) -> np.ndarray:
    """Ink: pixels darker than their surroundings (thin grey rules of a 150 dpi scan included)."""
    import cv2

    gray = _gray(img)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)


def _dark(img: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """Marks: ink that is dark in itself; a red seal, light in the red channel, is no mark, and a
    digit under it stays a mark of its own."""
    return np.where(_gray(img) < DARK, binary, 0).astype(np.uint8)


def _rules(binary: np.ndarray, to_pt: float) -> tuple[list[Rule], np.ndarray]:
    """Ruling lines (runs of ink at least 1/25 of the page long, found by morphological opening)
    and their mask."""
    import cv2

    h, w = binary.shape
    out: list[Rule] = []
    mask = np.zeros_like(binary)
    for horizontal in (True, False):
        length = max(w, h) // 25
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
        lines = cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel)
        # close small gaps (noise, JPEG) along the line
        lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1) if horizontal else (1, 5)))
        mask |= lines
        n, _labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for k in range(1, n):
            x, y, bw, bh, _area = stats[k]
            if horizontal and bw >= length and bh <= max(12, bw // 30):
                out.append(Rule(True, (y + bh / 2) * to_pt, x * to_pt, (x + bw) * to_pt))
            elif not horizontal and bh >= length and bw <= max(12, bh // 30):
                out.append(Rule(False, (x + bw / 2) * to_pt, y * to_pt, (y + bh) * to_pt))
    return out, mask


# ---------------------------------------------------------------------------------------------
# Pages → document, with each cell's confidence


@dataclass
class _Page:
    content: PageContent
    confs: list[float]            # per glyph of content.glyphs
    binary: np.ndarray
    to_pt: float


def _page(img: np.ndarray, number: int, dpi: float, engine: str | None = None) -> _Page:
    import cv2

    img = _deskew(img)
    binary = _binary(img)
    to_pt = 72 / dpi
    rules, mask = _rules(binary, to_pt)
    # the rules are erased before OCR (a digit touching a border is read better), kept for the grid
    clean = np.repeat(_gray(img)[..., None], 3, axis=2)  # the red channel: a red seal fades out
    clean[cv2.dilate(mask, np.ones((3, 3), np.uint8)) > 0] = 255
    chars = _recognise(clean, engine)
    binary = _dark(img, binary)
    binary[mask > 0] = 0
    h, w = binary.shape
    chars = _reread(clean, binary, rules, chars, to_pt, w * to_pt, h * to_pt, engine or default_engine())
    glyphs = [Glyph(c.text, c.x0 * to_pt, c.top * to_pt, c.x1 * to_pt, c.bottom * to_pt) for c in chars]
    content = PageContent(number, w * to_pt, h * to_pt, glyphs, rules)
    return _Page(content, [c.conf for c in chars], binary, to_pt)


def _ink_box(binary: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> tuple[int, int, int, int] | None:
    """The box (pixels) of the marks inside a region: strokes of some size not touching its edge
    (speckles and remnants of the erased rules left out), or None when it is empty."""
    import cv2

    if r1 - r0 < 6 or c1 - c0 < 6:
        return None
    region = binary[r0:r1, c0:c1]
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    rh, rw = region.shape
    boxes = []
    for k in range(1, n):
        x, y, bw, bh, area = stats[k]
        if area < MIN_STROKE or x == 0 or y == 0 or x + bw >= rw or y + bh >= rh:
            continue
        boxes.append((x, y, x + bw, y + bh))
    if not boxes:
        return None
    return (c0 + min(b[0] for b in boxes), r0 + min(b[1] for b in boxes),
            c0 + max(b[2] for b in boxes), r0 + max(b[3] for b in boxes))


def _reread(img: np.ndarray, binary: np.ndarray, rules: list[Rule], chars: list[_Char], to_pt: float,
            width: float, height: float, engine: str) -> list[_Char]:
    """The page's characters, with the numbers of ruled cells read a second time on their own crop
    (recognition only): cells with marks but no character (a lone `0` or `—` the page's text
    detection missed), and cells holding no ideograph whose reading is weak or neither a clean
    number nor a dash (`o` or `.0` for `0`, `>` for `7`). A lone digit in a wide row is what line
    recognition reads worst; on its own crop it is read as a word. The readings are then weighed:

    - the same number twice: the higher confidence of the two;
    - a first reading that is no clean number and a second that is, with a digit for each of the
      first's marks but separators (`.0` → `0`, `>` → `7`; never `4511:17` → `4511`): the second;
    - the first's number with a sign and the second's without: the first as it was (a thin minus
      is too small to count as marks, so the crop may leave it out);
    - two different numbers: the first, with confidence 0 (the reading is not unique: flagged);
    - no clean number the second time: the first reading as it was.
    """
    s = 1 / to_pt
    tables = _tables(rules, width, height)
    in_cell: dict[tuple[int, int], list[int]] = {}
    for n, c in enumerate(chars):
        cx, cy = (c.x0 + c.x1) / 2 * to_pt, (c.top + c.bottom) / 2 * to_pt
        for k, t in enumerate(tables):
            root = t.cell_at(cx, cy)
            if root is not None:
                in_cell.setdefault((k, root), []).append(n)
                break
    replaced: dict[int, list[_Char]] = {}  # index of a cell's first character -> its new characters
    dropped: set[int] = set()
    added: list[_Char] = []
    for k, t in enumerate(tables):
        for root, (j0, i0, j1, i1) in t.cells.items():
            idx = sorted(in_cell.get((k, root), []), key=lambda n: chars[n].x0)
            text = "".join(chars[n].text for n in idx)
            first_conf = min((chars[n].conf for n in idx), default=0.0)
            if idx and (_CJK.search(text) or first_conf >= REREAD_BELOW and
                        (_CLEAN.fullmatch(text) or _DASH.fullmatch(text))):
                continue  # a label, or a number or a dash read well
            box = _ink_box(binary, int(t.ys[j0] * s) + 2, int(t.ys[j1 + 1] * s) - 2,
                           int(t.xs[i0] * s) + 2, int(t.xs[i1 + 1] * s) - 2)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            pad = max(4, (y1 - y0) // 3)
            # the marks' box on a white margin: a speck beside the number (read as `.0`) is left
            # out, a decimal point between its digits kept
            ya, yb, xa, xb = max(0, y0 - 1), min(img.shape[0], y1 + 1), max(0, x0 - 1), min(img.shape[1], x1 + 1)
            crop = np.full((yb - ya + 2 * pad, xb - xa + 2 * pad, 3), 255, np.uint8)
            crop[pad:pad + yb - ya, pad:pad + xb - xa] = _despeckle(img[ya:yb, xa:xb], binary[ya:yb, xa:xb])
            again, conf = _recognise_line(crop, engine)
            again = "".join(again.split())
            if not idx:
                if again:
                    added += _split_box(again, x0, y0, x1, y1, conf)
                continue
            if not _CLEAN.fullmatch(again):
                continue
            if again != text and text.lstrip("+-−－") == again:
                continue  # the sign only the first reading saw (a thin stroke): the first as it was
            if again == text:
                new = [_Char(chars[n].text, chars[n].x0, chars[n].top, chars[n].x1, chars[n].bottom,
                             max(first_conf, conf)) for n in idx]
            elif not _CLEAN.fullmatch(text) and len(_DIGIT.findall(again)) >= len(_SEPARATORS.sub("", text)):
                new = _split_box(again, x0, y0, x1, y1, conf)  # every mark of the first reading has its digit
            else:
                new = [_Char(chars[n].text, chars[n].x0, chars[n].top, chars[n].x1, chars[n].bottom, 0.0)
                       for n in idx]
            replaced[idx[0]] = new
            dropped.update(idx[1:])
    out: list[_Char] = []
    for n, c in enumerate(chars):
        if n in replaced:
            out += replaced[n]
        elif n not in dropped:
            out.append(c)
    return out + added


def _despeckle(crop: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """A cell's crop with its specks (marks of at most SPECK pixels) whitened, but those with
    strokes on both sides: that is where a decimal point stands, never before or after a number."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    big = [(x, x + w) for x, _y, w, _h, area in stats[1:] if area > SPECK]
    out = crop
    for k in range(1, n):
        x, _y, w, _h, area = stats[k]
        if area <= SPECK and not (any(b1 <= x for _b0, b1 in big) and any(b0 >= x + w for b0, _b1 in big)):
            if out is crop:
                out = crop.copy()
            out[labels == k] = 255
    return out


def _recognise_line(crop: np.ndarray, engine: str) -> tuple[str, float]:
    """One cell's text by recognition alone (no detection) and its confidence."""
    if engine == "tesseract":
        chars = _recognise_tesseract(crop, psm="7")
        text = "".join(c.text for c in chars)
        return text, min((c.conf for c in chars), default=0.0)
    with _LOCK:
        result, _ = _rapidocr()(crop, use_det=False, use_cls=False)
    if not result:
        return "", 0.0
    text, score = result[0][0], float(result[0][1])
    return text.strip(), score


def _cell_confidences(pages: list[_Page]) -> tuple[dict[str, float], set[str]]:
    """The lowest character confidence of every cell the layout makes, by its source, and the
    ruled cells that show ink but hold no text. Mirrors the PDF layout's assignment of glyphs to
    grid cells and free lines (the same `_glyphs_by_table` as the PDF layout)."""
    confs: dict[str, float] = {}
    inked: set[str] = set()
    first_table = 1
    for page in pages:
        content = page.content
        conf_of = {id(g): c for g, c in zip(content.glyphs, page.confs)}
        kept, free = _glyphs_by_table(content)
        for k, (t, cells) in enumerate(kept):
            for root, (j0, i0, j1, i1) in t.cells.items():
                source = f"page {content.number} table {first_table + k} row {j0 + 1} col {i0 + 1}"
                glyphs = cells.get(root, [])
                if glyphs:
                    confs[source] = min(conf_of[id(g)] for g in glyphs)
                    if _partly_read(page, glyphs, t.xs[i0], t.ys[j0], t.xs[i1 + 1], t.ys[j1 + 1]):
                        confs[source] = 0.0  # marks beside the characters read: a digit or a decimal lost
                elif _has_ink(page, t.xs[i0], t.ys[j0], t.xs[i1 + 1], t.ys[j1 + 1]):
                    inked.add(source)
        first_table += len(kept)
        for n, line in enumerate(_lines(free), start=1):
            confs[f"page {content.number} line {n}"] = min(conf_of[id(g)] for g in line)
    return confs, inked


def _partly_read(page: _Page, glyphs: list[Glyph], x0: float, top: float, x1: float, bottom: float) -> bool:
    """Whether a ruled cell shows marks well beyond the characters read in it (the reading is part
    of what is printed: `4511` of `4511.17`): marks outside the characters' boxes, or, for a
    number, marks wider than its characters can be (the engine may box the whole `4511:17` and
    read only `4511`; a digit is about 0.7 of its height wide)."""
    s = 1 / page.to_pt
    ink = _ink_box(page.binary, int(top * s) + 2, int(bottom * s) - 2, int(x0 * s) + 2, int(x1 * s) - 2)
    if ink is None:
        return False
    gx0, gx1 = min(g.x0 for g in glyphs) * s, max(g.x1 for g in glyphs) * s
    em = max(g.bottom - g.top for g in glyphs) * s
    if ink[0] < gx0 - 0.6 * em or ink[2] > gx1 + 0.6 * em:
        return True
    text = "".join(g.text for g in glyphs)
    ink_w, ink_h = ink[2] - ink[0], ink[3] - ink[1]
    return bool(_DIGIT.search(text)) and not _CJK.search(text) and ink_h >= 0.4 * em and \
        ink_w > (len(text) + 1) * 0.8 * ink_h


def _has_ink(page: _Page, x0: float, top: float, x1: float, bottom: float) -> bool:
    """Whether the inside of a ruled cell (its borders left out) holds marks."""
    s = 1 / page.to_pt
    return _ink_box(page.binary, int(top * s) + 2, int(bottom * s) - 2, int(x0 * s) + 2, int(x1 * s) - 2) is not None


def _conf_for(source: str, confs: dict[str, float]) -> float | None:
    if source in confs:
        return confs[source]
    head = source.split(" col ")[0]  # a free line cut into columns: the line's confidence
    return confs.get(head)


def ocr_pages(images: Iterable[tuple[np.ndarray, float]], path: Path, form: str, total: int,
              engine: str | None = None, settle: bool = True) -> Document:
    """Read page images (RGB arrays with their dpi) into a Document whose cells say their OCR
    confidence, with doubtful numbers marked so that the parser cannot read them as numbers
    (`settle=False` leaves them unmarked: benchmarks/ocr.py tunes the thresholds on that)."""
    from tqdm import tqdm

    engine = engine or default_engine()
    pages: list[_Page] = []
    bar = tqdm(total=total, desc=f"OCR {path.name}", unit="page", leave=False,
               disable=None if total >= 3 else True)
    try:
        for number, (img, dpi) in enumerate(images, start=1):
            pages.append(_page(img, number, dpi, engine))
            bar.update(1)
    finally:
        bar.close()
    if not any(p.content.glyphs for p in pages):
        raise NotAReport(path, f"OCR found no text on its {len(pages)} page(s) (a blank page or a picture?)")
    confs, inked = _cell_confidences(pages)
    blocks = layout_pages(p.content for p in pages)
    for block in blocks:
        for cell in block.cells:
            conf = _conf_for(cell.source, confs)
            if conf is None and cell.source in inked:
                cell.text = INK_MARK  # marks no OCR could read: unreadable, never blank
                conf = 0.0
            if conf is not None:
                cell.source = f"{cell.source} (OCR {conf:.0%})"
    name = {"rapidocr": "RapidOCR PP-OCRv4", "tesseract": "Tesseract chi_sim"}[engine]
    doc = Document(path=str(path), form=form, blocks=blocks,
                   notes=[f"read by OCR ({name}) from {len(pages)} page image(s); a number is read only when "
                          "its confidence is high and its printed relations hold"])
    if settle:
        mark_doubtful(doc, engine)
    return doc


def ocr_confidence(source: str) -> float | None:
    """The OCR confidence a cell's source states (`... (OCR 97%)`), None if it was not OCR'd."""
    if "(OCR " not in source:
        return None
    return float(source.rsplit("(OCR ", 1)[1].split("%")[0]) / 100


def doubtful_cells(cells: list[dict[str, Any]], template_version: str, min_checked: float = MIN_CONFIDENCE,
                   min_alone: float = MIN_CONFIDENCE_ALONE) -> dict[str, str]:
    """The OCR'd cells (of a parse) that must not be taken as read, key → why.

    A cell is doubtful when its confidence is below `min_checked` (`min_alone` for cells in no
    printed relation: Table 2), when a relation it takes part in fails, or when it takes part in
    relations but none of them could be checked with every member read (blank and placeholder
    count as 0), or when a signed (2019 增/减) number was read without a sign; and a blank grid
    cell of an OCR'd report in a row with doubtful readings. A weak reading stays doubtful itself
    but still checks its neighbours' relations (a misread value would make them fail), until a
    relation it is in fails. Relations R1, R3, R4, R5; doubt spreads until nothing changes.
    """
    from ..template import get_template

    template = get_template(template_version)
    by_key = {f"{c['table']}/{c['row']}/{c['column']}": c for c in cells}
    instances = [(rel.id, [result, *plus, *minus], len(plus)) for rel in template.relations
                 if rel.id in ("R1", "R3", "R4", "R5") for result, plus, minus in rel.instances(template)]
    member_of: dict[str, list[int]] = {}
    for n, (_rid, members, _np) in enumerate(instances):
        for m in members:
            member_of.setdefault(m, []).append(n)
    ocr = {k: conf for k, c in by_key.items() if (conf := ocr_confidence(c.get("source") or "")) is not None}
    doubt: dict[str, str] = {}
    info = template.column_info
    for key, conf in ocr.items():
        c = by_key[key]
        if c["status"] in ("ok", "inferred", "placeholder") and conf < (min_checked if key in member_of else min_alone):
            doubt[key] = f"{conf:.0%} OCR"
        elif c["status"] == "ok" and key in info and info[key].dtype == "signed" and c["value"] and \
                not str(c.get("raw", "")).lstrip().startswith(("+", "-", "－", "−")):
            # a 2019 增/减 number read without its sign: a thin minus is what OCR loses first
            doubt[key] = f"{conf:.0%} OCR, sign not read"

    low = set(doubt)  # low confidence: the reading still takes part in checking its neighbours
    read_columns = {_grid_column(by_key[k].get("source") or "") for k in ocr}

    def number(key: str) -> float | None:
        c = by_key.get(key)
        if c is None or (key in doubt and key not in low):
            return None
        if c["status"] in ("blank", "placeholder"):
            return 0.0
        return float(c["value"]) if c["status"] in ("ok", "inferred") and c["value"] is not None else None

    def taken(key: str) -> bool:
        return key in ocr and key not in doubt and by_key[key]["status"] in ("ok", "inferred")

    # Outside a ruled grid (an OCR'd line cut into columns) the column of a value is itself a
    # reading: such a cell needs the higher confidence, every relation it is in must hold, and a
    # blank there (nothing found in a column) is not taken as printed blank.
    lined = {k for k in ocr if " line " in (by_key[k].get("source") or "")}
    for key in lined:
        c = by_key[key]
        if key not in doubt and c["status"] == "blank":
            doubt[key] = f"{ocr[key]:.0%} OCR, nothing read in this column of an OCR'd line"
        elif key not in doubt and c["status"] in ("ok", "inferred", "placeholder") and ocr[key] < min_alone:
            doubt[key] = f"{ocr[key]:.0%} OCR"

    while True:
        before = len(doubt)
        holds: set[int] = set()
        for n, (rid, members, n_plus) in enumerate(instances):
            values = [number(m) for m in members]
            if None in values:
                continue
            if abs(values[0] - (sum(values[1:1 + n_plus]) - sum(values[1 + n_plus:]))) < 1e-6:
                holds.add(n)
            else:
                for m in members:
                    if taken(m) or (m in ocr and m not in doubt and by_key[m]["status"] == "placeholder"):
                        doubt[m] = f"{ocr[m]:.0%} OCR, {rid} fails"
                    elif m in low:
                        low.discard(m)  # a failed relation: its weak reading no longer checks others
        for key in ocr:
            if not taken(key) or key not in member_of:
                continue
            checked = holds.intersection(member_of[key])
            if not checked or (key in lined and len(checked) < len(member_of[key])):
                doubt[key] = f"{ocr[key]:.0%} OCR, no printed relation could check it" if not checked else \
                    f"{ocr[key]:.0%} OCR, not every printed relation could check it"
        # a blank (no ink, no text) in a row with doubtful readings: its column may be misread too
        # (a grid with a column too many shifts the row's values and leaves an empty cell behind)
        # and one in a grid column where nothing was read in any row (a phantom column)
        rows_in_doubt = {k.rsplit("/", 1)[0] for k in doubt}
        for key, c in by_key.items():
            if c["status"] != "blank" or key in doubt or not ocr or " table " not in (c.get("source") or ""):
                continue
            if key.rsplit("/", 1)[0] in rows_in_doubt:
                doubt[key] = "0% OCR, blank in a row with doubtful readings"
            elif _grid_column(c["source"]) not in read_columns:
                doubt[key] = "0% OCR, blank in a grid column where nothing was read"
        if len(doubt) == before:
            return doubt


def _grid_column(source: str) -> str:
    """`page 4 table 4 col 11` of a grid cell's source `page 4 table 4 row 2 col 11 (OCR 97%)`."""
    m = _GRID_CELL.search(source)
    return f"{m.group(1)} col {m.group(2)}" if m else source


def mark_doubtful(doc: Document, engine: str | None = None) -> None:
    """Mark the doubtful OCR'd numbers of a document so that the parser reports them unreadable.

    The document is parsed once here to know which cell is which template cell; each doubtful
    cell (by the THRESHOLDS of `engine`) gets `(62% OCR)` (or `(99% OCR, R3 fails)`) after its
    reading: a digit right after the bracket, so the parser keeps the whole text as one value that
    is not a number (unreadable, the reading in raw), never the 12 alone.
    """
    from ..parse import parse_document

    unclean = mark_unclean(doc)
    by_source: dict[str, list[Cell]] = {}
    for block in doc.blocks:
        for cell in block.cells:
            if "(OCR " in cell.source and id(cell) not in unclean:
                by_source.setdefault(cell.source, []).append(cell)
    try:
        report = parse_document(doc)
    except Exception:  # noqa: BLE001 - the parser raises the same error on the real pass
        return
    cells = report.cell_records()
    by_key = {f"{c['table']}/{c['row']}/{c['column']}": c for c in cells}
    marks: dict[int, tuple[Cell, str]] = {}
    blanks: dict[str, list[Cell]] = {}  # blank grid cells carry no OCR confidence in their source
    for block in doc.blocks:
        for cell in block.cells:
            if not cell.text.strip() and " table " in cell.source:
                blanks.setdefault(cell.source, []).append(cell)
    for key, why in doubtful_cells(cells, report.template, *THRESHOLDS[engine or default_engine()]).items():
        for cell in by_source.get(by_key[key]["source"], []) or blanks.get(by_key[key]["source"], []):
            marks.setdefault(id(cell), (cell, why))
    for cell, why in marks.values():
        _mark(cell, why)


def mark_unclean(doc: Document) -> set[int]:
    """Mark the OCR'd grid cells whose reading is a number with other marks (`4511:17`, `12a`,
    `0-`) as one value that is not a number, before any parse: the parser would otherwise split
    them into more values than the row has. Whatever the thresholds, so benchmarks/ocr.py applies
    it too. Returns the ids of the cells marked."""
    marked: set[int] = set()
    for block in doc.blocks:
        for cell in block.cells:
            text = cell.text.strip()
            if "(OCR " in cell.source and " table " in cell.source and "% OCR" not in text and \
                    _DIGIT.search(text) and not _CJK.search(text) and not _CLEAN.fullmatch(text):
                _mark(cell, f"{cell.source.rsplit('(OCR ', 1)[1].rstrip(')')} OCR, not a clean number")
                marked.add(id(cell))
    return marked


_DIGIT = re.compile(r"\d")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CLEAN = re.compile(r"[+\-−－]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+\-−－]?\d+(?:\.\d+)?")
_LEAD = re.compile(r"\s*[+\-−－]?\d+(?:,\d{3})*(?:\.\d+)?")
_DASH = re.compile(r"[-−－—–_]+")
_GRID_CELL = re.compile(r"(.*\btable \d+) row \d+ col (\d+)")
_SEPARATORS = re.compile(r"[.,:;·'`_~\-−－—–]")  # marks a speck, a rule's remnant or a misread point gives


def _mark(cell: Cell, why: str) -> None:
    """Make a cell's text one value that is not a number: its leading number (or a dash) right
    before a bracket that starts with a digit, the whole reading kept: `4511 (98% OCR, not a clean
    number; read 4511:17)`. Text after the number ("4511:17") is never left before the bracket,
    where the parser would stop at it and take 4511."""
    text = cell.text.strip()
    lead = _LEAD.match(text)
    if lead and lead.end() == len(text):
        cell.text = f"{text} ({why})"
    elif lead:
        cell.text = f"{lead.group(0).strip()} ({why}; read {text})"
    else:
        cell.text = f"{text or '-'} ({why})"


# ---------------------------------------------------------------------------------------------
# Entry points


def _check_pixels(path: Path, w: int, h: int, number: int) -> None:
    if w * h > MAX_PIXELS:
        raise BrokenFile(path, f"page {number} is {w} × {h} pixels, over the {MAX_PIXELS / 1e6:.0f} Mpx limit",
                         "scan it at 300 dpi or less")


def read_image(path: Path, data: bytes, engine: str | None = None, settle: bool = True) -> Document:
    """Read an image file by OCR: PNG or JPEG as one page, TIFF as one report of one or more pages."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # PIL's decompression-bomb warning is an error here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            frames = getattr(img, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BrokenFile(path, f"an image over the {MAX_PIXELS / 1e6:.0f} Mpx limit ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BrokenFile(path, f"an image that cannot be decoded ({exc})") from exc
    if frames > MAX_PAGES:
        raise BrokenFile(path, f"a {frames}-page image, over the {MAX_PAGES} page limit", "this is not one report")
    form = "image"

    def pages() -> Iterator[tuple[np.ndarray, float]]:
        for number, frame in enumerate(ImageSequence.Iterator(img), start=1):
            _check_pixels(path, *frame.size, number)
            dpi = frame.info.get("dpi", (OCR_DPI, OCR_DPI))[0] or OCR_DPI
            try:
                rgb = np.asarray(frame.convert("RGB"))
            except (OSError, ValueError) as exc:
                raise BrokenFile(path, f"page {number} of the image cannot be decoded ({exc})") from exc
            yield rgb, float(dpi) if 50 <= float(dpi) <= 1200 else OCR_DPI

    return ocr_pages(pages(), path, form, frames, engine, settle)


def read_scanned_pdf(path: Path, data: bytes, engine: str | None = None, settle: bool = True) -> Document:
    """Read a PDF without a text layer by OCR of its pages, rendered with pypdfium2 at the
    resolution of its images (OCR_DPI to 300 dpi)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(data)
    n = len(pdf)
    if n > MAX_PAGES:
        pdf.close()
        raise BrokenFile(path, f"a {n}-page scan, over the {MAX_PAGES} page limit", "this is not one report")

    def pages() -> Iterator[tuple[np.ndarray, float]]:
        try:
            for index in range(n):
                page = pdf[index]
                try:
                    w_pt, h_pt = page.get_size()
                    dpi = float(OCR_DPI)
                    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
                        px_w, _px_h = obj.get_px_size()
                        box = obj.get_bounds()
                        if box[2] - box[0] > 0.5 * w_pt:
                            dpi = min(300.0, max(float(OCR_DPI), px_w / ((box[2] - box[0]) / 72)))
                    _check_pixels(path, int(w_pt * dpi / 72), int(h_pt * dpi / 72), index + 1)
                    img = np.asarray(page.render(scale=dpi / 72).to_pil().convert("RGB"))
                finally:
                    page.close()
                yield img, dpi
        finally:
            pdf.close()

    return ocr_pages(pages(), path, "pdf-scan", n, engine, settle)


# ---------------------------------------------------------------------------------------------
# HTML pages whose tables are pictures


_IMG = re.compile(r"<img\b[^>]*>", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_MIN_TABLE_IMAGE = 200 * 80          # pixels: smaller images are icons, logos, spacers
MAX_IMAGE_BYTES = 20 * 1024 * 1024   # one embedded or saved image


def _image_bytes(path: Path, src: str) -> tuple[bytes | None, str | None]:
    """An <img>'s bytes from a `data:` URI or a file beside the page (its `_files/` folder), or
    why not: remote images are never fetched, paths outside the page's folder never read."""
    import base64
    import binascii
    from urllib.parse import unquote, urlsplit

    src = src.strip()
    if src.lower().startswith("data:"):
        head, _, body = src.partition(",")
        if ";base64" not in head.lower():
            return None, "a data: URI that is not base64"
        if len(body) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            return None, "an embedded image over the size limit"
        try:
            return base64.b64decode(body, validate=False), None
        except (binascii.Error, ValueError):
            return None, "a data: URI that does not decode"
    parts = urlsplit(src)
    if parts.scheme or parts.netloc:
        return None, f"a remote image ({parts.scheme or 'network'}), never fetched"
    base = path.parent.resolve()
    target = (base / unquote(parts.path)).resolve()
    if base not in target.parents:
        return None, "a path outside the page's folder"
    try:
        if target.stat().st_size > MAX_IMAGE_BYTES:
            return None, "an image file over the size limit"
        return target.read_bytes(), None
    except OSError:
        return None, "an image file that is not there"


def tables_missing(doc: Document) -> bool:
    """Whether a page read as HTML lacks one of the statistical tables (they may be pictures)."""
    from ..errors import NoTablesFound
    from ..parse import parse_document

    try:
        report = parse_document(doc)
    except (NotAReport, NoTablesFound):
        return True
    absent = report.cells.groupby("table")["status"].agg(lambda s: bool((s == "missing").all()))
    return bool(absent.any())


def read_html_images(path: Path, text: str, encoding: str | None, engine: str | None = None) -> Document:
    """Read an HTML page whose tables (or parts) are pictures: each <img> with a local `src` or a
    `data:` URI is read by OCR and its blocks stand where the image stood; the rest of the page is
    read by the HTML reader. Sources say `image 2 page 1 table 1 row 3 col 2 (OCR 98%)`."""
    from PIL import Image, UnidentifiedImageError

    from .html import read_html

    images: dict[str, bytes] = {}
    skipped: list[str] = []

    def swap(m: re.Match[str]) -> str:
        src = _SRC.search(m.group(0))
        if not src:
            return ""
        data, why = _image_bytes(path, next(g for g in src.groups() if g is not None))
        if data is None:
            skipped.append(why or "unreadable")
            return ""
        token = f"OGIIMAGE{len(images)}X{os.getpid()}"
        images[token] = data
        return f"<p>{token}</p>"

    doc = read_html(path, _IMG.sub(swap, text), encoding)
    read = 0
    blocks = []
    for block in doc.blocks:
        token = block.cells[0].text.strip() if len(block.cells) == 1 else ""
        if token not in images:
            blocks.append(block)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(images[token]))
                img.load()
            if img.size[0] * img.size[1] < _MIN_TABLE_IMAGE or img.size[0] * img.size[1] > MAX_PIXELS:
                continue
            rgb = np.asarray(img.convert("RGB"))
            dpi = float(img.info.get("dpi", (OCR_DPI, OCR_DPI))[0] or OCR_DPI)
            part = ocr_pages([(rgb, dpi if 50 <= dpi <= 1200 else OCR_DPI)], path, "html", 1, engine, settle=False)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning, NotAReport):
            skipped.append("an image that cannot be decoded or holds no text")
            continue
        read += 1
        for b in part.blocks:
            for cell in b.cells:
                cell.source = f"image {read} {cell.source}"
        blocks += part.blocks
    doc.blocks = blocks
    if read:
        doc.notes.append(f"{read} table image(s) read by OCR; numbers below the confidence threshold or in a "
                         "failed relation are not read")
        mark_doubtful(doc, engine)
    if skipped:
        doc.notes.append(f"{len(skipped)} image(s) not read: " + "; ".join(sorted(set(skipped))))
    return doc
