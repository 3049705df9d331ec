"""Shared test set-up: the corpus location, Hypothesis profiles, and CI sampling of slow tests."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
IN_CI = bool(os.environ.get("CI"))

settings.register_profile("dev", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=15, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if IN_CI else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def corpus_dir() -> Path:
    """../shared/corpus; skipped with a reason when absent, a failure when CI is set."""
    if not CORPUS.is_dir():
        if IN_CI:
            pytest.fail(f"CI is set but the corpus folder {CORPUS} is missing")
        pytest.skip(f"corpus folder {CORPUS} not present (it sits beside the checkout as ../shared)")
    return CORPUS


def corpus_truths() -> list[Path]:
    """Every truth.json of the corpus (empty list when the folder is absent)."""
    return sorted(CORPUS.glob("*/truth.json")) if CORPUS.is_dir() else []


def load_truth(path: Path) -> dict[str, Any]:
    truth = json.loads(path.read_text(encoding="utf-8"))
    truth["_report"] = (path.parent / truth["file"]).resolve()
    return truth


def ci_sample(items: list[Any], n: int, seed: int = 0) -> list[Any]:
    """All items locally; a fixed random sample of n when CI is set (slow tests stay in budget)."""
    if not IN_CI or len(items) <= n:
        return items
    return random.Random(seed).sample(items, n)


@pytest.fixture
def corpus() -> Path:
    return corpus_dir()


PLACEHOLDERS = ["/", "—", "无", "-", "不适用"]
Filled = dict[str, tuple[str, float | None, str]]


def truth_misses(truth: dict[str, Any], cells: list[dict[str, Any]]) -> list[str]:
    """Cells that differ from a truth.json, by the rule of ../shared/tools/score-corpus.

    A number must match with status ok; a blank/placeholder must have that status and raw text; an
    ambiguous cell (flattened text) is right when exact or flagged (not ok, no value).
    """
    got = {f"{c['table']}/{c['row']}/{c['column']}": c for c in cells}
    ambiguous = set(truth.get("ambiguous", []))
    out = []
    for key, want in truth["cells"].items():
        c = got.get(key)
        exact = c is not None and c["value"] is not None and abs(float(c["value"]) - float(want)) < 1e-9
        ok = (exact or (c is not None and c["status"] != "ok" and c["value"] is None)) if key in ambiguous \
            else (exact and c["status"] == "ok")
        if not ok:
            out.append(f"{key}: want {want}, got {c and (c['value'], c['status'])}")
    for key, want in truth.get("raw", {}).items():
        c = got.get(key)
        if not (c and c["status"] in ("blank", "placeholder") and str(c["raw"]).strip() == str(want).strip()):
            out.append(f"{key}: want raw {want!r}, got {c and (c['raw'], c['status'])}")
    return out


def fill_cells(rng: random.Random, keys: list[str], template: str = "2021", blanks: tuple[str, ...] = ("",),
               zeros: bool = True) -> Filled:
    """key → (printed text, value, status): numbers of every size, some blanks and placeholders."""
    from helpers import get_template

    info = get_template(template).column_info
    out: Filled = {}
    for key in keys:
        roll = rng.random()
        if roll < 0.1:
            out[key] = (rng.choice(blanks), None, "blank")
        elif roll < 0.2:
            out[key] = (rng.choice(PLACEHOLDERS), None, "placeholder")
        elif info[key].dtype == "amount":
            text = f"{rng.uniform(0.1, 99999):.{rng.choice([0, 1, 2, 4])}f}"
            out[key] = (text, float(text), "ok")
        else:
            v = rng.choice([0 if zeros else 1, rng.randint(1, 9), rng.randint(10, 999), rng.randint(1000, 99999)])
            out[key] = (str(v), float(v), "ok")
    return out
