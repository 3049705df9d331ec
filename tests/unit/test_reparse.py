"""Re-parsing: reports read by parser A (a template whose label of one row differs) are read again
by parser B after `--reparse`: exactly those reports, with the printed change list equal to a
comparison of the cells before and after, corrections kept (or reported obsolete), and a re-parse
killed at random moments leaves a readable store that a re-run completes."""

from __future__ import annotations

import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import correct, list_versions, open_store
from helpers.cli import main
from helpers.store import ingest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import kill  # noqa: E402  (benchmarks/kill.py: the table comparison)

synth = pytest.importorskip("helpers.synth")
IN_CI = bool(os.environ.get("CI"))
ROW = "admin_compulsion"   # parser A prints this row's label differently, so it reads its cells otherwise


def _parser_a(tmp: Path) -> dict[str, str]:
    """An environment whose `helpers` is a copy of ours with one template label changed."""
    pkg = tmp / "parser-a"
    shutil.copytree(ROOT / "helpers", pkg / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    y = pkg / "helpers" / "templates" / "2021.yaml"
    text = y.read_text(encoding="utf-8")
    new = re.sub(r"\{key: admin_compulsion, label: 行政强制, (.*?)match: \[行政强制\]",
                 r"{key: admin_compulsion, label: 乙丙丁戊, \1match: [乙丙丁戊]", text)
    assert new != text
    y.write_text(new, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(pkg)}


def _ogi(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cwd = env["PYTHONPATH"] if env else ROOT   # `python -c` puts its working folder first on sys.path
    return subprocess.run([*kill.OGI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store: 8 reports ingested by parser A, 4 by parser B (ours), two corrections on A's reports."""
    tmp = tmp_path_factory.mktemp("reparse")
    corpus = tmp / "corpus"
    synth.write_corpus(corpus, reports=12, years=[2022, 2023], forms=["text", "html"], error_share=0.2, seed=4)
    (corpus / "manifest.csv").unlink()
    files = sorted(corpus.iterdir())
    old, new = tmp / "old", tmp / "new"
    old.mkdir(), new.mkdir()
    for i, f in enumerate(files):
        shutil.copy(f, (old if i % 3 else new) / f.name)
    store = tmp / "store"
    env = _parser_a(tmp)
    res = _ogi(["ingest", str(old), "--store", str(store), "--no-progress", "--scheduler", "serial",
                "--batch-size", "2"], env)
    assert res.returncode == 0, res.stderr
    ingest(new, store, scheduler="serial", progress=False, batch_size=2)
    c = open_store(store)
    a_ids = set(c.reports.loc[c.reports["path"].str.startswith(str(old)), "report_id"])
    assert len(a_ids) == 8 and c.reports["parser_version"].nunique() == 2
    cells = c.cells[c.cells["report_id"].isin(a_ids)]
    guessed = cells[(cells["row"] == ROW) & (cells["status"] == "inferred")]
    assert len(guessed), "parser A should read the changed row otherwise"
    g = guessed.iloc[0]
    # a correction that confirms what parser B will read (obsolete after the re-parse) ...
    correct(store, g["report_id"], f"{g['table']}/{ROW}/{g['column']}", str(g["value"]), why="confirmed")
    # ... and one the re-parse must keep
    k = cells[(cells["status"] == "ok") & (cells["table"] == "table_3")].iloc[0]
    kept_key = f"{k['table']}/{k['row']}/{k['column']}"
    correct(store, k["report_id"], kept_key, str(k["value"] + 1), why="misprint in the source")
    pristine = tmp / "pristine"
    shutil.copytree(store, pristine)
    return {"tmp": tmp, "store": store, "pristine": pristine, "a_ids": a_ids, "obsolete": g, "kept": (k, kept_key)}


def test_reparse_reads_exactly_the_old_reports_and_prints_what_changed(before, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    shutil.copytree(before["pristine"], store)
    old_version = list_versions(store)["version"].iloc[-1]
    assert main(["ingest", "--store", str(store), "--reparse", "--no-progress", "--scheduler", "serial"]) == 0
    out = capsys.readouterr().out
    assert f"re-parsed {len(before['a_ids'])} of 12 report(s)" in out
    after = open_store(store)
    assert after.reports["parser_version"].nunique() == 1
    # the printed transitions equal a comparison of the two versions' cells
    a = open_store(store, version=old_version).cells
    b = after.cells
    key = ["report_id", "table", "row", "column"]
    m = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"))
    sa = m["status_a"].astype(object).where(m["status_a"].notna(), "absent")
    sb = m["status_b"].astype(object).where(m["status_b"].notna(), "absent")
    want = collections.Counter((x, y) for x, y in zip(sa, sb) if x != y)
    printed = {(x, y): int(n) for x, y, n in re.findall(r"^  (\w+) -> (\w+): (\d+)$", out, re.M)}
    assert printed == dict(want) and printed.get(("inferred", "ok"), 0) > 0
    changed = set(m.loc[[x != y for x, y in zip(sa, sb)], "report_id"])
    assert changed <= before["a_ids"]
    # corrections: one kept, one obsolete (the new parser reads the same), and said so
    k, kept_key = before["kept"]
    t, r, c = kept_key.split("/")
    cell = b[(b["report_id"] == k["report_id"]) & (b["table"] == t) & (b["row"] == r) & (b["column"] == c)].iloc[0]
    assert cell["status"] == "corrected" and cell["value"] == k["value"] + 1
    g = before["obsolete"]
    cell = b[(b["report_id"] == g["report_id"]) & (b["row"] == ROW) & (b["column"] == g["column"])].iloc[0]
    assert cell["status"] == "ok" and "obsolete" in cell["note"]
    assert "corrections kept: 1, obsolete: 1" in out and "the parser now reads the same" in out
    assert len(after.corrections) == 2                         # append-only: nothing dropped
    # the findings counts printed equal the change in findings of the re-read reports
    fa = open_store(store, version=old_version).findings
    cols = ["report_id", "rule", "severity", "table", "row", "column"]
    ca = collections.Counter(map(tuple, fa[cols].astype(str).to_numpy()))
    cb = collections.Counter(map(tuple, after.findings[cols].astype(str).to_numpy()))
    added, gone = sum((cb - ca).values()), sum((ca - cb).values())
    assert f"findings added: {added}, gone: {gone}" in out
    # nothing left to do: a second re-parse reads nothing; --all reads every report
    assert main(["ingest", "--store", str(store), "--reparse", "--scheduler", "serial"]) == 0
    assert "re-parsed 0 of 12" in capsys.readouterr().out
    assert main(["ingest", "--store", str(store), "--reparse", "--all", "--scheduler", "serial"]) == 0
    text = capsys.readouterr().out
    assert "re-parsed 12 of 12" in text and "no change" in text


def _watch(cmd: list[str], store: Path, kill_at: float | None = None, after_journal: bool = False) -> tuple[
        float | None, float, bool]:
    """Run a re-parse; (seconds until its journal appeared, seconds until it ended, whether it was
    killed). With `kill_at`, SIGKILL it that many seconds after its start (or, with `after_journal`,
    after its journal appeared: the moment it starts replacing parts)."""
    proc = subprocess.Popen([*kill.OGI, *cmd], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    t0 = time.perf_counter()
    seen: float | None = None
    killed = False
    while proc.poll() is None:
        now = time.perf_counter() - t0
        if seen is None and (store / "pending.json").exists():
            seen = now
        if kill_at is not None and (seen is not None if after_journal else True) and \
                now >= kill_at + (seen if after_journal and seen is not None else 0.0):
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    proc.wait()
    return seen, time.perf_counter() - t0, killed


def test_a_reparse_killed_at_random_moments_is_completed_by_a_rerun(before, tmp_path: Path) -> None:
    ref = tmp_path / "reference"
    shutil.copytree(before["pristine"], ref)
    cmd = ["ingest", "--store", "STORE", "--reparse", "--no-progress", "--scheduler", "serial"]
    at = lambda store: [str(store) if a == "STORE" else a for a in cmd]  # noqa: E731
    journal, span, _ = _watch(at(ref), ref)
    assert journal is not None and not (ref / "pending.json").exists()
    want = kill.tables(ref)
    rng = random.Random(5)
    killed = 0
    for i in range(3 if IN_CI else 5):
        store = tmp_path / f"store-{i}"
        shutil.copytree(before["pristine"], store)
        # even rounds: while it reads and parses; odd rounds: while it replaces parts and relinks
        if i % 2 == 0:
            _, _, hit = _watch(at(store), store, kill_at=rng.uniform(0.5, 1.0) * journal)
        else:
            _, _, hit = _watch(at(store), store, kill_at=rng.uniform(0.0, 0.9) * (span - journal), after_journal=True)
        killed += hit
        print(f"round {i}: {'killed' if hit else 'finished first'}, journal left: {(store / 'pending.json').exists()}")
        mid = open_store(store)                                  # readable, whatever the moment
        assert len(mid.reports) == 12 and len(mid.cells) == len(mid.cells.drop_duplicates(
            ["report_id", "table", "row", "column"]))
        res = _ogi(at(store))
        assert res.returncode == 0, res.stderr
        assert kill.same(want, kill.tables(store)) == [], f"round {i}"
        assert not (store / "pending.json").exists()
    assert killed, "every re-parse finished before its kill: nothing was tested"
