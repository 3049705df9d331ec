"""The report format as data: tables, rows, columns, labels, relations (read from templates/*.yaml).

Everything the parser and the validator know about the 2019 and 2021 formats comes from here, so
that adding a label variant or a relation is a change to a YAML file, not to code.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from .errors import TemplateError

__all__ = [
    "Column",
    "Relation",
    "Row",
    "Table",
    "Template",
    "common",
    "get_template",
    "normalize",
    "organ_kind",
    "read_data",
    "TEMPLATE_VERSIONS",
]

TEMPLATE_VERSIONS = ("2019", "2021")

# Characters whose NFKC form is a single character are mapped to it; everything else is kept, so a
# normalised string has the same length as the original and offsets carry over to the raw text.
def _build_translation() -> dict[int, str]:
    table: dict[int, str] = {}
    ranges = [(0x00A0, 0x0100), (0x2000, 0x2070), (0x2150, 0x2190), (0x2460, 0x24FF), (0x3000, 0x3040),
              (0xFE30, 0xFE70), (0xFF00, 0xFFF0)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            n = unicodedata.normalize("NFKC", ch)
            if ch.isspace():
                table[cp] = " "
            elif len(n) == 1 and n != ch:
                table[cp] = n
    for ch in "\t\n\r\x0b\x0c\u200b\ufeff":
        table[ord(ch)] = " "
    table.update({ord("“"): '"', ord("”"): '"', ord("‘"): "'", ord("’"): "'", ord("〈"): "<", ord("〉"): ">",
                  ord("《"): "<", ord("》"): ">", ord("—"): "-", ord("－"): "-", ord("．"): "."})
    return table


_TRANSLATION = _build_translation()
# The same table as a list over the Basic Multilingual Plane (an unmapped character maps to itself):
# str.translate looks each character up, and a dict raises and clears a KeyError for every
# character it lacks, most of a Chinese text; a list index does not (2-3x faster). Characters past
# U+FFFF fall outside the list, which translate treats as unmapped, as the dict did.
_TRANSLATION_BMP: list[int | str] = list(range(0x10000))
for _cp, _to in _TRANSLATION.items():
    _TRANSLATION_BMP[_cp] = _to


def normalize(text: str) -> str:
    """Normalise text for matching without changing its length (NFKC per character, spaces unified)."""
    return text.translate(_TRANSLATION_BMP)


# Printed label text allowed before a row's keyword (e.g. 其他法律行政法规 before 禁止公开): no digits,
# spaces or placeholder marks, so that a label never swallows the numbers of the row before it.
LABEL_LEAD = r"[^\d\s/\-]{0,16}?"


def _loose(word: str) -> str:
    """A regex for a label keyword that allows whitespace between its characters."""
    word = normalize(word).replace(" ", "")
    return r"\s*".join(re.escape(c) for c in word)


def _number_prefix(number: str | None) -> str:
    if not number:
        return ""
    n = normalize(number).strip()
    if n.startswith("("):
        inner = re.escape(n.strip("()"))
        return rf"(?:\(\s*{inner}\s*\)\s*)?"
    if n.isdigit():
        return rf"(?:{n}\s*[.、,]\s*)?"
    return rf"(?:{re.escape(n)}\s*[、.,]\s*)?"


@dataclass(frozen=True)
class Column:
    """A data column: key, printed label, unit and type (count, amount or signed)."""

    key: str
    label: str
    en: str = ""
    unit: str | None = None
    dtype: str = "count"
    group: str | None = None


@dataclass(frozen=True)
class Row:
    """A template row (or a group label row that carries no numbers)."""

    key: str
    label: str
    en: str = ""
    match: tuple[str, ...] = ()
    number: str | None = None
    group: bool = False
    band: str | None = None
    columns: tuple[str, ...] = ()
    parent: str | None = None
    # A group row that some reports print as ONE row with values (the other format's layout): the
    # key, in the other format, under which that printed row is kept (a hybrid layout).
    alone_as: str | None = None

    @property
    def printed_label(self) -> str:
        """The label with its numbering as the template prints it: 一、…, （一）…, 1.…"""
        n = self.number
        if not n:
            return self.label
        if n.isdigit():
            return f"{n}.{self.label}"
        if n.startswith(("（", "(")):
            return f"{n}{self.label}"
        return f"{n}、{self.label}"

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """Regex finding the printed label: optional numbering, then any of the keywords."""
        words = "|".join(_loose(w) for w in sorted(self.match or (self.label,), key=len, reverse=True))
        return re.compile(_number_prefix(self.number) + LABEL_LEAD + f"(?:{words})")


@dataclass(frozen=True)
class Relation:
    """An arithmetic relation: for each row (or column), result = sum(plus) - sum(minus)."""

    id: str
    table: str
    over: str
    result: str
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    en: str = ""
    zh: str = ""

    def instances(self, template: Template) -> list[tuple[str, list[str], list[str]]]:
        """Expand to (result key, plus keys, minus keys), one per column or row of the table."""
        table = template.tables[self.table]
        out = []
        if self.over == "columns":
            for col in table.column_keys:
                out.append((f"{self.table}/{self.result}/{col}",
                            [f"{self.table}/{r}/{col}" for r in self.plus],
                            [f"{self.table}/{r}/{col}" for r in self.minus]))
        else:
            for row in table.data_rows:
                out.append((f"{self.table}/{row.key}/{self.result}",
                            [f"{self.table}/{row.key}/{c}" for c in self.plus],
                            [f"{self.table}/{row.key}/{c}" for c in self.minus]))
        return out


@dataclass(frozen=True)
class Table:
    """One statistical table: its rows (in printed order) and columns."""

    key: str
    title: str
    section: str
    columns: dict[str, Column]
    rows: tuple[Row, ...]
    layout: str = "rows"
    header_match: tuple[str, ...] = ()
    extra_columns: tuple[dict[str, Any], ...] = ()
    column_overrides: dict[str, dict[str, Column]] = field(default_factory=dict)

    @property
    def data_rows(self) -> list[Row]:
        return [r for r in self.rows if not r.group]

    @property
    def column_keys(self) -> list[str]:
        return list(self.columns)

    def children(self, group: Row) -> list[Row]:
        """The numbered rows (1. 2. 3.) printed under a group row (a hybrid layout prints a group
        with `alone_as` as one row in their place). Worked out once per row of this table (the
        parser asks for every report); a new list each call."""
        got = self._derived.get(("children", id(group)))
        if got is not None and got[0] is group:
            return list(got[1])
        rows = list(self.rows)
        out = []
        for row in rows[rows.index(group) + 1:]:
            if row.group or not (row.number or "").isdigit():
                break
            out.append(row)
        self._derived[("children", id(group))] = (group, tuple(out))
        return out

    def row_columns(self, row: Row) -> list[Column]:
        """The columns of a row, in printed order (Table 2 rows have their own); worked out once
        per row, a new list each call."""
        got = self._derived.get(("columns", id(row)))
        if got is not None and got[0] is row:
            return list(got[1])
        keys = row.columns or tuple(self.columns)
        over = self.column_overrides.get(row.key, {})
        out = [over.get(k, self.columns[k]) for k in keys]
        self._derived[("columns", id(row))] = (row, tuple(out))
        return out

    @functools.cached_property
    def _derived(self) -> dict[tuple[str, int], tuple[Row, tuple[Any, ...]]]:
        """Answers of `children` and `row_columns` by (question, id of the row), the row kept with
        its answer so that a reused id never gets another row's."""
        return {}

    @functools.cached_property
    def header_pattern(self) -> re.Pattern[str] | None:
        if not self.header_match:
            return None
        return re.compile("|".join(_loose(w) for w in self.header_match))


