"""OCR reader: generated scans (scanned PDF, multi-page TIFF) read back with no silently wrong cell,
doubtful OCR cells come out unreadable with the reading kept, ruling lines and skew are recovered,
and bad images get one clear error naming the file. The OCR round trips are slow (a few seconds a
page): marked slow and sampled when CI is set; accuracy figures come from benchmarks/ocr.py."""

from __future__ import annotations

import io
import re
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ci_sample
from helpers import BrokenFile, NotAReport, NoTextLayer, read_report
from helpers.document import Block, Cell, Document
from helpers.parse import parse_document
from helpers.read import read_document
from helpers.readers.scan import INK_MARK, _binary, _deskew, _mark, _rules, doubtful_cells, ocr_confidence
from helpers.synth import random_report
from helpers.synth.scan import render_scan


def score(out, report) -> tuple[int, int, int, list]:  # type: ignore[no-untyped-def]
    """(right, flagged, silently wrong, the wrong ones) of a rendered scan read back."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"scan{out.suffix}"
        path.write_bytes(out.data)
        parsed = read_report(path)
    got = {(c["table"], c["row"], c["column"]): c for c in parsed.cell_records()}
    right = flagged = 0
    wrong = []
    for want in out.expected.to_dict("records"):
        c = got.get((want["table"], want["row"], want["column"]))
        value = None if pd.isna(want["value"]) else float(want["value"])
        if c is None or c["status"] in ("unreadable", "missing"):
            flagged += 1
        elif c["status"] == want["status"] and (value is None) == (c["value"] is None) and \
                (value is None or abs(c["value"] - value) < 1e-9):
            right += 1
        else:
            wrong.append((want, c))
    assert parsed.agency == out.meta["agency"] and parsed.year == out.meta["year"]
    assert all("(OCR " in c["source"] for c in parsed.cell_records() if c["status"] == "ok")
    return right, flagged, len(wrong), wrong


SCANS = [("pdf-scan", 200, 1.0, 11), ("tiff", 200, 0.8, 12), ("pdf-scan", 300, 0.5, 13), ("pdf-scan", 150, 0.0, 14)]
# Known accuracy misses of OCR (issue 14), a list that only shrinks: no cell is wrong in them, but
# fewer are read than the bar asks. A miss that starts passing fails the test until taken off.
KNOWN_MISSES = {"pdf-scan-200-11"}


def _known_miss(name: str, met: bool, figures: object) -> None:
    if name in KNOWN_MISSES:
        assert not met, f"{name} now meets the bar: take it off KNOWN_MISSES"
        pytest.xfail(f"known OCR accuracy miss {name} (issue 14): {figures}")
    assert met, figures


@pytest.mark.slow
@pytest.mark.parametrize("form, dpi, skew, seed", ci_sample(SCANS, 1, seed=3))
def test_scan_round_trip_has_no_silently_wrong_cell(form: str, dpi: int, skew: float, seed: int) -> None:
    """Consistent reports (relations hold): nearly all cells read, none wrong (benchmarks/ocr.py has
    the figures over many reports); with blanks breaking relations, more are flagged, none wrong."""
    report = random_report(seed, template=["2019", "2021"][seed % 2], blank_share=0.05 if seed % 2 else 0.0)
    out = render_scan(report, seed, form=form, dpi=dpi, skew=skew, noise=0.001, jpeg=85)
    right, flagged, wrong, which = score(out, report)
    assert wrong == 0, which
    _known_miss(f"{form}-{dpi}-{seed}", right >= (0.6 if seed % 2 else 0.85) * len(out.expected), (right, flagged))


def _cells(rows: dict[str, tuple[float | None, str, float]]) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for key, (value, status, conf) in rows.items():
        t, r, c = key.split("/")
        out.append({"table": t, "row": r, "column": c, "value": value, "status": status, "raw": "",
                    "source": f"page 1 table 1 row 1 col 1 (OCR {conf:.0%})"})
    return out


def test_doubtful_cells_low_confidence_and_failed_relations() -> None:
    # Table 4 block: total = upheld + corrected + other + pending (R5)
    block = {f"table_4/review/{c}": (v, "ok", 0.99) for c, v in
             [("upheld", 1.0), ("corrected", 2.0), ("other", 0.0), ("pending", 0.0), ("total", 3.0)]}
    assert not {k for k in doubtful_cells(_cells(block), "2021") if "table_4/review" in k}
    wrong_total = {**block, "table_4/review/total": (4.0, "ok", 0.99)}
    doubt = doubtful_cells(_cells(wrong_total), "2021")
    assert {k for k in doubt if "table_4/review" in k} == set(block)  # R5 fails: all five
    assert "R5 fails" in doubt["table_4/review/total"]
    low = {**block, "table_4/review/upheld": (1.0, "ok", 0.3)}
    doubt = doubtful_cells(_cells(low), "2021")
    assert doubt["table_4/review/upheld"] == "30% OCR"  # R5 holds with the weak reading: others kept
    assert "table_4/review/total" not in doubt
    low_and_wrong = {**wrong_total, "table_4/review/upheld": (1.0, "ok", 0.3)}
    doubt = doubtful_cells(_cells(low_and_wrong), "2021")
    assert {k for k in doubt if "table_4/review" in k} == set(block)
    unknown = {**block, "table_4/review/upheld": (None, "unreadable", 0.99)}
    doubt = doubtful_cells(_cells(unknown), "2021")
    assert "no printed relation could check it" in doubt["table_4/review/total"]
    # Table 2 is in no relation: only the (stricter) confidence guards it
    t2 = {"table_2/admin_licensing/value": (5.0, "ok", 0.85), "table_2/admin_penalty/value": (7.0, "ok", 0.99)}
    doubt = doubtful_cells(_cells(t2), "2021")
    assert "table_2/admin_licensing/value" in doubt and "table_2/admin_penalty/value" not in doubt
    # 2019 本年增/减: a number without its sign may have lost a thin minus
    signed = _cells({"table_2/admin_penalty/change": (9.0, "ok", 0.99), "table_2/admin_licensing/change":
                     (3.0, "ok", 0.99), "table_2/admin_compulsion/change": (0.0, "ok", 0.99)})
    signed[1]["raw"] = "+3"
    doubt = doubtful_cells(signed, "2019")
    assert doubt == {"table_2/admin_penalty/change": "99% OCR, sign not read"}
    # outside a ruled grid (an OCR'd line cut into columns) a blank is not taken as printed blank
    lined = _cells({"table_2/admin_penalty/value": (None, "blank", 0.99)})
    lined[0]["source"] = "page 2 line 14 col 1 (OCR 99%)"
    assert "nothing read in this column" in doubtful_cells(lined, "2021")["table_2/admin_penalty/value"]


def test_an_ocr_blank_is_taken_only_where_its_row_and_column_were_read() -> None:
    """A grid with a column too many shifts a row's values and leaves an empty cell: a blank is not
    taken in a row with doubtful readings, nor in a grid column where nothing was read at all."""
    def cell(key: str, value: float | None, conf: float | None, col: int, row: int = 1) -> dict:  # type: ignore[type-arg]
        t, r, c = key.split("/")
        source = f"page 2 table 1 row {row} col {col}" + (f" (OCR {conf:.0%})" if conf is not None else "")
        return {"table": t, "row": r, "column": c, "value": value, "status": "ok" if conf is not None else "blank",
                "raw": "" if value is None else str(value), "source": source}

    cells = [cell("table_2/admin_penalty/prev_year_items", 145.0, 0.99, 2),
             cell("table_2/admin_penalty/change", -3.0, 0.40, 3),        # weak: the row is in doubt
             cell("table_2/admin_penalty/decisions", None, None, 5),    # so is its blank
             cell("table_2/admin_licensing/prev_year_items", 7.0, 0.99, 2, row=2),
             cell("table_2/admin_licensing/change", 0.0, 0.99, 3, row=2),
             cell("table_2/admin_licensing/decisions", None, None, 5, row=2),  # col 5: nothing read there
             cell("table_2/admin_compulsion/prev_year_items", 9.0, 0.99, 2, row=3),
             cell("table_2/admin_compulsion/change", 0.0, 0.99, 3, row=3),
             cell("table_2/admin_compulsion/decisions", None, None, 4, row=3),
             cell("table_2/admin_fees/decisions", 4.0, 0.99, 4, row=4)]     # col 4 has a reading
    doubt = doubtful_cells(cells, "2019")
    assert doubt["table_2/admin_penalty/decisions"] == "0% OCR, blank in a row with doubtful readings"
    assert doubt["table_2/admin_licensing/decisions"] == "0% OCR, blank in a grid column where nothing was read"
    assert "table_2/admin_compulsion/decisions" not in doubt


def test_a_marked_cell_parses_unreadable_with_its_reading() -> None:
    """The mark the OCR reader puts after a doubtful number makes the parser keep the reading in raw
    and report the cell unreadable (never the number alone)."""
    garbled = Cell("4511:17", "x (OCR 98%)")
    _mark(garbled, "98% OCR, not a clean number")  # the parser would stop at ':' and take 4511
    rows = [["行政许可", "12 (62% OCR)"], ["行政处罚", "7"], ["行政强制", "— (40% OCR)"],
            ["行政事业性收费", INK_MARK]]
    blocks = [Block([Cell("二、主动公开政府信息情况", "line 1")]),
              *[Block([Cell(t, f"row {i} col {k} (OCR 99%)") for k, t in enumerate(r)], table=True)
                for i, r in enumerate(rows)],
              Block([Cell("三、收到和处理政府信息公开申请情况", "line 9")])]
    report = parse_document(Document(path="x.png", form="image", blocks=blocks))
    cells = report.cells.set_index(["table", "row", "column"])
    licensing = cells.loc[("table_2", "admin_licensing", "value")]
    assert licensing["status"] == "unreadable" and licensing["raw"] == "12 (62% OCR)"
    assert pd.isna(licensing["value"])
    assert cells.loc[("table_2", "admin_penalty", "value")]["value"] == 7
    assert cells.loc[("table_2", "admin_compulsion", "value")]["status"] == "unreadable"
    assert cells.loc[("table_2", "admin_fees", "value")]["status"] == "unreadable"  # marks, no text
    blocks[1] = Block([Cell("行政许可", "r"), Cell(garbled.text, "r (OCR 98%)")], table=True)
    again = parse_document(Document(path="x.png", form="image", blocks=blocks)).cells.set_index(["table", "row",
                                                                                                 "column"])
    penalty = again.loc[("table_2", "admin_licensing", "value")]
    assert penalty["status"] == "unreadable" and "4511:17" in penalty["raw"]
    assert ocr_confidence("page 1 line 3 (OCR 62%)") == pytest.approx(0.62)
    assert ocr_confidence("page 1 line 3") is None


def test_an_unclean_reading_is_one_unreadable_value_not_two() -> None:
    """`0-` (a stray mark beside a lone 0) would be two values to the parser, one more than the
    row has, and lose the whole row: mark_unclean makes it one unreadable value before any parse."""
    from helpers.readers.scan import mark_unclean

    labels = ["行政许可", "行政处罚", "行政强制"]
    values = ["3", "0-", "5"]
    blocks = [Block([Cell("二、主动公开政府信息情况", "line 1")]),
              *[Block([Cell(t, f"page 1 table 1 row {i} col 1 (OCR 99%)"),
                       Cell(v, f"page 1 table 1 row {i} col 2 (OCR 97%)")], table=True)
                for i, (t, v) in enumerate(zip(labels, values))],
              Block([Cell("三、收到和处理政府信息公开申请情况", "line 9")])]
    doc = Document(path="x.png", form="image", blocks=blocks)
    marked = mark_unclean(doc)
    assert marked == {id(blocks[2].cells[1])} and mark_unclean(doc) == set()  # once
    cells = parse_document(doc).cells.set_index(["table", "row", "column"])
    penalty = cells.loc[("table_2", "admin_penalty", "value")]
    assert penalty["status"] == "unreadable" and "read 0-" in penalty["raw"]
    assert cells.loc[("table_2", "admin_licensing", "value")]["value"] == 3
    assert cells.loc[("table_2", "admin_compulsion", "value")]["value"] == 5


def test_a_cell_read_twice_keeps_one_reading_only_when_the_two_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second reading of a weak or unclean number (on the cell's own crop) settles it only when
    it agrees or fills in what the first could not read; two different numbers give confidence 0
    (flagged), a shorter reading never replaces a longer one, a lost sign is not taken."""
    from helpers.readers import scan
    from helpers.readers.pdf import Rule

    rules = [Rule(True, y, 100, 700) for y in (100, 130)] + [Rule(False, x, 100, 130) for x in range(100, 701, 100)]
    binary = np.zeros((800, 800), np.uint8)
    for k, x in enumerate(range(100, 700, 100)):
        binary[108:122, x + 40:x + 50 + 2 * k] = 255  # marks in every cell, of a width of their own
    first = {150: ("o", 0.6), 250: ("12", 0.7), 350: ("4511:17", 0.98), 450: ("-7", 0.8), 550: ("3", 0.99)}
    again = {150: "0", 250: "13", 350: "4511", 450: "7", 550: "9", 650: "5"}
    chars = [scan._Char(t, cx - 10, 108, cx + 10, 122, conf) for cx, (t, conf) in first.items()]
    asked = []

    def recognise(crop: np.ndarray, engine: str) -> tuple[str, float]:
        k = (crop.shape[1] - 10 - 2 - 8) // 2  # the marks' width, then the crop's margins
        asked.append(150 + 100 * k)
        return again[150 + 100 * k], 0.95

    monkeypatch.setattr(scan, "_recognise_line", recognise)
    out = scan._reread(np.full((800, 800, 3), 255, np.uint8), binary, rules, chars, 1.0, 800, 800, "rapidocr")
    by_cell = {}
    for c in out:
        by_cell.setdefault(int((c.x0 + c.x1) / 2) // 100, []).append(c)
    read = {k: ("".join(c.text for c in v), min(c.conf for c in v)) for k, v in by_cell.items()}
    assert asked == [150, 250, 350, 450, 650]          # 3 at 99% is not read again
    assert read[1] == ("0", 0.95)                       # unclean first, a clean second with a digit for its mark
    assert read[2] == ("12", 0.0)                       # two different numbers: flagged
    assert read[3] == ("4511:17", 0.0)                  # never the shorter 4511
    assert read[4] == ("-7", 0.8)                       # the sign only the first saw
    assert read[5] == ("3", 0.99) and read[6] == ("5", 0.95)  # read well; found only the second time


def _grid_image(angle: float) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1200, 1000), "white")
    d = ImageDraw.Draw(img)
    for k in range(6):
        d.line((100, 100 + 150 * k, 1100, 100 + 150 * k), fill="black", width=3)
    for k in range(5):
        d.line((100 + 250 * k, 100, 100 + 250 * k, 850), fill="black", width=3)
    return np.asarray(img.rotate(angle, fillcolor="white", resample=Image.BICUBIC))


