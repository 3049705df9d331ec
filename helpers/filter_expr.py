"""A small, safe expression language for selecting reports (`ogi brief --filter`, the corpus
notebook's `where` parameter): nothing from the command line is ever evaluated as code.

Grammar (Python's syntax, a tiny subset of it): a comparison `column OP literal` (OP one of ==, !=,
<, <=, >, >=), `column in [literal, ...]`, `column not in [...]`, combined with `and`, `or`, `not`
and parentheses. Literals are strings ('…' or "…"), integers, decimals, True, False and None. A
column is a bare name of the reports table. Anything else (calls, attributes, subscripts, `@`
variables, arithmetic, lambdas, f-strings) is refused with a `FilterError` saying what is allowed.
The text is parsed with `ast.parse(mode="eval")`, which only builds a tree; the tree is then
walked here and turned into a boolean mask over the DataFrame.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import OgiError

__all__ = ["FilterError", "compile_filter", "filter_frame"]

MAX_LENGTH = 2000
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
ALLOWED = ("column == 'text'", "column != 2021", "year >= 2021", "level in ['county', 'city']",
           "organ_kind not in ['township']", "a and (b or not c)")


class FilterError(OgiError):
    """A filter expression outside the language (or naming a column the table lacks)."""

    def __init__(self, expression: str, problem: str) -> None:
        self.expression = expression
        super().__init__(f"the filter {expression!r} {problem}; allowed: comparisons of a column with a literal "
                         f"(==, !=, <, <=, >, >=), in / not in a [list] of literals, and, or, not, parentheses "
                         f"(e.g. {ALLOWED[3]!r})")


@dataclass(frozen=True)
class _Compare:
    column: str
    op: str                     # "cmp", "in", "not in"
    fn: Callable[[Any, Any], Any] | None
    value: Any


Node = Any   # _Compare | ("and"|"or", [nodes]) | ("not", node)


def _literal(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, int, float, bool))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    raise FilterError(text, f"holds {ast.unparse(node)!r} where a literal (text, number, True, False, None) belongs")


def _build(node: ast.AST, text: str) -> Node:
    if isinstance(node, ast.BoolOp):
        kind = "and" if isinstance(node.op, ast.And) else "or"
        return (kind, [_build(v, text) for v in node.values])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ("not", _build(node.operand, text))
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise FilterError(text, "chains comparisons; write `a < x and x < b`")
        op, left, right = node.ops[0], node.left, node.comparators[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(left, ast.Name):
                raise FilterError(text, f"has {ast.unparse(left)!r} before `in`; a column name belongs there")
            if not isinstance(right, (ast.List, ast.Tuple)):
                raise FilterError(text, "has `in` without a [list] of literals")
            values = [_literal(e, text) for e in right.elts]
            return _Compare(left.id, "in" if isinstance(op, ast.In) else "not in", None, values)
        if type(op) not in _COMPARE:
            raise FilterError(text, f"uses the operator {type(op).__name__}")
        if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
            left, right, op = right, left, _FLIP[type(op)]()
        if not isinstance(left, ast.Name):
            raise FilterError(text, f"compares {ast.unparse(left)!r}; one side must be a column name")
        return _Compare(left.id, "cmp", _COMPARE[type(op)], _literal(right, text))
    if isinstance(node, ast.Name):
        raise FilterError(text, f"has the bare name {node.id!r}; compare it with a literal, e.g. {node.id} == True")
    raise FilterError(text, f"holds {ast.unparse(node)!r}, which is not part of the filter language")


def compile_filter(expression: str) -> Node:
    """Parse a filter into a tree of comparisons (raises FilterError for anything outside the language)."""
    text = expression.strip()
    if len(text) > MAX_LENGTH:
        raise FilterError(text[:40] + "…", f"is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as exc:   # ValueError: a NUL character
        raise FilterError(text, f"is not a valid expression ({getattr(exc, 'msg', exc)})") from None
    return _build(tree.body, text)


def _columns(node: Node) -> Iterable[str]:
    if isinstance(node, _Compare):
        yield node.column
    elif node[0] == "not":
        yield from _columns(node[1])
    else:
        for n in node[1]:
            yield from _columns(n)


def _mask(node: Node, frame: pd.DataFrame, text: str) -> pd.Series:
    if isinstance(node, _Compare):
        col = frame[node.column]
        if node.op in ("in", "not in"):
            hit = col.isin(node.value)
            if None in node.value:
                hit = hit | col.isna()
            return ~hit if node.op == "not in" else hit
        if node.value is None:
            hit = col.isna()
            return hit if node.fn is operator.eq else ~hit if node.fn is operator.ne else _refuse(text)
        try:
            out = node.fn(col, node.value)
        except TypeError as exc:
            raise FilterError(text, f"compares column {node.column!r} with {node.value!r}: {exc}") from None
        return pd.Series(out, index=frame.index).fillna(False).astype(bool)
    if node[0] == "not":
        return ~_mask(node[1], frame, text)
    masks = [_mask(n, frame, text) for n in node[1]]
    out = masks[0]
    for m in masks[1:]:
        out = (out & m) if node[0] == "and" else (out | m)
    return out


def _refuse(text: str) -> pd.Series:
    raise FilterError(text, "orders a column against None; use == None or != None")


def filter_frame(frame: pd.DataFrame, expression: str) -> pd.DataFrame:
    """The rows of `frame` for which `expression` (the filter language above) holds; "" keeps all."""
    if not expression or not expression.strip():
        return frame
    tree = compile_filter(expression)
    unknown = sorted(set(_columns(tree)) - set(map(str, frame.columns)))
    if unknown:
        raise FilterError(expression, f"names column(s) {', '.join(unknown)} that the reports table lacks "
                                      f"(columns: {', '.join(map(str, frame.columns))})")
    return frame[_mask(tree, frame, expression).to_numpy()]
