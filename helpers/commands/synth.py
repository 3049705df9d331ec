"""`ogi synth --reports N --years Y... --forms F... --out DIR`: write a generated multi-year corpus."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..cli import EXIT_OK, EXIT_UNREADABLE, positive_int, say

ORDER = 50
MANIFEST = ".manifest.csv"   # hidden, so that `ogi ingest DIR` does not take it for a report


def _share(text: str) -> float:
    """argparse type: a share between 0 and 1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be a share between 0 and 1")
    return value


def _hide_manifest(out: Path) -> None:
    """Rename the generator's DIR/manifest.csv to DIR/.manifest.csv (atomically)."""
    plain = out / "manifest.csv"
    if plain.is_file():
        os.replace(plain, out / MANIFEST)


def register(sub: Any) -> None:
    """Add the `synth` subcommand."""
    p = sub.add_parser("synth", help="generate a multi-year corpus of synthetic reports",
                       description="Write generated reports (organs consistent across years) to DIR, with a "
                       "chosen share of injected errors and bad files; the manifest is DIR/.manifest.csv (a hidden file, "
                       "which ogi ingest skips).")
    p.add_argument("--reports", type=positive_int, required=True, metavar="N", help="number of report files")
    p.add_argument("--years", type=int, nargs="+", required=True, metavar="Y", help="the years reported on")
    p.add_argument("--forms", nargs="+", default=["text"], metavar="F",
                   help="forms to render (text flat markdown html docx pdf); default text")
    p.add_argument("--error-share", type=_share, default=0.0, metavar="S",
                   help="share of reports with one injected error (default 0)")
    p.add_argument("--bad-share", type=_share, default=0.0, metavar="B",
                   help="share of files that are not readable reports (default 0)")
    p.add_argument("--seed", type=int, default=0, metavar="K", help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the corpus and print a one-line summary per year."""
    from ..synth import ALL_FORMS as FORMS
    from ..synth import write_corpus

    unknown = [f for f in args.forms if f not in FORMS]
    if unknown:
        say(f"ogi synth: unknown form(s) {', '.join(unknown)}; choose from {', '.join(FORMS)}")
        return EXIT_UNREADABLE
    manifest = write_corpus(args.out, reports=args.reports, years=list(args.years), forms=list(args.forms),
                            error_share=args.error_share, bad_file_share=args.bad_share, seed=args.seed)
    _hide_manifest(Path(args.out))
    n_err = int(manifest["error_key"].notna().sum())
    n_bad = int(manifest["bad_kind"].notna().sum())
    print(f"{args.out}: {len(manifest)} files ({manifest['organ'].nunique()} organs, years "
          f"{', '.join(map(str, sorted(set(args.years))))}, forms {', '.join(args.forms)}); "
          f"{n_err} with an injected error, {n_bad} bad files; manifest in {Path(args.out) / MANIFEST}")
    return EXIT_OK
