"""The docs' examples run: every `ogi ...` line of the sh blocks, every statement of the sql
blocks (through `ogi query`), every python block, in document order, in a workspace holding a
generated corpus (`reports/2021`, `reports/2022`, `reports/2023`; the examples build `corpus`).

A block that cannot run here (make, a Dask cluster, jupyter lab, a brief that takes minutes) is
marked, in the doc with `<!-- not run: reason -->` on the line before its fence, or below in
NOT_RUN for docs whose text belongs to another change; each is listed as a skip with its reason.
An unmarked sh block may hold nothing but `ogi` commands, so a new example cannot slip through.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.cli import main

synth = pytest.importorskip("helpers.synth")
ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

# Blocks marked here rather than in the doc: (file, first line of the block) → reason.
NOT_RUN = {
    ("README.md", "make brief   # set up everything, ingest data/ (the seed + a generated sample), write build/briefs/"):
        "make sets the whole project up and runs every test (CI runs it)",
    ("docs/briefs.md", "make brief                    # sample corpus → build/store → build/briefs/index.html"):
        "make brief runs every notebook (tests/unit/test_briefs.py covers it)",
    ("docs/briefs.md", ".venv/bin/ogi brief REPORTS_DIR/ report.pdf --out out/briefs           # ingests into out/briefs/store first"):
        "briefs execute notebooks for minutes (tests/unit/test_briefs.py covers them)",
    ("docs/briefs.md", ".venv/bin/papermill notebooks/report_brief.ipynb out.ipynb -p store build/store -p report_id <id>"):
        "needs a report id of build/store (tests/unit/test_notebooks.py runs the notebooks)",
    ("docs/briefs.md", "make brief                                   # once, for build/store"):
        "jupyter lab is interactive",
    ("docs/briefs.md", 'explorer.select(organ="某某市交通运输局", year=2022, metric="denial_rate")'):
        "needs the explorer notebook's `explorer` object (tests/unit/test_notebooks.py)",
}

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[a-z]*)\s*$")
_MARK = re.compile(r"<!--\s*not run:\s*(?P<why>.*?)\s*-->")


@dataclass
class Block:
    doc: str
    line: int
    lang: str
    code: str
    not_run: str | None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}:{self.lang}"


def blocks(path: Path) -> list[Block]:
    """The fenced sh, sql and python blocks of a Markdown file, with their not-run marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = str(path.relative_to(ROOT))
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = len(m.group("indent")), m.group("lang"), i
        i += 1
        body = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        if lang not in ("sh", "sql", "python"):
            continue
        mark = _MARK.search(lines[start - 1]) if start else None
        code = "\n".join(body)
        first = code.strip().splitlines()[0] if code.strip() else ""
        why = mark.group("why") if mark else NOT_RUN.get((rel, first))
        out.append(Block(rel, start + 1, lang, code, why))
    return out


ALL = [b for doc in DOCS for b in blocks(doc)]


def commands(code: str) -> list[str]:
    """The shell commands of an sh block (a quoted string may span lines; comments dropped)."""
    out, pending = [], ""
    for line in code.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:   # an open quote: the command goes on
            continue
        if pending.rstrip().endswith("\\"):
            continue
        if words:
            out.append(pending)
        pending = ""
    return out


def _expected_exit(command: str) -> int:
    m = re.search(r"#\s*exit (\d+)", command)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("docs")
    synth.write_corpus(base / "gen", reports=9, years=[2021, 2022, 2023], forms=["text", "html"], seed=12,
                       error_share=0.3)
    for f in sorted((base / "gen").iterdir()):
        m = re.search(r"_(20\d\d)_", f.name)
        if m:
            (base / "reports" / m.group(1)).mkdir(parents=True, exist_ok=True)
            f.rename(base / "reports" / m.group(1) / f.name)
    return base


def _run_sh(block: Block, where: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in commands(block.code):
        program = shlex.split(command, comments=True)[0]
        assert program in ("ogi", ".venv/bin/ogi"), f"{block.id}: `{program}` is not an ogi command; mark the " \
                                                     "block <!-- not run: why --> if it cannot run in a test"
        res = subprocess.run(["bash", "-c", command.replace(".venv/bin/ogi", "ogi", 1)], cwd=where, env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == _expected_exit(command), f"{block.id}: {command}\n{res.stderr[-2000:]}"
        assert "Traceback" not in res.stderr


def _run_sql(block: Block, where: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    for st in duckdb.extract_statements(block.code):
        code = main(["query", str(where / "corpus"), st.query])
        err = capsys.readouterr().err
        assert code == 0, f"{block.id}: {st.query}\n{err}"


def _run_python(block: Block, where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(where)
    exec(compile(block.code, block.id, "exec"), {"__name__": "__docs__"})  # noqa: S102 - our own docs


RUNNABLE_DOCS = sorted({b.doc for b in ALL if b.not_run is None})


@pytest.mark.parametrize("doc", RUNNABLE_DOCS)
def test_the_examples_of_a_doc_run_in_order(doc: str, workspace: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ran = 0
    for block in (b for b in ALL if b.doc == doc and b.not_run is None):
        if block.lang == "sh":
            _run_sh(block, workspace)
        elif block.lang == "sql":
            _run_sql(block, workspace, capsys)
        else:
            _run_python(block, workspace, monkeypatch)
        ran += 1
    assert ran


@pytest.mark.parametrize("block", [b for b in ALL if b.not_run], ids=lambda b: b.id)
def test_blocks_not_run_are_listed(block: Block) -> None:
    pytest.skip(f"not run: {block.id}: {block.not_run}")


def test_every_mark_names_a_block_that_exists() -> None:
    firsts = {(b.doc, b.code.strip().splitlines()[0]) for b in ALL if b.code.strip()}
    assert set(NOT_RUN) <= firsts


def test_the_docs_have_examples_that_run() -> None:
    assert any(b.doc == "docs/store.md" and b.lang == "sql" and b.not_run is None for b in ALL)
    assert commands('ogi query c "SELECT 1\n  FROM x" --format json\nogi x  # c') == \
        ['ogi query c "SELECT 1\n  FROM x" --format json', "ogi x  # c"]
