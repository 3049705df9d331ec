"""Copied narrative: planted near-copies (across organs and against the organ's previous year) are
all found, nothing else above the threshold is reported, and the result equals a brute-force check."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.copies import COPY_COLUMNS, find_copies, lsh_parameters, normalise_section, shingle_set

SECTIONS = ("overview", "problems", "other")
# Stock phrases every report shares (boilerplate), so unplanted pairs overlap a little, as real ones do.
STOCK = ["进一步加强政务公开工作", "严格落实政府信息公开条例", "下一步将持续完善工作机制",
         "不断提升公开质量和实效", "强化督促检查", "认真做好依申请公开工作"]
HANZI = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]


def _prose(rng: random.Random, n_words: int) -> str:
    """Invented prose: random 2–4 character words, a stock phrase now and then, full stops."""
    out = []
    for i in range(n_words):
        if rng.random() < 0.08:
            out.append(rng.choice(STOCK))
        else:
            out.append("".join(rng.choice(HANZI) for _ in range(rng.randint(2, 4))))
        if i % 9 == 8:
            out.append("。")
    return "".join(out) + "。"


def _edit(rng: random.Random, text: str, per: int = 120) -> str:
    """A near-copy: one small edit per `per` characters (a character replaced or deleted, or three
    characters inserted)."""
    chars = list(text)
    for _ in range(max(1, len(text) // per)):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.5:
            chars[i] = rng.choice(HANZI)
        elif op < 0.8:
            chars.insert(i, "".join(rng.choice(HANZI) for _ in range(3)))
        else:
            del chars[i]
    return "".join(chars)


def _corpus(n_organs: int, years: tuple[int, ...], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    reports, sections = [], []
    for o in range(n_organs):
        prev = None
        for y in years:
            rid = f"o{o:03d}y{y}"
            reports.append({"report_id": rid, "organ_id": f"organ{o:03d}", "organ_name": f"机关{o}", "year": y,
                            "previous_report_id": prev})
            for s in SECTIONS:
                sections.append({"report_id": rid, "section": s, "text": _prose(rng, rng.randint(80, 160))})
            prev = rid
    return pd.DataFrame(sections), pd.DataFrame(reports)


def _set_text(sections: pd.DataFrame, rid: str, section: str, text: str) -> None:
    sections.loc[(sections["report_id"] == rid) & (sections["section"] == section), "text"] = text


def _text(sections: pd.DataFrame, rid: str, section: str) -> str:
    return sections.loc[(sections["report_id"] == rid) & (sections["section"] == section), "text"].iloc[0]


def _jaccard(a: str, b: str) -> float:
    x, y = shingle_set(a), shingle_set(b)
    inter = np.intersect1d(x, y).size
    return inter / (x.size + y.size - inter)


def _brute_force(sections: pd.DataFrame, reports: pd.DataFrame, threshold: float) -> set[tuple]:
    """Every cross-organ same-year pair and own-previous-year pair at or above the threshold."""
    meta = {r["report_id"]: r for r in reports.to_dict("records")}
    sets = {(r, s): shingle_set(t) for r, s, t in zip(sections["report_id"], sections["section"], sections["text"])}
    out = set()
    for a, b in itertools.combinations(meta, 2):
        ma, mb = meta[a], meta[b]
        cross = ma["year"] == mb["year"] and ma["organ_id"] != mb["organ_id"]
        own = mb["previous_report_id"] == a or ma["previous_report_id"] == b
        if not (cross or own):
            continue
        for s in SECTIONS:
            if (a, s) not in sets or (b, s) not in sets:
                continue
            x, y = sets[(a, s)], sets[(b, s)]
            inter = np.intersect1d(x, y, assume_unique=True).size
            if inter / (x.size + y.size - inter) >= threshold:
                out.add((frozenset((a, b)), s))
    return out


def test_planted_cross_organ_and_previous_year_copies_are_all_found_and_nothing_else() -> None:
    rng = random.Random(11)
    sections, reports = _corpus(n_organs=60, years=(2022, 2023), seed=5)
    planted = set()
    donors = rng.sample(range(60), 24)
    for d, r in zip(donors[:12], donors[12:]):              # organ r copies organ d's section 5, in 2023
        a, b = f"o{d:03d}y2023", f"o{r:03d}y2023"
        _set_text(sections, b, "problems", _edit(rng, _text(sections, a, "problems")))
        planted.add((frozenset((a, b)), "problems"))
    for o in rng.sample([o for o in range(60) if o not in donors], 6):   # organ copies its own last year
        a, b = f"o{o:03d}y2022", f"o{o:03d}y2023"
        _set_text(sections, b, "problems", _edit(rng, _text(sections, a, "problems"), per=200))
        planted.add((frozenset((a, b)), "problems"))
    for pair, s in planted:                                  # the planting made real near-copies
        a, b = sorted(pair)
        assert _jaccard(_text(sections, a, s), _text(sections, b, s)) >= 0.8
    found = find_copies(sections, reports, threshold=0.8)
    assert list(found.columns[:len(COPY_COLUMNS)]) == COPY_COLUMNS
    got = {(frozenset((a, b)), s) for a, b, s in zip(found["report_a"], found["report_b"], found["section"])}
    assert planted <= got
    assert got == _brute_force(sections, reports, 0.8)           # no unplanted pair above the threshold
    assert got == planted
    kinds = dict(zip(zip(found["report_a"], found["report_b"]), found["kind"]))
    for (a, b), kind in kinds.items():
        if a[:4] == b[:4]:
            assert kind == "own_previous_year" and a.endswith("2023") and b.endswith("2022")
        else:
            assert kind == "cross_organ" and a[-4:] == b[-4:]
    assert (found["similarity"] >= 0.8).all() and (found["shared_share"] > 0.8).all()
    assert (found["shared_share"] <= 1).all()


def test_identical_text_in_different_years_of_different_organs_is_not_a_cross_organ_pair() -> None:
    sections, reports = _corpus(n_organs=4, years=(2022, 2023), seed=2)
    _set_text(sections, "o001y2023", "problems", _text(sections, "o000y2022", "problems"))
    assert find_copies(sections, reports).empty


def test_numbers_and_spacing_do_not_hide_a_copy() -> None:
    rng = random.Random(3)
    sections, reports = _corpus(n_organs=5, years=(2023,), seed=3)
    base = _prose(rng, 60)
    _set_text(sections, "o000y2023", "overview", "2023年共收到申请58件。" + base)
    _set_text(sections, "o003y2023", "overview", "2024年 共收到申请 117 件。\n" + base.replace("。", "。 "))
    found = find_copies(sections, reports)
    assert len(found) == 1 and found.iloc[0]["section"] == "overview"
    assert found.iloc[0]["similarity"] == pytest.approx(1.0)
    assert normalise_section("２０２３年 共 58件") == "0年共0件"


def test_short_sections_like_wu_are_not_compared() -> None:
    sections, reports = _corpus(n_organs=6, years=(2023,), seed=4)
    for rid in reports["report_id"]:
        _set_text(sections, rid, "other", "无。")
    assert find_copies(sections, reports).empty


def test_shared_share_is_the_share_of_the_shorter_text_found_in_the_other() -> None:
    rng = random.Random(8)
    sections, reports = _corpus(n_organs=3, years=(2023,), seed=8)
    short = _prose(rng, 60)
    _set_text(sections, "o000y2023", "problems", short)
    _set_text(sections, "o001y2023", "problems", short + _prose(rng, 3))
    found = find_copies(sections, reports, threshold=0.5)
    row = found.iloc[0]
    assert (row["report_a"], row["report_b"]) == ("o000y2023", "o001y2023")
    assert row["shared_share"] == pytest.approx(1.0)
    assert row["similarity"] < 1.0


def test_same_organ_same_year_duplicates_are_not_cross_organ_copies() -> None:
    sections, reports = _corpus(n_organs=3, years=(2023,), seed=9)
    extra = reports.iloc[[0]].assign(report_id="dup")
    sections = pd.concat([sections, sections[sections["report_id"] == "o000y2023"].assign(report_id="dup")])
    assert find_copies(sections, pd.concat([reports, extra])).empty


def test_previous_year_link_falls_back_to_organ_and_year() -> None:
    sections, reports = _corpus(n_organs=3, years=(2022, 2023), seed=10)
    _set_text(sections, "o002y2023", "other", _text(sections, "o002y2022", "other"))
    found = find_copies(sections, reports.drop(columns=["previous_report_id"]))
    assert list(found["kind"]) == ["own_previous_year"]
    assert (found.iloc[0]["report_a"], found.iloc[0]["report_b"]) == ("o002y2023", "o002y2022")


def test_missing_columns_name_the_table() -> None:
    from helpers.errors import StoreError

    with pytest.raises(StoreError, match="sections"):
        find_copies(pd.DataFrame({"report_id": []}), pd.DataFrame())


@given(st.floats(0.3, 0.95), st.sampled_from([64, 128, 256]))
def test_lsh_banding_keeps_recall_at_the_threshold(threshold: float, num_perm: int) -> None:
    bands, rows = lsh_parameters(threshold, num_perm)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold ** rows) ** bands >= 0.995


def test_find_copies_on_an_ingested_store_agrees_with_a_brute_force_check(tmp_path) -> None:
    synth = pytest.importorskip("helpers.synth")
    from helpers.store import ingest, open_store

    synth.write_corpus(tmp_path / "files", reports=12, years=[2021, 2022, 2023], forms=["text"], seed=6)
    ingest([tmp_path / "files"], tmp_path / "store", scheduler="serial", progress=False)
    corpus = open_store(tmp_path / "store")
    found = find_copies(corpus.sections, corpus.reports)
    sections = corpus.sections[corpus.sections["section"].isin(SECTIONS)]
    sections = sections[sections["text"].map(normalise_section).str.len() >= 50]   # "无。" etc. not compared
    got = {(frozenset((a, b)), s) for a, b, s in zip(found["report_a"], found["report_b"], found["section"])}
    assert got == _brute_force(sections, corpus.reports, 0.8)
    assert (found["kind"] == "own_previous_year").any()        # the generator copies last year's problems


@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=80))
def test_normalise_section_folds_like_the_template(text: str) -> None:
    import re as _re

    from helpers.template import normalize

    want = _re.sub(r"\d+", "0", _re.sub(r"\s+", "", normalize(text)))
    assert normalise_section(text) == want
