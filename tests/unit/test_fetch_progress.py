"""What a crawl shows: per-host pages, files, bytes and errors in the bars (on a terminal only) and
in the end summary, each equal to the figures counted from the manifest."""

from __future__ import annotations

import io
import re
import sys

import pandas as pd
import pytest

from helpers.cli import main
from helpers.fetch import Settings, crawl, read_manifest
from helpers.fetch.links import site_of
from helpers.fetch.progress import hosts_text
from helpers.fetch.seeds import Seed
from helpers.synth.site import SiteFamily, serve

FAST = dict(rate=None, concurrency=2, max_bytes=1 << 20, backoff=0.01)


class _Terminal(io.StringIO):
    """A captured stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _family() -> SiteFamily:
    # organ 5 has a 404 entry, organ 7 a 500 one: errors on two hosts
    return SiteFamily(organs=8, years=(2022, 2023), seed=5, slow=0)


def _from_manifest(archive) -> pd.DataFrame:
    """Per host, counted from the manifest: pages, files, bytes, errors (HTTP errors and cut bodies)."""
    m = read_manifest(archive)
    m = m.assign(host=m["url"].map(site_of), ok=(m["status"] == 200) & (m["error"] == ""))
    rows = []
    for host, g in m.groupby("host"):
        rows.append({"host": host, "pages": int((g["ok"] & g["kind"].isin(["list", "page"])).sum()),
                     "files": int((g["ok"] & g["kind"].isin(["attachment", "image"])).sum()),
                     "bytes": int(g.loc[g["status"] == 200, "bytes"].sum()),
                     "errors": int(((g["error"] != "") & g["status"].notna()).sum())})
    return pd.DataFrame(rows).set_index("host")


def _table(text: str) -> pd.DataFrame:
    lines = [ln.split() for ln in text.splitlines() if ln.startswith(("host ", "127.0.0.1:"))]
    return pd.DataFrame(lines[1:], columns=lines[0]).set_index("host")


def test_the_summary_lists_every_host_with_its_figures(tmp_path, capsys):
    with serve(_family()) as served:
        served.seeds_csv(tmp_path / "seeds.csv")
        code = main(["fetch", str(tmp_path / "seeds.csv"), "--out", str(tmp_path / "a"), "--rate", "0",
                     "--backoff", "0.01", "--max-bytes", str(1 << 20), "--no-progress"])
        hosts = set(served.origins.values())
    assert code == 0
    cap = capsys.readouterr()
    assert cap.err.isascii() and "\r" not in cap.err             # --no-progress: no bar, just the table
    shown = _table(cap.err)
    counted = _from_manifest(tmp_path / "a")
    assert {f"http://{h}" for h in shown.index} == hosts
    assert shown["pages"].astype(int).to_dict() == counted["pages"].to_dict()
    assert shown["files"].astype(int).to_dict() == counted["files"].to_dict()
    assert shown["errors"].astype(int).to_dict() == counted["errors"].to_dict()
    assert shown["MB"].astype(float).to_dict() == (counted["bytes"] / 1e6).round(2).to_dict()
    assert (counted["errors"] > 0).sum() >= 2
    assert list(shown["errors"].astype(int)) == sorted(shown["errors"].astype(int), reverse=True)  # errors first
    totals = counted.sum()
    assert f"{totals['pages']} pages, {totals['files']} files" in cap.out
    assert f"{totals['errors']} errors" in cap.out


_BAR = re.compile(r"^(?P<desc>[^:]+(?::\d+)?): \d+url .*pages=(?P<pages>\d+), files=(?P<files>\d+), "
                  r"MB=(?P<mb>[\d.]+), errors=(?P<errors>\d+)\]")


def _last_bars(text: str) -> dict[str, dict[str, str]]:
    """The last line each bar printed (tqdm redraws with \\r and cursor moves)."""
    last: dict[str, dict[str, str]] = {}
    for piece in re.split(r"[\r\n]|\x1b\[A", text):
        m = _BAR.match(piece.strip())
        if m:
            last[m["desc"]] = m.groupdict()
    return last


def test_the_bars_show_each_hosts_figures(tmp_path, monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with serve(_family()) as served:
        summary = crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
        seed_hosts = {site_of(u) for _, u in served.seeds}
    bars = _last_bars(term.getvalue())
    total = bars.pop("fetch")
    assert (int(total["pages"]), int(total["files"]), int(total["errors"])) == \
        (summary.pages, summary.files, summary.errors)
    assert float(total["mb"]) == pytest.approx(summary.bytes / 1e6, abs=0.051)
    assert set(bars) == seed_hosts                                   # one bar per site crawled
    hosts = summary.hosts.set_index("host")
    for host, bar in bars.items():                                  # each with its host's final figures
        assert (int(bar["pages"]), int(bar["files"]), int(bar["errors"])) == \
            tuple(int(hosts.loc[host, k]) for k in ("pages", "files", "errors"))


def test_no_bars_off_a_terminal(tmp_path, monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with serve(SiteFamily(organs=2, years=(2023,), seed=1, slow=0)) as served:
        crawl([Seed(o, u) for o, u in served.seeds], tmp_path / "a", Settings(**FAST))
    assert pipe.getvalue() == ""


def test_the_host_table_puts_errors_first_and_counts_the_rest():
    hosts = pd.DataFrame([{"host": f"h{i}:80", "pages": i, "files": 1, "bytes": 2_500_000 * i, "not_modified": 0,
                           "errors": int(i == 3), "disallowed": 0} for i in range(6)])
    text = hosts_text(hosts, limit=4)
    lines = text.splitlines()
    assert lines[0].split() == ["host", "pages", "files", "MB", "not_modified", "errors", "disallowed"]
    assert [ln.split()[0] for ln in lines[1:5]] == ["h3:80", "h5:80", "h4:80", "h2:80"]
    assert lines[1].split()[3] == "7.50"
    assert lines[-1] == "... and 2 more hosts"
    assert hosts_text(hosts.iloc[0:0]) == ""