@dataclass(frozen=True)
class Template:
    """A template version: its tables, relations and detection labels."""

    version: str
    name: str
    tables: dict[str, Table]
    relations: tuple[Relation, ...]
    detect: tuple[str, ...]

    @functools.cached_property
    def cells(self) -> list[tuple[str, str, str]]:
        """Every template cell as (table, row, column), in printed order."""
        out = []
        for t in self.tables.values():
            for r in t.data_rows:
                for c in t.row_columns(r):
                    out.append((t.key, r.key, c.key))
        return out

    @functools.cached_property
    def keys(self) -> list[str]:
        return [f"{t}/{r}/{c}" for t, r, c in self.cells]

    @functools.cached_property
    def column_info(self) -> dict[str, Column]:
        """Cell key → Column (label, unit, dtype)."""
        out = {}
        for t in self.tables.values():
            for r in t.data_rows:
                for c in t.row_columns(r):
                    out[f"{t.key}/{r.key}/{c.key}"] = c
        return out

    @functools.cached_property
    def row_info(self) -> dict[tuple[str, str], Row]:
        return {(t.key, r.key): r for t in self.tables.values() for r in t.rows}

    @functools.cached_property
    def detect_pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(_loose(w) for w in self.detect))


# libyaml's loader when PyYAML was built with it (the wheels are): the same safe constructor, about
# eight times faster than the pure-Python one, which every process (CLI, ingest, each worker) pays.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_data(name: str) -> dict[str, Any]:
    """A YAML data file of helpers/templates (a mapping); a missing or malformed one is a TemplateError."""
    try:
        text = resources.files("helpers.templates").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:  # pragma: no cover - packaging error
        raise TemplateError(f"template file {name} is missing from the package; reinstall ogi-reports") from exc
    data = yaml.load(text, Loader=_YAML_LOADER)
    if not isinstance(data, dict):
        raise TemplateError(f"template file {name} is not a mapping")
    return data


