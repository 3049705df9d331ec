"""Resuming a killed crawl, conditional re-runs, silent edits, and WARC validity."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.fetch import Settings, crawl, read_manifest
from helpers.fetch.archive import MANIFEST
from helpers.fetch.seeds import Seed
from helpers.synth.site import SiteFamily, serve

IN_CI = bool(os.environ.get("CI"))
FAST = dict(rate=None, concurrency=4, max_bytes=1 << 20, backoff=0.01, progress=False)
# The manifest without the times and the places in the WARC files (those differ between runs).
SAME = ["url", "organ", "kind", "year", "title", "status", "content_type", "bytes", "sha256", "version", "changed",
        "published", "parent_url", "redirect", "error", "etag", "last_modified"]


def _ogi_fetch(seeds: Path, out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from helpers.cli import entry; entry()", "fetch", str(seeds), "--out", str(out),
           "--rate", "0", "--concurrency", "4", "--max-bytes", str(1 << 20), "--backoff", "0.01", "--no-progress"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _table(out: Path, run: int = 1):
    m = read_manifest(out)
    return m[m["run"] == run][SAME].sort_values("url").reset_index(drop=True)


def _started(proc: subprocess.Popen, out: Path, before: int | None = None) -> float:
    """Wait until the process has opened its archive (after Python's start-up: the descriptor is
    written anew); `before` is the descriptor's mtime before the start. Returns the time."""
    desc = out / "ogi-archive.json"
    while proc.poll() is None and (not desc.exists() or desc.stat().st_mtime_ns == before):
        time.sleep(0.01)
    return time.monotonic()


def _mtime(out: Path) -> int | None:
    desc = out / "ogi-archive.json"
    return desc.stat().st_mtime_ns if desc.exists() else None


def _finished(out: Path) -> bool:
    """Whether the archive's first run ran to its end."""
    import json

    desc = out / "ogi-archive.json"
    return desc.exists() and json.loads(desc.read_text())["runs"][0]["finished"] is not None


@pytest.fixture(scope="module")
def site():
    with serve(SiteFamily(organs=6, seed=7)) as served:
        yield served


