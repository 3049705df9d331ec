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
