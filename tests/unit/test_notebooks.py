"""Every notebook of notebooks/ executes (nbclient, papermill-injected parameters, small inputs)
without an error, a warning or a stray stream, and exports to an offline page."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers.brief_runner import NOTEBOOK_DIR, export_html, prepare_notebook

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "seed" / "000_11080a37ea34ddc4.txt"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four generated reports of two organs over two years, in two forms."""
    from helpers.store import ingest
    from helpers.synth import write_corpus

    root = tmp_path_factory.mktemp("nb-store")
    write_corpus(root / "reports", reports=4, years=[2022, 2023], forms=["text", "markdown"], seed=11)
    (root / "reports" / "manifest.csv").unlink()
    ingest([root / "reports"], root / "store", scheduler="serial", progress=False)
    return root / "store"


def _execute(name: str, parameters: dict[str, object]) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = prepare_notebook(str(NOTEBOOK_DIR / name), parameters)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name}: {out.get('ename')}: {out.get('evalue')}"
            assert out["output_type"] != "stream", f"{name}: unexpected output {out.get('text', '')[:300]}"
    return nb


def test_every_notebook_is_tested() -> None:
    assert {p.name for p in NOTEBOOK_DIR.glob("*.ipynb")} == {"report_brief.ipynb", "corpus_brief.ipynb",
                                                            "explore.ipynb"}


@pytest.mark.parametrize("name", ["report_brief.ipynb", "corpus_brief.ipynb", "explore.ipynb"])
def test_parameters_cell_is_tagged(name: str) -> None:
    import papermill

    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert papermill.inspect_notebook(str(NOTEBOOK_DIR / name))  # every default parses


def test_report_brief_on_a_file_with_defaults() -> None:
    """Run as a user would from JupyterLab: the default parameters brief the seed report file."""
    nb = _execute("report_brief.ipynb", {})
    page = export_html(nb, "seed")
    assert "西大沟镇人民政府" in page and "data:image/png;base64," in page


def test_report_brief_on_a_file_with_its_previous_year(tmp_path: Path) -> None:
    from helpers.synth import random_report, render

    old = random_report(1, year=2022, agency="样例县财政局")
    new = random_report(2, year=2023, agency="样例县财政局", previous=old)
    (tmp_path / "a.txt").write_bytes(render(old, "text").data)
    (tmp_path / "b.html").write_bytes(render(new, "html").data)
    nb = _execute("report_brief.ipynb", {"report_path": str(tmp_path / "b.html"),
                                         "previous_path": str(tmp_path / "a.txt")})
    page = export_html(nb, "b")
    assert "样例县财政局" in page and "2022" in page


def test_report_brief_from_a_store(store: Path) -> None:
    from helpers.store import open_store

    rid = open_store(store).reports["report_id"].iloc[-1]
    nb = _execute("report_brief.ipynb", {"store": str(store), "report_id": rid})
    assert rid in export_html(nb, "r")


def test_corpus_brief(store: Path) -> None:
    nb = _execute("corpus_brief.ipynb", {"store": str(store), "year": 2023, "brief_href": "reports/{short_id}.html"})
    page = export_html(nb, "corpus")
    assert 'href="reports/' in page and "2023" in page


def test_corpus_brief_filter_error_is_clear(store: Path) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = prepare_notebook(str(NOTEBOOK_DIR / "corpus_brief.ipynb"), {"store": str(store), "where": "no_column > 1"})
    with pytest.raises(CellExecutionError, match="lacks"):
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()


def test_explore_notebook_executes_and_exports_statically(store: Path) -> None:
    nb = _execute("explore.ipynb", {"store": str(store), "metric": "denial_rate"})
    page = export_html(nb, "explore")
    assert "不予公开率" in page and "widget-view" not in page and "<script" not in page.lower()


@pytest.mark.parametrize("name", ["report_brief.ipynb", "corpus_brief.ipynb", "explore.ipynb"])
def test_parameters_are_typed_documented_and_shadow_no_builtin(name: str) -> None:
    import ast
    import builtins

    from papermill.inspection import inspect_notebook

    params = inspect_notebook(str(NOTEBOOK_DIR / name))
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = [n.target.id for n in ast.parse(cell.source).body if isinstance(n, ast.AnnAssign)]
    assert assigned and set(params) == set(assigned), (name, set(assigned) ^ set(params))
    for p in params.values():
        assert p["inferred_type_name"] not in ("None", ""), p
        assert p["help"], p
    assert not set(assigned) & set(dir(builtins)), name