@pytest.mark.slow
def test_killed_crawl_resumes_without_refetching(site, tmp_path):
    seeds = tmp_path / "seeds.csv"
    site.seeds_csv(seeds)
    whole = _ogi_fetch(seeds, tmp_path / "whole")
    t0 = _started(whole, tmp_path / "whole")
    assert whole.wait(timeout=120) == 0, whole.stderr.read().decode()
    duration = time.monotonic() - t0     # the crawl itself, from the archive's creation
    rng = random.Random(16)
    wanted, kills, rounds = (3 if IN_CI else 10), 0, 0
    whole_table = _table(tmp_path / "whole")
    while kills < wanted:      # a crawl killed until it finishes; another one if kills are still due
        rounds += 1
        out = tmp_path / f"killed-{rounds}"
        while kills < wanted and not _finished(out):
            done = set(read_manifest(out)["url"]) if (out / MANIFEST).exists() else set()
            site.clear_log()
            before = _mtime(out)
            proc = _ogi_fetch(seeds, out)
            _started(proc, out, before)
            time.sleep(rng.uniform(0.0, duration * 0.5))    # a random moment of the crawl
            proc.send_signal(signal.SIGKILL)
            killed = proc.wait() == -signal.SIGKILL
            kills += killed
            again = {site.origins[r["site"]] + r["path"] for r in site.requests().to_dict("records")}
            assert not done & again, f"completed URLs fetched again: {sorted(done & again)[:5]}"
            if killed and rng.random() < 0.3 and (out / MANIFEST).exists():   # killed mid-line
                data = (out / MANIFEST).read_bytes()
                if data.count(b"\n") > 2:
                    (out / MANIFEST).write_bytes(data[:-7])
        if not _finished(out):
            done = set(read_manifest(out)["url"]) if (out / MANIFEST).exists() else set()
            site.clear_log()
            last = _ogi_fetch(seeds, out)
            assert last.wait(timeout=120) == 0, last.stderr.read().decode()
            again = {site.origins[r["site"]] + r["path"] for r in site.requests().to_dict("records")}
            assert not done & again
        table = _table(out)
        diff = whole_table.merge(table, how="outer", indicator=True).query("_merge != 'both'")
        assert whole_table.equals(table), diff.sort_values("url").head(6).T.to_string()
        check = subprocess.run([Path(sys.executable).parent / "warcio", "check", *sorted((out / "warc").glob("*"))],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_rerun_downloads_nothing_then_records_edits(tmp_path):
    family = SiteFamily(organs=6, seed=11)
    with serve(family) as served:
        seeds = [Seed(o, u) for o, u in served.seeds]
        first = crawl(seeds, tmp_path / "a", Settings(**FAST))
        served.clear_log()
        second = crawl(seeds, tmp_path / "a", Settings(**FAST))
        log = served.requests()
        assert second.run == 2 and second.bytes == 0 and second.pages == 0 and second.files == 0
        assert log[log["status"] == 200].empty, log[log["status"] == 200]   # only 304s (and errors)
        assert log[log["status"] == 304]["conditional"].all() and (log["status"] == 304).sum() >= first.pages
        edited = {served.url(site, path) for site, path in family.edit(3)}
        third = crawl(seeds, tmp_path / "a", Settings(**FAST))
    m = read_manifest(tmp_path / "a")
    run3 = m[m["run"] == 3]
    changed = run3[run3["changed"].fillna(False).astype(bool)]
    assert set(changed["url"]) == edited and third.changed == 3
    assert (changed["version"] == 2).all()
    old = m[(m["run"] == 1) & m["url"].isin(edited)].set_index("url")["sha256"]
    assert (changed.set_index("url")["sha256"] != old.reindex(changed["url"])).all()
    # the re-run's manifest (every URL, no body for the unchanged ones) equals the first but for the edits
    same = run3[~run3["url"].isin(edited)]
    first_rows = m[m["run"] == 1].set_index("url")
    assert (same.set_index("url")["sha256"] == first_rows["sha256"].reindex(same["url"])).all()


def test_warc_files_validate_and_hold_every_exchange(tmp_path):
    from warcio.archiveiterator import ArchiveIterator

    family = SiteFamily(organs=3, years=(2022, 2023), seed=4)
    with serve(family) as served:
        crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
        log = served.requests()
        n_requests, n_urls = len(log), len(log.drop_duplicates(["site", "path"]))
    warcs = sorted((tmp_path / "a" / "warc").glob("*.warc.gz"))
    check = subprocess.run([Path(sys.executable).parent / "warcio", "check", "-v", *warcs], capture_output=True,
                           text=True)
    assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr
    kinds = []
    for w in warcs:
        with open(w, "rb") as fh:
            kinds += [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds.count("request") == kinds.count("response") == n_requests
    m = read_manifest(tmp_path / "a")
    fetched = m[m["warc"] != ""]
    assert len(fetched) == n_urls < n_requests     # a retried URL: its attempts in one row's WARC span


def test_a_cut_warc_is_trimmed_on_resume(tmp_path):
    family = SiteFamily(organs=2, years=(2023,), seed=9)
    with serve(family) as served:
        seeds = [Seed(o, u) for o, u in served.seeds]
        crawl(seeds, tmp_path / "a", Settings(**FAST))
        m = read_manifest(tmp_path / "a")
        # simulate a kill: the run is not finished, the last row is lost, its WARC record half-written
        import json

        desc = tmp_path / "a" / "ogi-archive.json"
        d = json.loads(desc.read_text())
        d["runs"][-1]["finished"] = None
        desc.write_text(json.dumps(d))
        cut = int(m.index[m["warc"] != ""][-1])
        last = m.loc[cut]
        lines = (tmp_path / "a" / MANIFEST).read_bytes().splitlines(keepends=True)
        (tmp_path / "a" / MANIFEST).write_bytes(b"".join(lines[:cut + 1]))
        warc = tmp_path / "a" / "warc" / last["warc"]
        with open(warc, "r+b") as fh:
            fh.truncate(int(last["offset"]) + int(last["length"]) // 2)
        served.clear_log()
        crawl(seeds, tmp_path / "a", Settings(**FAST))
        again = served.requests()
    assert list(again["path"]) == ["/" + last["url"].split("/", 3)[3]]
    check = subprocess.run([Path(sys.executable).parent / "warcio", "check", *sorted((tmp_path / "a" / "warc").glob("*"))],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _table(tmp_path / "a").equals(m[m["run"] == 1][SAME].sort_values("url").reset_index(drop=True))
