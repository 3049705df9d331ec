"""The store survives what can happen to a process or a disk: SIGKILL at any moment, two ingests
at once, damaged part files (with `ogi ingest --store S --repair`), a full disk, permissions."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import ingest, open_store
from helpers.cli import main
from helpers.errors import StoreBusy, StoreDamaged, StoreError
from helpers.store import BATCHES, TABLES, _locked

synth = pytest.importorskip("helpers.synth")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import kill  # noqa: E402  (benchmarks/kill.py: the kill rounds and the table comparison)

IN_CI = bool(os.environ.get("CI"))


def _corpus(base: Path, reports: int = 10) -> Path:
    synth.write_corpus(base / "corpus", reports=reports, years=[2021, 2022], forms=["text", "html"],
                       error_share=0.2, bad_file_share=0.1, seed=4)
    return base / "corpus"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("robust")
    corpus = _corpus(base)
    ingest([corpus], base / "ref", scheduler="serial", progress=False, batch_size=3)
    return corpus, kill.tables(base / "ref")


def _fresh(tmp_path: Path, corpus: Path) -> Path:
    store = tmp_path / "store"
    ingest([corpus], store, scheduler="serial", progress=False, batch_size=3)
    return store


# ---------------------------------------------------------------------------------------------
# Damaged part files


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _garble(p: Path) -> None:
    data = bytearray(p.read_bytes())
    for i in range(8, len(data) - 8, 7):
        data[i] ^= 0x5A
    p.write_bytes(bytes(data))


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _text(p: Path) -> None:
    p.write_text("not a parquet file\n")


DAMAGE = {"truncated": _truncate, "garbled": _garble, "empty": _empty, "text": _text}


@pytest.mark.parametrize("table", ["cells", "reports"])
@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_part_names_the_file_and_repair_restores_the_store(tmp_path: Path, reference: tuple[Path, dict],
                                                                      how: str, table: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    corpus, ref = reference
    store = _fresh(tmp_path, corpus)
    part = sorted((store / table).glob("part-*.parquet"))[1]
    DAMAGE[how](part)
    with pytest.raises(StoreDamaged, match=part.name) as info:
        corpus_ = open_store(store)
        corpus_.cells, corpus_.reports  # noqa: B018 - a damage the footer check misses shows on reading
    assert "--repair" in str(info.value)
    for argv in (["query", str(store), "SELECT count(*) FROM cells"],
                 ["export", str(store), "--to", "csv", "--out", str(tmp_path / "x.csv")],
                 ["ingest", str(corpus), "--store", str(store), "--scheduler", "serial", "--no-progress"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--repair" in err and "Traceback" not in err
    assert main(["ingest", "--store", str(store), "--repair", "--scheduler", "serial", "--no-progress"]) in (0, 2)
    out = capsys.readouterr().out
    assert "dropped 1 damaged batch" in out
    assert kill.same(ref, kill.tables(store)) == []


def test_repair_of_a_batch_without_its_file_list_uses_what_still_reads(tmp_path: Path,
                                                                        reference: tuple[Path, dict]) -> None:
    corpus, ref = reference
    store = _fresh(tmp_path, corpus)
    part = sorted((store / "cells").glob("part-*.parquet"))[0]
    (store / BATCHES / (part.stem + ".json")).unlink()   # a store written before file lists
    _truncate(part)
    summary = ingest([], store, scheduler="serial", progress=False, repair=True)
    assert len(summary.repaired) == 1 and summary.ingested >= 1
    assert kill.same(ref, kill.tables(store)) == []


def test_repair_of_a_healthy_store_changes_nothing(tmp_path: Path, reference: tuple[Path, dict]) -> None:
    corpus, ref = reference
    store = _fresh(tmp_path, corpus)
    before = sorted(p.name for p in store.rglob("part-*"))
    summary = ingest([], store, scheduler="serial", progress=False, repair=True)
    assert summary.repaired == [] and summary.ingested == 0
    assert sorted(p.name for p in store.rglob("part-*")) == before


def test_every_batch_keeps_a_file_list(tmp_path: Path, reference: tuple[Path, dict]) -> None:
    corpus, _ = reference
    store = _fresh(tmp_path, corpus)
    lists = sorted(p.stem for p in (store / BATCHES).iterdir())
    assert lists == sorted(p.stem for p in (store / "reports").glob("part-*.parquet"))


# ---------------------------------------------------------------------------------------------
# A full disk, permissions (injected: the tests may run as root and on a large disk)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES])
def test_a_failed_write_is_one_line_and_loses_nothing(tmp_path: Path, reference: tuple[Path, dict],
                                                      monkeypatch: pytest.MonkeyPatch, error: int,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    corpus, ref = reference
    store = tmp_path / "store"
    first = sorted(corpus.iterdir())[:4]
    ingest(first, store, scheduler="serial", progress=False, batch_size=3)
    before = kill.tables(store)
    real = pq.write_table
    calls = {"n": 0}

    def failing(table, where, *a, **k):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] > 2:
            exc = PermissionError if error == errno.EACCES else OSError
            raise exc(error, os.strerror(error), str(where))
        return real(table, where, *a, **k)

    monkeypatch.setattr(pq, "write_table", failing)
    code = main(["ingest", str(corpus), "--store", str(store), "--scheduler", "serial", "--no-progress",
                 "--batch-size", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and os.strerror(error) in err and str(store) in err and "Traceback" not in err
    monkeypatch.setattr(pq, "write_table", real)
    after = kill.tables(store)
    for name in before:   # what was stored is all still there, and nothing half-written is read
        assert len(after[name]) >= len(before[name])
        assert after[name].merge(before[name]).shape[0] == len(before[name])
    ingest([corpus], store, scheduler="serial", progress=False)
    assert kill.same(ref, kill.tables(store)) == []
    assert not list(store.rglob(".tmp-*"))


def test_a_store_folder_that_cannot_be_made_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    real = Path.mkdir

    def deny(self, *a, **k):  # noqa: ANN001, ANN202
        if "nostore" in str(self):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", deny)
    (tmp_path / "r.txt").write_text("x")
    assert main(["ingest", str(tmp_path / "r.txt"), "--store", str(tmp_path / "nostore"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err


# ---------------------------------------------------------------------------------------------
# Two ingests at once


def test_a_second_ingest_waits_or_says_busy(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with _locked(store):
        with pytest.raises(StoreBusy, match="another ingest"):
            ingest([], store, wait=False, progress=False)


def _ingest_cmd(paths: list[Path], store: Path) -> list[str]:
    return [*kill.OGI, "ingest", *map(str, paths), "--store", str(store), "--no-progress", "--scheduler", "serial"]


@pytest.mark.slow
def test_two_ingests_of_overlapping_folders_at_once_equal_a_sequential_one(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, reports=12)
    files = sorted(corpus.iterdir())
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, chunk in ((a, files[:8]), (b, files[4:])):   # files[4:8] in both
        folder.mkdir()
        for f in chunk:
            (folder / f.name).symlink_to(f)
    # The same contents through either folder: compare on content, not on the path seen first.
    seq = tmp_path / "seq"
    ingest([a, b], seq, scheduler="serial", progress=False)
    want = {k: v.drop(columns=["path"], errors="ignore") for k, v in kill.tables(seq).items()}
    for i in range(3 if IN_CI else 10):
        store = tmp_path / f"s{i}"
        procs = [subprocess.Popen(_ingest_cmd([x, y], store), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=ROOT) for x, y in ((a, b), (b, a))]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, outs):
            assert p.returncode in (0, 2), err
            assert "not an ogi store" not in err and "Traceback" not in err
        got = {k: v.drop(columns=["path"], errors="ignore") for k, v in kill.tables(store).items()}
        assert kill.same(want, got) == [], f"round {i}"
        assert len(open_store(store).reports) == len(open_store(seq).reports)


# ---------------------------------------------------------------------------------------------
# SIGKILL at random moments (30 per pool kind: benchmarks/kill.py)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["processes", "dask"])
def test_sigkill_at_random_moments_then_a_rerun_gives_the_uninterrupted_store(tmp_path: Path, kind: str) -> None:
    failed = kill.run(rounds=3 if IN_CI else 5, reports=30, kinds=[kind], seed=7, work=tmp_path)
    assert failed == 0


def test_store_errors_are_store_errors() -> None:
    assert issubclass(StoreDamaged, StoreError) and issubclass(StoreBusy, StoreError)
    assert set(TABLES) <= {"reports", "cells", "findings", "failures", "sections"}
