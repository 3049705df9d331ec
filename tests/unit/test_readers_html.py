"""HTML reader: the right tables among many, layout tables, nested markup, provenance."""

from __future__ import annotations

from pathlib import Path

from conftest import corpus_dir, load_truth
from helpers import read_report
from helpers.read import read_document

NAV = ("<table><tr><td>首页</td><td>政务公开</td><td>政府信息公开年报</td></tr>"
       "<tr><td>2023</td><td>2024</td><td>2025</td></tr></table>")
FOOTER = "<table><tr><td>主办单位：测试市人民政府办公室</td><td>网站标识码 3301000001</td><td>备案号 12345678</td></tr></table>"


def _kirogov_body() -> tuple[str, dict]:
    truth = load_truth(corpus_dir() / "fixture-kirogovcompare-2021" / "truth.json")
    html = truth["_report"].read_text(encoding="utf-8")
    body = html[html.index("<body>") + 6: html.index("</body>")]
    return body, truth


def test_report_tables_found_among_navigation_and_layout_tables(tmp_path: Path) -> None:
    body, truth = _kirogov_body()
    page = (f"<html><head><meta charset='utf-8'><title>测试市2025年政府信息公开工作年度报告</title></head><body>"
            f"{NAV}<table class='layout'><tr><td>{NAV}</td><td><div class='content'>{body}</div></td></tr></table>"
            f"{FOOTER}</body></html>")
    p = tmp_path / "page.html"
    p.write_text(page, encoding="utf-8")
    report = read_report(p)
    values = report.values()
    for key, want in truth["cells"].items():
        assert values[key] == want, key
    assert (report.cells["status"] == "ok").all()


def test_cell_provenance_names_grid_position(tmp_path: Path) -> None:
    p = tmp_path / "t.html"
    p.write_text("<table><tr><td rowspan=2>a</td><td colspan=2>b</td><td>c</td></tr>"
                 "<tr><td>d</td><td>e</td><td>f</td></tr></table>", encoding="utf-8")
    doc = read_document(p)
    cells = [(c.text, c.source) for b in doc.blocks for c in b.cells]
    assert cells == [("a", "table 1 row 1 cell 1 col 1"), ("b", "table 1 row 1 cell 2 col 2"),
                     ("c", "table 1 row 1 cell 3 col 4"), ("d", "table 1 row 2 cell 1 col 2"),
                     ("e", "table 1 row 2 cell 2 col 3"), ("f", "table 1 row 2 cell 3 col 4")]


def test_scripts_and_styles_are_not_text(tmp_path: Path) -> None:
    p = tmp_path / "s.html"
    p.write_text("<html><head><style>p{color:red}</style><script>var x='一、总体情况';</script></head>"
                 "<body><p>正文<!-- 注释 -->内容<br>第二行</p></body></html>", encoding="utf-8")
    doc = read_document(p)
    assert [c.text for b in doc.blocks for c in b.cells] == ["正文内容", "第二行"]