@pytest.mark.parametrize("angle", [0.0, 1.2, -1.8])
def test_skew_is_undone_and_the_grid_is_found(angle: float) -> None:
    straight = _deskew(_grid_image(angle))
    rules, _mask = _rules(_binary(straight), 72 / 200)
    horizontal = [r for r in rules if r.horizontal]
    vertical = [r for r in rules if not r.horizontal]
    assert len(horizontal) == 6 and len(vertical) == 5
    assert max(abs(r.hi - r.lo) for r in horizontal) > 300  # whole lines, in points


def test_a_blank_image_is_not_a_report(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(path)
    with pytest.raises(NotAReport, match="blank.png"):
        read_report(path)
    with pytest.raises(NoTextLayer, match="blank.png"):
        read_document(path, ocr=False)


def test_pixel_and_page_caps(tmp_path: Path) -> None:
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("1", (9000, 8000), 1).save(huge)  # 72 Mpx, a few kB
    with pytest.raises(BrokenFile, match="huge.png.*Mpx"):
        read_report(huge)
    frames = [Image.new("L", (20, 20), 255) for _ in range(61)]
    many = tmp_path / "many.tif"
    frames[0].save(many, save_all=True, append_images=frames[1:])
    with pytest.raises(BrokenFile, match="many.tif.*page limit"):
        read_report(many)


def test_scan_generator_forms() -> None:
    report = random_report(3)
    rng = random.Random(3)
    png = render_scan(report, rng, form="png", dpi=150, seal=True, perspective=0.01)
    assert png.data.startswith(b"\x89PNG") and len(png.meta["page_images"]) == png.meta["pages"]
    tif = render_scan(report, 3, form="tiff", dpi=150)
    from PIL import Image

    assert Image.open(io.BytesIO(tif.data)).n_frames == tif.meta["pages"]
    pdf = render_scan(report, 3, form="pdf-scan", dpi=150, jpeg=None)
    with pytest.raises(NoTextLayer):
        from helpers.readers.pdf import read_pdf

        read_pdf(Path("x.pdf"), pdf.data)


@pytest.mark.parametrize("template", ["2019", "2021"])
def test_every_report_renders_as_a_page_with_table_images(template: str) -> None:
    """One picture group per HTML table, whatever page breaks the PDF layout puts in a table
    (its first part may be header rows only, with fewer column rules than its rest)."""
    from helpers.synth.scan import render_html_images

    for seed in range(6):
        out = render_html_images(random_report(seed, template=template), seed, dpi=72)
        html = out.data.decode("utf-8")
        assert "<table" not in html and {int(n) for n in re.findall(r'alt="table (\d)"', html)} == {1, 2, 3}


@pytest.mark.slow
@pytest.mark.parametrize("typed", ci_sample(["header"], 0))  # CI: routing in test_read, the error in test_readers_pdf
def test_scan_with_a_typed_running_header_is_read_by_ocr(typed: str) -> None:
    """A scan whose site typed its title as a running header and numbered the pages: read by OCR
    like any scan (it used to be "not a report"), with no silently wrong cell."""
    report = random_report(21)
    out = render_scan(report, 21, form="pdf-scan", dpi=150, typed=typed)
    right, flagged, wrong, _ = score(out, report)
    assert wrong == 0 and right >= 0.9 * len(out.expected)


def test_scan_generator_typed_text() -> None:
    with pytest.raises(ValueError, match="typed"):
        render_scan(random_report(3), 3, form="png", typed="header")
    with pytest.raises(ValueError, match="typed"):
        render_scan(random_report(3), 3, form="pdf-scan", typed="footer")


@pytest.mark.slow
@pytest.mark.parametrize("embed", ci_sample([True, False], 1))
def test_html_page_with_table_images(tmp_path: Path, embed: bool) -> None:
    from helpers.synth.scan import render_html_images

    report = random_report(21, template="2021")
    out = render_html_images(report, 21, embed=embed)
    for rel, data in out.meta["files"].items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    path = tmp_path / "report.html"
    path.write_bytes(out.data)
    parsed = read_report(path)
    assert parsed.form == "html" and any("table image(s) read by OCR" in n for n in parsed.notes)
    got = {(c["table"], c["row"], c["column"]): c for c in parsed.cell_records()}
    wrong = [w for w in out.expected.to_dict("records") if (c := got.get((w["table"], w["row"], w["column"])))
             and c["status"] == "ok" and (pd.isna(w["value"]) or abs(c["value"] - w["value"]) > 1e-9)]
    right = sum(1 for w in out.expected.to_dict("records") if (c := got.get((w["table"], w["row"], w["column"])))
                and c["status"] == w["status"] and (pd.isna(w["value"]) or c["value"] == w["value"]))
    assert wrong == [] and right >= 0.9 * len(out.expected)
    assert all(c["source"].startswith("image ") for c in parsed.cell_records() if c["status"] == "ok")


def test_remote_and_outside_images_are_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    from PIL import Image

    Image.new("RGB", (400, 300), "white").save(outside)
    page = tmp_path / "site" / "report.html"
    page.parent.mkdir()
    page.write_text('<html><head><meta charset="utf-8"></head><body><p>一、总体情况</p>'
                    '<img src="http://127.0.0.1:9/table.png"><img src="//cdn.invalid/t.png">'
                    '<img src="../secret.png"><img src="report_files/missing.png">'
                    '<p>二、主动公开政府信息情况</p><table><tr><td>行政许可</td><td>5</td></tr></table>'
                    '<p>三、收到和处理政府信息公开申请情况</p></body></html>', encoding="utf-8")
    from helpers.readers.scan import read_html_images

    doc = read_html_images(page, page.read_text(encoding="utf-8"), "utf-8")
    note = " ".join(doc.notes)
    assert "4 image(s) not read" in note and "never fetched" in note and "outside the page's folder" in note


@pytest.mark.slow
@pytest.mark.parametrize("form", ci_sample(["png", "jpeg"], 0))  # CI reads the TIFF and scanned PDF
def test_one_image_per_page_read_as_one_report(tmp_path: Path, form: str) -> None:
    """A report published as one picture per page: each page read by OCR, the pages' blocks in order,
    then the honesty marks over the whole report (relations span the pages), then the parser."""
    from helpers.readers.scan import mark_doubtful, read_image

    report = random_report(31, template="2021")
    out = render_scan(report, 31, form=form, dpi=200, skew=0.5, noise=0.001, jpeg=90, seal=True)
    blocks = []
    for k, data in enumerate(out.meta["page_images"], start=1):
        page = read_image(tmp_path / f"page{k}{out.suffix}", data, settle=False)
        for b in page.blocks:
            for c in b.cells:
                c.source = f"image {k} {c.source}"
        blocks += page.blocks
    doc = Document(path=str(tmp_path / "pages"), form="image", blocks=blocks)
    mark_doubtful(doc)
    parsed = parse_document(doc)
    got = {(c["table"], c["row"], c["column"]): c for c in parsed.cell_records()}
    wrong = [w for w in out.expected.to_dict("records") if (c := got.get((w["table"], w["row"], w["column"])))
             and c["status"] == "ok" and (pd.isna(w["value"]) or abs(c["value"] - w["value"]) > 1e-9)]
    assert wrong == []
    ok = sum(c["status"] == "ok" for c in got.values())
    _known_miss(f"image-pages-{form}", ok >= 0.8 * len(out.expected), ok)  # a seal over Table 3
