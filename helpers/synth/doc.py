"""Old Word renderer: a report as a Word 97 binary (.doc), or the same under Kingsoft's name (.wps).

The report is written as DOCX (`render(report, "docx")`) and saved as Word 97 by LibreOffice (the
reader's warm converter process); WPS Office writes Word 97 binaries under `.wps`, so the `.wps`
form is those bytes under that name. The DOCX oracle holds for both.
"""

from __future__ import annotations

import random
from typing import Any

from .forms import render
from .model import Rendered, SynthReport, _rng

__all__ = ["DOC_FORMS", "render_doc"]

DOC_FORMS = ("doc", "wps")


def render_doc(report: SynthReport, rng: random.Random | int = 0, *, form: str = "doc",
               **docx_options: Any) -> Rendered:
    """Write `report` as .doc or .wps (Word 97) with its oracle; `docx_options` go to the DOCX."""
    from ..readers.doc import convert

    if form not in DOC_FORMS:
        raise ValueError(f"unknown Word form {form!r}; choose one of {', '.join(DOC_FORMS)}")
    out = render(report, "docx", rng=_rng(rng), **docx_options)
    data = convert(out.data, "docx", "doc")
    return Rendered(data=data, suffix=f".{form}", form=form, expected=out.expected, meta=dict(out.meta))
