"""Runtime of `find_copies` at 1k and 10k reports: MinHash + LSH should grow roughly linearly.

Sections (overview, problems, other) are generated directly as text, not as full documents: random
2–4 character words with shared stock phrases (so unrelated sections overlap a little, as real
boilerplate does), 250–550 characters each; organs report in two consecutive years; 1% of the
reports copy another organ's problems section with small edits, and 1% their own previous year's.
Prints the seconds, reports/s, pairs found (and planted) for both sizes, and the 10k/1k time ratio
(10 = linear). Run: .venv/bin/python benchmarks/copies.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.copies import find_copies  # noqa: E402

SECTIONS = ("overview", "problems", "other")
STOCK = ["进一步加强政务公开工作", "严格落实政府信息公开条例", "下一步将持续完善工作机制",
         "不断提升公开质量和实效", "强化督促检查", "认真做好依申请公开工作", "及时更新政府信息公开专栏",
         "规范受理登记办理和答复流程"]


def _chars(codes: np.ndarray) -> str:
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def prose(rng: np.random.Generator) -> str:
    """250–550 characters: random-character runs, stock phrases and full stops."""
    parts = []
    length = 0
    target = int(rng.integers(250, 550))
    while length < target:
        if rng.random() < 0.25:
            parts.append(STOCK[int(rng.integers(len(STOCK)))])
        else:
            parts.append(_chars(rng.integers(0x4E00, 0x4E00 + 3000, int(rng.integers(15, 40)))))
        parts.append("。")
        length += len(parts[-2]) + 1
    return "".join(parts)


def edit(rng: np.random.Generator, text: str) -> str:
    """One small edit per 120 characters: a character replaced."""
    chars = list(text)
    for _ in range(max(1, len(text) // 120)):
        chars[int(rng.integers(len(chars)))] = _chars(rng.integers(0x4E00, 0x4E00 + 3000, 1))
    return "".join(chars)


def corpus(n_reports: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(sections, reports, planted pairs) for n_reports reports of n_reports/2 organs over two years."""
    rng = np.random.default_rng(seed)
    reports, texts = [], {}
    organs = n_reports // 2
    for o in range(organs):
        prev = None
        for y in (2022, 2023):
            rid = f"o{o:05d}y{y}"
            reports.append({"report_id": rid, "organ_id": f"organ{o:05d}", "organ_name": f"机关{o}", "year": y,
                            "previous_report_id": prev})
            for s in SECTIONS:
                texts[(rid, s)] = prose(rng)
            prev = rid
    planted = 0
    for _ in range(max(1, n_reports // 100)):
        a, b = rng.choice(organs, 2, replace=False)
        texts[(f"o{b:05d}y2023", "problems")] = edit(rng, texts[(f"o{a:05d}y2023", "problems")])
        o = int(rng.integers(organs))
        texts[(f"o{o:05d}y2023", "overview")] = edit(rng, texts[(f"o{o:05d}y2022", "overview")])
        planted += 2
    sections = pd.DataFrame([{"report_id": r, "section": s, "text": t} for (r, s), t in texts.items()])
    return sections, pd.DataFrame(reports), planted


def main() -> None:
    times = {}
    for n in (1_000, 10_000):
        sections, reports, planted = corpus(n, seed=n)
        find_copies(sections.head(300), reports)               # warm-up (imports, caches)
        t0 = time.perf_counter()
        found = find_copies(sections, reports, threshold=0.8)
        times[n] = time.perf_counter() - t0
        chars = sections["text"].str.len().sum()
        print(f"{n:>6} reports ({len(sections)} sections, {chars / 1e6:.1f}M characters): "
              f"{times[n]:6.2f} s, {n / times[n]:8.0f} reports/s, {len(found)} pairs found "
              f"({planted} planted, {int((found['kind'] == 'cross_organ').sum())} cross-organ)")
    print(f"ratio 10k/1k: {times[10_000] / times[1_000]:.1f}x for 10x the reports (10 = linear)")


if __name__ == "__main__":
    main()
