"""The CLI as a researcher meets it at a terminal: --version, one prefix per error line, each
subcommand's own usage, help for every argument, fast start, `\\n` CSV, tables aligned by display
width with control characters escaped, a hidden synth manifest, --previous checked."""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ingest
from helpers.cli import build_parser, main
from helpers.organs import clean_name, identify
from helpers.terminal import cut, display_width, escape_controls, table_text

synth = pytest.importorskip("helpers.synth")
ROOT = Path(__file__).resolve().parents[2]


def _report(tmp_path: Path, name: str = "r.txt", year: int = 2022, seed: int = 3, agency: str | None = None) -> Path:
    rep = synth.random_report(seed, year=year, agency=agency)
    path = tmp_path / name
    path.write_bytes(synth.render(rep, "text", rng=0).data)
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ogi 0.")


def test_an_error_line_has_one_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["brief", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ogi brief: ") and err.count("ogi brief:") == 1


def test_a_wrong_flag_shows_the_subcommand_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "store", "SELECT 1", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "usage: ogi query" in err and "unrecognized arguments: --bogus" in err


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", ["parse", "validate", "ingest", "query", "synth", "brief", "export", "fetch"])
def test_every_argument_has_help_and_no_help_opens_with_a_backtick(command: str) -> None:
    sp = _subparsers()[command]
    missing = [a.dest for a in sp._actions if not a.help]
    assert missing == []
    assert not (sp.description or "").lstrip().startswith("`")


def test_parsing_arguments_imports_no_pandas_nor_duckdb() -> None:
    code = ("import sys, helpers.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('pandas', 'duckdb', 'pyarrow', 'lxml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_csv_on_stdout_ends_lines_with_newline_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _report(tmp_path)
    assert main(["parse", str(path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and out.endswith("\n")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:4] == ["path", "table", "row", "column"] and len(rows) > 190


def test_parse_table_aligns_chinese_text_by_display_width(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"a": "政府信息公开", "b": 1}, {"a": "x", "b": 22}, {"a": "申请", "b": 333}]
    lines = table_text(rows, ["a", "b"], width=200).splitlines()
    starts = {display_width(line[: line.rindex(" ") + 1]) for line in lines}
    assert len(starts) == 1   # column b starts at the same terminal cell on every line


def test_long_cells_are_cut_with_an_ellipsis_and_lines_fit() -> None:
    rows = [{"message": "很长的说明" * 40, "rule": "R1"}]
    text = table_text(rows, ["rule", "message"], width=80)
    assert all(display_width(line) <= 80 for line in text.splitlines())
    assert "…" in text
    assert display_width(cut("政府信息公开工作年度报告", 9)) <= 9


def test_validate_table_lines_fit_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.terminal

    monkeypatch.setattr(helpers.terminal, "_screen_width", lambda: 120)   # a terminal 120 cells wide
    rep = synth.perturb(synth.random_report(4, year=2022), "table_3/granted/total", 7)
    path = tmp_path / "bad.txt"
    path.write_bytes(synth.render(rep, "text", rng=0).data)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert max(display_width(line) for line in out.splitlines()[1:]) <= 120
    monkeypatch.setattr(helpers.terminal, "_screen_width", lambda: None)  # piped: whole messages
    assert main(["validate", str(path)]) == 1
    assert "…" not in capsys.readouterr().out.splitlines()[2].split("  ")[-1]


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "\x1b[31mred\x1b]0;title\x07.txt"
    assert main(["parse", str(evil)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b[31m" in err
    path = _report(tmp_path, "a.txt", agency="北京市\x1b[2J\u202e东城区人民政府")
    assert main(["parse", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert escape_controls("a\tb\r\n\x9b") == "a\\tb\\r\\n\\x9b"


def test_synth_writes_a_hidden_manifest_that_ingest_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "corpus"
    assert main(["synth", "--reports", "3", "--years", "2022", "--out", str(out)]) == 0
    assert (out / ".manifest.csv").is_file() and not (out / "manifest.csv").exists()
    assert main(["ingest", str(out), "--store", str(tmp_path / "s"), "--scheduler", "serial", "--no-progress"]) == 0
    assert "failed 0" in capsys.readouterr().out


def test_previous_must_be_another_report_of_an_earlier_year(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    this = _report(tmp_path, "this.txt", year=2022)
    later = _report(tmp_path, "later.txt", year=2023, seed=9)
    for prev in (this, later):
        assert main(["validate", str(this), "--previous", str(prev)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--previous" in err and "COPY" not in err
    earlier = _report(tmp_path, "earlier.txt", year=2021, seed=8)
    assert main(["validate", str(this), "--previous", str(earlier)]) in (0, 1)


def test_a_missing_agency_is_never_nan() -> None:
    assert clean_name(float("nan")) is None and identify(float("nan")).organ_id is None  # type: ignore[arg-type]
    import pandas as pd

    assert clean_name(pd.NA) is None  # type: ignore[arg-type]


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import helpers.store

    def boom(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a bug")

    monkeypatch.setattr(helpers.store, "ingest", boom)
    assert main(["ingest", str(tmp_path), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a bug" in err and "Traceback" not in err


def test_cli_export_formats_agree_with_helpers_export() -> None:
    from helpers import export
    from helpers.commands import export as command

    assert command.FORMATS == export.FORMATS and command.LAYOUTS == export.LAYOUTS


def test_ingest_without_paths_needs_repair(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ingest", "--store", str(tmp_path / "s")]) == 2
    assert "usage: ogi ingest" in capsys.readouterr().err
    ingest([_report(tmp_path)], tmp_path / "s2", scheduler="serial", progress=False)
