"""What the CLI prints: terminal tables aligned by display width, CSV with `\\n` line ends, JSON,
and escaping of control characters (report text and file names are untrusted).

Values may be anything DuckDB or a parsed report returns (lists, structs, maps, dates, decimals,
blobs, intervals, UUIDs, non-finite floats); `plain` and `json_value` turn each into text or a
JSON value, so that every type prints in every format.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["cut", "display_width", "dump_json", "escape_controls", "json_value", "plain", "table_text",
           "write_csv"]

# C0 and C1 control characters, DEL, and the bidirectional overrides/isolates that reorder a line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_RAW = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # json.dumps escapes the C0 ones
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
ELLIPSIS = "…"
MAX_CELL = 60           # display cells per column at most in a terminal table
MIN_CELL = 8            # ... and at least this many when columns are narrowed to fit the screen
DEFAULT_SCREEN = 160    # the width assumed for a terminal that does not say


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """`text` with every control character (ESC, CR, C1, bidi overrides ...) written as an escape,
    so that printing it cannot move the cursor, recolour the terminal or reorder a line."""
    if keep_newlines:
        return "\n".join(_CONTROLS.sub(_escape, line) for line in text.split("\n"))
    return _CONTROLS.sub(_escape, text)


def display_width(text: str) -> int:
    """Terminal cells taken by `text` (CJK characters take two), via wcwidth."""
    from wcwidth import wcswidth, wcwidth

    w = wcswidth(text)
    if w >= 0:
        return w
    return sum(max(wcwidth(ch), 0) for ch in text)


def cut(text: str, width: int) -> str:
    """`text` cut to at most `width` display cells, ending with an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    from wcwidth import wcwidth

    out, used = [], 0
    for ch in text:
        w = max(wcwidth(ch), 0)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _blob(b: bytes) -> str:
    """A blob as DuckDB prints it: printable ASCII as is, other bytes as \\xHH."""
    return "".join(chr(x) if 32 <= x < 127 and x != 92 else f"\\x{x:02X}" for x in b)


def json_value(v: Any) -> Any:
    """A value as plain JSON: numbers stay numbers (decimals too), dates ISO text, blobs base64,
    non-finite floats the strings "NaN"/"Infinity"/"-Infinity" (JSON has no such numbers)."""
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return json_value(float(v))
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.date, dt.time)):   # datetime is a date
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return _interval(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, Mapping):
        return {k if isinstance(k, str) else json.dumps(json_value(k), ensure_ascii=False): json_value(x)
                for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [json_value(x) for x in v]
    item = getattr(v, "item", None)   # numpy scalars
    if callable(item):
        return json_value(item())
    if _is_na(v):
        return None
    return str(v)


def _is_na(v: Any) -> bool:
    try:
        return bool(v != v) or type(v).__name__ in ("NAType", "NaTType")
    except (TypeError, ValueError):
        return False


def _interval(v: dt.timedelta) -> str:
    """An interval as text: '3 days 01:02:03' (DuckDB's own wording)."""
    days, rest = v.days, dt.timedelta(seconds=v.seconds, microseconds=v.microseconds)
    clock = str(rest)
    if not days:
        return clock
    return f"{days} day{'s' if abs(days) != 1 else ''}" + ("" if not rest else f" {clock}")


def plain(v: Any) -> str:
    """A value as one line of text for a table or CSV cell: empty for missing values, nested values
    as JSON, blobs with \\xHH escapes, dates ISO, decimals exact."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (int, decimal.Decimal, uuid.UUID)):
        return str(v)
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, dt.timedelta):
        return _interval(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _blob(bytes(v))
    if isinstance(v, (Mapping, list, tuple, set, frozenset)):
        return json.dumps(json_value(v), ensure_ascii=False)
    item = getattr(v, "item", None)
    if callable(item):
        return plain(item())
    if _is_na(v):
        return ""
    return str(v)


def dump_json(obj: Any) -> str:
    """JSON for the terminal: UTF-8 text, every value type converted (see `json_value`), and the
    control characters JSON leaves raw (DEL, C1, bidi overrides) written as \\u escapes."""
    text = json.dumps(json_value(obj), ensure_ascii=False, indent=1)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def write_csv(stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV with `\\n` line ends (a shell `$(...)` capture keeps no `\\r`); values verbatim via `plain`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([plain(v) for v in row])


def _screen_width() -> int | None:
    """The terminal's width (COLUMNS wins); None when the output is not a terminal (no fitting)."""
    try:
        tty = os.isatty(1)
    except (OSError, ValueError):
        tty = False
    return max(40, shutil.get_terminal_size((DEFAULT_SCREEN, 24)).columns) if tty else None


def table_text(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]], columns: Sequence[str],
               width: int | None = None) -> str:
    """An aligned text table: columns padded by display width (CJK text lines up), control
    characters escaped, a cell longer than its column (60 cells; the last column is not padded and
    has no such cap) cut with an ellipsis; on a terminal (or with `width`) the widest columns are
    narrowed first until a line fits. Piped output is not fitted to a screen."""
    screen = width or _screen_width()
    cells = [[escape_controls(plain(r.get(c) if isinstance(r, Mapping) else r[i])) for i, c in enumerate(columns)]
             for r in rows]
    head = [escape_controls(str(c)) for c in columns]
    widths = [max([display_width(h)] + [display_width(row[i]) for row in cells]) for i, h in enumerate(head)]
    widths = [w if i == len(widths) - 1 else min(MAX_CELL, w) for i, w in enumerate(widths)]
    gap = 2
    while screen is not None and sum(widths) + gap * (len(widths) - 1) > screen:
        i = max(range(len(widths)), key=lambda k: widths[k])
        if widths[i] <= MIN_CELL:
            break
        widths[i] -= 1
    lines = [head] + cells
    return "\n".join("  ".join(_pad(cut(v, widths[i]), widths[i]) for i, v in enumerate(line)).rstrip()
                     for line in lines)
