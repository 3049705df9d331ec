"""The brief filter language: what it selects, and that no code from the command line ever runs
(issue 12: `ogi brief --filter '@os.system(...)'` used to execute)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.filter_expr import FilterError, filter_frame

REPORTS = pd.DataFrame({"agency": ["甲局", "乙市人民政府", None, "丙镇"], "year": pd.array([2021, 2022, 2022, None],
                                                                                        dtype="Int64"),
                        "level": ["county", "city", "county", "township"],
                        "organ_kind": ["department", "government", "department", "township"],
                        "n_errors": [0, 2, 1, 0]})


@pytest.mark.parametrize(("expr", "rows"), [
    ("", [0, 1, 2, 3]),
    ("organ_kind == 'department'", [0, 2]),
    ('organ_kind == "department"', [0, 2]),
    ("year >= 2022", [1, 2]),
    ("2022 <= year", [1, 2]),
    ("level in ['county', 'city']", [0, 1, 2]),
    ("level not in ('county',)", [1, 3]),
    ("n_errors > 0 and not level == 'city'", [2]),
    ("(year == 2021 or year == 2022) and n_errors == 0", [0]),
    ("agency == None", [2]),
    ("agency != None and n_errors >= 1", [1]),
    ("n_errors > -1", [0, 1, 2, 3]),
])
def test_the_language_selects_rows(expr: str, rows: list[int]) -> None:
    assert list(filter_frame(REPORTS, expr).index) == rows


@pytest.mark.parametrize("expr", [
    "@os.system('touch PWNED')", "__import__('os').system('touch PWNED')", "agency.str.startswith('甲')",
    "year == year", "year + 1 == 2022", "year == (lambda: 1)()", "agency == f'{year}'", "REPORTS['year'] == 1",
    "year", "1 < year < 3", "year in year", "open('/etc/passwd')", "[x for x in ()]", "year == 2021;",
    "level in ['a', agency]", "year == 2021 if True else True", "not_a_column == 1",
])
def test_anything_else_is_refused_and_nothing_runs(expr: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FilterError, match="allowed"):
        filter_frame(REPORTS, expr)
    assert not (tmp_path / "PWNED").exists()


@given(st.text(max_size=60))
def test_no_text_makes_it_raise_anything_but_filter_error(text: str) -> None:
    try:
        filter_frame(REPORTS, text)
    except FilterError:
        pass


def test_the_brief_planner_and_the_corpus_notebook_use_the_same_function() -> None:
    import inspect

    import helpers.brief_runner as runner
    import helpers.briefs as briefs

    assert "filter_frame" in inspect.getsource(runner.plan_briefs)
    assert "filter_frame" in inspect.getsource(briefs.load_corpus)
    assert ".query(" not in inspect.getsource(runner) and ".query(" not in inspect.getsource(briefs)
