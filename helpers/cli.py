"""The `ogi` command: a thin layer over the public functions, one small function per subcommand.

Exit codes (a contract): 0 all went well; 1 a validation found an error; 2 a file could not be
read (or a usage error); 3 a brief (notebook) failed while the others were written. No traceback
reaches the user: every failure prints one line on stderr naming the file and the problem.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from .errors import OgiError, ReportError

__all__ = ["dump_json", "failure_record", "main", "positive_int", "table_text"]

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE, EXIT_BRIEF_FAILED = 0, 1, 2, 3


def dump_json(obj: Any) -> str:
    """JSON for the terminal: UTF-8 text, dates as strings."""
    return json.dumps(obj, ensure_ascii=False, indent=1, default=str)


def failure_record(path: str, exc: BaseException) -> dict[str, Any]:
    """`{"path", "error": {"class", "message"}}` for a file that could not be processed."""
    if isinstance(exc, ReportError):
        err = exc.to_dict()
    else:  # an unexpected bug: still reported per file, the batch goes on
        err = {"class": type(exc).__name__, "message": f"{path}: unexpected error: {exc} (please report this)"}
    return {"path": path, "error": err}


def table_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    for r in rows:
        lines.append("  ".join(str("" if r.get(c) is None else r.get(c)).ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def positive_int(text: str) -> int:
    """argparse type: a positive whole number."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate from `main` so that tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(prog="ogi", description="Parse, validate, store and brief China's "
                                     "government information disclosure annual reports.")
    sub = parser.add_subparsers(dest="command", required=True)

    for module in _command_modules():
        module.register(sub)
    return parser


def _command_modules() -> list[Any]:
    """Every module in helpers/commands/ defines `ORDER` and `register(subparsers)`."""
    from . import commands

    mods = [importlib.import_module(f"{commands.__name__}.{m.name}")
            for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 99), m.__name__))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ogi` command with `argv` (default: sys.argv[1:]) and return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except OgiError as exc:
        print(f"ogi {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        print(f"ogi {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
