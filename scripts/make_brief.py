"""The main job of `make brief`: sample corpus → store → offline HTML briefs.

1. Generate a sample corpus of a few dozen reports over several years in several forms into
   data/generated/ (deterministic seed; skipped when it is already there).
2. Ingest data/ (the seed report and the generated ones) into build/store (incremental: files
   already stored are skipped).
3. Run the briefs into build/briefs/ (briefs whose inputs did not change are skipped) and print
   where index.html is.

Exit code: 0 when every brief was written, 3 when some failed (listed in index.html), 2 on an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
GENERATED = DATA / "generated"
STORE = ROOT / "build" / "store"
BRIEFS = ROOT / "build" / "briefs"
# The sample corpus: organs reporting 2020-2023 (2020 in the 2019 format) in six file forms, some
# with an arithmetic error, a few unreadable files (so the briefs show findings and failures).
SAMPLE = {"reports": 36, "years": [2020, 2021, 2022, 2023],
          "forms": ["text", "html", "markdown", "docx", "flat", "pdf"],
          "error_share": 0.15, "bad_file_share": 0.05, "seed": 20240}
GENERATOR_MANIFEST = "manifest.csv"


def generate() -> None:
    """Write the sample corpus unless data/generated already holds it."""
    from helpers.synth import write_corpus

    manifest = GENERATED / GENERATOR_MANIFEST
    if manifest.is_file() and sum(1 for _ in manifest.open(encoding="utf-8")) - 1 >= SAMPLE["reports"]:
        print(f"sample corpus: {GENERATED.relative_to(ROOT)} is there (delete it to generate again)")
        return
    rows = write_corpus(GENERATED, **SAMPLE)  # type: ignore[arg-type]
    print(f"sample corpus: wrote {len(rows)} reports into {GENERATED.relative_to(ROOT)}")


def report_files() -> list[str]:
    """Every file under data/ except the generator's own manifest."""
    return sorted(str(p) for p in DATA.rglob("*")
                  if p.is_file() and not p.name.startswith(".") and p != GENERATED / GENERATOR_MANIFEST)


def main() -> int:
    from helpers.brief_runner import run_briefs
    from helpers.errors import OgiError
    from helpers.store import ingest

    try:
        generate()
        summary = ingest(report_files(), STORE)
        print(f"store: {STORE.relative_to(ROOT)}: {summary}")
        run = run_briefs(STORE, BRIEFS, workers=2)
    except OgiError as exc:
        print(f"make brief: {exc}", file=sys.stderr)
        return 2
    n = len(run.jobs)
    print(f"briefs: {n - len(run.failed)} ok, {len(run.failed)} failed, {n - run.ran} unchanged, "
          f"in {run.seconds:.1f} s")
    for res in run.failed:
        print(f"  failed: {res.id}: {res.error}", file=sys.stderr)
    print(f"open {run.index}")
    return 3 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
