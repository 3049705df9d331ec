"""Organ identity: spelling variants of one organ share an id; kind, level and region from the name."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers.organs import LEVELS, clean_name, identify, organ_key, printed_alike, resolve_region

# Each group: spellings of one organ seen across years of real reports.
SAME_ORGAN = [
    ["淮安市人民政府", "淮安市政府", "淮 安 市 人 民 政 府", "淮安市人民政府（本级）", "淮安市人民政府(本级)",
     "江苏省淮安市人民政府", "淮安市"],
    ["上海市人民政府办公厅", "上海市人民政府办公室", "上海市政府办公厅", "上海市政府办"],
    ["西大沟镇人民政府", "西大沟镇政府", "西大沟镇"],
    ["某某街道办事处", "某某街道办", "某某街道"],
    ["淮安市发展和改革委员会", "淮安市发展改革委", "淮安市发改委", "江苏省淮安市发展和改革委员会"],
    ["平潭综合实验区", "平潭综合实验区（本级）"],
    ["ＸＸ县人力资源和社会保障局", "XX县人力资源社会保障局", "XX县人社局"],
]

DIFFERENT_ORGANS = [
    "淮安市人民政府", "淮安市人民政府办公室", "淮安市淮安区人民政府", "淮安市发展和改革委员会",
    "南京市鼓楼区人民政府", "福州市鼓楼区人民政府", "西大沟镇人民政府", "东大沟镇人民政府",
]


@pytest.mark.parametrize("names", SAME_ORGAN, ids=lambda names: names[0])
def test_spelling_variants_share_one_organ_id(names: list[str]) -> None:
    ids = {identify(n).organ_id for n in names}
    assert len(ids) == 1 and None not in ids, {n: identify(n).key for n in names}


def test_different_organs_get_different_ids() -> None:
    ids = [identify(n).organ_id for n in DIFFERENT_ORGANS]
    assert len(set(ids)) == len(ids)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(st.sampled_from([g[0] for g in SAME_ORGAN] + DIFFERENT_ORGANS),
       st.lists(st.sampled_from([" ", "\u3000", "\t", "\u00a0"]), max_size=4),
       st.integers(min_value=0, max_value=20), st.booleans(), st.sampled_from(["", "（本级）", "(本级)", "【本级】"]))
def test_id_ignores_width_whitespace_and_scope_marker(name: str, spaces: list[str], at: int, wide: bool,
                                                       scope: str) -> None:
    pos = min(at, len(name))
    variant = name[:pos] + "".join(spaces) + name[pos:] + scope
    if wide:
        variant = _fullwidth(variant)
    assert identify(variant).organ_id == identify(name).organ_id


@pytest.mark.parametrize(("name", "kind", "level"), [
    ("淮安市人民政府", "government", "city"),
    ("淮安市政府", "government", "city"),
    ("江苏省人民政府", "government", "province"),
    ("北京市人民政府", "government", "province"),
    ("昆山市人民政府", "government", "county"),        # a county-level city: the gazetteer tells
    ("淮安市淮安区人民政府", "government", "county"),
    ("XX县人民政府", "government", "county"),           # not in the gazetteer: the suffix tells
    ("某某自治州人民政府", "government", "city"),
    ("测试市", "government", "unknown"),                # 市 alone: prefecture- or county-level? not guessed
    ("西大沟镇人民政府", "township", "township"),
    ("某某街道办事处", "township", "township"),
    ("上海市人民政府办公厅", "department", "department"),
    ("淮安市交通运输局", "department", "department"),
    ("教育部", "department", "department"),
])
def test_kind_and_level_from_the_name(name: str, kind: str, level: str) -> None:
    organ = identify(name)
    assert (organ.kind, organ.level) == (kind, level)
    assert organ.level in LEVELS


@pytest.mark.parametrize(("name", "code", "region"), [
    ("淮安市人民政府", "320800", "江苏省淮安市"),
    ("江苏省淮安市淮安区人民政府", "320803", "江苏省淮安市淮安区"),
    ("上海市人民政府办公厅", "310000", "上海市"),
    ("淮安市交通运输局", "320800", "江苏省淮安市"),
    ("南京市鼓楼区人民政府", "320106", "江苏省南京市鼓楼区"),
    ("平潭综合实验区", "350128", "福建省福州市平潭县"),     # an alias in organs.yaml
])
def test_region_from_the_gazetteer(name: str, code: str, region: str) -> None:
    organ = identify(name)
    assert (organ.region_code, organ.region) == (code, region)


@pytest.mark.parametrize("name", ["鼓楼区人民政府", "朝阳区", "某某市交通运输局", "西大沟镇人民政府", "教育部"])
def test_no_region_where_the_name_does_not_say_which(name: str) -> None:
    # 鼓楼区 and 朝阳区 exist more than once; the others name no division the gazetteer holds.
    organ = identify(name)
    assert organ.region_code is None and organ.region is None


def test_a_printed_parent_resolves_an_ambiguous_district() -> None:
    assert resolve_region("鼓楼区人民政府")[0] is None
    place, rest = resolve_region("福州市鼓楼区人民政府")
    assert place is not None and place.code == "350102" and rest == "人民政府"


def test_no_name_gives_no_identity() -> None:
    for name in (None, "", "  \u3000", "（本级）"):
        organ = identify(name)
        assert organ.organ_id is None and organ.kind == "unknown" and organ.level == "unknown"


def test_clean_name_folds_width_spaces_and_scope() -> None:
    assert clean_name(" 淮安市　人民政府（本级） ") == "淮安市人民政府"
    assert clean_name("ＡＢ县") == unicodedata.normalize("NFKC", "ＡＢ县")
    assert clean_name("（") is None and clean_name(" )· ") is None    # punctuation alone names no organ
    assert identify("()").organ_id is None
    assert organ_key("淮安市政府") == organ_key("淮安市人民政府") == "320800"


@pytest.mark.parametrize("a, b", [
    ("荷原市生态环境局", "荷原市·生态环境局"),           # punctuation inside the name
    ("荷原市生态环境局", "江南省荷原市生态环境局"),       # a place printed before it
    ("荷原市生态环境局", "生态环境局"),                   # ... or not
    ("梅塘街道办事处", "江南省梅塘街道"),
    ("淮安市人民政府", "江苏省淮安市政府"),               # the same id anyway
])
def test_one_name_printed_differently(a: str, b: str) -> None:
    assert printed_alike(a, b) and printed_alike(b, a)


@pytest.mark.parametrize("a, b", [
    ("X县人民政府", "X县教育局"),                         # a department of the county
    ("X县人民政府", "X县人民政府办公室"),                 # its general office
    ("X县人民政府", "X县Y镇人民政府"),                    # a township below it
    ("荷原市生态环境局", "荷原生态环境局"),               # a character less is another name
    ("淮安市人民政府", None),
])
def test_other_organs_are_not_printed_alike(a: str, b: str | None) -> None:
    assert not printed_alike(a, b) and not printed_alike(b, a)


@given(st.text(alphabet="淮安市县区镇人民政府局办公室教育发展和改革委员会·（）() -", min_size=1, max_size=12),
       st.text(alphabet="淮安市县区镇人民政府局办公室教育发展和改革委员会·（）() -", min_size=1, max_size=12))
@example(")", ")")      # once an organ id of its own, yet not "printed alike" to itself
def test_printed_alike_is_symmetric_and_holds_for_one_id(a: str, b: str) -> None:
    assert printed_alike(a, b) == printed_alike(b, a)
    if identify(a).organ_id is not None and identify(a).organ_id == identify(b).organ_id:
        assert printed_alike(a, b)
