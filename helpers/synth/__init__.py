"""Report generator: invented 政府信息公开工作年度报告 in every form, with what a parser must read.

`random_report` invents a plausible report (numbers consistent with the printed relations unless
asked otherwise, blanks, placeholders, rows the template does not know, a narrative whose counts
agree with the tables). `render` writes it as Word-export text, flat archiver text, markdown, HTML,
DOCX or PDF and returns the oracle `expected`: one row per cell that a correct parser reads from
that document. `write_corpus` writes a multi-year corpus with injected errors and bad files.

Format labels come from the template YAML files; organ names, narrative phrases and layout words
from templates/synth_names.yaml. Everything is invented: no real report's text is used.

One module per step: model (the numbers), grids (printed cells and the oracle), one renderer per
form (text, markdown, html, docx, pdf), forms (`render`), corpus (`write_corpus`); families.py adds
the layout families of real publishers, site.py a government site family.
"""

from __future__ import annotations

from .corpus import BAD_KINDS, MANIFEST_COLUMNS, write_corpus  # noqa: F401
from .forms import ALL_FORMS, OTHER_FORMS, render  # noqa: F401
from .grids import (  # noqa: F401
    _G,
    _cont,
    _frame,
    _grid_width,
    _grids,
    _headings,
    _level,
    _texts,
    _title,
    split_run,
)
from .model import (  # noqa: F401
    EXPECTED_COLUMNS,
    FLAT_PLACEHOLDERS,
    FORMS,
    ORGAN_KINDS,
    PLACEHOLDERS,
    SUFFIX,
    Rendered,
    SynthReport,
    _layout,
    perturb,
    random_report,
    to_report,
)

__all__ = [
    "BAD_KINDS",
    "EXPECTED_COLUMNS",
    "FORMS",
    "MANIFEST_COLUMNS",
    "Rendered",
    "SynthReport",
    "perturb",
    "random_report",
    "render",
    "split_run",
    "to_report",
    "write_corpus",
]
