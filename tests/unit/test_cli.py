"""`ogi parse` end to end, as a user runs it: output formats, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

OGI = str(Path(sys.executable).parent / "ogi")
SEED = str(next((ROOT / "data" / "seed").glob("*.txt")))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OGI, *args], capture_output=True, text=True, timeout=120)


def test_parse_json_for_one_file() -> None:
    proc = run("parse", SEED, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"report", "cells"}
    assert out["report"]["agency"] == "西大沟镇人民政府" and out["report"]["year"] == 2023
    assert out["report"]["report_date"] == "2024-01-17" and out["report"]["organ_kind"] == "township"
    assert len(out["cells"]) == 200
    assert set(out["cells"][0]) >= {"table", "row", "column", "value", "raw", "status", "source"}
    assert "NaN" not in proc.stdout


def test_parse_several_files_with_one_failure(tmp_path: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    proc = run("parse", SEED, str(bad), SEED, "--format", "json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert isinstance(out, list) and len(out) == 3
    assert out[1] == {"path": str(bad), "error": {"class": "EmptyFile", "message": out[1]["error"]["message"]}}
    assert str(bad) in out[1]["error"]["message"]
    assert out[0]["report"]["agency"] == out[2]["report"]["agency"]
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_parse_csv_and_table_formats() -> None:
    proc = run("parse", SEED, "--format", "csv")
    assert proc.returncode == 0
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 200 and rows[0]["table"] == "table_2"
    proc = run("parse", SEED)
    assert proc.returncode == 0 and "table_3" in proc.stdout and "西大沟镇人民政府" in proc.stdout


def test_usage_errors_exit_2_without_traceback() -> None:
    proc = run("parse")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run("parse", SEED, "--max-bytes", "-5")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_binary_file_message_names_file(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_bytes(b"\x00\x01\x02" * 100)
    proc = run("parse", str(p))
    assert proc.returncode == 2 and str(p) in proc.stderr and "Traceback" not in proc.stderr
