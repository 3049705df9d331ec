"""`ogi brief` under accident and attack (issue 12): no code from --filter runs, a year with no
reports says so (exit 2), an empty store gives a corpus brief, the output folder is the briefs'
own (nothing else is written, read or removed), and no "nan" stands for a missing agency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.brief_runner import NOTEBOOK_DIR, BriefRun, _index_html, _remove_stale, check_output, input_files, \
    plan_briefs
from helpers.errors import BriefError
from helpers.filter_expr import FilterError

OGI = str(Path(sys.executable).parent / "ogi")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A store of three generated reports (one with no agency printed) and an empty store."""
    from helpers.store import ingest
    from helpers.synth import random_report, render

    root = tmp_path_factory.mktemp("safety")
    files = root / "files"
    files.mkdir()
    for i, agency in enumerate(["测试市甲局", "测试县乙局", ""]):
        rep = random_report(i, template="2021", year=2022, agency=agency)
        (files / f"r{i}.txt").write_bytes(render(rep, "text").data)
    ingest([files], root / "store", scheduler="serial", progress=False)
    (root / "none").mkdir()
    ingest([root / "none"], root / "empty", scheduler="serial", progress=False)
    return {"store": root / "store", "empty": root / "empty", "files": files}


def test_filter_code_is_never_run_by_the_planner(stores: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for expr in ("@os.system('touch PWNED')", "__import__('os').system('touch PWNED')"):
        with pytest.raises(FilterError):
            plan_briefs(stores["store"], where=expr)
    assert not (tmp_path / "PWNED").exists()
    jobs = plan_briefs(stores["store"], where="year == 2022 and organ_kind != 'township'")
    assert jobs[0].parameters["where"] == "year == 2022 and organ_kind != 'township'"


def test_a_year_with_no_reports_says_so_and_exits_2(stores: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BriefError, match="no reports of 1999"):
        plan_briefs(stores["store"], year=1999)
    proc = subprocess.run([OGI, "brief", str(stores["store"]), "--year", "1999", "--out", str(tmp_path / "b"),
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no reports of 1999" in proc.stderr and "2022" in proc.stderr and "Traceback" not in proc.stderr


def _run_notebook_cells(notebook: Path, params: dict[str, object]) -> list[str]:
    """The notebook's code cells run in this process (the views the kernel would show), as HTML."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    ns: dict[str, object] = {}
    out = []
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        src = "".join(cell["source"])
        if i == 0:
            exec(compile(src, "parameters", "exec"), ns)      # the defaults, then papermill's values
            ns.update(params)
            continue
        *body, last = src.strip().splitlines()
        exec(compile("\n".join(body), f"cell {i}", "exec"), ns)
        value = eval(compile(last, f"cell {i}", "eval"), ns)
        out.append(value._repr_html_() if hasattr(value, "_repr_html_") else str(value))
    return out


def test_the_corpus_brief_of_an_empty_store_does_not_crash(stores: dict[str, Path]) -> None:
    pages = _run_notebook_cells(NOTEBOOK_DIR / "corpus_brief.ipynb", {"store": str(stores["empty"]), "year": None,
                                                                        "where": "", "brief_href": ""})
    html = "".join(pages)
    assert "0" in pages[0] and "Traceback" not in html


def test_a_folder_with_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "thesis.docx"
    mine.write_bytes(b"not ours")
    with pytest.raises(BriefError, match="not a brief folder"):
        check_output(tmp_path)
    assert mine.read_bytes() == b"not ours"
    check_output(tmp_path / "new")                                     # a new folder is fine
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "manifest.json").write_text("{}")
    (tmp_path / "ours" / "notes.txt").write_text("kept")
    check_output(tmp_path / "ours")                                     # an earlier brief folder is ours


def test_only_files_an_earlier_run_wrote_are_removed(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    old = tmp_path / "reports" / "aaaa.html"
    user = tmp_path / "reports" / "my-notes.html"
    old.write_text("old brief")
    user.write_text("mine")
    before = {"report:a": {"id": "report:a", "output": "reports/aaaa.html"},
              "report:x": {"id": "report:x", "output": "../outside.html"}}
    (tmp_path.parent / "outside.html").write_text("outside")
    _remove_stale(tmp_path, BriefRun(out=tmp_path, jobs=[], results={}, seconds=0.0), before)
    assert not old.exists() and user.read_text() == "mine" and (tmp_path.parent / "outside.html").exists()


def test_the_brief_folder_inside_an_input_folder_is_never_read(stores: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("x")
    out = data / "briefs"
    (out / "reports").mkdir(parents=True)
    (out / "index.html").write_text("<html></html>")
    (out / "manifest.json").write_text("{}")
    (out / "reports" / "b.html").write_text("<html></html>")
    old = data / "old-briefs"                                # an earlier run with another --out
    (old / "reports").mkdir(parents=True)
    (old / "index.html").write_text("<html></html>")
    (old / "manifest.json").write_text("{}")
    (old / "reports" / "c.html").write_text("<html></html>")
    assert input_files([data], out) == [str(data / "a.txt")]


def test_no_nan_for_a_report_without_an_agency(stores: dict[str, Path]) -> None:
    from helpers.store import open_store

    reports = open_store(stores["store"]).reports
    assert reports["agency"].isna().any()                                  # the fixture has one
    jobs = plan_briefs(stores["store"])
    page = _index_html(BriefRun(out=Path("."), jobs=jobs, results={}, seconds=0.0), reports.iloc[0:0])
    assert "nan" not in page.lower().replace("nanjing", "")
    assert all("nan" not in j.title for j in jobs)


def test_a_run_keeps_notebooks_on_request_and_shows_no_nan(stores: dict[str, Path], tmp_path: Path) -> None:
    from helpers.brief_runner import run_briefs

    out = tmp_path / "out"
    run = run_briefs(stores["store"], out, workers=1, progress=False, keep_notebooks=True)
    assert not run.failed, [r.error for r in run.failed]
    kept = sorted(p.name for p in (out / "notebooks").iterdir())
    assert kept == sorted(f"{Path(j.output).stem}.ipynb" for j in run.jobs)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "已生成" in index and ">ok<" not in index and "nan" not in index
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert str(out) not in text and str(stores["store"]) not in text, page.name
        shown = re.sub(r"data:[^\"']*", "", text)                    # the page, downloads and images aside
        assert "NaT" not in shown and "00:00:00" not in shown, page.name  # dates as dates, absent as empty
    again = run_briefs(stores["store"], out, workers=1, progress=False, keep_notebooks=True)
    assert again.ran == 0                                        # kept notebooks count as up to date


def test_tracebacks_and_error_pages_name_no_folder_of_this_machine(tmp_path: Path) -> None:
    import os

    from helpers.brief_runner import BriefJob, _failure_page, scrub_paths

    out, store = tmp_path / "out", tmp_path / "data" / "store"
    venv = sys.prefix
    home = str(Path.home())
    trace = (f'File "{venv}/lib/python3.11/site-packages/x.py", line 3\n'
             f'File "{Path(__file__).resolve().parents[2]}/helpers/briefs.py", line 9\n'
             f"FileNotFoundError: {store}/cells/part-1.parquet; {out}/reports/a.html; {os.getcwd()}/x; {home}/y")
    job = BriefJob(id="r", kind="report", notebook="nb", output="reports/a.html", parameters={}, title="t")
    page = scrub_paths(_failure_page(job, trace), out, store)
    for folder in (str(out), str(store), venv, str(Path(__file__).resolve().parents[2]), os.getcwd(), home):
        assert folder not in page, folder
    assert "[store]/cells/part-1.parquet" in page and "[venv]/lib" in page and "<store>" not in page
