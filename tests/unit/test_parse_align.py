"""Alignment of printed columns and rows to the template (helpers/parse/tables.py, align.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from helpers import read_report
from helpers.synth import random_report, render


def _permuted_markdown(seed: int, tmp: Path, realistic: bool) -> tuple[Path, dict]:
    """A generated Markdown report whose Table 3 columns are moved together with their headers.

    realistic: 总计 and 自然人 swapped and the five organisation columns shuffled under their group
    header (which keeps spanning them); otherwise every column shuffled, group header included.
    """
    out = render(random_report(seed), "markdown", rng=seed)
    lines = out.data.decode().split("\n") if isinstance(out.data, bytes) else out.data.split("\n")
    start = next(i for i, line in enumerate(lines) if "本列数据的勾稽关系" in line)
    rng = random.Random(seed)
    if realistic:
        orgs = [1, 2, 3, 4, 5]
        rng.shuffle(orgs)
        perm = [6, *orgs, 0]
    else:
        perm = list(range(7))
        rng.shuffle(perm)
    for i in range(start, len(lines)):
        if not lines[i].startswith("|"):
            break
        cells = lines[i].split("|")[1:-1]
        if len(cells) != 10 or set(lines[i]) <= set("|-"):
            continue
        data = cells[3:10]
        if realistic and "法人或其他组织" in lines[i]:
            cells[3:10] = [data[6], data[1], "", "", "", "", data[0]]
        else:
            cells[3:10] = [data[p] for p in perm]
        lines[i] = "|" + "|".join(cells) + "|"
    path = tmp / f"permuted{seed}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    expected = {(e["table"], e["row"], e["column"]): e for e in out.expected.to_dict("records")}
    return path, expected


@pytest.mark.parametrize("seed", range(6))
def test_table3_columns_moved_with_their_headers_are_read_by_header(tmp_path: Path, seed: int) -> None:
    path, expected = _permuted_markdown(seed, tmp_path, realistic=True)
    report = read_report(path)
    t3 = [c for c in report.cell_records() if c["table"] == "table_3"]
    assert t3 and all(c["status"] == expected[(c["table"], c["row"], c["column"])]["status"] for c in t3)
    assert all(c["value"] == expected[(c["table"], c["row"], c["column"])]["value"] for c in t3 if c["status"] == "ok")
    assert any("values read by header" in n for n in report.notes)


@pytest.mark.parametrize("seed", range(6))
def test_columns_whose_header_cannot_be_aligned_are_flagged_never_read_by_position(tmp_path: Path, seed: int) -> None:
    path, expected = _permuted_markdown(seed, tmp_path, realistic=False)
    report = read_report(path)
    for c in report.cell_records():
        want = expected.get((c["table"], c["row"], c["column"]))
        if c["status"] == "ok":
            assert want is not None and want["status"] == "ok" and c["value"] == want["value"], c
