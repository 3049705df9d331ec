"""The `ogi` command: a thin layer over the public functions, one small function per subcommand.

Exit codes (a contract): 0 all went well; 1 a validation found an error; 2 a file could not be
read (or a usage error); 3 a brief (notebook) failed while the others were written. No traceback
reaches the user: every failure prints one line on stderr naming the file and the problem.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from .errors import OgiError, ReportError

__all__ = ["dump_json", "failure_record", "main", "positive_int", "say", "table_text", "version"]

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE, EXIT_BRIEF_FAILED = 0, 1, 2, 3


def dump_json(obj: Any) -> str:
    """JSON for the terminal: UTF-8 text, every value type converted, C1 controls escaped."""
    from .terminal import dump_json as dump

    return dump(obj)


def failure_record(path: str, exc: BaseException) -> dict[str, Any]:
    """`{"path", "error": {"class", "message"}}` for a file that could not be processed."""
    if isinstance(exc, ReportError):
        err = exc.to_dict()
    elif isinstance(exc, OSError):  # the operating system refused: a clear line, not a bug report
        err = {"class": type(exc).__name__, "message": f"{path}: cannot be read: {exc.strerror or exc}"}
    else:  # an unexpected bug: still reported per file, the batch goes on
        err = {"class": type(exc).__name__, "message": f"{path}: unexpected error: {exc} (please report this)"}
    return {"path": path, "error": err}


def table_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """An aligned terminal table (display width, control characters escaped, long cells cut)."""
    from .terminal import table_text as table

    return table(rows, columns)


def say(text: str) -> None:
    """Print one message line on stderr, control characters escaped (file names and report text are
    untrusted: an escape sequence in them must not reach the terminal)."""
    from .terminal import escape_controls

    print(escape_controls(str(text)), file=sys.stderr)


def positive_int(text: str) -> int:
    """argparse type: a positive whole number."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def version() -> str:
    """The package version (`helpers.__version__`, the one pyproject.toml declares)."""
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate from `main` so that tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(prog="ogi", description="Parse, validate, store and brief China's "
                                     "government information disclosure annual reports.")
    parser.add_argument("--version", action="version", version=f"ogi {version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="one of the commands below; `ogi COMMAND --help` for its options")

    for module in _command_modules():
        module.register(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    """The parser of subcommand `name` (so that its own usage is shown on a wrong flag)."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps subparsers here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices.get(name)
    return None


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
        args, extra = parser.parse_known_args(argv)
        if extra:  # a wrong flag: the subcommand's own usage, not the top-level one
            (_subparser(parser, args.command) or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    prefix = f"ogi {args.command}: "
    try:
        return int(args.func(args))
    except OgiError as exc:
        text = str(exc)
        say(text if text.startswith(prefix) else prefix + text)  # one prefix, even when the message has it
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        say(prefix + "interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit as exc:  # a usage error found by the command itself (parser.error)
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_UNREADABLE
    except OSError as exc:  # e.g. an output file that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"{prefix}{where}{exc.strerror or exc}")
        return EXIT_UNREADABLE
    except Exception as exc:  # noqa: BLE001 - a bug: one line (OGI_DEBUG=1 shows the traceback)
        if os.environ.get("OGI_DEBUG"):
            raise
        say(f"{prefix}unexpected error: {type(exc).__name__}: {exc} (please report this; OGI_DEBUG=1 shows "
            "the traceback)")
        return EXIT_UNREADABLE


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