def _build_table(key: str, spec: dict[str, Any]) -> Table:
    columns = {k: Column(key=k, **v) for k, v in spec["columns"].items()}
    rows = []
    overrides: dict[str, dict[str, Column]] = {}
    for r in spec["rows"]:
        r = dict(r)
        if "column_overrides" in r:
            overrides[r["key"]] = {k: Column(key=k, **v) for k, v in r.pop("column_overrides").items()}
        is_group = "group" in r
        rkey = r.pop("group") if is_group else r.pop("key")
        rows.append(Row(key=rkey, label=r["label"], en=r.get("en", ""), match=tuple(r.get("match", ())),
                        number=str(r["number"]) if r.get("number") is not None else None, group=is_group,
                        band=r.get("band"), columns=tuple(r.get("columns", ())), parent=r.get("parent"),
                        alone_as=r.get("alone_as")))
    return Table(key=key, title=spec["title"], section=spec["section"], columns=columns, rows=tuple(rows),
                 layout=spec.get("layout", "rows"), header_match=tuple(spec.get("header_match", ())),
                 extra_columns=tuple(spec.get("extra_columns", ())), column_overrides=overrides)


@functools.lru_cache(maxsize=None)
def get_template(version: str) -> Template:
    """Load a template version ("2019" or "2021") from the package's YAML files."""
    if version not in TEMPLATE_VERSIONS:
        raise TemplateError(f"unknown template version {version!r}; known: {', '.join(TEMPLATE_VERSIONS)}")
    data = read_data(f"{version}.yaml")
    tables_spec = dict(data.get("tables", {}))
    relations_spec = {r["id"]: r for r in data.get("relations", [])}
    if "inherit" in data:
        base = read_data(f"{data['inherit']}.yaml")
        tables_spec = {**base["tables"], **tables_spec}
        relations_spec = {**{r["id"]: r for r in base.get("relations", [])}, **relations_spec}
    tables = {k: _build_table(k, v) for k, v in sorted(tables_spec.items())}
    relations = tuple(
        Relation(id=r["id"], table=r["table"], over=r["over"], result=r["result"], plus=tuple(r["plus"]),
                 minus=tuple(r.get("minus", ())), en=r.get("en", ""), zh=r.get("zh", ""))
        for r in sorted(relations_spec.values(), key=lambda r: r["id"]))
    return Template(version=str(data["version"]), name=data.get("name", ""), tables=tables,
                    relations=relations, detect=tuple(data.get("detect", ())))


@functools.lru_cache(maxsize=1)
def _organ_kind_rules() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((str(k["kind"]), re.compile(k["match"])) for k in common()["organ_kinds"])


def organ_kind(name: str | None) -> str:
    """Organ kind (department / government / township / unknown) of an agency name (common.yaml)."""
    if name:
        for kind, pattern in _organ_kind_rules():
            if pattern.search(name):
                return kind
    return "unknown"


@functools.lru_cache(maxsize=None)
def common() -> dict[str, Any]:
    """The shared vocabulary: sections, placeholders, units, metadata cues, organ kinds, deadlines."""
    return read_data("common.yaml")
